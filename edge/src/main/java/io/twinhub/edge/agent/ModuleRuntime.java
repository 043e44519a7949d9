package io.twinhub.edge.agent;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntConsumer;

/**
 * How the agent runs a module of one {@code type}. {@link ProcessModuleRuntime} runs
 * {@code process} modules; a {@code docker} runtime (Docker Engine API, {@code settings.image} and
 * {@code createOptions}) would implement the same interface but is not built: there is no Docker
 * Engine here to test it against.
 */
public interface ModuleRuntime {

  /** The module type this runtime runs (the deployment's {@code type}). */
  String type();

  /**
   * Starts {@code spec} with {@code env} (IoT Edge's module environment plus the deployment's
   * {@code env}); {@code onExit} gets the exit code once it ends, whatever the reason.
   */
  Running start(ModuleSpec spec, Map<String, String> env, IntConsumer onExit) throws IOException;

  /**
   * Takes over a module an earlier run of the runtime started and left running (the runtime was
   * killed, its modules were not), if process {@code pid} is still the one started at
   * {@code startedMillis}; {@code onExit} then gets {@link #EXIT_UNKNOWN} when it ends. Empty when
   * it is gone or this runtime cannot adopt.
   */
  default Optional<Running> adopt(long pid, long startedMillis, IntConsumer onExit) {
    return Optional.empty();
  }

  /** The exit code reported for an adopted module: not its parent, the runtime cannot learn it. */
  int EXIT_UNKNOWN = -1;

  /** A started module. */
  interface Running {
    /** Asks it to stop (SIGTERM for a process), forces it after {@code grace}; returns once it ended. */
    void stop(Duration grace);

    boolean isAlive();

    /** For operators and tests: the process id. */
    long pid();
  }
}
