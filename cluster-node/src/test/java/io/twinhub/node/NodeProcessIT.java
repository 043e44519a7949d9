package io.twinhub.node;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The real thing, as `./twinhub run` starts it: a node process with its embedded Cassandra
 * child. Ready means /ready answers 200; stopping leaves no process behind.
 */
class NodeProcessIT {
  @TempDir
  static Path dataDir;

  static Process node;
  static final List<String> output = new CopyOnWriteArrayList<>();
  static int managementPort;
  static List<ProcessHandle> children = new ArrayList<>();

  @BeforeAll
  static void startNode() throws Exception {
    managementPort = freePort();
    node = startNodeProcess(dataDir, managementPort, output);
    awaitLine(output, "twinhub node ready", node, Duration.ofSeconds(180));
    children = node.toHandle().descendants().toList();
  }

  @AfterAll
  static void stopNode() throws Exception {
    if (node != null && node.isAlive()) {
      node.destroyForcibly();
    }
  }

  @Test
  void readyAnswers200AndSecondNodeOnSameDataDirIsRefusedAndStopLeavesNothingBehind() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> ready = http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort + "/ready")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, ready.statusCode(), ready.body());
    HttpResponse<String> alive = http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort + "/alive")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, alive.statusCode(), alive.body());
    assertFalse(children.isEmpty(), "the embedded Cassandra runs as a child process");
    assertTrue(output.stream().anyMatch(l -> l.contains("cassandra    embedded")), String.join("\n", output));

    // A second node on the same data dir is refused at once with one clear line.
    List<String> second = new CopyOnWriteArrayList<>();
    Process p2 = startNodeProcess(dataDir, freePort(), second);
    assertTrue(p2.waitFor(60, TimeUnit.SECONDS), "second node must give up quickly");
    assertEquals(1, p2.exitValue(), "a failed start is a failure (1), not a usage error (2)");
    assertTrue(eventuallyContains(second, l -> l.contains("is in use by another twinhub node")), String.join("\n", second));

    // SIGTERM: graceful stop of node and Cassandra, nothing left running.
    // ProcessHandle.destroy sends SIGTERM without closing our end of its stdout (Process.destroy would).
    node.toHandle().destroy();
    assertTrue(node.waitFor(90, TimeUnit.SECONDS), "node stops within 90 s");
    for (ProcessHandle child : children) {
      child.onExit().get(30, TimeUnit.SECONDS);
      assertFalse(child.isAlive(), "child " + child.pid() + " still running");
    }
    assertTrue(eventuallyContains(output, l -> l.contains("twinhub: stopped")), String.join("\n", output));
  }

  @Test
  void busyPortIsReportedInOneLineWithinSeconds(@TempDir Path otherDir) throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      List<String> out = new CopyOnWriteArrayList<>();
      Process p = startNodeProcess(otherDir, freePort(), out, "--http-port", String.valueOf(taken.getLocalPort()));
      assertTrue(p.waitFor(90, TimeUnit.SECONDS), "a busy port ends the start (generous: a loaded box)");
      assertEquals(1, p.exitValue());
      assertTrue(eventuallyContains(out, l -> l.equals("twinhub run: HTTP port " + taken.getLocalPort()
          + " on 127.0.0.1 is already in use; choose another with --http-port")), String.join("\n", out));
    }
  }

  static Process startNodeProcess(Path dir, int mgmtPort, List<String> sink, String... extra) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx512m",
        "-Dtwinhub.amqp.port=" + freePort(),
        "-cp", System.getProperty("java.class.path"),
        Main.class.getName(),
        "--data-dir", dir.toString(),
        "--http-port", String.valueOf(freePort()),
        "--mqtt-port", String.valueOf(freePort()),
        "--management-port", String.valueOf(mgmtPort),
        "--remoting-port", String.valueOf(freePort()),
        "--cassandra-port", String.valueOf(freePort()),
        "--cassandra-storage-port", String.valueOf(freePort())));
    cmd.addAll(List.of(extra));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) sink.add(line);
      } catch (IOException ignored) {
        // process ended
      }
    });
    reader.setDaemon(true);
    reader.start();
    return p;
  }

  static void awaitLine(List<String> sink, String text, Process p, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (sink.stream().anyMatch(l -> l.contains(text))) return;
      if (!p.isAlive()) fail("node exited with " + p.exitValue() + ":\n" + String.join("\n", sink));
      Thread.sleep(100);
    }
    fail("no '" + text + "' within " + timeout + ":\n" + String.join("\n", sink));
  }

  /** The reader thread may still be draining the last lines of an exited process. */
  static boolean eventuallyContains(List<String> sink, java.util.function.Predicate<String> line) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (sink.stream().noneMatch(line) && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    return sink.stream().anyMatch(line);
  }

  static int freePort() {
    return io.twinhub.ops.net.FreePorts.next();
  }
}
