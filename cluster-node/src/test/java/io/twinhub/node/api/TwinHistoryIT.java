package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.node.cli.CliRun;
import io.twinhub.node.security.SharedAccessPolicies;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Twin history, as-of reads and the desired/reported delta on a real node and Cassandra: every
 * past twin the API answered is what the journal gives back, with its author; the delta is in the
 * query index; bad arguments are IoT Hub errors.
 */
@Order(SharedApiNode.ORDER) // shares SharedApiNode's node with the other users, one after the other
class TwinHistoryIT {

  static Path dataDir;

  static ApiTestNode hub;

  @BeforeAll
  static void start() throws Exception {
    hub = SharedApiNode.acquire();
    dataDir = SharedApiNode.dataDir();
  }

  private static ApiClient.Reply patchAs(String policy, String path, String body) throws Exception {
    return hub.client.send("PATCH", path + "?" + ApiClient.API_VERSION, body, Map.of("Authorization", hub.client.token(policy)));
  }

  private static void ok(ApiClient.Reply r) {
    assertEquals(200, r.status(), r::toString);
  }

  @Test
  void historyAndAsOfReadsFoldTheJournalIntoTheTwinsTheApiAnswered() throws Exception {
    ok(hub.client.put("/devices/hist-1", "{\"deviceId\":\"hist-1\"}"));
    ApiClient.Reply v2 = patchAs(SharedAccessPolicies.IOTHUBOWNER, "/twins/hist-1",
        "{\"tags\":{\"site\":\"plant-7\"},\"properties\":{\"desired\":{\"temp\":20,\"mode\":\"eco\"}}}");
    ok(v2);
    Thread.sleep(20); // distinct instants for the as-of-time read between v2 and v3
    Instant between = Instant.now();
    Thread.sleep(20);
    ApiClient.Reply v3 = patchAs("service", "/twins/hist-1", "{\"properties\":{\"desired\":{\"temp\":21,\"mode\":null}}}");
    ok(v3);
    ApiClient.Reply v4 = hub.client.put("/twins/hist-1", "{\"tags\":{\"site\":\"plant-8\"},\"properties\":{\"desired\":{\"temp\":22}}}");
    ok(v4);

    // As of a version: byte for byte the twin the write answered, $metadata and etag included.
    for (var expected : Map.of(2, v2, 3, v3, 4, v4).entrySet()) {
      ApiClient.Reply past = hub.client.get("/twins/hist-1?asOfVersion=" + expected.getKey());
      ok(past);
      assertEquals(expected.getValue().json(), past.json(), "version " + expected.getKey());
      assertEquals(expected.getValue().header("etag"), past.header("etag"));
    }
    ApiClient.Reply atTime = hub.client.get("/twins/hist-1?asOfTime=" + between);
    ok(atTime);
    assertEquals(v2.json(), atTime.json());

    // The changes in order, with who made them and the patch as change streams carry it.
    ApiClient.Reply history = hub.client.get("/twins/hist-1/history");
    ok(history);
    JsonNode changes = history.json().path("changes");
    assertEquals(3, changes.size(), history::toString);
    assertEquals(java.util.List.of(2, 3, 4), java.util.stream.StreamSupport.stream(changes.spliterator(), false)
        .map(c -> c.path("$version").asInt()).toList());
    assertEquals("service", changes.get(0).path("source").asText());
    assertEquals("iothubowner", changes.get(0).path("by").asText());
    assertEquals("service", changes.get(1).path("by").asText());
    assertEquals("updateTwin", changes.get(1).path("opType").asText());
    assertEquals("replaceTwin", changes.get(2).path("opType").asText());
    assertTrue(changes.get(1).path("patch").path("properties").path("desired").path("mode").isNull(), history::toString);
    assertEquals(21, changes.get(1).path("patch").path("properties").path("desired").path("temp").asInt());

    // A page: from a version, one change, and where the next page starts.
    ApiClient.Reply page = hub.client.get("/twins/hist-1/history?from=3&top=1");
    ok(page);
    assertEquals(1, page.json().path("changes").size());
    assertEquals(3, page.json().path("changes").get(0).path("$version").asInt());
    assertEquals(4, page.json().path("next").asInt());
    ApiClient.Reply byTime = hub.client.get("/twins/hist-1/history?to=" + between);
    assertEquals(1, byTime.json().path("changes").size(), byTime::toString);

    // A module twin has its own history.
    ok(hub.client.put("/devices/hist-1/modules/m1", "{\"deviceId\":\"hist-1\",\"moduleId\":\"m1\"}"));
    ok(patchAs("service", "/twins/hist-1/modules/m1", "{\"properties\":{\"desired\":{\"level\":3}}}"));
    ApiClient.Reply module = hub.client.get("/twins/hist-1/modules/m1/history");
    ok(module);
    assertEquals("m1", module.json().path("moduleId").asText());
    assertEquals(1, module.json().path("changes").size(), module::toString);
    assertEquals(2, module.json().path("changes").get(0).path("$version").asInt());

    // The CLI reads the same.
    String url = "https://127.0.0.1:" + hub.node.api().httpsPort();
    CliRun cliHistory = CliRun.of("twin", "history", "hist-1", "--data-dir", dataDir.toString(), "--url", url);
    assertEquals(0, cliHistory.exit(), cliHistory::toString);
    assertEquals(3, ApiClient.JSON.readTree(cliHistory.out()).path("changes").size());
    CliRun cliAsOf = CliRun.of("twin", "get", "hist-1", "--as-of-version", "3", "--data-dir", dataDir.toString(), "--url", url);
    assertEquals(0, cliAsOf.exit(), cliAsOf::toString);
    assertEquals(v3.json(), ApiClient.JSON.readTree(cliAsOf.out()));
  }

