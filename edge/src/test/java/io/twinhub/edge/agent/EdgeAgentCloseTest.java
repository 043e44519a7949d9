package io.twinhub.edge.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.edge.EdgeSettings;
import io.twinhub.twin.auth.ConnectionString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

import static org.junit.jupiter.api.Assertions.*;

/** edgeAgent's close: once asked, nothing new starts, not even a restart already due on its thread. */
class EdgeAgentCloseTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Duration COOL_OFF_UNIT = Duration.ofMillis(300);
  @TempDir
  Path dir;

  /** The process runtime, counting the processes it starts. */
  static final class CountingRuntime implements ModuleRuntime {
    final ProcessModuleRuntime processes;
    final AtomicInteger starts = new AtomicInteger();

    CountingRuntime(Path logs) {
      processes = new ProcessModuleRuntime(logs);
    }

    @Override
    public String type() {
      return processes.type();
    }

    @Override
    public Running start(ModuleSpec spec, Map<String, String> env, IntConsumer onExit) throws IOException {
      starts.incrementAndGet();
      return processes.start(spec, env, onExit);
    }
  }

  @Test
  void aRestartDueWhileCloseIsQueuedStartsNothing() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort(); // the hub: refused (the agent retries, which is all it needs here)
    }
    String key = EdgeAgentBackupTest.KEY;
    Files.createDirectories(dir.resolve("agent"));
    Files.writeString(dir.resolve("agent/identities.json"),
        "{\"crasher\":{\"primaryKey\":\"" + key + "\",\"secondaryKey\":\"" + key + "\",\"generationId\":\"g1\"}}");
    EdgeSettings settings = new EdgeSettings(ConnectionString.device("127.0.0.1", "gw", key), closedPort, closedPort,
        null, dir, "127.0.0.1", "127.0.0.1", 0, COOL_OFF_UNIT, EdgeSettings.DEFAULT_MAX_RESTART_COUNT);
    ModuleIdentities ids = new ModuleIdentities("127.0.0.1", closedPort, SSLContext.getDefault(), "gw", key,
        dir.resolve("agent/identities.json"));
    CountingRuntime runtime = new CountingRuntime(dir.resolve("logs"));
    EdgeAgent agent = new EdgeAgent(settings, SSLContext.getDefault(), ids, List.of(runtime), dir.resolve("ca.pem"),
        Clock.systemUTC());
    agent.start();
    agent.onLoop(() -> {
      agent.apply(JSON.readTree("""
          {"schemaVersion": "1.1", "$version": 1,
           "modules": {"crasher": {"type": "process", "status": "running", "restartPolicy": "always",
                                   "settings": {"command": "false"}}}}"""));
      return null;
    });

    // The module exits at once; its restart is scheduled one cool-off unit after the exit.
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
    while (!"backoff".equals(agent.onLoop(() -> agent.reported().at("/modules/crasher/runtimeStatus").asText()))) {
      assertTrue(System.nanoTime() < deadline, "the module never went to backoff");
      Thread.sleep(20);
    }
    // Hold the agent's thread (still in backoff: the restart has not run) until the restart is due
    // and close has queued its task behind it.
    CountDownLatch holding = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Thread holder = new Thread(() -> {
      try {
        agent.onLoop(() -> {
          assertEquals("backoff", agent.reported().at("/modules/crasher/runtimeStatus").asText());
          holding.countDown();
          release.await();
          return null;
        });
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    holder.start();
    assertTrue(holding.await(1, TimeUnit.MINUTES));
    Thread.sleep(2 * COOL_OFF_UNIT.toMillis()); // the restart's time passes while the thread is held: it is due
    Thread closer = new Thread(agent::close, "closer");
    closer.start();
    // close has set its flag and queued its task once it waits for that task.
    while (closer.getState() != Thread.State.TIMED_WAITING && closer.getState() != Thread.State.WAITING) Thread.onSpinWait();
    assertEquals(1, runtime.starts.get());
    release.countDown();
    closer.join(TimeUnit.MINUTES.toMillis(4));
    holder.join(TimeUnit.MINUTES.toMillis(1));
    assertFalse(closer.isAlive());
    assertEquals(1, runtime.starts.get(), "a restart ran after close was asked");
  }
}
