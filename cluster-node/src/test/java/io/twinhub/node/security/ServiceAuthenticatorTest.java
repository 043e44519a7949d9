package io.twinhub.node.security;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.twin.auth.AccessRight;
import io.twinhub.twin.auth.DeviceKeyLookup;
import io.twinhub.twin.auth.Principal;
import io.twinhub.twin.auth.SasOutcome;
import io.twinhub.twin.auth.SasToken;
import io.twinhub.twin.auth.SymmetricKeyPair;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ServiceAuthenticatorTest {

  static final long NOW = 1_700_000_000L;

  @TempDir
  Path dataDir;

  SharedAccessPolicies policies;
  ServiceAuthenticator auth;
  final SymmetricKeyPair dev1 = SymmetricKeyPair.generate();
  final DeviceKeyLookup keys = (d, m) -> d.equals("dev1") && m == null ? Optional.of(dev1) : Optional.empty();

  @BeforeEach
  void setUp() throws Exception {
    policies = SharedAccessPolicies.loadOrCreate(dataDir);
    auth = new ServiceAuthenticator(policies, List.of("localhost", "hub.example.com"),
        Clock.fixed(Instant.ofEpochSecond(NOW), ZoneOffset.UTC));
  }

  String token(String policy, String host, long expiry) {
    return SasToken.signForService(host, policy, policies.get(policy).keys().primaryKey(), expiry);
  }

  @Test
  void ownerConnectionStringTokenIsAuthorizedForEverything() {
    String header = io.twinhub.twin.auth.ConnectionString.parse(policies.ownerConnectionString("localhost:8443"))
        .sasToken(NOW + 3600);
    for (AccessRight right : AccessRight.values()) {
      ServiceAuthenticator.Authorized a = assertInstanceOf(ServiceAuthenticator.Authorized.class,
          auth.authenticate(header, right));
      assertEquals("iothubowner", a.principal().name());
    }
  }

  @Test
  void policiesGrantOnlyTheirRights() {
    assertTrue(auth.authenticate(token("service", "hub.example.com", NOW + 60), AccessRight.ServiceConnect).isAuthorized());
    assertDenied(SasOutcome.Reason.INSUFFICIENT_RIGHTS,
        auth.authenticate(token("service", "hub.example.com", NOW + 60), AccessRight.RegistryRead));
    assertTrue(auth.authenticate(token("registryRead", "hub.example.com", NOW + 60), AccessRight.RegistryRead).isAuthorized());
    assertDenied(SasOutcome.Reason.INSUFFICIENT_RIGHTS,
        auth.authenticate(token("registryRead", "hub.example.com", NOW + 60), AccessRight.RegistryWrite));
    assertTrue(auth.authenticate(token("registryReadWrite", "hub.example.com", NOW + 60), AccessRight.RegistryWrite)
        .isAuthorized());
    assertDenied(SasOutcome.Reason.INSUFFICIENT_RIGHTS,
        auth.authenticate(token("device", "hub.example.com", NOW + 60), AccessRight.ServiceConnect));
  }

  @Test
  void refusalsAre401WithIotHubUnauthorizedAccess() throws Exception {
    ServiceAuthenticator.Denied missing = assertDenied(SasOutcome.Reason.MISSING, auth.authenticate(null, AccessRight.RegistryRead));
    assertEquals(401, missing.error().status());
    assertEquals(IotHubErrorCode.IotHubUnauthorizedAccess, missing.error().code());
    JsonNode inner = IotHubError.parseBody(missing.error().toJsonBody("t", Instant.ofEpochSecond(NOW))).orElseThrow();
    assertEquals(401002, inner.get("errorCode").asInt());
    assertTrue(inner.get("message").asText().contains("Authorization header missing"));

    assertDenied(SasOutcome.Reason.EXPIRED, auth.authenticate(token("iothubowner", "localhost", NOW - 1), AccessRight.RegistryRead));
    assertDenied(SasOutcome.Reason.WRONG_SCOPE,
        auth.authenticate(token("iothubowner", "other.example.com", NOW + 60), AccessRight.RegistryRead));
    assertDenied(SasOutcome.Reason.MALFORMED, auth.authenticate("Bearer xyz", AccessRight.RegistryRead));
    String wrongKey = SasToken.signForService("localhost", "iothubowner", policies.get("service").keys().primaryKey(), NOW + 60);
    ServiceAuthenticator.Denied bad = assertDenied(SasOutcome.Reason.BAD_SIGNATURE, auth.authenticate(wrongKey, AccessRight.RegistryRead));
    assertFalse(bad.error().message().contains(policies.get("service").keys().primaryKey()));
  }

  @Test
  void deviceTokensAreRefusedOnServiceRoutesButWorkOnDeviceRoutes() {
    String deviceToken = SasToken.signForDevice("hub.example.com", "dev1", null, dev1.primaryKey(), NOW + 60);
    assertDenied(SasOutcome.Reason.WRONG_SCOPE, auth.authenticate(deviceToken, AccessRight.ServiceConnect));

    SasOutcome.Valid v = assertInstanceOf(SasOutcome.Valid.class,
        auth.verifyDevice(deviceToken, "dev1", null, keys, false));
    assertEquals(new Principal.Device("dev1"), v.principal());

    String devicePolicy = SasToken.sign("hub.example.com/devices/dev1",
        policies.get("device").keys().secondaryKey(), NOW + 60, "device");
    assertFalse(auth.verifyDevice(devicePolicy, "dev1", null, keys, false).isValid());
    assertTrue(auth.verifyDevice(devicePolicy, "dev1", null, keys, true).isValid());

    SasOutcome.Invalid other = assertInstanceOf(SasOutcome.Invalid.class,
        auth.verifyDevice(deviceToken, "dev2", null, keys, true));
    assertEquals(401002, ServiceAuthenticator.unauthorized(other).errorCode());
  }

  static ServiceAuthenticator.Denied assertDenied(SasOutcome.Reason reason, ServiceAuthenticator.Result result) {
    ServiceAuthenticator.Denied d = assertInstanceOf(ServiceAuthenticator.Denied.class, result);
    assertEquals(reason, d.reason(), d.error().message());
    assertEquals(401, d.error().status());
    assertEquals(401002, d.error().errorCode());
    return d;
  }
}
