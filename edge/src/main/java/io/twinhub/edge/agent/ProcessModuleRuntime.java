package io.twinhub.edge.agent;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

/**
 * {@code process} modules: the command line of {@code settings.command} run directly (no shell),
 * with the agent's environment plus the module's; stdout and stderr appended to
 * {@code <logs>/<module>.log}.
 */
public final class ProcessModuleRuntime implements ModuleRuntime {
  private static final Logger log = LoggerFactory.getLogger(ProcessModuleRuntime.class);
  private final Path logs;

  public ProcessModuleRuntime(Path logs) {
    this.logs = logs;
  }

  @Override
  public String type() {
    return "process";
  }

  @Override
  public Running start(ModuleSpec spec, Map<String, String> env, IntConsumer onExit) throws IOException {
    Files.createDirectories(logs);
    ProcessBuilder pb = new ProcessBuilder(CommandLine.split(spec.command()));
    pb.environment().putAll(env);
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(logs.resolve(spec.name() + ".log").toFile()));
    Process p = pb.start();
    log.info("module {} started as process {}", spec.name(), p.pid());
    p.onExit().thenAccept(done -> onExit.accept(done.exitValue()));
    return running(p.toHandle());
  }

  @Override
  public Optional<Running> adopt(long pid, long startedMillis, IntConsumer onExit) {
    Optional<ProcessHandle> h = ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
        .filter(x -> x.info().startInstant().map(i -> i.toEpochMilli() == startedMillis).orElse(false));
    h.ifPresent(x -> {
      log.info("process {} of an earlier run adopted", pid);
      x.onExit().thenAccept(done -> onExit.accept(EXIT_UNKNOWN));
    });
    return h.map(ProcessModuleRuntime::running);
  }

  private static Running running(ProcessHandle p) {
    return new Running() {
      @Override
      public void stop(Duration grace) {
        p.destroy();
        try {
          p.onExit().get(grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
          p.destroyForcibly();
          try {
            p.onExit().get(10, TimeUnit.SECONDS);
          } catch (Exception ignored) {
            // gone or not: nothing more to do
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          p.destroyForcibly();
        }
      }

      @Override
      public boolean isAlive() {
        return p.isAlive();
      }

      @Override
      public long pid() {
        return p.pid();
      }
    };
  }
}
