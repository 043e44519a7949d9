package io.twinhub.twin.auth;

/**
 * The permissions of an IoT Hub shared access policy, spelled as IoT Hub spells them.
 * {@link #RegistryWrite} implies {@link #RegistryRead}, as in IoT Hub.
 */
public enum AccessRight {
  RegistryRead,
  RegistryWrite,
  ServiceConnect,
  DeviceConnect;

  /** Whether holding this right grants {@code required}. */
  public boolean grants(AccessRight required) {
    return this == required || (this == RegistryWrite && required == RegistryRead);
  }
}
