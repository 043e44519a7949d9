package io.twinhub.twin.auth;

import java.util.Optional;

/** Finds a hub shared access policy by its name (the token's {@code skn}). */
@FunctionalInterface
public interface PolicyLookup {
  Optional<SharedAccessPolicy> find(String keyName);

  PolicyLookup NONE = name -> Optional.empty();
}
