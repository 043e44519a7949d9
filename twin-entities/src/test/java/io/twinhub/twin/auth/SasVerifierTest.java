package io.twinhub.twin.auth;

import io.twinhub.twin.auth.SasOutcome.Invalid;
import io.twinhub.twin.auth.SasOutcome.Reason;
import io.twinhub.twin.auth.SasOutcome.Valid;
import org.junit.jupiter.api.Test;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static io.twinhub.twin.auth.SasTokenTest.referenceSignature;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SasVerifierTest {

  static final long NOW = 1_700_000_000L;
  static final long LATER = NOW + 3600;
  static final String HOST = "hub.example.com";

  final Clock clock = Clock.fixed(Instant.ofEpochSecond(NOW), ZoneOffset.UTC);
  final SasVerifier verifier = new SasVerifier(List.of(HOST, "localhost:8443", "127.0.0.1"), clock);

  final SharedAccessPolicy owner = new SharedAccessPolicy("iothubowner",
      EnumSet.allOf(AccessRight.class), SymmetricKeyPair.generate());
  final SharedAccessPolicy service = new SharedAccessPolicy("service",
      EnumSet.of(AccessRight.ServiceConnect), SymmetricKeyPair.generate());
  final SharedAccessPolicy registryReadWrite = new SharedAccessPolicy("registryReadWrite",
      EnumSet.of(AccessRight.RegistryWrite), SymmetricKeyPair.generate());
  final SharedAccessPolicy devicePolicy = new SharedAccessPolicy("device",
      EnumSet.of(AccessRight.DeviceConnect), SymmetricKeyPair.generate());
  final Map<String, SharedAccessPolicy> policyMap = Map.of(owner.keyName(), owner, service.keyName(), service,
      registryReadWrite.keyName(), registryReadWrite, devicePolicy.keyName(), devicePolicy);
  final PolicyLookup policies = name -> Optional.ofNullable(policyMap.get(name));

  final SymmetricKeyPair dev1Keys = SymmetricKeyPair.generate();
  final SymmetricKeyPair dev10Keys = SymmetricKeyPair.generate();
  final SymmetricKeyPair m1Keys = SymmetricKeyPair.generate();
  final DeviceKeyLookup keys = (deviceId, moduleId) -> {
    if (moduleId == null) {
      return switch (deviceId) {
        case "dev1" -> Optional.of(dev1Keys);
        case "dev10" -> Optional.of(dev10Keys);
        default -> Optional.empty();
      };
    }
    return deviceId.equals("dev1") && moduleId.equals("m1") ? Optional.of(m1Keys) : Optional.empty();
  };

  // ---- service routes ----

  @Test
  void ownerTokenFromServiceSdkLayoutIsValid() {
    String token = SasToken.signForService(HOST, "iothubowner", owner.keys().primaryKey(), LATER);
    Valid v = assertInstanceOf(Valid.class, verifier.verifyService(token, AccessRight.RegistryWrite, policies));
    Principal.ServicePolicy p = assertInstanceOf(Principal.ServicePolicy.class, v.principal());
    assertEquals("iothubowner", p.name());
    assertEquals(EnumSet.allOf(AccessRight.class), p.rights());
    assertEquals(LATER, v.expiryEpochSeconds());
  }

  @Test
  void secondaryKeyIsAcceptedToo() {
    String token = SasToken.signForService(HOST, "service", service.keys().secondaryKey(), LATER);
    assertTrue(verifier.verifyService(token, AccessRight.ServiceConnect, policies).isValid());
  }

  @Test
  void hostWithPortAndOtherCaseIsTheSameHub() {
    for (String host : new String[] {"localhost:8443", "LOCALHOST:8443", "localhost", "localhost:1234",
        "Hub.Example.Com:443", "hub.example.com/", "127.0.0.1:8443"}) {
      String token = SasToken.sign(host.toLowerCase(), owner.keys().primaryKey(), LATER, "iothubowner");
      assertTrue(verifier.verifyService(token, AccessRight.ServiceConnect, policies).isValid(), host);
      String sdk = SasToken.signForService(host, "iothubowner", owner.keys().primaryKey(), LATER);
      assertTrue(verifier.verifyService(sdk, AccessRight.ServiceConnect, policies).isValid(), host);
    }
  }

  @Test
  void otherHubsAreWrongScope() {
    for (String host : new String[] {"evil.example.com", "hub.example.com.evil.net", "hub.example.co",
        "localhost:abc", "localhost:", "https://hub.example.com", "xhub.example.com", "hub.example.com:8443:1"}) {
      String token = SasToken.sign(host, owner.keys().primaryKey(), LATER, "iothubowner");
      assertReason(Reason.WRONG_SCOPE, verifier.verifyService(token, AccessRight.ServiceConnect, policies));
    }
  }

  @Test
  void missingRightIsInsufficientRights() {
    String token = SasToken.signForService(HOST, "service", service.keys().primaryKey(), LATER);
    assertReason(Reason.INSUFFICIENT_RIGHTS, verifier.verifyService(token, AccessRight.RegistryWrite, policies));
    String dev = SasToken.signForService(HOST, "device", devicePolicy.keys().primaryKey(), LATER);
    assertReason(Reason.INSUFFICIENT_RIGHTS, verifier.verifyService(dev, AccessRight.ServiceConnect, policies));
  }

  @Test
  void registryWriteImpliesRegistryRead() {
    String token = SasToken.signForService(HOST, "registryReadWrite", registryReadWrite.keys().primaryKey(), LATER);
    assertTrue(verifier.verifyService(token, AccessRight.RegistryRead, policies).isValid());
    assertReason(Reason.INSUFFICIENT_RIGHTS, verifier.verifyService(token, AccessRight.ServiceConnect, policies));
  }

  @Test
  void unknownPolicyWrongKeyAndPolicyKeyConfusion() {
    assertReason(Reason.UNKNOWN_POLICY, verifier.verifyService(
        SasToken.signForService(HOST, "nobody", owner.keys().primaryKey(), LATER), AccessRight.RegistryRead, policies));
    assertReason(Reason.BAD_SIGNATURE, verifier.verifyService(
        SasToken.signForService(HOST, "iothubowner", SymmetricKey.generate(), LATER), AccessRight.RegistryRead,
        policies));
    // Signed with the weaker policy's key but claiming the owner policy.
    assertReason(Reason.BAD_SIGNATURE, verifier.verifyService(
        SasToken.signForService(HOST, "iothubowner", service.keys().primaryKey(), LATER), AccessRight.RegistryRead,
        policies));
  }

  @Test
  void expiryIsCheckedAgainstTheInjectedClock() {
    String atNow = SasToken.signForService(HOST, "iothubowner", owner.keys().primaryKey(), NOW);
    String justValid = SasToken.signForService(HOST, "iothubowner", owner.keys().primaryKey(), NOW + 1);
    String past = SasToken.signForService(HOST, "iothubowner", owner.keys().primaryKey(), NOW - 3600);
    assertReason(Reason.EXPIRED, verifier.verifyService(atNow, AccessRight.RegistryRead, policies));
    assertReason(Reason.EXPIRED, verifier.verifyService(past, AccessRight.RegistryRead, policies));
    assertTrue(verifier.verifyService(justValid, AccessRight.RegistryRead, policies).isValid());

    SasVerifier lenient = new SasVerifier(List.of(HOST), clock, Duration.ofSeconds(30));
    assertTrue(lenient.verifyService(atNow, AccessRight.RegistryRead, policies).isValid());
    assertReason(Reason.EXPIRED, lenient.verifyService(past, AccessRight.RegistryRead, policies));
  }

  @Test
  void forgedExpiredTokenReportsBadSignatureNotExpired() {
    String forged = SasToken.signForService(HOST, "iothubowner", SymmetricKey.generate(), NOW - 10);
    assertReason(Reason.BAD_SIGNATURE, verifier.verifyService(forged, AccessRight.RegistryRead, policies));
  }

  @Test
  void tamperingWithAnyFieldBreaksTheSignature() {
    String token = SasToken.signForService(HOST, "iothubowner", owner.keys().primaryKey(), LATER);
    String laterSe = token.replace("&se=" + LATER, "&se=" + (LATER + 100000));
    assertReason(Reason.BAD_SIGNATURE, verifier.verifyService(laterSe, AccessRight.RegistryRead, policies));
    String otherHost = token.replace("sr=hub.example.com", "sr=localhost");
    assertReason(Reason.BAD_SIGNATURE, verifier.verifyService(otherHost, AccessRight.RegistryRead, policies));

    String devToken = SasToken.signForDevice(HOST, "dev1", null, dev1Keys.primaryKey(), LATER);
    String widened = devToken.replace("&sr=hub.example.com/devices/dev1", "&sr=hub.example.com/devices/dev10");
    assertReason(Reason.BAD_SIGNATURE, verifier.verifyDevice(widened, "dev10", null, (d, m) -> Optional.of(dev1Keys)));
  }

  @Test
  void deviceTokensAreRefusedOnServiceRoutes() {
    String device = SasToken.signForDevice(HOST, "dev1", null, dev1Keys.primaryKey(), LATER);
    assertReason(Reason.WRONG_SCOPE, verifier.verifyService(device, AccessRight.ServiceConnect, policies));
    // A policy token narrowed to a device is not a hub-wide credential either.
    String narrowed = SasToken.sign(HOST + "/devices/dev1", owner.keys().primaryKey(), LATER, "iothubowner");
    assertReason(Reason.WRONG_SCOPE, verifier.verifyService(narrowed, AccessRight.ServiceConnect, policies));
  }

  @Test
  void missingAndMalformed() {
    assertReason(Reason.MISSING, verifier.verifyService(null, AccessRight.RegistryRead, policies));
    assertReason(Reason.MISSING, verifier.verifyService("  ", AccessRight.RegistryRead, policies));
    assertReason(Reason.MALFORMED, verifier.verifyService("Basic dXNlcjpwYXNz", AccessRight.RegistryRead, policies));
    assertReason(Reason.MALFORMED, verifier.verifyDevice("SharedAccessSignature sr=x", "dev1", null, keys));
  }

  // ---- device routes ----

  @Test
  void deviceSecondaryKeyIsAcceptedAndAForgeryWithNeitherKeyIsNot() {
    String secondary = SasToken.signForDevice(HOST, "dev1", null, dev1Keys.secondaryKey(), LATER);
    assertTrue(verifier.verifyDevice(secondary, "dev1", null, keys).isValid());
    String other = SasToken.signForDevice(HOST, "dev1", null, dev10Keys.primaryKey(), LATER);
    assertReason(Reason.BAD_SIGNATURE, verifier.verifyDevice(other, "dev1", null, keys));
  }

  @Test
  void regeneratedKeysRefuseTheOldTokenAtOnce() {
    // The HMAC is reused per thread (session 14): every verification must use the identity's keys
    // of that moment, never a key of an earlier verification on the same thread.
    SymmetricKeyPair[] current = {SymmetricKeyPair.generate()};
    DeviceKeyLookup live = (d, m) -> d.equals("dev1") && m == null ? Optional.of(current[0]) : Optional.empty();
    String oldPrimary = SasToken.signForDevice(HOST, "dev1", null, current[0].primaryKey(), LATER);
    String oldSecondary = SasToken.signForDevice(HOST, "dev1", null, current[0].secondaryKey(), LATER);
    for (int i = 0; i < 3; i++) {
      assertTrue(verifier.verifyDevice(oldPrimary, "dev1", null, live).isValid());
      assertTrue(verifier.verifyDevice(oldSecondary, "dev1", null, live).isValid());
    }
    // The primary is regenerated, the secondary kept (as the portal's "regenerate primary key").
    current[0] = new SymmetricKeyPair(SymmetricKey.generate(), current[0].secondaryKey());
    assertReason(Reason.BAD_SIGNATURE, verifier.verifyDevice(oldPrimary, "dev1", null, live));
    assertTrue(verifier.verifyDevice(oldSecondary, "dev1", null, live).isValid());
    String newPrimary = SasToken.signForDevice(HOST, "dev1", null, current[0].primaryKey(), LATER);
    assertTrue(verifier.verifyDevice(newPrimary, "dev1", null, live).isValid());
    // Both regenerated: nothing signed before is accepted, on this thread or another.
    current[0] = SymmetricKeyPair.generate();
    assertReason(Reason.BAD_SIGNATURE, verifier.verifyDevice(oldSecondary, "dev1", null, live));
    assertReason(Reason.BAD_SIGNATURE, verifier.verifyDevice(newPrimary, "dev1", null, live));
    SasOutcome[] elsewhere = new SasOutcome[1];
    Thread t = new Thread(() -> elsewhere[0] = verifier.verifyDevice(newPrimary, "dev1", null, live));
    t.start();
    assertTrue(joined(t));
    assertReason(Reason.BAD_SIGNATURE, elsewhere[0]);
    // The identity gone (deleted): no keys, refused.
    current[0] = null;
    DeviceKeyLookup gone = (d, m) -> Optional.ofNullable(current[0]);
    assertReason(Reason.UNKNOWN_IDENTITY, verifier.verifyDevice(newPrimary, "dev1", null, gone));
  }

  private static boolean joined(Thread t) {
    try {
      t.join(10_000);
      return !t.isAlive();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  @Test
  void aParsedTokenIsVerifiedAsItsText() {
    String good = SasToken.signForDevice(HOST, "dev1", null, dev1Keys.primaryKey(), LATER);
    String forged = SasToken.signForDevice(HOST, "dev1", null, dev10Keys.primaryKey(), LATER);
    String expired = SasToken.signForDevice(HOST, "dev1", null, dev1Keys.primaryKey(), NOW - 3600);
    String module = SasToken.signForDevice(HOST, "dev1", "m1", m1Keys.primaryKey(), LATER);
    for (String token : List.of(good, forged, expired, module)) {
      SasToken parsed = SasToken.tryParse(token).orElseThrow();
      for (String mod : java.util.Arrays.asList(null, "m1")) {
        assertEquals(verifier.verifyDevice(token, "dev1", mod, keys, policies),
            verifier.verifyDevice(parsed, "dev1", mod, keys, policies), token);
      }
    }
  }

  @Test
  void aTokenThatNeedsOnlyTheOwnKeysIsValidExactlyWhenSignedByTheIdentity() {
    // The twin attaches a CONNECT at its lookup on needsOnlyOwnKeys + signedByIdentity: that must be verifyDevice's answer.
    String dev1 = SasToken.signForDevice(HOST, "dev1", null, dev1Keys.primaryKey(), LATER);
    String dev1Secondary = SasToken.signForDevice(HOST, "dev1", null, dev1Keys.secondaryKey(), LATER);
    String dev1DotNet = SasToken.sign(HOST + "/devices/dev1/", dev1Keys.primaryKey(), LATER, null);
    String dev1Forged = SasToken.signForDevice(HOST, "dev1", null, dev10Keys.primaryKey(), LATER);
    String m1 = SasToken.signForDevice(HOST, "dev1", "m1", m1Keys.primaryKey(), LATER);
    String m1WithDeviceKey = SasToken.signForDevice(HOST, "dev1", "m1", dev1Keys.primaryKey(), LATER);
    for (String token : List.of(dev1, dev1Secondary, dev1DotNet, dev1Forged, m1, m1WithDeviceKey)) {
      SasToken t = SasToken.tryParse(token).orElseThrow();
      String mod = t.resourceUri().contains("/modules/") ? "m1" : null;
      assertTrue(verifier.needsOnlyOwnKeys(t, "dev1", mod), token);
      SymmetricKeyPair own = keys.find("dev1", mod).orElseThrow();
      assertEquals(verifier.verifyDevice(t, "dev1", mod, keys, policies).isValid(), SasVerifier.signedByIdentity(t, own), token);
      // What the CONNECT takes when the twin attached it at the lookup: verifyDevice's outcome, without its HMAC.
      if (SasVerifier.signedByIdentity(t, own)) {
        assertEquals(verifier.verifyDevice(t, "dev1", mod, keys, policies), verifier.signedByTwin(t, "dev1", mod), token);
      }
    }
    assertFalse(SasVerifier.signedByIdentity(SasToken.tryParse(dev1Forged).orElseThrow(), dev1Keys));

    // Anything else depends on more than the identity's own keys, or is refused whatever the key: not for the twin alone.
    String expired = SasToken.signForDevice(HOST, "dev1", null, dev1Keys.primaryKey(), NOW - 1);
    String otherHub = SasToken.signForDevice("other.example.com", "dev1", null, dev1Keys.primaryKey(), LATER);
    String policy = SasToken.sign(HOST + "/devices/dev1", devicePolicy.keys().primaryKey(), LATER, "device");
    String hubWide = SasToken.sign(HOST, dev1Keys.primaryKey(), LATER, null);
    String dev10 = SasToken.signForDevice(HOST, "dev10", null, dev10Keys.primaryKey(), LATER);
    for (String token : List.of(expired, otherHub, policy, hubWide, dev10)) {
      assertFalse(verifier.needsOnlyOwnKeys(SasToken.tryParse(token).orElseThrow(), "dev1", null), token);
    }
    // A device's token presented by its module is verified with the device's keys (the module's twin has the module's).
    assertFalse(verifier.needsOnlyOwnKeys(SasToken.tryParse(dev1).orElseThrow(), "dev1", "m1"));
    assertFalse(verifier.needsOnlyOwnKeys(SasToken.tryParse(m1).orElseThrow(), "dev1", null));
    assertFalse(verifier.needsOnlyOwnKeys(SasToken.tryParse(m1).orElseThrow(), "dev1", "m10"));
  }

  @Test
  void deviceTokenInEveryEncodingIsValidForItsDevice() {
    String key = dev1Keys.primaryKey();
    String javaSdk = SasToken.signForDevice(HOST, "dev1", null, key, LATER);
    String dotNet = SasToken.sign(HOST + "/devices/dev1", key, LATER, null);
    String trailingSlash = SasToken.sign(HOST + "/devices/dev1/", key, LATER, null);
    String upperHostAndPort = SasToken.signForDevice("HUB.example.com:8883", "dev1", null, key, LATER);
    for (String token : List.of(javaSdk, dotNet, trailingSlash, upperHostAndPort)) {
      Valid v = assertInstanceOf(Valid.class, verifier.verifyDevice(token, "dev1", null, keys), token);
      assertEquals(new Principal.Device("dev1"), v.principal());
    }
  }

  @Test
  void prefixTrickDev1DoesNotCoverDev10AndViceVersa() {
    String dev1 = SasToken.signForDevice(HOST, "dev1", null, dev1Keys.primaryKey(), LATER);
    assertReason(Reason.WRONG_SCOPE, verifier.verifyDevice(dev1, "dev10", null, keys));
    String dev10 = SasToken.signForDevice(HOST, "dev10", null, dev10Keys.primaryKey(), LATER);
    assertReason(Reason.WRONG_SCOPE, verifier.verifyDevice(dev10, "dev1", null, keys));
    assertFalse(verifier.covers(HOST + "/devices/dev1", HOST + "/devices/dev10"));
    assertFalse(verifier.covers(HOST + "/devices/dev", HOST + "/devices/dev1"));
    assertTrue(verifier.covers(HOST + "/devices/dev1", HOST + "/devices/dev1/modules/m1"));
    assertTrue(verifier.covers(HOST, HOST + "/devices/dev1"));
    assertTrue(verifier.covers("HUB.EXAMPLE.COM:443/DEVICES/dev1/", HOST + "/devices/dev1"));
    assertFalse(verifier.covers(HOST + "/devices/DEV1", HOST + "/devices/dev1")); // ids are case-sensitive
    assertFalse(verifier.covers(HOST + "//devices/dev1", HOST + "/devices/dev1"));
    assertFalse(verifier.covers("other.example.com", HOST + "/devices/dev1"));
  }

  @Test
  void deviceTokenCoversItsModulesButModuleTokenDoesNotCoverTheDeviceOrOtherModules() {
    String dev1 = SasToken.signForDevice(HOST, "dev1", null, dev1Keys.primaryKey(), LATER);
    Valid asModule = assertInstanceOf(Valid.class, verifier.verifyDevice(dev1, "dev1", "m1", keys));
    assertEquals(new Principal.Device("dev1"), asModule.principal());

    String m1 = SasToken.signForDevice(HOST, "dev1", "m1", m1Keys.primaryKey(), LATER);
    Valid v = assertInstanceOf(Valid.class, verifier.verifyDevice(m1, "dev1", "m1", keys));
    assertEquals(new Principal.Module("dev1", "m1"), v.principal());
    assertReason(Reason.WRONG_SCOPE, verifier.verifyDevice(m1, "dev1", null, keys));
    assertReason(Reason.WRONG_SCOPE, verifier.verifyDevice(m1, "dev1", "m10", keys));
  }

  @Test
  void moduleTokenMustBeSignedWithTheModuleKeyAndDeviceTokenWithTheDeviceKey() {
    String m1WithDeviceKey = SasToken.signForDevice(HOST, "dev1", "m1", dev1Keys.primaryKey(), LATER);
    assertReason(Reason.BAD_SIGNATURE, verifier.verifyDevice(m1WithDeviceKey, "dev1", "m1", keys));
    String dev1WithOtherDevicesKey = SasToken.signForDevice(HOST, "dev1", null, dev10Keys.primaryKey(), LATER);
    assertReason(Reason.BAD_SIGNATURE, verifier.verifyDevice(dev1WithOtherDevicesKey, "dev1", null, keys));
  }

  @Test
  void unknownIdentityAndNonIdentityScopes() {
    String ghost = SasToken.signForDevice(HOST, "ghost", null, dev1Keys.primaryKey(), LATER);
    assertReason(Reason.UNKNOWN_IDENTITY, verifier.verifyDevice(ghost, "ghost", null, keys));
    // Hub-wide or collection-wide scope without skn names no identity whose key could sign it.
    String hubWide = SasToken.sign(HOST, dev1Keys.primaryKey(), LATER, null);
    assertReason(Reason.WRONG_SCOPE, verifier.verifyDevice(hubWide, "dev1", null, keys));
    String collection = SasToken.sign(HOST + "/devices", dev1Keys.primaryKey(), LATER, null);
    assertReason(Reason.WRONG_SCOPE, verifier.verifyDevice(collection, "dev1", null, keys));
    String modules = SasToken.sign(HOST + "/devices/dev1/modules", dev1Keys.primaryKey(), LATER, null);
    assertReason(Reason.WRONG_SCOPE, verifier.verifyDevice(modules, "dev1", "m1", keys));
  }

  @Test
  void expiredDeviceToken() {
    String token = SasToken.signForDevice(HOST, "dev1", null, dev1Keys.secondaryKey(), NOW - 1);
    assertReason(Reason.EXPIRED, verifier.verifyDevice(token, "dev1", null, keys));
  }

  @Test
  void policyTokensOnDeviceRoutesOnlyWithDeviceConnectAndWhenAllowed() {
    String devicePolicyToken = SasToken.sign(HOST + "/devices/dev1", devicePolicy.keys().primaryKey(), LATER, "device");
    assertReason(Reason.UNKNOWN_POLICY, verifier.verifyDevice(devicePolicyToken, "dev1", null, keys));
    Valid v = assertInstanceOf(Valid.class, verifier.verifyDevice(devicePolicyToken, "dev1", null, keys, policies));
    assertEquals("device", assertInstanceOf(Principal.ServicePolicy.class, v.principal()).name());
    assertReason(Reason.WRONG_SCOPE, verifier.verifyDevice(devicePolicyToken, "dev10", null, keys, policies));

    String hubWide = SasToken.signForService(HOST, "device", devicePolicy.keys().primaryKey(), LATER);
    assertTrue(verifier.verifyDevice(hubWide, "dev10", "m1", keys, policies).isValid());

    String serviceToken = SasToken.signForService(HOST, "service", service.keys().primaryKey(), LATER);
    assertReason(Reason.INSUFFICIENT_RIGHTS, verifier.verifyDevice(serviceToken, "dev1", null, keys, policies));
  }

  @Test
  void specialCharacterIdsInJavaAndDotNetEncodings() {
    String id = "a+b:c@d$e'f(g)%h";
    SymmetricKeyPair k = SymmetricKeyPair.generate();
    DeviceKeyLookup lookup = (d, m) -> d.equals(id) && m == null ? Optional.of(k) : Optional.empty();
    String javaSdk = SasToken.signForDevice(HOST, id, null, k.primaryKey(), LATER);
    String dotNet = SasToken.sign(HOST + "/devices/" + URLEncoder.encode(id, StandardCharsets.UTF_8),
        k.primaryKey(), LATER, null);
    assertTrue(verifier.verifyDevice(javaSdk, id, null, lookup).isValid());
    assertTrue(verifier.verifyDevice(dotNet, id, null, lookup).isValid());
    // "a+b..." must not be read as "a b...".
    assertReason(Reason.WRONG_SCOPE, verifier.verifyDevice(javaSdk, "a b:c@d$e'f(g)%h", null, lookup));
  }

  @Test
  void encodedSlashesOrDotsCannotEscapeTheScope() {
    String key = dev1Keys.primaryKey();
    // "dev1/../dev10" would only be a traversal if someone normalised paths; we compare segments.
    String traversal = SasToken.sign(HOST + "/devices/dev1/../dev10", key, LATER, null);
    assertReason(Reason.WRONG_SCOPE, verifier.verifyDevice(traversal, "dev10", null, keys));
    String encodedSlash = "SharedAccessSignature sr=" + HOST + "/devices/dev1%2Fmodules%2Fm1&sig="
        + URLEncoder.encode(referenceSignature(key, HOST + "/devices/dev1%2Fmodules%2Fm1\n" + LATER),
        StandardCharsets.UTF_8) + "&se=" + LATER;
    // Decodes to the module path; signed with the device key, so it is no module credential.
    assertReason(Reason.BAD_SIGNATURE, verifier.verifyDevice(encodedSlash, "dev1", "m1", keys));
  }

  @Test
  void constructorNeedsAHostName() {
    assertThrows(IllegalArgumentException.class, () -> new SasVerifier(List.of(), clock));
    assertEquals(java.util.Set.of("hub.example.com", "localhost", "127.0.0.1"), verifier.hostNames());
  }

  static void assertReason(Reason expected, SasOutcome outcome) {
    Invalid invalid = assertInstanceOf(Invalid.class, outcome, () -> "expected " + expected + " but was " + outcome);
    assertEquals(expected, invalid.reason(), invalid.detail());
  }
}
