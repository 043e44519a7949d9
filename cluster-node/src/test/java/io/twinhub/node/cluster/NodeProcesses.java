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
  record Node(int index, Path dataDir, int httpPort, int managementPort, int remotingPort, List<String> output,
              Process[] process) {
    Process current() {
      return process[0];
    }
  }

  final List<Node> nodes = new ArrayList<>();
  private final String keyspace;

  NodeProcesses(Path baseDir, int count, String keyspace) throws IOException {
    this.keyspace = keyspace;
    for (int i = 1; i <= count; i++) {
      nodes.add(new Node(i, baseDir.resolve("node-" + i), SharedEmbeddedCassandra.freePort(),
          SharedEmbeddedCassandra.freePort(), SharedEmbeddedCassandra.freePort(), new CopyOnWriteArrayList<>(),
          new Process[1]));
    }
  }

  void startAll() throws Exception {
    start(nodes.get(0));
    awaitReady(nodes.get(0), Duration.ofSeconds(180));
    for (Node n : nodes.subList(1, nodes.size())) {
      shareCredentials(n);
      start(n);
    }
    for (Node n : nodes.subList(1, nodes.size())) awaitReady(n, Duration.ofSeconds(180));
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
    String seeds = "akka://twinhub@127.0.0.1:" + nodes.get(0).remotingPort()
        + (nodes.size() > 1 ? ",akka://twinhub@127.0.0.1:" + nodes.get(1).remotingPort() : "");
    List<String> cmd = List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx384m", "-XX:+UseSerialGC",
        "-Dakka.persistence.cassandra.journal.keyspace=" + keyspace,
        "-Dakka.persistence.cassandra.snapshot.keyspace=" + keyspace + "_snapshot",
        "-cp", System.getProperty("java.class.path"), Main.class.getName(),
        "--data-dir", n.dataDir().toString(),
        "--http-port", String.valueOf(n.httpPort()),
        "--mqtt-port", String.valueOf(SharedEmbeddedCassandra.freePort()),
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
