package io.twinhub.node.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.AuthenticationType;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.Outcome;
import io.twinhub.twin.error.IotHubErrorCode;
import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RegistryJsonTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

  static ObjectNode obj(String json) throws Exception {
    return (ObjectNode) JSON.readTree(json);
  }

  static IdentitySpec spec(String json, String deviceId, String moduleId) throws Exception {
    RegistryJson.Parsed p = RegistryJson.parse(obj(json), deviceId, moduleId);
    return assertInstanceOf(RegistryJson.Spec.class, p, () -> "rejected: " + p).spec();
  }

  static String refused(String json) throws Exception {
    RegistryJson.Parsed p = RegistryJson.parse(obj(json), "dev1", null);
    RegistryJson.Invalid invalid = assertInstanceOf(RegistryJson.Invalid.class, p, () -> "accepted: " + p);
    assertEquals(IotHubErrorCode.ArgumentInvalid, invalid.error().code());
    return invalid.error().message();
  }

  @Test
  void whatTheServiceSdkSendsForANewDevice() throws Exception {
    // Byte for byte what iot-service-client 2.1.9 sends for new Device("dev1") (gson, nulls dropped).
    IdentitySpec s = spec("{\"deviceId\":\"dev1\",\"generationId\":null,\"status\":\"Enabled\",\"connectionState\":\"Disconnected\","
        + "\"statusUpdatedTime\":\"0001-01-01T00:00:00\",\"connectionStateUpdatedTime\":\"0001-01-01T00:00:00\","
        + "\"lastActivityTime\":\"0001-01-01T00:00:00\",\"cloudToDeviceMessageCount\":0,"
        + "\"authentication\":{\"symmetricKey\":{\"primaryKey\":\"" + KEY + "\",\"secondaryKey\":\"" + KEY + "\"},\"type\":\"sas\"},"
        + "\"parentScopes\":[]}", "dev1", null);
    assertEquals(DeviceStatus.ENABLED, s.status());
    assertEquals(AuthenticationType.SAS, s.authentication().type());
    assertEquals(KEY, s.authentication().symmetricKey().primaryKey());
    assertFalse(s.iotEdge());
  }

  @Test
  void emptyBodyMeansEnabledSasWithKeysToGenerate() throws Exception {
    IdentitySpec s = spec("{}", "dev1", null);
    assertEquals(DeviceStatus.ENABLED, s.status());
    assertEquals(AuthenticationType.SAS, s.authentication().type());
    assertNull(s.authentication().symmetricKey().primaryKey());
  }

  @Test
  void x509AndEdgeAndModules() throws Exception {
    String thumb = "A".repeat(40);
    IdentitySpec s = spec("{\"status\":\"disabled\",\"statusReason\":\"r\",\"capabilities\":{\"iotEdge\":true},"
        + "\"authentication\":{\"type\":\"selfSigned\",\"x509Thumbprint\":{\"primaryThumbprint\":\"" + thumb + "\"}}}", "dev1", null);
    assertEquals(DeviceStatus.DISABLED, s.status());
    assertEquals("r", s.statusReason());
    assertTrue(s.iotEdge());
    assertEquals(thumb, s.authentication().x509Thumbprint().primaryThumbprint());
    assertEquals(AuthenticationType.CERTIFICATE_AUTHORITY,
        spec("{\"authentication\":{\"type\":\"certificateAuthority\"}}", "dev1", null).authentication().type());
    spec("{\"moduleId\":\"m1\",\"deviceId\":\"dev1\",\"managedBy\":\"me\"}", "dev1", "m1");
  }

  @Test
  void refusesWrongShapesNamingTheField() throws Exception {
    assertTrue(refused("{\"deviceId\":\"dev2\"}").contains("deviceId"));
    assertTrue(refused("{\"deviceId\":5}").contains("deviceId"));
    assertTrue(refused("{\"status\":\"paused\"}").contains("status"));
    assertTrue(refused("{\"status\":true}").contains("status"));
    assertTrue(refused("{\"statusReason\":\"" + "x".repeat(129) + "\"}").contains("statusReason"));
    assertTrue(refused("{\"authentication\":\"sas\"}").contains("authentication"));
    assertTrue(refused("{\"authentication\":{\"type\":\"kerberos\"}}").contains("authentication.type"));
    assertTrue(refused("{\"authentication\":{\"symmetricKey\":[]}}").contains("symmetricKey"));
    assertTrue(refused("{\"authentication\":{\"symmetricKey\":{\"primaryKey\":1}}}").contains("primaryKey"));
    assertTrue(refused("{\"capabilities\":[]}").contains("capabilities"));
    assertTrue(refused("{\"capabilities\":{\"iotEdge\":1}}").contains("iotEdge"));
    RegistryJson.Invalid m = assertInstanceOf(RegistryJson.Invalid.class,
        RegistryJson.parse(obj("{\"moduleId\":\"m2\"}"), "dev1", "m1"));
    assertTrue(m.error().message().contains("moduleId"));
  }

  @Test
  void clientTextInMessagesIsClippedAndControlFree() {
    String clipped = RegistryJson.clip("a\u0001".repeat(100));
    assertTrue(clipped.length() <= 67, clipped);
    assertFalse(clipped.contains("\u0001"));
  }

  @Test
  void rendersTheRegistryShapeTheSdkReads() {
    Identity device = ((Outcome.Accepted<Identity>) Identity.create("dev1", null,
        new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(KEY, KEY), true), "1234")).value()
        .withConnectionState(ConnectionState.CONNECTED, Instant.parse("2026-11-24T10:00:00.123456Z"));
    ObjectNode d = RegistryJson.device(device);
    assertEquals("dev1", d.path("deviceId").asText());
    assertEquals("1234", d.path("generationId").asText());
    assertEquals("MQ==", d.path("etag").asText());
    assertEquals("Connected", d.path("connectionState").asText());
    assertEquals("2026-11-24T10:00:00.123Z", d.path("connectionStateUpdatedTime").asText());
    assertEquals("0001-01-01T00:00:00Z", d.path("statusUpdatedTime").asText());
    assertEquals(KEY, d.path("authentication").path("symmetricKey").path("secondaryKey").asText());
    assertEquals("sas", d.path("authentication").path("type").asText());
    assertTrue(d.path("capabilities").path("iotEdge").asBoolean());

    Identity module = ((Outcome.Accepted<Identity>) Identity.create("dev1", "m1",
        new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(KEY, KEY), false), "5")).value();
    ObjectNode m = RegistryJson.identity(module);
    assertEquals("m1", m.path("moduleId").asText());
    assertTrue(m.has("managedBy"));
    assertFalse(m.has("status"));
    assertFalse(m.has("capabilities"));
  }

  @Test
  void deviceScopesParseAndRender() throws Exception {
    String scope = "ms-azure-iot-edge://gw-637000000000000001";
    IdentitySpec leaf = spec("{\"deviceScope\":\"" + scope + "\"}", "dev1", null);
    assertEquals(scope, leaf.deviceScope());
    assertNull(leaf.parentScopes(), "not given: the identity keeps its parents");
    IdentitySpec viaParents = spec("{\"parentScopes\":[\"" + scope + "\"]}", "dev1", null);
    assertEquals(java.util.List.of(scope), viaParents.parentScopes());
    IdentitySpec none = spec("{}", "dev1", null);
    assertNull(none.deviceScope());
    assertTrue(refused("{\"deviceScope\":\"gw\"}").contains("deviceScope"));
    assertTrue(refused("{\"parentScopes\":[\"" + scope + "\",\"" + scope + "x\"]}").contains("at most one parent"));
    assertTrue(refused("{\"parentScopes\":\"" + scope + "\"}").contains("parentScopes"));

    Identity created = ((Outcome.Accepted<Identity>) Identity.create("dev1", null, leaf.withAuthentication(Authentication.sas(KEY, KEY)), "g1")).value();
    ObjectNode json = RegistryJson.device(created);
    assertEquals(scope, json.get("deviceScope").asText());
    assertEquals(scope, json.get("parentScopes").get(0).asText());
    Identity plain = ((Outcome.Accepted<Identity>) Identity.create("dev2", null, none.withAuthentication(Authentication.sas(KEY, KEY)), "g2")).value();
    assertFalse(RegistryJson.device(plain).has("deviceScope"));
  }
}
