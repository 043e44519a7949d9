package io.twinhub.node.security;

import io.twinhub.twin.auth.AccessRight;

import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * An immutable set of IoT Hub access rights ({@link AccessRight}: RegistryRead, RegistryWrite,
 * ServiceConnect, DeviceConnect), written as IoT Hub writes them: {@code "RegistryRead,
 * ServiceConnect"}. RegistryWrite grants RegistryRead.
 */
public final class AccessRights {

  private final Set<AccessRight> rights;

  private AccessRights(Set<AccessRight> rights) {
    this.rights = rights.isEmpty()
        ? Collections.unmodifiableSet(EnumSet.noneOf(AccessRight.class))
        : Collections.unmodifiableSet(EnumSet.copyOf(rights));
  }

  public static AccessRights of(AccessRight... rights) {
    return new AccessRights(rights.length == 0 ? EnumSet.noneOf(AccessRight.class) : EnumSet.copyOf(Arrays.asList(rights)));
  }

  public static AccessRights of(Collection<AccessRight> rights) {
    return new AccessRights(rights.isEmpty() ? EnumSet.noneOf(AccessRight.class) : EnumSet.copyOf(rights));
  }

  public static AccessRights all() {
    return new AccessRights(EnumSet.allOf(AccessRight.class));
  }

  /**
   * Parses {@code "RegistryRead, RegistryWrite"} (commas, optional spaces, names as IoT Hub
   * spells them).
   *
   * @throws IllegalArgumentException on an unknown or empty right
   */
  public static AccessRights parse(String text) {
    EnumSet<AccessRight> set = EnumSet.noneOf(AccessRight.class);
    if (text == null || text.isBlank()) {
      return new AccessRights(set);
    }
    for (String part : text.split(",")) {
      String name = part.strip();
      try {
        set.add(AccessRight.valueOf(name));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("unknown access right '" + name + "'");
      }
    }
    return new AccessRights(set);
  }

  public boolean grants(AccessRight required) {
    return rights.stream().anyMatch(r -> r.grants(required));
  }

  public Set<AccessRight> asSet() {
    return rights;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AccessRights other && rights.equals(other.rights);
  }

  @Override
  public int hashCode() {
    return rights.hashCode();
  }

  @Override
  public String toString() {
    return rights.stream().map(Enum::name).collect(Collectors.joining(", "));
  }
}
