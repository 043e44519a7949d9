package io.twinhub.node.configurations;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.configuration.Configuration;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.TwinUpdate;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.*;

class TargetConditionTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");

  static ObjectNode json(String s) {
    try {
      return (ObjectNode) JSON.readTree(s);
    } catch (Exception e) {
      throw new IllegalArgumentException(s, e);
    }
  }

  static Configuration config(String id, String condition, int priority, String deviceContent, String moduleContent,
                              String modulesContent) {
    return new Configuration(id, "1.0", Map.of(), new Configuration.Content(
        deviceContent == null ? null : JsonDoc.of(json(deviceContent)),
        moduleContent == null ? null : JsonDoc.of(json(moduleContent)),
        modulesContent == null ? null : JsonDoc.of(json(modulesContent))),
        condition, priority, Map.of(), T0, T0, 1);
  }

  static TargetCondition target(Configuration c) {
    TargetCondition.Compiled compiled = TargetCondition.compile(c);
    assertNull(compiled.problem());
    return compiled.compiled();
  }

  static final ObjectNode PUMP = json("{\"deviceId\": \"pump-1\", \"tags\": {\"site\": \"a\", \"floor\": 2},"
      + " \"capabilities\": {\"iotEdge\": false}, \"properties\": {\"desired\": {}, \"reported\": {\"fw\": \"1.2\"}}}");
  static final ObjectNode GATEWAY = json("{\"deviceId\": \"gw-1\", \"tags\": {\"site\": \"a\"},"
      + " \"capabilities\": {\"iotEdge\": true}, \"properties\": {\"desired\": {}, \"reported\": {}}}");
  static final ObjectNode MODULE = json("{\"deviceId\": \"pump-1\", \"moduleId\": \"sensor\", \"tags\": {\"site\": \"a\"},"
      + " \"properties\": {\"desired\": {}, \"reported\": {}}}");

  @Test
  void deviceConditionsMatchDevicesOnly() {
    TargetCondition t = target(config("c", "tags.site = 'a' AND tags.floor > 1", 0, "{\"properties.desired.x\": 1}", null, null));
    assertTrue(t.matches(PUMP));
    assertFalse(t.matches(GATEWAY), "no floor");
    assertFalse(t.matches(MODULE));
    assertFalse(t.readsReported());
    assertEquals("SELECT deviceId FROM devices WHERE tags.site = 'a' AND tags.floor > 1", t.indexQuery("deviceId"));
  }

  @Test
  void moduleConditionsMayNameTheirCollection() {
    TargetCondition t = target(config("m", "FROM devices.modules WHERE moduleId = 'sensor'", 0, null,
        "{\"properties.desired.x\": 1}", null));
    assertTrue(t.targetsModules());
    assertTrue(t.matches(MODULE));
    assertFalse(t.matches(PUMP));
    assertEquals(Optional.of("targetCondition: a device configuration (deviceContent) targets devices, not devices.modules"),
        TargetCondition.check("FROM devices.modules WHERE moduleId = 'x'", Configuration.Kind.DEVICE).map(s -> s.replace(" (line 0, column 0)", "")));
  }

  @Test
  void deploymentsTargetIotEdgeDevicesOnly() {
    TargetCondition t = target(config("d", "tags.site = 'a'", 0, null, null, "{\"$edgeHub\": {\"properties.desired.routes.r\": \"FROM /* INTO $upstream\"}}"));
    assertTrue(t.matches(GATEWAY));
    assertFalse(t.matches(PUMP));
    assertEquals("SELECT * FROM devices WHERE capabilities.iotEdge = true AND (tags.site = 'a')", t.indexQuery("*"));
  }

  @Test
  void emptyConditionsTargetNothingAndBadOnesAreNamed() {
    TargetCondition t = target(config("e", "", 0, "{\"properties.desired.x\": 1}", null, null));
    assertTrue(t.targetsNothing());
    assertFalse(t.matches(PUMP));
    TargetCondition all = target(config("all", "*", 0, "{\"properties.desired.x\": 1}", null, null));
    assertTrue(all.matches(PUMP));
    assertTrue(all.matches(GATEWAY));
    assertFalse(all.matches(MODULE));
    String problem = TargetCondition.check("tags.site = = 'a'", Configuration.Kind.DEVICE).orElseThrow();
    assertTrue(problem.startsWith("targetCondition: "), problem);
    assertTrue(TargetCondition.check("tags.a = 1 GROUP BY tags.b", Configuration.Kind.DEVICE).isPresent());
    assertTrue(TargetCondition.checkMetricQuery("q", "SELECT deviceId FROM devices WHERE").isPresent());
    assertTrue(target(config("r", "properties.reported.fw = '1.2'", 0, "{\"properties.desired.x\": 1}", null, null)).readsReported());
  }

  @Test
  void metricsCountTargetedAppliedAndEdgeReports() {
    Configuration low = config("low", "tags.site = 'a'", 1, "{\"properties.desired.mode\": \"eco\"}", null, null);
    Configuration high = config("high", "tags.floor = 2", 5, "{\"properties.desired.mode\": \"boost\"}", null, null);
    List<TargetCondition> all = List.of(target(low), target(high));
    ObjectNode pumpBoost = PUMP.deepCopy();
    ((ObjectNode) pumpBoost.at("/properties/desired")).put("mode", "boost");
    ObjectNode gatewayEco = GATEWAY.deepCopy();
    ((ObjectNode) gatewayEco.at("/properties/desired")).put("mode", "eco");
    Map<String, Long> lowMetrics = ConfigurationMetrics.system(all.get(0), List.of(pumpBoost, gatewayEco), all, Map.of());
    assertEquals(Map.of("targetedCount", 2L, "appliedCount", 1L), lowMetrics, "overridden on the pump");
    assertEquals(Map.of("targetedCount", 1L, "appliedCount", 1L),
        ConfigurationMetrics.system(all.get(1), List.of(pumpBoost), all, Map.of()));

    Configuration deployment = config("dep", "tags.site = 'a'", 0, null, null,
        "{\"$edgeHub\": {\"properties.desired.routes.r\": \"FROM /* INTO $upstream\"}}");
    List<TargetCondition> edge = List.of(target(deployment));
    ObjectNode ok = json("{\"deviceId\": \"gw-1\", \"moduleId\": \"$edgeAgent\", \"properties\": {\"desired\": {\"$version\": 4},"
        + " \"reported\": {\"lastDesiredVersion\": 4, \"lastDesiredStatus\": {\"code\": 200}}}}");
    ObjectNode failed = ok.deepCopy();
    ((ObjectNode) failed.at("/properties/reported/lastDesiredStatus")).put("code", 400);
    ObjectNode behind = ok.deepCopy();
    ((ObjectNode) behind.at("/properties/reported")).put("lastDesiredVersion", 3);
    assertEquals(Map.of("targetedCount", 1L, "appliedCount", 1L, "reportedSuccessfulCount", 1L, "reportedFailedCount", 0L),
        ConfigurationMetrics.system(edge.get(0), List.of(GATEWAY), edge, Map.of("gw-1", ok)));
    assertEquals(1L, ConfigurationMetrics.system(edge.get(0), List.of(GATEWAY), edge, Map.of("gw-1", failed)).get("reportedFailedCount"));
    Map<String, Long> pending = ConfigurationMetrics.system(edge.get(0), List.of(GATEWAY), edge, Map.of("gw-1", behind));
    assertEquals(0L, pending.get("reportedSuccessfulCount") + pending.get("reportedFailedCount"), "reports an older version");
  }

  @Test
  void contentIsWrittenOnlyWhenItChangesSomething() {
    Configuration c = config("c", "tags.site = 'a'", 1, "{\"properties.desired.mode\": \"eco\"}", null, null);
    Optional<TwinUpdate> patch = ConfigurationApplier.contentWrite(json("{\"mode\": \"boost\", \"keep\": 1}"), List.of(c), null);
    assertEquals(new TwinUpdate.PatchDesired(JsonDoc.of(json("{\"mode\": \"eco\"}"))), patch.orElseThrow());
    assertTrue(ConfigurationApplier.contentWrite(json("{\"mode\": \"eco\"}"), List.of(c), null).isEmpty());
    ObjectNode edge = json("{\"schemaVersion\": \"1.1\", \"routes\": {}}");
    assertEquals(new TwinUpdate.ReplaceDesired(JsonDoc.of(edge)),
        ConfigurationApplier.contentWrite(json("{\"old\": true}"), List.of(), edge).orElseThrow(), "a deployment owns the document");
    assertTrue(ConfigurationApplier.contentWrite(edge.deepCopy(), List.of(), edge).isEmpty());
  }
}
