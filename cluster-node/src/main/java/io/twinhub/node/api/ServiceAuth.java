package io.twinhub.node.api;

import io.twinhub.node.security.ServiceAuthenticator;
import io.twinhub.twin.auth.AccessRight;
import io.twinhub.twin.auth.PolicyLookup;
import io.twinhub.twin.auth.Principal;
import io.twinhub.twin.auth.SasOutcome;
import io.twinhub.twin.auth.SasVerifier;
import io.twinhub.twin.auth.SymmetricKeyPair;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.Identity;

import java.time.Clock;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Service-route authentication: {@link SasVerifier#verifyService} (IoT Hub's rules: policy token,
 * scoped to this hub, genuine, current, right granted), with verified tokens remembered by their
 * exact header value until they expire. A back end reuses one token for many requests, so the
 * HMAC and parsing run once per token instead of once per request; expiry and rights are still
 * checked on every request. The cache holds only tokens that verified, is bounded (cleared when
 * full), and policy keys cannot change while the node runs.
 */
public final class ServiceAuth {

  /** A verified token: its policy, expiry, and every right the policy grants, worked out once. */
  private record Verified(Principal.ServicePolicy principal, long expiryEpochSeconds, Set<AccessRight> granted) {
    static Verified of(Principal.ServicePolicy p, long expiryEpochSeconds) {
      Set<AccessRight> granted = EnumSet.noneOf(AccessRight.class);
      for (AccessRight r : AccessRight.values()) {
        if (p.has(r)) granted.add(r);
      }
      return new Verified(p, expiryEpochSeconds, granted);
    }
  }

  private final SasVerifier verifier;
  private final PolicyLookup policies;
  private final Clock clock;
  private final int maxEntries;
  private final ConcurrentHashMap<String, Verified> verified = new ConcurrentHashMap<>();

  public ServiceAuth(SasVerifier verifier, PolicyLookup policies, Clock clock, int maxEntries) {
    this.verifier = verifier;
    this.policies = policies;
    this.clock = clock;
    this.maxEntries = maxEntries;
  }

  /**
   * @param authorizationHeader the {@code Authorization} header, null when absent
   * @param required            the right the route needs
   */
  public ServiceAuthenticator.Result authenticate(String authorizationHeader, AccessRight required) {
    if (authorizationHeader != null) {
      Verified v = verified.get(authorizationHeader);
      if (v != null) {
        if (clock.instant().getEpochSecond() < v.expiryEpochSeconds()) {
          return v.granted().contains(required)
              ? new ServiceAuthenticator.Authorized(v.principal())
              : denied(new SasOutcome.Invalid(SasOutcome.Reason.INSUFFICIENT_RIGHTS,
                  "policy '" + v.principal().name() + "' does not grant " + required));
        }
        verified.remove(authorizationHeader);
      }
    }
    SasOutcome outcome = verifier.verifyService(authorizationHeader, required, policies);
    if (outcome instanceof SasOutcome.Valid valid && valid.principal() instanceof Principal.ServicePolicy p) {
      if (verified.size() >= maxEntries) {
        verified.clear();
      }
      verified.put(authorizationHeader, Verified.of(p, valid.expiryEpochSeconds()));
      return new ServiceAuthenticator.Authorized(p);
    }
    if (outcome instanceof SasOutcome.Invalid invalid) {
      return denied(invalid);
    }
    // A device principal on a service route: verifyService never yields one, but refuse it all the same.
    return denied(new SasOutcome.Invalid(SasOutcome.Reason.WRONG_SCOPE, "device tokens are not accepted on service routes"));
  }

  /**
   * An IoT Edge device acting for its own modules, as IoT Hub lets IoT Edge's identity service do
   * with the device's credential: a token for exactly {@code <host>/devices/<id>}, current and
   * signed with a key of {@code device}, which must be an enabled IoT Edge device.
   */
  public boolean isEdgeDeviceToken(String authorizationHeader, Identity device) {
    if (authorizationHeader == null || !device.iotEdge() || device.moduleId() != null
        || device.status() != DeviceStatus.ENABLED) {
      return false;
    }
    Optional<SymmetricKeyPair> keys = device.authentication().keyPair();
    SasOutcome outcome = verifier.verifyDevice(authorizationHeader, device.deviceId(), null,
        (d, m) -> m == null && d.equals(device.deviceId()) ? keys : Optional.empty());
    return outcome instanceof SasOutcome.Valid v && v.principal() instanceof Principal.Device;
  }

  /**
   * A module of an IoT Edge device acting for the device (edgeHub asking for identities in its
   * device scope): a module token for exactly {@code <host>/devices/<id>/modules/<mid>}, signed with
   * a key of {@code module}, whose device {@code device} is an enabled IoT Edge device.
   */
  public boolean isEdgeModuleToken(String authorizationHeader, Identity device, Identity module) {
    if (authorizationHeader == null || !device.iotEdge() || device.status() != DeviceStatus.ENABLED
        || module.moduleId() == null || !module.deviceId().equals(device.deviceId())) {
      return false;
    }
    Optional<SymmetricKeyPair> keys = module.authentication().keyPair();
    SasOutcome outcome = verifier.verifyDevice(authorizationHeader, device.deviceId(), module.moduleId(),
        (d, m) -> module.moduleId().equals(m) && d.equals(device.deviceId()) ? keys : Optional.empty());
    return outcome instanceof SasOutcome.Valid v && v.principal() instanceof Principal.Module;
  }

  private static ServiceAuthenticator.Denied denied(SasOutcome.Invalid invalid) {
    return new ServiceAuthenticator.Denied(ServiceAuthenticator.unauthorized(invalid), invalid.reason());
  }

  /** For tests: how many verified tokens are remembered. */
  int cachedTokens() {
    return verified.size();
  }
}
