package io.twinhub.twin.auth;

import java.util.Objects;

/** What {@link SasVerifier} decided about a token. */
public sealed interface SasOutcome {

  /** The token is genuine, current, in scope and (for policies) carries the required right. */
  record Valid(Principal principal, long expiryEpochSeconds) implements SasOutcome {
    public Valid {
      Objects.requireNonNull(principal, "principal");
    }
  }

  /**
   * Refused. {@code detail} is for logs and for the 401 message; it never contains the
   * signature or a key.
   */
  record Invalid(Reason reason, String detail) implements SasOutcome {
    public Invalid {
      Objects.requireNonNull(reason, "reason");
      detail = detail == null ? reason.name() : detail;
    }
  }

  enum Reason {
    /** No token at all (no Authorization header, empty password). */
    MISSING,
    /** Not a well-formed SharedAccessSignature. */
    MALFORMED,
    /** {@code se} is not in the future. */
    EXPIRED,
    /** Not signed with any key of the identity or policy it names. */
    BAD_SIGNATURE,
    /** {@code sr} names another hub, or a resource that does not cover the one accessed. */
    WRONG_SCOPE,
    /** {@code skn} names no policy of this hub, or a policy token where none is accepted. */
    UNKNOWN_POLICY,
    /** The device or module the token is for does not exist or has no SAS keys. */
    UNKNOWN_IDENTITY,
    /** The policy exists but lacks the right the operation needs. */
    INSUFFICIENT_RIGHTS
  }

  default boolean isValid() {
    return this instanceof Valid;
  }
}
