package io.twinhub.edge.agent;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code $edgeAgent}'s desired properties (deployment manifest schema 1.0/1.1) read into the
 * modules to run. Pure. A manifest this runtime cannot run (unknown module type, bad command)
 * is {@link Invalid}: the agent then keeps what runs and reports {@code lastDesiredStatus} 400
 * with the reason, as IoT Edge does for a deployment it cannot apply.
 */
public sealed interface Deployment {

  /** The desired {@code $version} this was read from. */
  long version();

  /** The modules ordered by {@code startupOrder} (then name): the order they are started in. */
  record Valid(long version, List<ModuleSpec> modules) implements Deployment {
    public Valid {
      modules = List.copyOf(modules);
    }
  }

  record Invalid(long version, String reason) implements Deployment {}

  /** Module types this runtime runs; {@code docker} is not built (no Docker Engine to test against). */
  List<String> RUNNABLE_TYPES = List.of("process");

  static Deployment read(JsonNode desired) {
    long version = desired.path("$version").asLong(0);
    try {
      String schema = desired.path("schemaVersion").asText("");
      if (!schema.startsWith("1.0") && !schema.startsWith("1.1")) {
        return new Invalid(version, "schemaVersion must be 1.0 or 1.1, got '" + schema + "'");
      }
      List<ModuleSpec> modules = new ArrayList<>();
      JsonNode ms = desired.path("modules");
      for (Map.Entry<String, JsonNode> e : iterable(ms)) {
        modules.add(module(e.getKey(), e.getValue()));
      }
      modules.sort(Comparator.comparingLong(ModuleSpec::startupOrder).thenComparing(ModuleSpec::name));
      return new Valid(version, modules);
    } catch (IllegalArgumentException e) {
      return new Invalid(version, e.getMessage());
    }
  }

  private static ModuleSpec module(String name, JsonNode m) {
    String at = "modules." + name;
    String type = m.path("type").asText("");
    if (!RUNNABLE_TYPES.contains(type)) {
      throw new IllegalArgumentException(at + ".type '" + type + "' is not supported by this runtime (supported: "
          + RUNNABLE_TYPES + "; the docker runtime is not built)");
    }
    ModuleSpec.DesiredStatus status = switch (m.path("status").asText("running")) {
      case "running" -> ModuleSpec.DesiredStatus.RUNNING;
      case "stopped" -> ModuleSpec.DesiredStatus.STOPPED;
      default -> throw new IllegalArgumentException(at + ".status must be running or stopped");
    };
    RestartPolicy policy;
    try {
      policy = RestartPolicy.fromWire(m.path("restartPolicy").asText("always"));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(at + ".restartPolicy must be never, on-failure, on-unhealthy or always");
    }
    long order = m.has("startupOrder") ? m.path("startupOrder").asLong() : ModuleSpec.DEFAULT_STARTUP_ORDER;
    Map<String, String> env = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : iterable(m.path("env"))) {
      env.put(e.getKey(), e.getValue().path("value").asText());
    }
    String command = m.path("settings").path("command").asText("");
    if (command.isBlank()) throw new IllegalArgumentException(at + ".settings.command is required for a process module");
    try {
      CommandLine.split(command);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(at + ".settings.command: " + e.getMessage());
    }
    return new ModuleSpec(name, type, status, policy, order, env, command, m);
  }

  private static Iterable<Map.Entry<String, JsonNode>> iterable(JsonNode n) {
    return n::fields;
  }
}
