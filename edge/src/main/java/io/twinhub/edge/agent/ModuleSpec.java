package io.twinhub.edge.agent;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Map;

/**
 * One module of a deployment as {@code $edgeAgent}'s desired properties name it (schema 1.1):
 * {@code type}, {@code status}, {@code restartPolicy}, {@code startupOrder}, {@code env},
 * {@code settings} ({@code command} for a {@code process} module). {@code desired} is the module's
 * whole desired JSON: a change of it means the module is replaced.
 */
public record ModuleSpec(String name, String type, DesiredStatus status, RestartPolicy restartPolicy, long startupOrder,
                         Map<String, String> env, String command, JsonNode desired) {

  /** IoT Edge's default order: modules without one start after all that have one. */
  public static final long DEFAULT_STARTUP_ORDER = 4294967295L;

  public ModuleSpec {
    env = Map.copyOf(env);
  }

  public enum DesiredStatus {
    RUNNING, STOPPED;

    public String wire() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }
}
