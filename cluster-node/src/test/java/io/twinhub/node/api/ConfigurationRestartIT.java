package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.node.TestNodes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The configuration store and its applier across a node restart on the same data directory and
 * journal (real Cassandra): the configuration comes back with its etag and creation time, and a
 * device created after the restart that meets its condition still gets the content.
 */
class ConfigurationRestartIT {
  @TempDir
  Path dataDir;

  @Test
  void configurationsSurviveARestartAndKeepBeingApplied() throws Exception {
    Map<String, Object> journal = new HashMap<>(TestNodes.ownKeyspace("config_it"));
    String body = "{\"content\": {\"deviceContent\": {\"properties.desired.fw\": {\"version\": \"2.0\"}}},"
        + " \"targetCondition\": \"tags.ring = 'canary'\", \"priority\": 4}";
    JsonNode created;
    try (ApiTestNode first = ApiTestNode.start(dataDir, journal)) {
      ApiClient.Reply put = first.client.put("/configurations/firmware-canary", body);
      assertEquals(200, put.status(), put::toString);
      created = put.json();
      createTagged(first.client, "before-restart");
      awaitContent(first.client, "before-restart");
    }
    try (ApiTestNode second = ApiTestNode.start(dataDir, journal)) {
      ApiClient.Reply got = second.client.get("/configurations/firmware-canary");
      assertEquals(200, got.status(), got::toString);
      assertEquals(created.path("etag").asText(), got.json().path("etag").asText());
      assertEquals(created.path("createdTimeUtc").asText(), got.json().path("createdTimeUtc").asText());
      assertEquals(4, got.json().path("priority").asInt());
      createTagged(second.client, "after-restart");
      awaitContent(second.client, "after-restart");
    }
  }

  private static void createTagged(ApiClient api, String deviceId) throws Exception {
    assertEquals(200, api.put("/devices/" + deviceId, "{}").status());
    assertEquals(200, api.patch("/twins/" + deviceId, "{\"tags\": {\"ring\": \"canary\"}}", null).status());
  }

  private static void awaitContent(ApiClient api, String deviceId) throws Exception {
    long end = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (System.nanoTime() < end) {
      ApiClient.Reply twin = api.get("/twins/" + deviceId);
      if (twin.status() == 200 && "2.0".equals(twin.json().at("/properties/desired/fw/version").asText())) return;
      Thread.sleep(250);
    }
    fail("the configuration's content did not reach " + deviceId + " within 90 s");
  }
}
