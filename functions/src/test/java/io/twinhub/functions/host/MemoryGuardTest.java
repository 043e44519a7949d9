package io.twinhub.functions.host;

import io.twinhub.functions.runtime.FunctionApp;
import io.twinhub.functions.runtime.InvocationInput;
import io.twinhub.functions.runtime.InvocationResult;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A function that exhausts the heap (the sample's {@code hog}) in a JVM of its own with a small
 * heap (128 MB, the node's default collector): its invocation fails with the memory guard's
 * error, while a thread standing for the node's own work keeps allocating unharmed, and the next
 * invocation ({@code hello}) succeeds. Never in the test JVM itself: filling its heap could hurt
 * whatever else runs there.
 */
class MemoryGuardTest {

  @Test
  void aFunctionThatExhaustsTheHeapFailsAndTheHostKeepsServing() throws Exception {
    Path jar = Path.of(System.getProperty("functions.sample.jar", "../functions-sample/target/twinhub-functions-sample-0.1.0-SNAPSHOT.jar"));
    assertTrue(Files.isRegularFile(jar), "the sample app JAR is built by the reactor first: " + jar);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-Xmx128m", "-XX:+UseG1GC", "-cp", System.getProperty("java.class.path"),
        Child.class.getName(), jar.toString()).redirectErrorStream(true).start();
    String out;
    try {
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM ends");
    } finally {
      out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      p.destroyForcibly();
    }
    System.out.println(out);
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("hog: Failed: stopped by the memory guard: the heap was "), out);
    assertTrue(out.contains("hello: Succeeded"), out);
    assertTrue(out.contains("node thread: alive"), out);
  }

  /** The child JVM: the guard, the sample app, a busy "node" thread, hog then hello. */
  public static final class Child {
    public static void main(String[] args) throws Exception {
      ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(1);
      MemoryGuard guard = new MemoryGuard(MemoryGuard.Settings.DEFAULT);
      AtomicLong nodeWork = new AtomicLong();
      Throwable[] nodeFailure = {null};
      Thread node = new Thread(() -> {
        try {
          while (!Thread.currentThread().isInterrupted()) {
            byte[] b = new byte[4096];
            nodeWork.addAndGet(b.length);
            Thread.sleep(0, 100_000);
          }
        } catch (InterruptedException e) {
          // done
        } catch (Throwable t) {
          nodeFailure[0] = t;
        }
      }, "node-work");
      node.setDaemon(true);
      node.start();
      try (FunctionApp app = FunctionApp.load("sample", 1, Path.of(args[0]))) {
        for (String fn : List.of("hog", "hello")) {
          InvocationInput.Http req = new InvocationInput.Http("GET", URI.create("http://localhost/api/" + fn), Map.of(), Map.of(),
              new byte[0], Map.of());
          InvocationResult r = guard.run(app, fn, req, fn + "-1");
          System.out.println(fn + ": " + r.status() + (r.error() == null ? "" : ": " + r.error()));
        }
      }
      node.interrupt();
      node.join(10_000);
      System.out.println("node thread: " + (nodeFailure[0] == null ? "alive" : "failed " + nodeFailure[0]) + " after "
          + (nodeWork.get() >> 20) + " MB of its own allocations");
      scheduler.shutdownNow();
      System.exit(0);
    }
  }
}
