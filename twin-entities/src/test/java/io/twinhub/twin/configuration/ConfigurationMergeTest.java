package io.twinhub.twin.configuration;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.twinhub.twin.configuration.ConfigurationFixtures.*;
import static org.junit.jupiter.api.Assertions.*;

class ConfigurationMergeTest {

  @Test
  void highestPriorityWinsPerPathAndOtherPathsStillApply() {
    Configuration low = device("low", 5, 0, "{\"properties.desired.mode\": \"eco\", \"properties.desired.fan\": \"auto\"}");
    Configuration high = device("high", 10, 1, "{\"properties.desired.mode\": \"boost\"}");
    ObjectNode after = ConfigurationMerge.desiredAfter(json("{\"other\": 1}"), List.of(high, low));
    assertEquals(json("{\"other\": 1, \"mode\": \"boost\", \"fan\": \"auto\"}"), after);
  }

  @Test
  void equalPrioritiesGoToTheMostRecentlyCreated() {
    Configuration older = device("b-older", 5, 0, "{\"properties.desired.mode\": \"eco\"}");
    Configuration newer = device("a-newer", 5, 9, "{\"properties.desired.mode\": \"quiet\"}");
    assertEquals("quiet", ConfigurationMerge.desiredAfter(json("{}"), List.of(newer, older)).path("mode").asText());
    assertEquals("quiet", ConfigurationMerge.desiredAfter(json("{}"), List.of(older, newer)).path("mode").asText());
  }

  @Test
  void aWinningPathCoversThePathsBelowIt() {
    Configuration deep = device("deep", 1, 0, "{\"properties.desired.a.b\": 1}");
    Configuration whole = device("whole", 9, 0, "{\"properties.desired.a\": {\"c\": 2}}");
    assertEquals(json("{\"a\": {\"c\": 2}}"), ConfigurationMerge.desiredAfter(json("{}"), List.of(deep, whole)));
    assertEquals(List.of(), ConfigurationMerge.effectiveKeys(deep, List.of(deep, whole)));
    assertEquals(List.of("properties.desired.a"), ConfigurationMerge.effectiveKeys(whole, List.of(deep, whole)));
    // The other way round both apply: the deeper path of the higher one lands inside the lower one's object.
    Configuration deepHigh = device("deepHigh", 9, 0, "{\"properties.desired.a.b\": 1}");
    Configuration wholeLow = device("wholeLow", 1, 0, "{\"properties.desired.a\": {\"c\": 2}}");
    assertEquals(json("{\"a\": {\"c\": 2, \"b\": 1}}"), ConfigurationMerge.desiredAfter(json("{}"), List.of(deepHigh, wholeLow)));
  }

  @Test
  void appliedMeansInEffectAndHeld() {
    Configuration low = device("low", 5, 0, "{\"properties.desired.mode\": \"eco\", \"properties.desired.fan\": \"auto\"}");
    Configuration high = device("high", 10, 0, "{\"properties.desired.mode\": \"boost\"}");
    List<Configuration> both = List.of(low, high);
    ObjectNode desired = json("{\"mode\": \"boost\", \"fan\": \"auto\", \"$version\": 4}");
    assertTrue(ConfigurationMerge.isApplied(high, both, desired));
    assertTrue(ConfigurationMerge.isApplied(low, both, desired), "partially: its fan");
    assertFalse(ConfigurationMerge.isApplied(low, both, json("{\"mode\": \"boost\"}")), "not written yet");
    Configuration shadowed = device("shadowed", 1, 0, "{\"properties.desired.mode\": \"eco\"}");
    assertFalse(ConfigurationMerge.isApplied(shadowed, List.of(shadowed, high), desired));
  }

  @Test
  void onlyTheHighestBaseDeploymentAppliesAndLayersAboveItMergeOnTop() {
    Configuration base1 = edge("base1", 1, 0, BASE_MANIFEST);
    Configuration base2 = edge("base2", 2, 0, BASE_MANIFEST.replace("sensor:1", "sensor:2"));
    Configuration layer = edge("layer", 10, 0, """
        {"$edgeAgent": {"properties.desired.modules.filter": {"type": "docker", "status": "running",
                        "restartPolicy": "always", "settings": {"image": "filter:1"}}},
         "$edgeHub": {"properties.desired.routes.filter": "FROM /messages/modules/filter/* INTO $upstream"}}""");
    Configuration below = edge("below", 1, 0, """
        {"$edgeAgent": {"properties.desired.modules.ignored": {"type": "docker", "status": "running",
                        "restartPolicy": "always", "settings": {"image": "x:1"}}}}""");
    Configuration layerLow = edge("layerLow", 5, 0, """
        {"$edgeHub": {"properties.desired.routes.filter": "FROM /messages/* INTO $upstream"}}""");
    List<Configuration> all = List.of(base1, base2, layer, below, layerLow);

    assertEquals(List.of("base2", "layerLow", "layer"),
        ConfigurationMerge.appliedDeployments(all).stream().map(Configuration::id).toList());
    Map<String, ObjectNode> desired = ConfigurationMerge.edgeDesired(all);
    ObjectNode agent = desired.get("$edgeAgent");
    assertEquals("sensor:2", agent.at("/modules/sensor/settings/image").asText(), "base2, not merged with base1");
    assertEquals("filter:1", agent.at("/modules/filter/settings/image").asText());
    assertTrue(agent.at("/modules/ignored").isMissingNode(), "a layer below the base is not applied");
    ObjectNode hub = desired.get("$edgeHub");
    assertEquals("FROM /messages/modules/filter/* INTO $upstream", hub.at("/routes/filter").asText(), "the higher layer wins");
    assertEquals("FROM /messages/* INTO $upstream", hub.at("/routes/up").asText());
  }

  @Test
  void mergePatchTurnsCurrentIntoTarget() {
    ObjectNode current = json("{\"a\": {\"x\": 1, \"y\": 2}, \"b\": 1, \"c\": 3}");
    ObjectNode target = json("{\"a\": {\"x\": 1, \"z\": 3}, \"b\": 2, \"c\": 3}");
    assertEquals(json("{\"a\": {\"y\": null, \"z\": 3}, \"b\": 2}"), ConfigurationPaths.mergePatch(current, target));
    assertTrue(ConfigurationPaths.mergePatch(target, target.deepCopy()).isEmpty());
  }

  @Test
  void contentPathsAreBelowDesired() {
    assertEquals(List.of(), ConfigurationPaths.desiredPath("properties.desired").orElseThrow());
    assertEquals(List.of("a", "b"), ConfigurationPaths.desiredPath("properties.desired.a.b").orElseThrow());
    assertTrue(ConfigurationPaths.desiredPath("properties.reported.a").isEmpty());
    assertTrue(ConfigurationPaths.desiredPath("properties.desired..a").isEmpty());
    assertTrue(ConfigurationPaths.desiredPath("tags.a").isEmpty());
  }
}
