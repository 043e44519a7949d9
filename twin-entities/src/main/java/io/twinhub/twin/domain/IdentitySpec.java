package io.twinhub.twin.domain;

import java.util.Objects;

/**
 * What a back end sets on a device or module identity ({@code PUT /devices/{id}} and the module
 * equivalent). {@code iotEdge} is ignored for modules.
 */
public record IdentitySpec(DeviceStatus status, String statusReason, Authentication authentication, boolean iotEdge) {
    public IdentitySpec {
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(authentication, "authentication");
    }
}
