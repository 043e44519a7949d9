package io.twinhub.twin.auth;

import io.twinhub.twin.auth.SasOutcome.Invalid;
import io.twinhub.twin.auth.SasOutcome.Reason;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Verifies SAS tokens the way IoT Hub does: genuine (HMAC-SHA256 with a key of the identity or
 * policy the token names, compared in constant time), current ({@code se} after now, by the
 * injected clock) and in scope.
 *
 * <p>Scope: the token's url-decoded {@code sr} is {@code <host>[/<segment>...]}. The host must be
 * one of this hub's host names, compared case-insensitively, with or without a {@code :port}
 * (the service SDK puts {@code HostName=localhost:8443} verbatim into {@code sr}). The path must
 * equal the accessed resource or be a whole-segment prefix of it: {@code <host>} covers the hub,
 * {@code <host>/devices/dev1} covers {@code dev1} and its modules but never {@code dev10}. A
 * trailing slash is ignored. Device and module ids compare exactly; an id segment that is itself
 * still url-encoded (the .NET SDK encodes the id, then the whole {@code sr}) also matches its
 * decoded form.
 *
 * <p>Thread-safe and stateless apart from its configuration.
 */
public final class SasVerifier {

  private static final Pattern PORT = Pattern.compile(":[0-9]{1,5}");

  private final Set<String> hostNames;
  private final Clock clock;
  private final long skewSeconds;

  /**
   * @param hostNames the names clients use for this hub, with or without {@code :port}
   * @param clock     the time against which {@code se} is checked
   */
  public SasVerifier(Collection<String> hostNames, Clock clock) {
    this(hostNames, clock, Duration.ZERO);
  }

  /** As above, accepting tokens up to {@code clockSkew} past their expiry. */
  public SasVerifier(Collection<String> hostNames, Clock clock, Duration clockSkew) {
    Objects.requireNonNull(hostNames, "hostNames");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.skewSeconds = Math.max(0, clockSkew.toSeconds());
    this.hostNames = hostNames.stream()
        .map(SasVerifier::normalizeHostName)
        .flatMap(Optional::stream)
        .collect(Collectors.toUnmodifiableSet());
    if (this.hostNames.isEmpty()) {
      throw new IllegalArgumentException("at least one valid host name is required");
    }
  }

  public Set<String> hostNames() {
    return hostNames;
  }

  /**
   * A back-end request: the token must carry {@code skn}, be scoped to the hub itself
   * ({@code sr=<host>}), be signed with that policy's primary or secondary key, and the policy
   * must grant {@code required}. Device and module tokens are refused.
   */
  public SasOutcome verifyService(String token, AccessRight required, PolicyLookup policies) {
    Objects.requireNonNull(required, "required");
    Objects.requireNonNull(policies, "policies");
    SasToken.ParseResult parsed = SasToken.parse(token);
    if (parsed instanceof SasToken.Malformed m) {
      return malformedOrMissing(token, m);
    }
    SasToken t = ((SasToken.Parsed) parsed).token();
    Optional<List<String>> path = pathIfOurHost(t.resourceUri());
    if (path.isEmpty()) {
      return new Invalid(Reason.WRONG_SCOPE, "token is for another hub");
    }
    if (t.keyName().isEmpty()) {
      return new Invalid(Reason.WRONG_SCOPE, "device and module tokens are not accepted on service routes");
    }
    if (!path.get().isEmpty()) {
      return new Invalid(Reason.WRONG_SCOPE, "service routes need a token scoped to the hub, not to a device");
    }
    Optional<SharedAccessPolicy> policy = policies.find(t.keyName().get());
    if (policy.isEmpty()) {
      return new Invalid(Reason.UNKNOWN_POLICY, "no shared access policy named '" + t.keyName().get() + "'");
    }
    if (!signedWithAny(t, policy.get().keys())) {
      return new Invalid(Reason.BAD_SIGNATURE, "signature does not match the policy's keys");
    }
    if (isExpired(t)) {
      return new Invalid(Reason.EXPIRED, "token expired");
    }
    if (!policy.get().has(required)) {
      return new Invalid(Reason.INSUFFICIENT_RIGHTS,
          "policy '" + policy.get().keyName() + "' does not grant " + required);
    }
    return new SasOutcome.Valid(policy.get().principal(), t.expiryEpochSeconds());
  }

  /**
   * A device or module acting as itself (MQTT CONNECT, device-facing HTTPS). Policy tokens
   * ({@code skn}) are refused; see the overload to accept them.
   *
   * @param moduleId {@code null} when the device itself connects
   */
  public SasOutcome verifyDevice(String token, String deviceId, String moduleId, DeviceKeyLookup keys) {
    return verifyDevice(token, deviceId, moduleId, keys, PolicyLookup.NONE);
  }

