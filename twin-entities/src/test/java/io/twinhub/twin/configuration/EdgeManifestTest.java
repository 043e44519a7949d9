package io.twinhub.twin.configuration;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.util.Optional;

import static io.twinhub.twin.configuration.ConfigurationFixtures.*;
import static org.junit.jupiter.api.Assertions.*;

class EdgeManifestTest {

  @Test
  void aCompleteBaseManifestPasses() {
    assertEquals(Optional.empty(), EdgeManifest.check(json(BASE_MANIFEST)));
  }

  @Test
  void eachBrokenPartIsNamed() {
    assertProblem("/$edgeAgent/properties.desired/modules/sensor/settings", "image", null,
        "modules.sensor.settings.image is required");
    assertProblem("/$edgeAgent/properties.desired/modules/sensor", "restartPolicy", "sometimes",
        "modules.sensor.restartPolicy must be one of [always, never, on-failure, on-unhealthy]");
    assertProblem("/$edgeAgent/properties.desired/modules/sensor", "status", "paused", "modules.sensor.status must be one of");
    assertProblem("/$edgeAgent/properties.desired/modules/sensor", "type", "rkt", "modules.sensor.type must be one of [docker, process]");
    assertProblem("/$edgeAgent/properties.desired", "schemaVersion", "2.0", "schemaVersion must be \"1.0\" or \"1.1\"");
    assertProblem("/$edgeAgent/properties.desired", "runtime", null, "runtime is required");
    assertProblem("/$edgeAgent/properties.desired/systemModules", "edgeHub", null, "systemModules.edgeHub is required");
    assertProblem("/$edgeHub/properties.desired/routes", "up", "TO nowhere", "routes.up must be a route");
    assertProblem("/$edgeHub/properties.desired", "storeAndForwardConfiguration", null, "storeAndForwardConfiguration is required");
  }

  @Test
  void aProcessModuleHasACommandInsteadOfAnImage() {
    ObjectNode m = json(BASE_MANIFEST);
    ObjectNode sensor = (ObjectNode) m.at("/$edgeAgent/properties.desired/modules/sensor");
    sensor.put("type", "process");
    assertTrue(EdgeManifest.check(m).orElseThrow().contains("modules.sensor.settings.command is required"));
    ((ObjectNode) sensor.get("settings")).put("command", "/usr/bin/python3 sensor.py");
    assertEquals(Optional.empty(), EdgeManifest.check(m));
    ((ObjectNode) m.at("/$edgeAgent/properties.desired/systemModules/edgeHub")).put("type", "process");
    assertTrue(EdgeManifest.check(m).orElseThrow().contains("systemModules.edgeHub.type must be one of [docker]"));
  }

  @Test
  void schema11RoutesMayCarryPriorityAndTimeToLive() {
    ObjectNode m = json(BASE_MANIFEST);
    ((ObjectNode) m.at("/$edgeHub/properties.desired/routes")).set("up",
        json("{\"route\": \"FROM /* INTO $upstream\", \"priority\": 3, \"timeToLiveSecs\": 60}"));
    assertEquals(Optional.empty(), EdgeManifest.check(m));
    ((ObjectNode) m.at("/$edgeHub/properties.desired/routes/up")).put("priority", 12);
    assertTrue(EdgeManifest.check(m).orElseThrow().contains("routes.up.priority must be an integer from 0 to 9"));
  }

  @Test
  void aBaseDeploymentNeedsBothSystemModules() {
    ObjectNode m = json(BASE_MANIFEST);
    m.remove("$edgeHub");
    assertTrue(EdgeManifest.check(m).orElseThrow().contains("$edgeHub['properties.desired'] is required"));
    ObjectNode hubOnly = json(BASE_MANIFEST);
    hubOnly.remove("$edgeAgent");
    assertTrue(EdgeManifest.check(hubOnly).orElseThrow().contains("$edgeAgent is required"));
  }

  @Test
  void layeredPathsAreCheckedLikeTheirPlaceInAFullManifest() {
    assertEquals(Optional.empty(), EdgeManifest.check(json("""
        {"$edgeAgent": {"properties.desired.modules.f": {"type": "docker", "status": "running",
                        "restartPolicy": "never", "settings": {"image": "f:1"}}},
         "$edgeHub": {"properties.desired.routes.r": "FROM /messages/* INTO $upstream"},
         "f": {"properties.desired": {"threshold": 3}}}""")));
    assertTrue(EdgeManifest.check(json("""
        {"$edgeAgent": {"properties.desired.modules.f": {"type": "docker", "status": "running", "restartPolicy": "never"}}}"""))
        .orElseThrow().contains("['properties.desired.modules.f'].settings is required"));
    assertTrue(EdgeManifest.check(json("{\"$edgeHub\": {\"properties.desired.routes.r\": 5}}"))
        .orElseThrow().contains("must be a JSON object"));
  }

  private static void assertProblem(String pointer, String field, String value, String expected) {
    ObjectNode m = json(BASE_MANIFEST);
    ObjectNode parent = (ObjectNode) m.at(pointer);
    if (value == null) parent.remove(field);
    else parent.put(field, value);
    String problem = EdgeManifest.check(m).orElseThrow(() -> new AssertionError("accepted: " + pointer + "/" + field));
    assertTrue(problem.contains(expected), problem);
  }
}
