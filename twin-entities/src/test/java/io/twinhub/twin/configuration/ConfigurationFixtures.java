package io.twinhub.twin.configuration;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.domain.JsonDoc;

import java.time.Instant;
import java.util.Map;

/** Configurations and JSON for the configuration domain's tests. */
final class ConfigurationFixtures {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");

  private ConfigurationFixtures() {}

  static ObjectNode json(String text) {
    try {
      return (ObjectNode) JSON.readTree(text);
    } catch (Exception e) {
      throw new IllegalArgumentException(text, e);
    }
  }

  /** An automatic device configuration created {@code createdSecond} seconds after T0. */
  static Configuration device(String id, int priority, int createdSecond, String deviceContent) {
    return new Configuration(id, "1.0", Map.of(), new Configuration.Content(JsonDoc.of(json(deviceContent)), null, null),
        "tags.x = 1", priority, Map.of(), T0.plusSeconds(createdSecond), T0.plusSeconds(createdSecond), 1);
  }

  static Configuration edge(String id, int priority, int createdSecond, String modulesContent) {
    return new Configuration(id, "1.0", Map.of(), new Configuration.Content(null, null, JsonDoc.of(json(modulesContent))),
        "tags.x = 1", priority, Map.of(), T0.plusSeconds(createdSecond), T0.plusSeconds(createdSecond), 1);
  }

  static final String BASE_MANIFEST = """
      {"$edgeAgent": {"properties.desired": {
          "schemaVersion": "1.1",
          "runtime": {"type": "docker", "settings": {"minDockerVersion": "v1.25"}},
          "systemModules": {
            "edgeAgent": {"type": "docker", "settings": {"image": "agent:1.5"}},
            "edgeHub": {"type": "docker", "status": "running", "restartPolicy": "always", "settings": {"image": "hub:1.5"}}},
          "modules": {
            "sensor": {"type": "docker", "status": "running", "restartPolicy": "always", "settings": {"image": "sensor:1"}}}}},
       "$edgeHub": {"properties.desired": {
          "schemaVersion": "1.1",
          "routes": {"up": "FROM /messages/* INTO $upstream"},
          "storeAndForwardConfiguration": {"timeToLiveSecs": 7200}}}}""";
}
