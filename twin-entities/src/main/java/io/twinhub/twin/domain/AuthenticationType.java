package io.twinhub.twin.domain;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** {@code authenticationType} / {@code authentication.type} with IoT Hub's wire names. */
public enum AuthenticationType {
    SAS("sas"),
    SELF_SIGNED("selfSigned"),
    CERTIFICATE_AUTHORITY("certificateAuthority"),
    NONE("none");

    private final String wire;

    AuthenticationType(String wire) {
        this.wire = wire;
    }

    @JsonValue
    public String wire() {
        return wire;
    }

    /** From the wire name (case-insensitive), or null when unknown. */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public static AuthenticationType fromWire(String s) {
        for (AuthenticationType v : values()) {
            if (v.wire.equalsIgnoreCase(s)) {
                return v;
            }
        }
        return null;
    }
}