  /**
   * As above; additionally a policy token whose policy grants {@link AccessRight#DeviceConnect}
   * (IoT Hub's {@code device} policy) and whose {@code sr} covers the identity is accepted, with
   * the policy as principal.
   *
   * <p>A device's own token ({@code sr=<host>/devices/<id>}) is verified with the device's keys
   * and also covers the device's modules; a module token ({@code .../modules/<mid>}) is verified
   * with the module's keys and covers only that module.
   */
  public SasOutcome verifyDevice(String token, String deviceId, String moduleId, DeviceKeyLookup keys,
      PolicyLookup policies) {
    SasToken.ParseResult parsed = SasToken.parse(token);
    if (parsed instanceof SasToken.Malformed m) {
      return malformedOrMissing(token, m);
    }
    return verifyDevice(((SasToken.Parsed) parsed).token(), deviceId, moduleId, keys, policies);
  }

  /** As above for a token the caller has parsed already (MQTT CONNECT parses it to pick the keys). */
  public SasOutcome verifyDevice(SasToken t, String deviceId, String moduleId, DeviceKeyLookup keys,
      PolicyLookup policies) {
    Objects.requireNonNull(t, "token");
    Objects.requireNonNull(deviceId, "deviceId");
    Objects.requireNonNull(keys, "keys");
    Objects.requireNonNull(policies, "policies");
    String module = moduleId == null || moduleId.isEmpty() ? null : moduleId;
    Optional<List<String>> path = pathIfOurHost(t.resourceUri());
    if (path.isEmpty()) {
      return new Invalid(Reason.WRONG_SCOPE, "token is for another hub");
    }
    List<String> target = module == null
        ? List.of("devices", deviceId)
        : List.of("devices", deviceId, "modules", module);
    List<String> scope = path.get();
    if (!coversPath(scope, target)) {
      return new Invalid(Reason.WRONG_SCOPE, "token scope does not cover " + String.join("/", target));
    }

    if (t.keyName().isPresent()) {
      Optional<SharedAccessPolicy> policy = policies.find(t.keyName().get());
      if (policy.isEmpty()) {
        return new Invalid(Reason.UNKNOWN_POLICY,
            "no shared access policy named '" + t.keyName().get() + "' accepted here");
      }
      if (!signedWithAny(t, policy.get().keys())) {
        return new Invalid(Reason.BAD_SIGNATURE, "signature does not match the policy's keys");
      }
      if (isExpired(t)) {
        return new Invalid(Reason.EXPIRED, "token expired");
      }
      if (!policy.get().has(AccessRight.DeviceConnect)) {
        return new Invalid(Reason.INSUFFICIENT_RIGHTS,
            "policy '" + policy.get().keyName() + "' does not grant DeviceConnect");
      }
      return new SasOutcome.Valid(policy.get().principal(), t.expiryEpochSeconds());
    }

    // Own key: the token must name exactly one identity, the device or (one of) its module(s).
    Principal principal;
    Optional<SymmetricKeyPair> identityKeys;
    if (scope.size() == 2) {
      principal = new Principal.Device(deviceId);
      identityKeys = keys.find(deviceId, null);
    } else if (scope.size() == 4) {
      principal = new Principal.Module(deviceId, module);
      identityKeys = keys.find(deviceId, module);
    } else {
      return new Invalid(Reason.WRONG_SCOPE, "a device token must be scoped to one device or module");
    }
    if (identityKeys.isEmpty()) {
      return new Invalid(Reason.UNKNOWN_IDENTITY, "no SAS keys for " + String.join("/", scope));
    }
    if (!signedWithAny(t, identityKeys.get())) {
      return new Invalid(Reason.BAD_SIGNATURE, "signature does not match the identity's keys");
    }
    if (isExpired(t)) {
      return new Invalid(Reason.EXPIRED, "token expired");
    }
    return new SasOutcome.Valid(principal, t.expiryEpochSeconds());
  }

  /**
   * Whether {@link #verifyDevice(SasToken, String, String, DeviceKeyLookup, PolicyLookup)} would
   * accept {@code t} exactly when it is signed with the identity's own keys
   * ({@link #signedByIdentity}): for this hub, scoped to exactly this device or module, no policy
   * ({@code skn}), not expired. Lets the twin, which holds the keys, decide a CONNECT alone.
   */
  public boolean needsOnlyOwnKeys(SasToken t, String deviceId, String moduleId) {
    if (t.keyName().isPresent() || isExpired(t)) {
      return false;
    }
    Optional<List<String>> path = pathIfOurHost(t.resourceUri());
    if (path.isEmpty()) {
      return false;
    }
    String module = moduleId == null || moduleId.isEmpty() ? null : moduleId;
    List<String> target = module == null
        ? List.of("devices", deviceId)
        : List.of("devices", deviceId, "modules", module);
    return path.get().size() == target.size() && coversPath(path.get(), target);
  }

