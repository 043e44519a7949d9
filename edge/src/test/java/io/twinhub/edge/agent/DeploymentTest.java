package io.twinhub.edge.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class DeploymentTest {
  static final ObjectMapper JSON = new ObjectMapper();

  static JsonNode json(String s) {
    try {
      return JSON.readTree(s);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void modulesAreReadInStartupOrderWithTheirEnvAndPolicy() {
    Deployment d = Deployment.read(json("""
        {"schemaVersion": "1.1", "$version": 7,
         "modules": {
           "late": {"type": "process", "settings": {"command": "java -jar late.jar"}},
           "b": {"type": "process", "status": "stopped", "restartPolicy": "on-failure", "startupOrder": 2,
                 "settings": {"command": "b"}, "env": {"LEVEL": {"value": 3}}},
           "a": {"type": "process", "restartPolicy": "never", "startupOrder": 2, "settings": {"command": "a --x"}},
           "first": {"type": "process", "startupOrder": 0, "settings": {"command": "first"}}}}"""));
    Deployment.Valid v = assertInstanceOf(Deployment.Valid.class, d);
    assertEquals(7, v.version());
    assertEquals(List.of("first", "a", "b", "late"), v.modules().stream().map(ModuleSpec::name).toList());
    ModuleSpec b = v.modules().get(2);
    assertEquals(ModuleSpec.DesiredStatus.STOPPED, b.status());
    assertEquals(RestartPolicy.ON_FAILURE, b.restartPolicy());
    assertEquals(Map.of("LEVEL", "3"), b.env());
    ModuleSpec late = v.modules().get(3);
    assertEquals(ModuleSpec.DesiredStatus.RUNNING, late.status(), "running by default");
    assertEquals(RestartPolicy.ALWAYS, late.restartPolicy(), "always by default, as IoT Edge");
    assertEquals(ModuleSpec.DEFAULT_STARTUP_ORDER, late.startupOrder());
  }

  @Test
  void whatThisRuntimeCannotRunIsInvalidWithTheReason() {
    Deployment docker = Deployment.read(json("""
        {"schemaVersion": "1.1", "$version": 3, "modules": {"s": {"type": "docker", "settings": {"image": "s:1"}}}}"""));
    assertTrue(((Deployment.Invalid) docker).reason().contains("modules.s.type 'docker' is not supported"));
    Deployment quote = Deployment.read(json("""
        {"schemaVersion": "1.1", "modules": {"s": {"type": "process", "settings": {"command": "run 'x"}}}}"""));
    assertTrue(((Deployment.Invalid) quote).reason().contains("unterminated"));
    Deployment schema = Deployment.read(json("{\"schemaVersion\": \"2.0\"}"));
    assertTrue(((Deployment.Invalid) schema).reason().contains("schemaVersion"));
    assertInstanceOf(Deployment.Valid.class, Deployment.read(json("{\"schemaVersion\": \"1.0\"}")), "no modules is a deployment too");
  }

  @Test
  void commandLinesSplitLikeAShellWithoutExpansion() {
    assertEquals(List.of("java", "-cp", "a b.jar", "Main", "it's", "$HOME", "x\"y"),
        CommandLine.split("  java -cp 'a b.jar'  Main \"it's\" $HOME x\\\"y "));
    assertEquals(List.of("a\\b"), CommandLine.split("\"a\\\\b\""));
    assertThrows(IllegalArgumentException.class, () -> CommandLine.split("   "));
    assertThrows(IllegalArgumentException.class, () -> CommandLine.split("a \"b"));
    assertThrows(IllegalArgumentException.class, () -> CommandLine.split("a\\"));
  }

  @Test
  void restartPoliciesAndIotEdgesBackOff() {
    assertFalse(RestartPolicy.NEVER.restarts(1));
    assertTrue(RestartPolicy.ALWAYS.restarts(0));
    assertTrue(RestartPolicy.ON_FAILURE.restarts(137));
    assertFalse(RestartPolicy.ON_FAILURE.restarts(0));
    assertFalse(RestartPolicy.ON_UNHEALTHY.restarts(0));
    assertEquals(RestartPolicy.ON_UNHEALTHY, RestartPolicy.fromWire("on-unhealthy"));
    assertEquals("on-failure", RestartPolicy.ON_FAILURE.wire());
    Duration unit = Duration.ofSeconds(10);
    assertEquals(Duration.ofSeconds(10), RestartPolicy.coolOff(unit, 0));
    assertEquals(Duration.ofSeconds(40), RestartPolicy.coolOff(unit, 2));
    assertEquals(Duration.ofSeconds(160), RestartPolicy.coolOff(unit, 4));
    assertEquals(Duration.ofMinutes(5), RestartPolicy.coolOff(unit, 5), "capped at 5 minutes");
    assertEquals(Duration.ofMinutes(5), RestartPolicy.coolOff(unit, 60));
  }
}
