package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.twin.auth.SasToken;
import io.twinhub.twin.auth.SymmetricKeyPair;
import io.twinhub.twin.domain.TwinJson;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The REST API end to end over HTTPS on a real node (embedded Cassandra): identities, twins,
 * conditional writes, bulk, rights per policy, the plain-HTTP listener.
 */
@Order(SharedApiNode.ORDER) // shares SharedApiNode's node with the other users, one after the other
class RestApiIT {

  static ApiTestNode hub;
  static ApiClient api;
  static int plainPort;

  @BeforeAll
  static void start() throws Exception {
    hub = SharedApiNode.acquire();
    plainPort = SharedApiNode.plainPort();
    api = hub.client;
  }

  static String id(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  @Test
  void deviceIdentityLifecycleWithEtags() throws Exception {
    String d = id("dev");
    ApiClient.Reply created = api.put("/devices/" + d, "{\"deviceId\":\"" + d + "\"}");
    assertEquals(200, created.status(), created::toString);
    JsonNode device = created.json();
    assertEquals(d, device.path("deviceId").asText());
    assertEquals("MQ==", device.path("etag").asText());
    assertEquals("\"MQ==\"", created.header("etag").orElseThrow(), "ETag header is quoted");
    assertEquals("enabled", device.path("status").asText());
    assertEquals("Disconnected", device.path("connectionState").asText());
    assertEquals("sas", device.path("authentication").path("type").asText());
    assertEquals(44, device.path("authentication").path("symmetricKey").path("primaryKey").asText().length(), "generated 32-byte key");
    assertFalse(device.path("generationId").asText().isEmpty());
    assertEquals("application/json", created.header("content-type").orElseThrow());

    ApiClient.Reply again = api.put("/devices/" + d, "{}");
    assertEquals(409, again.status());
    assertEquals(409001, again.errorCode());
    assertEquals("DeviceAlreadyExists", again.header("iothub-errorcode").orElseThrow());

    // Update with If-Match: *, keys given, status disabled (as the SDK's updateDevice sends it).
    String key = SymmetricKeyPair.generate().primaryKey();
    ApiClient.Reply updated = api.put("/devices/" + d,
        "{\"status\":\"Disabled\",\"statusReason\":\"maintenance\",\"authentication\":{\"type\":\"sas\",\"symmetricKey\":"
            + "{\"primaryKey\":\"" + key + "\",\"secondaryKey\":\"" + key + "\"}},\"connectionState\":\"Connected\","
            + "\"etag\":\"whatever\",\"cloudToDeviceMessageCount\":7}", "*");
    assertEquals(200, updated.status(), updated::toString);
    assertEquals("disabled", updated.json().path("status").asText());
    assertEquals("maintenance", updated.json().path("statusReason").asText());
    assertEquals(key, updated.json().path("authentication").path("symmetricKey").path("primaryKey").asText());
    assertEquals("Disconnected", updated.json().path("connectionState").asText(), "read-only fields are ignored");
    assertEquals(0, updated.json().path("cloudToDeviceMessageCount").asInt());
    assertEquals("Mg==", updated.json().path("etag").asText());
    assertNotEquals(TwinJson.NEVER, updated.json().path("statusUpdatedTime").asText());

    assertEquals(412, api.put("/devices/" + d, "{}", "\"MQ==\"").status(), "stale etag");
    ApiClient.Reply conditional = api.put("/devices/" + d, "{\"status\":\"enabled\"}", "\"Mg==\"");
    assertEquals(200, conditional.status(), conditional::toString);
    assertEquals("enabled", conditional.json().path("status").asText());

    ApiClient.Reply got = api.get("/devices/" + d);
    assertEquals(conditional.json(), got.json());
    assertEquals("\"Mw==\"", got.header("etag").orElseThrow());

    assertEquals(412, api.delete("/devices/" + d, "\"Mg==\"").status());
    ApiClient.Reply deleted = api.delete("/devices/" + d, "Mw==");
    assertEquals(204, deleted.status(), deleted::toString);
    ApiClient.Reply gone = api.get("/devices/" + d);
    assertEquals(404, gone.status());
    assertEquals(404001, gone.errorCode());
    assertEquals(404001, api.get("/twins/" + d).errorCode(), "the twin goes with the identity");
  }

  @Test
  void moduleIdentitiesAndTheirListAndTwins() throws Exception {
    String d = id("edge");
    assertEquals(404001, api.put("/devices/" + d + "/modules/m1", "{}").errorCode(), "module of a missing device");
    assertEquals(200, api.put("/devices/" + d, "{\"capabilities\":{\"iotEdge\":true}}").status());
    assertTrue(api.get("/devices/" + d).json().path("capabilities").path("iotEdge").asBoolean());
    ApiClient.Reply m1 = api.put("/devices/" + d + "/modules/m1", "{\"moduleId\":\"m1\",\"deviceId\":\"" + d + "\"}");
    assertEquals(200, m1.status(), m1::toString);
    assertEquals("m1", m1.json().path("moduleId").asText());
    assertEquals(d, m1.json().path("deviceId").asText());
    assertTrue(m1.json().has("managedBy"));
    assertFalse(m1.json().has("status"), "modules have no status");
    assertEquals(200, api.put("/devices/" + d + "/modules/m2", "{}").status());
    assertEquals(409301, api.put("/devices/" + d + "/modules/m1", "{}").errorCode());

    ApiClient.Reply list = api.get("/devices/" + d + "/modules");
    assertEquals(200, list.status());
    // An IoT Edge device comes with its system modules, as IoT Hub creates them.
    assertEquals(List.of("$edgeAgent", "$edgeHub", "m1", "m2"),
        java.util.stream.StreamSupport.stream(list.json().spliterator(), false).map(m -> m.path("moduleId").asText()).toList());

    ApiClient.Reply twin = api.patch("/twins/" + d + "/modules/m2", "{\"properties\":{\"desired\":{\"rate\":3}}}", null);
    assertEquals(200, twin.status(), twin::toString);
    assertEquals("m2", twin.json().path("moduleId").asText());
    assertEquals(3, twin.json().path("properties").path("desired").path("rate").asInt());
    assertFalse(twin.json().has("capabilities"), "module twins have no capabilities");

    assertEquals(204, api.delete("/devices/" + d + "/modules/m1", "*").status());
    assertEquals(404010, api.get("/devices/" + d + "/modules/m1").errorCode());
    assertEquals(3, api.get("/devices/" + d + "/modules").json().size());
    assertEquals(404001, api.get("/devices/nobody-" + d + "/modules").errorCode());
  }

  @Test
  void twinPatchMergesReplaceReplacesAndEtagsGuardBoth() throws Exception {
    String d = id("twin");
    assertEquals(200, api.put("/devices/" + d, "{}").status());
    ApiClient.Reply t0 = api.get("/twins/" + d);
    assertEquals(200, t0.status());
    assertEquals("AAAAAAAAAAE=", t0.json().path("etag").asText());
    assertEquals("\"AAAAAAAAAAE=\"", t0.header("etag").orElseThrow());

    // PATCH as the service SDK sends it: POST + X-HTTP-Method-Override, If-Match unquoted.
    ApiClient.Reply p1 = api.send("POST", "/twins/" + d + "?" + ApiClient.API_VERSION,
        "{\"tags\":{\"site\":{\"room\":\"a\",\"floor\":1}},\"properties\":{\"desired\":{\"cfg\":{\"on\":true,\"rate\":5}}}}",
        Map.of("X-HTTP-Method-Override", "PATCH", "If-Match", "AAAAAAAAAAE="));
    assertEquals(200, p1.status(), p1::toString);
    assertEquals(2, p1.json().path("version").asInt());
    assertEquals(2, p1.json().path("properties").path("desired").path("$version").asInt());
    assertEquals("\"AAAAAAAAAAI=\"", p1.header("etag").orElseThrow());

    ApiClient.Reply p2 = api.patch("/twins/" + d,
        "{\"tags\":{\"site\":{\"room\":null,\"wing\":\"w\"}},\"properties\":{\"desired\":{\"cfg\":{\"rate\":6}}}}", "\"AAAAAAAAAAI=\"");
    assertEquals(200, p2.status(), p2::toString);
    assertEquals("{\"floor\":1,\"wing\":\"w\"}", p2.json().path("tags").path("site").toString(), "merge: null deletes, others stay");
    assertEquals(true, p2.json().path("properties").path("desired").path("cfg").path("on").asBoolean());
    assertEquals(6, p2.json().path("properties").path("desired").path("cfg").path("rate").asInt());

    ApiClient.Reply stale = api.patch("/twins/" + d, "{\"tags\":{\"x\":1}}", "\"AAAAAAAAAAE=\"");
    assertEquals(412, stale.status());
    assertEquals(412001, stale.errorCode());
    assertEquals("PreconditionFailed", stale.header("iothub-errorcode").orElseThrow());

    ApiClient.Reply replaced = api.put("/twins/" + d, "{\"tags\":{\"only\":1},\"properties\":{\"desired\":{\"d\":2}}}", "*");
    assertEquals(200, replaced.status(), replaced::toString);
    assertEquals("{\"only\":1}", replaced.json().path("tags").toString());
    assertFalse(replaced.json().path("properties").path("desired").has("cfg"));
    assertEquals(4, replaced.json().path("version").asInt());

    // A fetched twin sent back (SDK style) carries desired.$version: accepted and ignored.
    JsonNode fetched = api.get("/twins/" + d).json();
    String echoed = "{\"deviceId\":\"" + d + "\",\"etag\":\"" + fetched.path("etag").asText() + "\",\"tags\":{},"
        + "\"properties\":{\"desired\":{\"d\":3,\"$version\":" + fetched.path("properties").path("desired").path("$version").asInt() + "}}}";
    ApiClient.Reply echo = api.patch("/twins/" + d, echoed, fetched.path("etag").asText());
    assertEquals(200, echo.status(), echo::toString);
    assertEquals(3, echo.json().path("properties").path("desired").path("d").asInt());
    assertEquals(5, echo.json().path("properties").path("desired").path("$version").asInt(), "one more, not the echoed one");
  }

  /**
   * A plain twin read (query exactly api-version) takes the read path outside the route tree
   * ({@link TwinReadPath}); with one more query parameter the same read goes through the tree.
   * Both must answer alike, for twins, module twins, absent ones and refused tokens.
   */
  @Test
  void twinReadPathAnswersAsTheRouteTree() throws Exception {
    String d = id("read");
    assertEquals(200, api.put("/devices/" + d, "{}").status());
    assertEquals(200, api.put("/devices/" + d + "/modules/m1", "{}").status());
    assertEquals(200, api.patch("/twins/" + d, "{\"tags\":{\"site\":\"a\"},\"properties\":{\"desired\":{\"t\":{\"x\":1}}}}",
        null).status());
    for (String path : new String[] {"/twins/" + d, "/twins/" + d + "/modules/m1", "/twins/nobody-" + d,
        "/twins/" + d + "/modules/nomodule"}) {
      ApiClient.Reply fast = api.send("GET", path + "?" + ApiClient.API_VERSION, null, Map.of());
      ApiClient.Reply tree = api.send("GET", path + "?" + ApiClient.API_VERSION + "&via=tree", null, Map.of());
      assertEquals(tree.status(), fast.status(), path);
      assertEquals(tree.header("content-type"), fast.header("content-type"), path);
      assertEquals(tree.header("etag"), fast.header("etag"), path);
      assertEquals(tree.header("iothub-errorcode"), fast.header("iothub-errorcode"), path);
      if (tree.status() == 200) {
        assertEquals(tree.text(), fast.text(), path);
      } else {
        assertEquals(tree.errorCode(), fast.errorCode(), path);
        assertEquals(tree.errorMessage(), fast.errorMessage(), path);
      }
    }
    assertEquals(404001, api.get("/twins/nobody-" + d).errorCode());
    assertEquals(2, api.get("/twins/" + d).json().path("version").asInt());
    // A token without ServiceConnect, and a method override on GET: refused alike (by the tree).
    String readOnly = api.token("registryRead");
    assertEquals(401, api.send("GET", "/twins/" + d + "?" + ApiClient.API_VERSION, null, Map.of("Authorization", readOnly)).status());
    assertEquals(400, api.send("GET", "/twins/" + d + "?" + ApiClient.API_VERSION, null,
        Map.of("X-HTTP-Method-Override", "PATCH")).status());
  }

  /**
   * A plain twin PATCH or PUT (query exactly api-version) takes the write path outside the route
   * tree ({@link TwinWritePath}); with one more query parameter the same write goes through the
   * tree. Two twins with the same history, one written each way, must answer alike step by step:
   * writes, the service SDK's POST override, stale and weak etags, a desired $version echo, bad
   * bodies, a module twin, an absent twin and a token without ServiceConnect.
   */
  @Test
  void twinWritePathAnswersAsTheRouteTree() throws Exception {
    String fastId = id("wfast");
    String treeId = id("wtree");
    for (String d : List.of(fastId, treeId)) {
      assertEquals(200, api.put("/devices/" + d, "{}").status());
      assertEquals(200, api.put("/devices/" + d + "/modules/m1", "{}").status());
    }
    record Step(String method, String suffix, String body, Map<String, String> headers) {}
    String readOnly = api.token("registryRead");
    List<Step> steps = List.of(
        new Step("PATCH", "", "{\"tags\":{\"site\":\"a\"},\"properties\":{\"desired\":{\"t\":{\"x\":1}}}}", Map.of()),
        new Step("PATCH", "", "{\"properties\":{\"desired\":{\"t\":{\"y\":2}}}}", Map.of("If-Match", "\"AAAAAAAAAAI=\"")),
        new Step("PATCH", "", "{\"properties\":{\"desired\":{\"t\":null}}}", Map.of("If-Match", "AAAAAAAAAAE=")),  // stale: 412
        new Step("PATCH", "", "{\"tags\":{\"w\":1}}", Map.of("If-Match", "W/\"AAAAAAAAAAM=\"")),                  // weak: 412
        new Step("PATCH", "", "{\"tags\":{\"w\":1}}", Map.of("If-Match", "\"a\"b\"")),                            // malformed: 400
        new Step("POST", "", "{\"tags\":{\"via\":\"override\"}}", Map.of("X-HTTP-Method-Override", "PATCH")),
        new Step("POST", "", "{\"tags\":{\"via\":\"post\"}}", Map.of()),                                          // no override: 400
        new Step("PATCH", "", "{\"properties\":{\"desired\":{\"e\":1,\"$version\":4}}}", Map.of("If-Match", "*")),
        new Step("PATCH", "", "{\"properties\":{\"desired\":{\"$other\":1}}}", Map.of()),                           // read-only member
        new Step("PATCH", "", "{\"tags\":", Map.of()),                                                               // not JSON
        new Step("PATCH", "", "{\"tags\":{\"a\":1}}", Map.of("Content-Type", "text/plain")),
        new Step("PATCH", "", "{\"tags\":{\"a\":1}}", Map.of("Authorization", readOnly)),                          // 401
        new Step("PUT", "", "{\"tags\":{\"only\":1},\"properties\":{\"desired\":{\"d\":2}}}", Map.of("If-Match", "*")),
        new Step("PUT", "", "{\"tags\":{\"only\":1}}", Map.of("If-Match", "\"AAAAAAAAAAE=\"")),                  // stale: 412
        new Step("PATCH", "/modules/m1", "{\"properties\":{\"desired\":{\"m\":1}}}", Map.of()),
        new Step("PATCH", "/modules/nomodule", "{\"properties\":{\"desired\":{\"m\":1}}}", Map.of()));           // 404
    for (Step s : steps) {
      ApiClient.Reply fast = api.send(s.method(), "/twins/" + fastId + s.suffix() + "?" + ApiClient.API_VERSION, s.body(), s.headers());
      ApiClient.Reply tree = api.send(s.method(), "/twins/" + treeId + s.suffix() + "?" + ApiClient.API_VERSION + "&via=tree",
          s.body(), s.headers());
      String what = s + " → " + fast + " / " + tree;
      assertEquals(tree.status(), fast.status(), what);
      assertEquals(tree.header("content-type"), fast.header("content-type"), what);
      assertEquals(tree.header("etag"), fast.header("etag"), what);
      assertEquals(tree.header("iothub-errorcode"), fast.header("iothub-errorcode"), what);
      if (tree.status() == 200) {
        assertEquals(comparable(tree.json()), comparable(fast.json()), what);
      } else {
        assertEquals(tree.errorCode(), fast.errorCode(), what);
        assertEquals(tree.errorMessage().replace(treeId, fastId), fast.errorMessage(), what);
      }
    }
    assertEquals(404, api.patch("/twins/nobody-" + fastId, "{\"tags\":{\"a\":1}}", null).status());
    assertEquals(api.get("/twins/" + treeId + "?via=tree").json().path("version").asInt(),
        api.get("/twins/" + fastId).json().path("version").asInt());
  }

  /** A twin's JSON without what differs between two twins of the same history (ids, times). */
  private static JsonNode comparable(JsonNode twin) {
    JsonNode copy = twin.deepCopy();
    strip(copy);
    return copy;
  }

  private static void strip(JsonNode node) {
    if (node instanceof com.fasterxml.jackson.databind.node.ObjectNode o) {
      List<String> names = new java.util.ArrayList<>();
      o.fieldNames().forEachRemaining(names::add);
      for (String n : names) {
        if (n.equals("deviceId") || n.equals("deviceEtag") || n.endsWith("Time") || n.equals("$lastUpdated")) {
          o.remove(n);
        } else {
          strip(o.get(n));
        }
      }
    }
  }

  @Test
  void bulkCreatesUpdatesAndDeletesAndReportsPerDeviceErrors() throws Exception {
    String p = id("bulk");
    String three = "[{\"id\":\"" + p + "-1\",\"importMode\":\"create\"},{\"id\":\"" + p + "-2\",\"importMode\":\"create\",\"status\":\"disabled\"},"
        + "{\"id\":\"" + p + "-3\"}]";
    ApiClient.Reply ok = api.post("/devices", three);
    assertEquals(200, ok.status(), ok::toString);
    assertTrue(ok.json().path("isSuccessful").asBoolean());
    assertEquals(0, ok.json().path("errors").size());
    assertEquals("disabled", api.get("/devices/" + p + "-2").json().path("status").asText());

    ApiClient.Reply conflict = api.post("/devices", three.replace("\"importMode\":\"create\",\"status\"", "\"importMode\":\"createOrUpdate\",\"status\""));
    assertEquals(400, conflict.status(), conflict::toString);
    assertFalse(conflict.json().path("isSuccessful").asBoolean());
    assertEquals(1, conflict.json().path("errors").size(), conflict::toString);
    assertEquals(p + "-1", conflict.json().path("errors").get(0).path("deviceId").asText());
    assertEquals("DeviceAlreadyExists", conflict.json().path("errors").get(0).path("errorCode").asText());
    assertEquals("BulkRegistryOperationFailure", conflict.header("iothub-errorcode").orElseThrow());

    String etag2 = api.get("/devices/" + p + "-2").json().path("etag").asText();
    ApiClient.Reply deletes = api.post("/devices", "[{\"id\":\"" + p + "-1\",\"importMode\":\"delete\"},"
        + "{\"id\":\"" + p + "-2\",\"importMode\":\"deleteIfMatchETag\",\"eTag\":\"" + etag2 + "\"},"
        + "{\"id\":\"" + p + "-3\",\"importMode\":\"deleteIfMatchETag\",\"eTag\":\"OTk=\"}]");
    assertEquals(400, deletes.status(), deletes::toString);
    assertEquals("PreconditionFailed", deletes.json().path("errors").get(0).path("errorCode").asText());
    assertEquals(404, api.get("/devices/" + p + "-1").status());
    assertEquals(404, api.get("/devices/" + p + "-2").status());
    assertEquals(200, api.get("/devices/" + p + "-3").status());
  }

  @Test
  void eachPolicyHasItsRights() throws Exception {
    String d = id("rights");
    assertEquals(200, api.put("/devices/" + d, "{}").status());
    record Probe(String method, String path, String body) {}
    Probe readDevice = new Probe("GET", "/devices/" + d, null);
    Probe writeDevice = new Probe("PUT", "/devices/" + d + "-new", "{}");
    Probe readTwin = new Probe("GET", "/twins/" + d, null);
    Probe stats = new Probe("GET", "/statistics/devices", null);
    Probe service = new Probe("GET", "/statistics/service", null);
    Map<String, Map<Probe, Integer>> expected = Map.of(
        "registryRead", Map.of(readDevice, 200, writeDevice, 401, readTwin, 401, stats, 200, service, 401),
        "registryReadWrite", Map.of(readDevice, 200, writeDevice, 200, readTwin, 401, stats, 200, service, 401),
        "service", Map.of(readDevice, 401, writeDevice, 401, readTwin, 200, stats, 401, service, 200),
        "device", Map.of(readDevice, 401, writeDevice, 401, readTwin, 401, stats, 401, service, 401));
    for (var policy : expected.entrySet()) {
      for (var probe : policy.getValue().entrySet()) {
        Probe pr = probe.getKey();
        String path = pr.path().replace("-new", "-" + policy.getKey());
        ApiClient.Reply r = api.send(pr.method(), path + "?" + ApiClient.API_VERSION, pr.body(),
            Map.of("Authorization", api.token(policy.getKey())));
        assertEquals(probe.getValue(), r.status(), () -> policy.getKey() + " " + pr.method() + " " + path + ": " + r);
        if (r.status() == 401) assertEquals(401002, r.errorCode());
      }
    }
    // A token scoped with the port (as the SDK makes it from "host:port") is accepted too.
    String withPort = SasToken.signForService(api.hostName + ":" + hub.node.api().httpsPort(), "iothubowner",
        hub.policies().get("iothubowner").keys().primaryKey(), Instant.now().getEpochSecond() + 60);
    assertEquals(200, api.send("GET", "/devices/" + d + "?" + ApiClient.API_VERSION, null, Map.of("Authorization", withPort)).status());
    // The same (cached) token is refused once expired.
    // Valid for 4-5 s, so that the first use is in time on a loaded box; then wait until the clock passed it.
    long expiry = Instant.now().getEpochSecond() + 5;
    String shortLived = SasToken.signForService(api.hostName, "iothubowner",
        hub.policies().get("iothubowner").keys().primaryKey(), expiry);
    assertEquals(200, api.send("GET", "/devices/" + d + "?" + ApiClient.API_VERSION, null, Map.of("Authorization", shortLived)).status());
    while (Instant.now().getEpochSecond() < expiry) Thread.sleep(100);
    assertEquals(401, api.send("GET", "/devices/" + d + "?" + ApiClient.API_VERSION, null, Map.of("Authorization", shortLived)).status());
  }

  @Test
  void directMethodsToDisconnectedDevicesAnswerDeviceNotOnline() throws Exception {
    String d = id("method");
    assertEquals(200, api.put("/devices/" + d, "{}").status());
    assertEquals(200, api.put("/devices/" + d + "/modules/m", "{}").status());
    ApiClient.Reply r = api.post("/twins/" + d + "/methods", "{\"methodName\":\"reboot\",\"payload\":{\"delay\":1},\"responseTimeoutInSeconds\":10}");
    assertEquals(404, r.status(), r::toString);
    assertEquals(404103, r.errorCode());
    assertEquals(404103, api.post("/twins/" + d + "/modules/m/methods", "{\"methodName\":\"x\"}").errorCode());
  }

  @Test
  void plainHttpListenerServesTheSameApiWithTheSameAuth() throws Exception {
    String d = id("plain");
    assertEquals(200, api.put("/devices/" + d, "{}").status());
    HttpClient http = HttpClient.newHttpClient();
    URI uri = URI.create("http://127.0.0.1:" + plainPort + "/twins/" + d + "?" + ApiClient.API_VERSION);
    HttpResponse<String> ok = http.send(HttpRequest.newBuilder(uri).header("Authorization", api.ownerToken()).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, ok.statusCode(), ok.body());
    assertEquals(d, ApiClient.JSON.readTree(ok.body()).path("deviceId").asText());
    HttpResponse<String> noAuth = http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(401, noAuth.statusCode());
  }
}
