package io.twinhub.twin.auth;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/** Who a verified SAS token speaks for. */
public sealed interface Principal {

  /** A back end holding a shared access policy of the hub ({@code skn} in the token). */
  record ServicePolicy(String name, Set<AccessRight> rights) implements Principal {
    public ServicePolicy {
      Objects.requireNonNull(name, "name");
      rights = rights.isEmpty()
          ? Collections.unmodifiableSet(EnumSet.noneOf(AccessRight.class))
          : Collections.unmodifiableSet(EnumSet.copyOf(rights));
    }

    public boolean has(AccessRight required) {
      return rights.stream().anyMatch(r -> r.grants(required));
    }
  }

  /** A device that signed with its own key ({@code sr=<host>/devices/<id>}). */
  record Device(String deviceId) implements Principal {
    public Device {
      Objects.requireNonNull(deviceId, "deviceId");
    }
  }

  /** A module that signed with its own key ({@code sr=<host>/devices/<id>/modules/<mid>}). */
  record Module(String deviceId, String moduleId) implements Principal {
    public Module {
      Objects.requireNonNull(deviceId, "deviceId");
      Objects.requireNonNull(moduleId, "moduleId");
    }
  }
}
