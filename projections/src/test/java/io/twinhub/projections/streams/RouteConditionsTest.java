package io.twinhub.projections.streams;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.TwinEvent;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class RouteConditionsTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Instant T0 = Instant.parse("2026-11-24T10:00:00Z");

  static HubMessage desiredChange(String persistenceId, String patch) throws Exception {
    TwinUpdate u = new TwinUpdate.PatchDesired(JsonDoc.of((ObjectNode) JSON.readTree(patch)));
    return HubMessages.of("h", persistenceId, 2, TwinEvent.of(u, new TwinEvent.Versions(2, 2, 1), T0)).orElseThrow();
  }

  @Test
  void conditionsSeeTheChangeAndTheIds() throws Exception {
    var eco = RouteConditions.parse("properties.desired.mode = 'eco' AND STARTSWITH(deviceId, 'pump-')");
    assertTrue(eco.test(desiredChange("Device|pump-1", "{\"mode\":\"eco\"}")));
    assertFalse(eco.test(desiredChange("Device|fan-1", "{\"mode\":\"eco\"}")));
    assertFalse(eco.test(desiredChange("Device|pump-1", "{\"mode\":\"boost\"}")));
    assertFalse(eco.test(desiredChange("Device|pump-1", "{\"other\":1}")), "undefined is never equal");
    var modules = RouteConditions.parse("IS_DEFINED(moduleId) AND opType = 'updateTwin'");
    assertTrue(modules.test(desiredChange("Module|pump-1/m", "{\"a\":1}")));
    assertFalse(modules.test(desiredChange("Device|pump-1", "{\"a\":1}")));
    assertTrue(RouteConditions.parse(" ").test(desiredChange("Device|x", "{}")));
  }

  @Test
  void routesComeFromConfigAndBadOnesAreNamed() throws Exception {
    List<NamedRoute> routes = RouteConditions.fromConfig(ConfigFactory.parseString("""
        twinhub.routes = [
          { name = eco, source = twinChangeEvents, condition = "properties.desired.mode = 'eco'" },
          { name = lifecycle, source = deviceLifecycleEvents }
        ]"""));
    assertEquals(List.of("eco", "lifecycle"), routes.stream().map(NamedRoute::name).toList());
    assertTrue(routes.get(0).condition().test(desiredChange("Device|d", "{\"mode\":\"eco\"}")));
    assertFalse(routes.get(1).condition().test(desiredChange("Device|d", "{\"mode\":\"eco\"}")), "wrong source");

    var bad = assertThrows(IllegalArgumentException.class, () -> RouteConditions.fromConfig(ConfigFactory.parseString(
        "twinhub.routes = [ { name = broken, source = twinChangeEvents, condition = \"properties.desired.x = \" } ]")));
    assertTrue(bad.getMessage().contains("'broken'"), bad.getMessage());
    var unknown = assertThrows(IllegalArgumentException.class, () -> RouteConditions.fromConfig(ConfigFactory.parseString(
        "twinhub.routes = [ { name = r, source = nowhere } ]")));
    assertTrue(unknown.getMessage().contains("unknown source 'nowhere'"));
  }

  /** A journaled device message as the telemetry log holds it. */
  record Sent(String deviceId, String moduleId, java.util.Map<String, String> properties,
              java.util.Map<String, String> systemProperties, byte[] body, Instant enqueuedTime)
      implements io.twinhub.twin.telemetry.TelemetryMessage {}

  @Test
  void aFunctionsRouteOutputIsOnItsRouteOnly() {
    List<NamedRoute> routes = RouteConditions.fromConfig(ConfigFactory.parseString("""
        twinhub.routes = [
          { name = eco, source = twinChangeEvents, condition = "properties.desired.mode = 'eco'" },
          { name = hot, source = deviceMessages }
        ]"""));
    var output = HubMessages.ofTelemetry("Telemetry|[functions]/app", 1, new Sent(HubMessages.FUNCTIONS_DEVICE, "app", java.util.Map.of(),
        java.util.Map.of(HubMessages.ROUTE_PROPERTY, "eco"), "{\"n\":1}".getBytes(), T0));
    assertTrue(HubMessages.isFunctionOutput(output));
    assertEquals("function", output.systemProperties().get("$iothub-message-source"));
    assertTrue(routes.get(0).condition().test(output), "on its route, whatever the route's source and condition");
    assertFalse(routes.get(1).condition().test(output), "on no other route, not even one of device messages");
    // A device cannot pass for a function: the property alone is not enough.
    var device = HubMessages.ofTelemetry("Telemetry|d1", 1, new Sent("d1", null, java.util.Map.of(),
        java.util.Map.of(HubMessages.ROUTE_PROPERTY, "eco"), "{}".getBytes(), T0));
    assertFalse(HubMessages.isFunctionOutput(device));
    assertFalse(routes.get(0).condition().test(device));
    assertTrue(routes.get(1).condition().test(device));
  }
}
