package io.twinhub.node.security;

import io.twinhub.twin.auth.AccessRight;
import io.twinhub.twin.auth.DeviceKeyLookup;
import io.twinhub.twin.auth.PolicyLookup;
import io.twinhub.twin.auth.Principal;
import io.twinhub.twin.auth.SasOutcome;
import io.twinhub.twin.auth.SasVerifier;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.Collection;
import java.util.Objects;

/**
 * Authenticates back-end requests: the {@code Authorization} header must hold a policy token
 * ({@code skn}) scoped to this hub, signed with that policy's key, current, and the policy must
 * grant the right the route needs. Anything else is {@code 401} {@link
 * IotHubErrorCode#IotHubUnauthorizedAccess} (401002), as IoT Hub answers; device and module tokens
 * are refused here.
 *
 * <p>Device-facing checks (MQTT CONNECT, device HTTPS routes) go through {@link
 * #verifyDevice}, which delegates to the shared {@link SasVerifier} in twin-entities.
 */
public final class ServiceAuthenticator {

  private static final Logger log = LoggerFactory.getLogger(ServiceAuthenticator.class);

  private final PolicyLookup policies;
  private final SasVerifier verifier;

  /**
   * @param hostNames the host names clients use, with or without {@code :port}
   */
  public ServiceAuthenticator(PolicyLookup policies, Collection<String> hostNames, Clock clock) {
    this.policies = Objects.requireNonNull(policies, "policies");
    this.verifier = new SasVerifier(hostNames, clock);
  }

  /** The result of {@link #authenticate}. */
  public sealed interface Result permits Authorized, Denied {
    default boolean isAuthorized() {
      return this instanceof Authorized;
    }
  }

  public record Authorized(Principal.ServicePolicy principal) implements Result {}

  /** Refused: answer with {@code error} (status 401). {@code reason} is for logs and metrics. */
  public record Denied(IotHubError error, SasOutcome.Reason reason) implements Result {}

  /**
   * @param authorizationHeader the {@code Authorization} header value, {@code null} if absent
   * @param required            the right the route needs (e.g. RegistryWrite for PUT /devices)
   */
  public Result authenticate(String authorizationHeader, AccessRight required) {
    SasOutcome outcome = verifier.verifyService(authorizationHeader, required, policies);
    if (outcome instanceof SasOutcome.Valid v && v.principal() instanceof Principal.ServicePolicy p) {
      return new Authorized(p);
    }
    SasOutcome.Invalid invalid = (SasOutcome.Invalid) outcome;
    log.debug("service request refused: {} ({})", invalid.reason(), invalid.detail());
    return new Denied(IotHubErrorCode.IotHubUnauthorizedAccess.error(message(invalid)), invalid.reason());
  }

  /**
   * A device or module acting as itself; with {@code acceptDevicePolicy} also a token of a
   * policy that grants DeviceConnect. Keys come from {@code keys} (the device registry).
   */
  public SasOutcome verifyDevice(String token, String deviceId, String moduleId, DeviceKeyLookup keys,
      boolean acceptDevicePolicy) {
    return acceptDevicePolicy
        ? verifier.verifyDevice(token, deviceId, moduleId, keys, policies)
        : verifier.verifyDevice(token, deviceId, moduleId, keys);
  }

  /** A 401 for a device-facing route, from a refused outcome. */
  public static IotHubError unauthorized(SasOutcome.Invalid invalid) {
    return IotHubErrorCode.IotHubUnauthorizedAccess.error(message(invalid));
  }

  public SasVerifier verifier() {
    return verifier;
  }

  private static String message(SasOutcome.Invalid invalid) {
    return invalid.reason() == SasOutcome.Reason.MISSING
        ? "Unauthorized: Authorization header missing"
        : "Unauthorized: " + invalid.detail();
  }
}
