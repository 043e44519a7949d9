package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.entity.TwinReply;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/**
 * Statistics and the device list follow creates, updates, connection changes and deletes
 * (eventually), and a restarted node has the same numbers: answered from the query index on a
 * node with the query role, from its own read of the journal on a node without it.
 */
class RegistryViewIT {

  @TempDir
  Path dataDir;

  @ParameterizedTest(name = "roles {0}")
  @ValueSource(strings = {"twin,api,mqtt,query", "twin,api,mqtt"})
  void statisticsAndListFollowTheJournalAndSurviveARestart(String roles) throws Exception {
    String keyspace = "api_view_" + Long.toHexString(System.nanoTime());
    Map<String, Object> sameJournal = Map.of(
        "akka.persistence.cassandra.journal.keyspace", keyspace,
        "akka.persistence.cassandra.snapshot.keyspace", keyspace + "_snapshot",
        "twinhub.roles", roles);
    try (ApiTestNode hub = ApiTestNode.start(dataDir, sameJournal)) {
      ApiClient api = hub.client;
      for (String d : List.of("d1", "d2", "d3", "d4", "d5")) {
        String body = d.equals("d2") || d.equals("d4") ? "{\"status\":\"disabled\"}" : "{}";
        assertEquals(200, api.put("/devices/" + d, body).status());
      }
      assertEquals(200, api.put("/devices/d1/modules/m1", "{}").status(), "modules are not devices");
      // Connection state is set by the device gateway; here through the same entity command.
      for (String d : List.of("d1", "d3")) {
        assertInstanceOf(TwinReply.Accepted.class, hub.node.twins()
            .setConnectionState(d, null, ConnectionState.CONNECTED).toCompletableFuture().get(30, TimeUnit.SECONDS));
      }
      awaitStatistics(api, 5, 3, 2, 2);
      assertEquals(List.of("d1", "d2", "d3"), ids(api.get("/devices?top=3")));
      assertEquals(List.of("d1", "d2", "d3", "d4", "d5"), ids(api.get("/devices?top=1000")));
      assertEquals(List.of("d1", "d2", "d3", "d4", "d5"), ids(api.get("/devices?top=0")), "out of range means 1000");
      assertEquals(List.of("d1", "d2", "d3", "d4", "d5"), ids(api.get("/devices")));
      assertEquals("disabled", api.get("/devices?top=2").json().get(1).path("status").asText(), "full identities");

      assertEquals(204, api.delete("/devices/d1", "*").status());
      assertEquals(200, api.put("/devices/d2", "{\"status\":\"enabled\"}", "*").status());
      awaitStatistics(api, 4, 3, 1, 1);
      assertEquals(List.of("d2", "d3", "d4", "d5"), ids(api.get("/devices")));
    }
    try (ApiTestNode restarted = ApiTestNode.start(dataDir, sameJournal)) {
      awaitStatistics(restarted.client, 4, 3, 1, 1);
      assertEquals(List.of("d2", "d3", "d4", "d5"), ids(restarted.client.get("/devices")));
    }
  }

  static List<String> ids(ApiClient.Reply r) {
    assertEquals(200, r.status(), r::toString);
    return StreamSupport.stream(r.json().spliterator(), false).map(d -> d.path("deviceId").asText()).toList();
  }

  static void awaitStatistics(ApiClient api, long total, long enabled, long disabled, long connected) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(45).toNanos();
    List<Long> want = List.of(total, enabled, disabled, enabled, connected);
    List<Long> got = new ArrayList<>();
    while (System.nanoTime() < deadline) {
      JsonNode d = api.get("/statistics/devices").json();
      JsonNode s = api.get("/statistics/service").json();
      got = List.of(d.path("totalDeviceCount").asLong(), d.path("enabledDeviceCount").asLong(),
          d.path("disabledDeviceCount").asLong(), d.path("enableDeviceCount").asLong(), s.path("connectedDeviceCount").asLong());
      if (got.equals(want)) return;
      Thread.sleep(250);
    }
    assertEquals(want, got, "total, enabled, disabled, enabled (SDK spelling), connected");
  }
}
