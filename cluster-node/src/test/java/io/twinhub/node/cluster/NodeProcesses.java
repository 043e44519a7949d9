package io.twinhub.node.cluster;

import io.twinhub.node.Main;
import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A cluster of real node processes (separate JVMs, as in production) on the JVM's shared
 * embedded Cassandra: node 1 first, then the others with node 1's keys and CA, so one token
 * and one trust store work on every node. Ports are free ones; nodes 1 and 2 are the seeds.
 */
final class NodeProcesses implements AutoCloseable {
  record Node(int index, Path dataDir, int httpPort, int mqttPort, int managementPort, int remotingPort,
              List<String> output, Process[] process) {
    Process current() {
      return process[0];
    }
  }

  final List<Node> nodes = new ArrayList<>();
  private final String keyspace;
  /** Node index → the thread copying its current process's output. */
  private final java.util.Map<Integer, Thread> readers = new java.util.concurrent.ConcurrentHashMap<>();

  NodeProcesses(Path baseDir, int count, String keyspace) throws IOException {
    this.keyspace = keyspace;
    for (int i = 1; i <= count; i++) {
      nodes.add(new Node(i, baseDir.resolve("node-" + i), SharedEmbeddedCassandra.freePort(),
          SharedEmbeddedCassandra.freePort(), SharedEmbeddedCassandra.freePort(), SharedEmbeddedCassandra.freePort(),
          new CopyOnWriteArrayList<>(), new Process[1]));
    }
  }

  /**
   * Nodes 1 and 2 while the cluster forms. A node started again later joins through the others
   * only: a first seed node that lists itself first joins itself when the others do not answer
   * its InitJoin within seed-node-timeout (a loaded box), forming a second cluster.
   */
  private List<Node> seedNodes(Node n) {
    if (!formed) return nodes.subList(0, Math.min(2, nodes.size()));
    return nodes.stream().filter(x -> x != n).toList();
  }

  private volatile boolean formed;

  void startAll() throws Exception {
    start(nodes.get(0));
    awaitReady(nodes.get(0), Duration.ofSeconds(180));
    for (Node n : nodes.subList(1, nodes.size())) {
      shareCredentials(n);
      start(n);
    }
    for (Node n : nodes.subList(1, nodes.size())) awaitReady(n, Duration.ofSeconds(180));
    formed = true;
  }

  private void shareCredentials(Node n) throws IOException {
    Path from = nodes.get(0).dataDir();
    Files.createDirectories(n.dataDir().resolve("security"));
    Files.createDirectories(n.dataDir().resolve("tls"));
    Files.copy(from.resolve("security/policies.json"), n.dataDir().resolve("security/policies.json"),
        StandardCopyOption.REPLACE_EXISTING);
    for (String f : List.of("ca.pem", "ca.key")) {
      Files.copy(from.resolve("tls").resolve(f), n.dataDir().resolve("tls").resolve(f), StandardCopyOption.REPLACE_EXISTING);
    }
  }

  void start(Node n) throws IOException {
    String seeds = seedNodes(n).stream().map(s -> "akka://twinhub@127.0.0.1:" + s.remotingPort())
        .collect(java.util.stream.Collectors.joining(","));
    List<String> cmd = List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx384m", "-XX:+UseSerialGC",
        "-Dakka.persistence.cassandra.journal.keyspace=" + keyspace,
        "-Dakka.persistence.cassandra.snapshot.keyspace=" + keyspace + "_snapshot",
        "-cp", System.getProperty("java.class.path"), Main.class.getName(),
        "--data-dir", n.dataDir().toString(),
        "--http-port", String.valueOf(n.httpPort()),
        "--mqtt-port", String.valueOf(n.mqttPort()),
        "--management-port", String.valueOf(n.managementPort()),
        "--remoting-port", String.valueOf(n.remotingPort()),
        "--cassandra-contact-points", SharedEmbeddedCassandra.contactPoint(),
        "--seed-nodes", seeds);
    n.output().clear();
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    n.process()[0] = p;
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) n.output().add(line);
      } catch (IOException ignored) {
        // the process ended
      }
    }, "node-" + n.index() + "-output");
    reader.setDaemon(true);
    reader.start();
    readers.put(n.index(), reader);
  }

  void awaitReady(Node n, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (n.output().stream().anyMatch(l -> l.contains("twinhub node ready"))) return;
      if (!n.current().isAlive()) {
        throw new IllegalStateException("node " + n.index() + " exited:\n" + String.join("\n", n.output()));
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("node " + n.index() + " not ready in " + timeout + ":\n" + String.join("\n", n.output()));
  }

  /**
   * SIGTERM, as an orchestrator stops a node: CoordinatedShutdown leaves the cluster and hands
   * the node's shards over before the process exits. Waits for the exit.
   */
  void terminate(Node n, Duration timeout) throws InterruptedException {
    // ProcessHandle.destroy sends SIGTERM without closing our end of its output (Process.destroy would).
    n.current().toHandle().destroy();
    if (!n.current().waitFor(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
      throw new IllegalStateException("node " + n.index() + " did not exit within " + timeout + " of SIGTERM:\n"
          + String.join("\n", n.output()));
    }
    readers.get(n.index()).join(10_000); // its last lines are in output()
  }

  /** kill -9: no shutdown hook, no graceful leave. */
  void kill(Node n) throws InterruptedException {
    n.current().destroyForcibly();
    n.current().waitFor();
  }

  @Override
  public void close() throws Exception {
    for (Node n : nodes) {
      Process p = n.current();
      if (p != null && p.isAlive()) p.toHandle().destroy();
    }
    for (Node n : nodes) {
      Process p = n.current();
      if (p != null) {
        if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) p.destroyForcibly();
      }
    }
  }
}