  @Test
  void badArgumentsAndUnknownTwinsAreIotHubErrors() throws Exception {
    ok(hub.client.put("/devices/hist-2", "{\"deviceId\":\"hist-2\"}"));
    for (String query : new String[] {"asOfVersion=abc", "asOfVersion=0", "asOfVersion=-1", "asOfVersion=99",
        "asOfTime=yesterday", "asOfVersion=1&asOfTime=2026-01-01T00:00:00Z"}) {
      ApiClient.Reply r = hub.client.get("/twins/hist-2?" + query);
      assertEquals(400, r.status(), query + ": " + r);
      assertEquals(400004, r.errorCode(), query);
    }
    for (String query : new String[] {"top=0", "top=1001", "top=x", "from=soon", "to=99999999999999999999"}) {
      ApiClient.Reply r = hub.client.get("/twins/hist-2/history?" + query);
      assertEquals(400, r.status(), query + ": " + r);
      assertEquals(400004, r.errorCode(), query);
    }
    ApiClient.Reply before = hub.client.get("/twins/hist-2?asOfTime=2000-01-01T00:00:00Z");
    assertEquals(404, before.status(), before::toString);
    assertEquals(404001, before.errorCode());
    ApiClient.Reply unknown = hub.client.get("/twins/no-such-twin/history");
    assertEquals(404, unknown.status(), unknown::toString);
    assertEquals(404001, unknown.errorCode());
    ApiClient.Reply unknownModule = hub.client.get("/twins/hist-2/modules/nope?asOfVersion=1");
    assertEquals(404, unknownModule.status(), unknownModule::toString);
    assertEquals(404010, unknownModule.errorCode());
    // An existing twin without changes has an empty history, not a 404.
    ApiClient.Reply empty = hub.client.get("/twins/hist-2/history");
    ok(empty);
    assertEquals(0, empty.json().path("changes").size());
    // A deleted twin's past stays readable: the journal keeps it.
    ok(patchAs("service", "/twins/hist-2", "{\"tags\":{\"gone\":true}}"));
    assertEquals(204, hub.client.delete("/devices/hist-2", "*").status());
    assertEquals(404, hub.client.get("/twins/hist-2").status());
    ApiClient.Reply deleted = hub.client.get("/twins/hist-2?asOfVersion=2");
    ok(deleted);
    assertTrue(deleted.json().path("tags").path("gone").asBoolean(), deleted::toString);
  }

