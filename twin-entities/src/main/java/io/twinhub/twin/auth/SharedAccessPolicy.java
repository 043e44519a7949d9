package io.twinhub.twin.auth;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/** A hub-level shared access policy: name ({@code skn}), rights and keys. Keys never in toString(). */
public record SharedAccessPolicy(String keyName, Set<AccessRight> rights, SymmetricKeyPair keys) {

  /** The key-name syntax the service SDK accepts in connection strings. */
  public static final Pattern KEY_NAME = Pattern.compile("[a-zA-Z0-9_\\-@.]{1,64}");

  public SharedAccessPolicy {
    Objects.requireNonNull(keyName, "keyName");
    Objects.requireNonNull(keys, "keys");
    if (!KEY_NAME.matcher(keyName).matches()) {
      throw new IllegalArgumentException("invalid policy name: " + keyName);
    }
    rights = rights.isEmpty()
        ? Collections.unmodifiableSet(EnumSet.noneOf(AccessRight.class))
        : Collections.unmodifiableSet(EnumSet.copyOf(rights));
  }

  public boolean has(AccessRight required) {
    return rights.stream().anyMatch(r -> r.grants(required));
  }

  public Principal.ServicePolicy principal() {
    return new Principal.ServicePolicy(keyName, rights);
  }

  @Override
  public String toString() {
    return "SharedAccessPolicy[keyName=" + keyName + ", rights=" + rights + "]";
  }
}
