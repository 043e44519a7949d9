package io.twinhub.twin.auth;

import java.util.Optional;

/**
 * Finds the SAS keys of a device ({@code moduleId == null}) or of a module. Empty when the
 * identity does not exist, is disabled, or does not use SAS authentication.
 */
@FunctionalInterface
public interface DeviceKeyLookup {
  Optional<SymmetricKeyPair> find(String deviceId, String moduleId);
}
