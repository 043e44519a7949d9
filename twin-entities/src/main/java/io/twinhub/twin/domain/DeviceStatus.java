package io.twinhub.twin.domain;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** Identity {@code status}; a disabled device or module cannot connect. */
public enum DeviceStatus {
    ENABLED("enabled"),
    DISABLED("disabled");

    private final String wire;

    DeviceStatus(String wire) {
        this.wire = wire;
    }

    @JsonValue
    public String wire() {
        return wire;
    }

    /** From the wire name (case-insensitive, as the SDKs' enums accept), or null when unknown. */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public static DeviceStatus fromWire(String s) {
        for (DeviceStatus v : values()) {
            if (v.wire.equalsIgnoreCase(s)) {
                return v;
            }
        }
        return null;
    }
}
