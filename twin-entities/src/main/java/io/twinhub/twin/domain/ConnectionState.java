package io.twinhub.twin.domain;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** {@code connectionState}, capitalised on the wire as IoT Hub does. */
public enum ConnectionState {
    CONNECTED("Connected"),
    DISCONNECTED("Disconnected");

    private final String wire;

    ConnectionState(String wire) {
        this.wire = wire;
    }

    @JsonValue
    public String wire() {
        return wire;
    }

    /** From the wire name (case-insensitive), or null when unknown. */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public static ConnectionState fromWire(String s) {
        for (ConnectionState v : values()) {
            if (v.wire.equalsIgnoreCase(s)) {
                return v;
            }
        }
        return null;
    }
}
