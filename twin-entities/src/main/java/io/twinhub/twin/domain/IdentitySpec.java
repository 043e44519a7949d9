package io.twinhub.twin.domain;

import java.util.List;
import java.util.Objects;

/**
 * What a back end sets on a device or module identity ({@code PUT /devices/{id}} and the module
 * equivalent). {@code iotEdge} is ignored for modules. {@code deviceScope} and {@code
 * parentScopes} put a device behind an IoT Edge gateway (null: not given, the identity keeps its
 * scopes; "" or []: none); see {@link Identity#scopes}.
 */
public record IdentitySpec(DeviceStatus status, String statusReason, Authentication authentication, boolean iotEdge,
                           String deviceScope, List<String> parentScopes) {
    public IdentitySpec {
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(authentication, "authentication");
        parentScopes = parentScopes == null ? null : List.copyOf(parentScopes);
    }

    /** A spec that leaves the device scopes as they are. */
    public IdentitySpec(DeviceStatus status, String statusReason, Authentication authentication, boolean iotEdge) {
        this(status, statusReason, authentication, iotEdge, null, null);
    }

    public IdentitySpec withAuthentication(Authentication a) {
        return new IdentitySpec(status, statusReason, a, iotEdge, deviceScope, parentScopes);
    }
}