  /**
   * What {@link #verifyDevice(SasToken, String, String, DeviceKeyLookup, PolicyLookup)} answers for a
   * token that {@link #needsOnlyOwnKeys} and that the identity's twin found {@link #signedByIdentity}
   * (it attached the CONNECT at its lookup): valid for the device or module until its expiry, unless
   * it expired since. The scope was checked and the signature computed already; a CONNECT does not
   * compute them a second time.
   */
  public SasOutcome signedByTwin(SasToken t, String deviceId, String moduleId) {
    if (isExpired(t)) {
      return new Invalid(Reason.EXPIRED, "token expired");
    }
    String module = moduleId == null || moduleId.isEmpty() ? null : moduleId;
    return new SasOutcome.Valid(module == null ? new Principal.Device(deviceId) : new Principal.Module(deviceId, module),
        t.expiryEpochSeconds());
  }

  /** Whether {@code t} is signed with the primary or the secondary key of {@code keys}. */
  public static boolean signedByIdentity(SasToken t, SymmetricKeyPair keys) {
    return signedWithAny(t, keys);
  }

  /**
   * Whether a token whose decoded {@code sr} is {@code tokenResource} covers {@code
   * targetResource} (both {@code <host>[/path]}): same hub, path a whole-segment prefix.
   */
  public boolean covers(String tokenResource, String targetResource) {
    Optional<List<String>> scope = pathIfOurHost(tokenResource);
    Optional<List<String>> target = pathIfOurHost(targetResource);
    return scope.isPresent() && target.isPresent() && coversPath(scope.get(), target.get());
  }

  private boolean isExpired(SasToken t) {
    long now = clock.instant().getEpochSecond();
    // se is "valid before": the SDKs treat now >= se as expired.
    return now >= t.expiryEpochSeconds() && now - t.expiryEpochSeconds() >= skewSeconds;
  }

  private static boolean signedWithAny(SasToken t, SymmetricKeyPair keys) {
    // The secondary key is tried only when the primary does not match: a forged or stale token
    // always costs both HMACs (no timing tells which key came close), and only a holder of a valid
    // primary-key signature, who knows that key, can see that the second was skipped.
    return t.isSignedWith(keys.primaryKey()) || t.isSignedWith(keys.secondaryKey());
  }

  private static SasOutcome malformedOrMissing(String token, SasToken.Malformed m) {
    if (token == null || token.isBlank()) {
      return new Invalid(Reason.MISSING, "no SAS token");
    }
    return new Invalid(Reason.MALFORMED, m.reason());
  }

  private static boolean coversPath(List<String> scope, List<String> target) {
    if (scope.size() > target.size()) {
      return false;
    }
    for (int i = 0; i < scope.size(); i++) {
      String s = scope.get(i);
      String t = target.get(i);
      // Even segments are collection names ("devices", "modules"), odd ones are ids.
      if (i % 2 == 0 ? !s.equalsIgnoreCase(t) : !idMatches(s, t)) {
        return false;
      }
    }
    return true;
  }

  private static boolean idMatches(String segment, String id) {
    if (segment.equals(id)) {
      return true;
    }
    return segment.indexOf('%') >= 0
        && PercentCodec.decode(segment, true).map(id::equals).orElse(false);
  }

  /** The path segments of {@code <host>[:port][/a/b...][/]} if the host is one of ours. */
  private Optional<List<String>> pathIfOurHost(String resource) {
    if (resource == null || resource.isEmpty()) {
      return Optional.empty();
    }
    int slash = resource.indexOf('/');
    String host = slash < 0 ? resource : resource.substring(0, slash);
    Optional<String> key = normalizeHostName(host);
    if (key.isEmpty() || !hostNames.contains(key.get())) {
      return Optional.empty();
    }
    List<String> segments = new ArrayList<>();
    if (slash >= 0) {
      String rest = resource.substring(slash + 1);
      if (rest.endsWith("/")) {
        rest = rest.substring(0, rest.length() - 1);
      }
      if (!rest.isEmpty()) {
        for (String segment : rest.split("/", -1)) {
          if (segment.isEmpty()) {
            return Optional.empty(); // "host//devices" or "host/devices//x": not a resource
          }
          segments.add(segment);
        }
      }
    }
    return Optional.of(List.copyOf(segments));
  }

  /**
   * A host name as this hub compares it: lower case, without {@code :port}, brackets or a
   * trailing dot ({@code [::1]:8443} becomes {@code ::1}). Empty if it is not a host[:port].
   */
  public static Optional<String> normalizeHostName(String hostWithPort) {
    if (hostWithPort == null) {
      return Optional.empty();
    }
    String h = hostWithPort.strip().toLowerCase(Locale.ROOT);
    if (h.startsWith("[")) {
      int close = h.indexOf(']');
      if (close < 0) {
        return Optional.empty();
      }
      String rest = h.substring(close + 1);
      if (!rest.isEmpty() && !PORT.matcher(rest).matches()) {
        return Optional.empty();
      }
      return Optional.of(h.substring(1, close));
    }
    int colon = h.indexOf(':');
    if (colon >= 0 && colon == h.lastIndexOf(':')) {
      if (!PORT.matcher(h.substring(colon)).matches()) {
        return Optional.empty();
      }
      h = h.substring(0, colon);
    }
    if (h.endsWith(".")) {
      h = h.substring(0, h.length() - 1);
    }
    return h.isEmpty() ? Optional.empty() : Optional.of(h);
  }
}