  /** deviceIds a query finds once the index has them (the index trails writes briefly). */
  private static java.util.List<String> awaitQuery(String sql, java.util.List<String> expected) throws Exception {
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
    java.util.List<String> ids = null;
    while (System.nanoTime() < deadline) {
      ApiClient.Reply r = hub.client.post("/devices/query", ApiClient.JSON.createObjectNode().put("query", sql).toString());
      ok(r);
      ids = java.util.stream.StreamSupport.stream(r.json().spliterator(), false).map(n -> n.path("deviceId").asText())
          .sorted().toList();
      if (ids.equals(expected)) return ids;
      Thread.sleep(200);
    }
    return ids;
  }

  @Test
  void theDeltaListsWhatTheDeviceOwesAndQueriesFindTheDevicesThatOweSomething() throws Exception {
    ok(hub.client.put("/devices/delta-1", "{\"deviceId\":\"delta-1\"}"));
    ok(hub.client.put("/devices/delta-2", "{\"deviceId\":\"delta-2\"}"));
    ok(patchAs("service", "/twins/delta-1", "{\"properties\":{\"desired\":{\"temp\":22,\"cfg\":{\"mode\":\"eco\"}}}}"));
    ok(patchAs("service", "/twins/delta-2", "{\"tags\":{\"site\":\"x\"}}"));

    ApiClient.Reply delta = hub.client.get("/twins/delta-1/delta");
    ok(delta);
    assertFalse(delta.json().path("isEmpty").asBoolean(), delta::toString);
    assertEquals(2, delta.json().path("count").asInt());
    assertEquals(java.util.List.of("temp", "cfg.mode"), java.util.stream.StreamSupport.stream(delta.json().path("delta")
        .spliterator(), false).map(n -> n.path("path").asText()).toList());
    assertEquals(22, delta.json().path("delta").get(0).path("desired").asInt());
    assertTrue(delta.json().path("delta").get(0).path("reported").isMissingNode(), "never reported");
    assertEquals(2, delta.json().path("delta").get(0).path("desiredLastUpdatedVersion").asInt());
    ApiClient.Reply none = hub.client.get("/twins/delta-2/delta");
    ok(none);
    assertTrue(none.json().path("isEmpty").asBoolean(), none::toString);

    String owing = "SELECT deviceId FROM devices WHERE delta.isEmpty = false AND STARTSWITH(deviceId, 'delta-')";
    assertEquals(java.util.List.of("delta-1"), awaitQuery(owing, java.util.List.of("delta-1")));
    assertEquals(java.util.List.of("delta-1"), awaitQuery(
        "SELECT deviceId FROM devices WHERE delta.count >= 2 AND STARTSWITH(deviceId, 'delta-')", java.util.List.of("delta-1")));
    // SELECT * stays what IoT Hub answers: the delta is indexed, not part of the twin.
    ApiClient.Reply all = hub.client.post("/devices/query", "{\"query\":\"SELECT * FROM devices WHERE deviceId = 'delta-1'\"}");
    ok(all);
    assertTrue(all.json().get(0).path("delta").isMissingNode(), all::toString);

    // The back end withdraws what the device never applied: nothing owed, and the query drops it.
    ok(patchAs("service", "/twins/delta-1", "{\"properties\":{\"desired\":{\"temp\":null,\"cfg\":null}}}"));
    assertTrue(hub.client.get("/twins/delta-1/delta").json().path("isEmpty").asBoolean());
    assertEquals(java.util.List.of(), awaitQuery(owing, java.util.List.of()));

    ApiClient.Reply unknown = hub.client.get("/twins/no-such-device/delta");
    assertEquals(404, unknown.status(), unknown::toString);
    assertEquals(404001, unknown.errorCode());

    String url = "https://127.0.0.1:" + hub.node.api().httpsPort();
    CliRun cli = CliRun.of("twin", "delta", "delta-2", "--data-dir", dataDir.toString(), "--url", url);
    assertEquals(0, cli.exit(), cli::toString);
    assertTrue(ApiClient.JSON.readTree(cli.out()).path("isEmpty").asBoolean(), cli::toString);
  }
}
