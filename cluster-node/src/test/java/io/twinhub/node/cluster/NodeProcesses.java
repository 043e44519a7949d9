package io.twinhub.node.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.node.Main;
import io.twinhub.node.security.SharedAccessPolicies;
import io.twinhub.mqtt.tls.TlsMaterial;
import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;
import io.twinhub.twin.auth.SasToken;
import io.twinhub.twin.auth.SharedAccessPolicy;

import javax.net.ssl.SSLContext;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

/**
 * A cluster of real node processes (separate JVMs, as in production) on the JVM's shared
 * embedded Cassandra and a journal keyspace of its own. One CA and one set of shared access
 * policies are made before the start and given to every node, so one token and one trust store
 * work on every node and all nodes start at once. Ports are free ones; nodes 1 and 2 are the
 * seeds. Also the owner's HTTPS client the cluster tests talk to it with.
 */
final class NodeProcesses implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();
  /** Generous: on a loaded 2-core box a node start, a leave or a TLS connect takes many times its quiet time. */
  static final Duration NODE_START = Duration.ofSeconds(180);
  static final Duration MEMBERSHIP = Duration.ofSeconds(90);

  record Node(int index, Path dataDir, int httpPort, int mqttPort, int managementPort, int remotingPort,
              int amqpPort, List<String> output, Process[] process) {
    Process current() {
      return process[0];
    }
  }

  final List<Node> nodes = new ArrayList<>();
  final SSLContext tls;
  /** The owner's client: a dead node refuses at once, so the long connect timeout slows no one down. */
  final HttpClient http;
  final String ownerToken;
  private final String keyspace;
  private final List<String> jvmOptions;
  /** Node index → JVM options of that node only (e.g. its roles), after {@link #jvmOptions}. */
  private final java.util.function.IntFunction<List<String>> nodeOptions;
  /** Node index → the thread copying its current process's output. */
  private final Map<Integer, Thread> readers = new ConcurrentHashMap<>();
  private volatile boolean formed;

  /**
   * {@code count} node processes started together and Up in one cluster, on the keyspace
   * {@code <keyspacePrefix>_<random>}.
   */
  static NodeProcesses startCluster(Path baseDir, int count, String keyspacePrefix) throws Exception {
    return startCluster(baseDir, count, keyspacePrefix, List.of());
  }

  /** The same, with {@code jvmOptions} (e.g. {@code -Dtwinhub.jobs.slice-size=40}) for every node. */
  static NodeProcesses startCluster(Path baseDir, int count, String keyspacePrefix, List<String> jvmOptions) throws Exception {
    return startCluster(baseDir, count, keyspacePrefix, jvmOptions, SharedEmbeddedCassandra.freePort());
  }

  /**
   * The same, with node 1's AMQPS listener on {@code firstAmqpPort}: the service SDK's
   * {@code MessagingClient} only connects to 5671, which only one node can own.
   */
  static NodeProcesses startCluster(Path baseDir, int count, String keyspacePrefix, List<String> jvmOptions,
                                    int firstAmqpPort) throws Exception {
    return startCluster(baseDir, count, keyspacePrefix, jvmOptions, firstAmqpPort, false);
  }

  /**
   * The same; {@code firstNodeHighestAddress}: node 1 (the oldest, where cluster singletons run)
   * gets the highest remoting port. In a cluster of two, keep-majority keeps the side with the
   * lowest address, so only then does the survivor of node 1's kill -9 stay up and take over.
   */
  static NodeProcesses startCluster(Path baseDir, int count, String keyspacePrefix, List<String> jvmOptions,
                                    int firstAmqpPort, boolean firstNodeHighestAddress) throws Exception {
    return startCluster(baseDir, count, keyspacePrefix, jvmOptions, i -> List.of(), firstAmqpPort, firstNodeHighestAddress);
  }

  /**
   * The same, with {@code nodeOptions(i)} added to node i's JVM options (1-based), e.g.
   * {@code -Dtwinhub.roles=worker} for a node with other roles than the rest.
   */
  static NodeProcesses startCluster(Path baseDir, int count, String keyspacePrefix, List<String> jvmOptions,
                                    java.util.function.IntFunction<List<String>> nodeOptions) throws Exception {
    return startCluster(baseDir, count, keyspacePrefix, jvmOptions, nodeOptions, SharedEmbeddedCassandra.freePort(), false);
  }

  /** The same, with node 1's AMQPS listener on {@code firstAmqpPort} (see above). */
  static NodeProcesses startCluster(Path baseDir, int count, String keyspacePrefix, List<String> jvmOptions,
                                    java.util.function.IntFunction<List<String>> nodeOptions, int firstAmqpPort) throws Exception {
    return startCluster(baseDir, count, keyspacePrefix, jvmOptions, nodeOptions, firstAmqpPort, false);
  }

  private static NodeProcesses startCluster(Path baseDir, int count, String keyspacePrefix, List<String> jvmOptions,
                                            java.util.function.IntFunction<List<String>> nodeOptions, int firstAmqpPort,
                                            boolean firstNodeHighestAddress) throws Exception {
    NodeProcesses cluster = new NodeProcesses(baseDir, count,
        keyspacePrefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12), jvmOptions, nodeOptions,
        firstAmqpPort, firstNodeHighestAddress);
    try {
      long t0 = System.nanoTime();
      cluster.startAll();
      System.out.printf("NodeProcesses: %d nodes Up in %.1f s%n", count, (System.nanoTime() - t0) / 1e9);
      return cluster;
    } catch (Throwable t) {
      cluster.close();
      throw t;
    }
  }

  private NodeProcesses(Path baseDir, int count, String keyspace, List<String> jvmOptions,
                        java.util.function.IntFunction<List<String>> nodeOptions, int firstAmqpPort,
                        boolean firstNodeHighestAddress) throws Exception {
    this.keyspace = keyspace;
    this.jvmOptions = List.copyOf(jvmOptions);
    this.nodeOptions = nodeOptions;
    List<Integer> remotingPorts = new ArrayList<>();
    for (int i = 1; i <= count; i++) remotingPorts.add(SharedEmbeddedCassandra.freePort());
    if (firstNodeHighestAddress) remotingPorts.sort(java.util.Comparator.reverseOrder());
    for (int i = 1; i <= count; i++) {
      nodes.add(new Node(i, baseDir.resolve("node-" + i), SharedEmbeddedCassandra.freePort(),
          SharedEmbeddedCassandra.freePort(), SharedEmbeddedCassandra.freePort(), remotingPorts.get(i - 1),
          i == 1 ? firstAmqpPort : SharedEmbeddedCassandra.freePort(), new CopyOnWriteArrayList<>(), new Process[1]));
    }
    Path first = nodes.get(0).dataDir();
    // The CA (each node makes its own server certificate with it) and the policies, as node 1 would on first start.
    TlsMaterial.loadOrCreate(first, List.of("127.0.0.1"), Clock.systemUTC());
    SharedAccessPolicy owner = SharedAccessPolicies.loadOrCreate(first).get(SharedAccessPolicies.IOTHUBOWNER);
    for (Node n : nodes.subList(1, nodes.size())) shareCredentials(first, n.dataDir());
    tls = TlsMaterial.clientSslContext(first.resolve("tls/ca.pem"));
    http = HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(15)).build();
    ownerToken = SasToken.signForService("127.0.0.1", owner.keyName(), owner.keys().primaryKey(),
        Instant.now().plus(Duration.ofHours(2)).getEpochSecond());
  }

  private static void shareCredentials(Path from, Path to) throws IOException {
    Files.createDirectories(to.resolve("security"));
    Files.createDirectories(to.resolve("tls"));
    Files.copy(SharedAccessPolicies.fileIn(from), SharedAccessPolicies.fileIn(to), StandardCopyOption.REPLACE_EXISTING);
    for (String f : List.of("ca.pem", "ca.key")) {
      Files.copy(from.resolve("tls").resolve(f), to.resolve("tls").resolve(f), StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /**
   * All at once: only node 1, the first seed, may form the cluster on its own (after its
   * seed-node-timeout); the others keep asking the seeds until it has, then join it.
   */
  private void startAll() throws Exception {
    for (Node n : nodes) start(n);
    for (Node n : nodes) awaitReady(n);
    formed = true;
    awaitMembers(nodes.get(0), nodes.size());
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

  /** The journal keyspace; the node's other keyspaces start with it. */
  String keyspace() {
    return keyspace;
  }

  /** Starts {@code n}'s process (again); {@link #awaitReady} waits for it. */
  void start(Node n) throws IOException {
    String seeds = seedNodes(n).stream().map(s -> "akka://twinhub@127.0.0.1:" + s.remotingPort())
        .collect(Collectors.joining(","));
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx384m", "-XX:+UseSerialGC"));
    cmd.addAll(jvmOptions);
    cmd.addAll(nodeOptions.apply(n.index()));
    cmd.addAll(List.of(
        // C1 only: four JVMs and Cassandra share two cores, and C2 compiling the node's start-up
        // code costs more CPU than the short test saves with it.
        "-XX:TieredStopAtLevel=1",
        // No bytecode verification of the class path's classes (the JDK's own are not verified
        // either): a fifth of a node start's CPU (docs/BENCHMARKS.md "Session 17: suite time").
        "-XX:+UnlockDiagnosticVMOptions", "-XX:-BytecodeVerificationRemote",
        // Each node its own AMQP port (5671 by default; no command-line flag yet).
        "-Dtwinhub.amqp.port=" + n.amqpPort(),
        "-Dakka.persistence.cassandra.journal.keyspace=" + keyspace,
        "-Dakka.persistence.cassandra.snapshot.keyspace=" + keyspace + "_snapshot",
        "-cp", System.getProperty("java.class.path"), Main.class.getName(),
        "--data-dir", n.dataDir().toString(),
        "--http-port", String.valueOf(n.httpPort()),
        "--mqtt-port", String.valueOf(n.mqttPort()),
        "--management-port", String.valueOf(n.managementPort()),
        "--remoting-port", String.valueOf(n.remotingPort()),
        "--cassandra-contact-points", SharedEmbeddedCassandra.contactPoint(),
        "--seed-nodes", seeds));
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

  /** Until the node says ready (its member is Up, its journal reachable). */
  void awaitReady(Node n) throws InterruptedException {
    long deadline = System.nanoTime() + NODE_START.toNanos();
    while (System.nanoTime() < deadline) {
      if (n.output().stream().anyMatch(l -> l.contains("twinhub node ready"))) return;
      if (!n.current().isAlive()) {
        throw new IllegalStateException("node " + n.index() + " exited:\n" + String.join("\n", n.output()));
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("node " + n.index() + " not ready in " + NODE_START + ":\n" + String.join("\n", n.output()));
  }

  /** Until {@code node}'s view has exactly {@code up} members, all Up. */
  void awaitMembers(Node node, int up) throws InterruptedException {
    String[] last = {""};
    boolean done = eventually(MEMBERSHIP, () -> {
      try {
        last[0] = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.managementPort() + "/cluster/members"))
            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
        JsonNode members = JSON.readTree(last[0]).path("members");
        int n = 0;
        boolean allUp = true;
        for (JsonNode m : members) {
          n++;
          allUp &= m.path("status").asText().equals("Up");
        }
        return n == up && allUp;
      } catch (IOException e) {
        last[0] = e.toString();
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    });
    if (!done) throw new AssertionError("node " + node.index() + " did not see " + up + " members Up within " + MEMBERSHIP + ": " + last[0]);
  }

  /** A REST request as the owner. */
  HttpResponse<String> send(Node node, String method, String path, String body) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + node.httpPort() + path
            + "?api-version=2021-04-12"))
        .timeout(Duration.ofSeconds(10))
        .header("Authorization", ownerToken)
        .header("Content-Type", "application/json; charset=utf-8");
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /**
   * A set-up request (not what the test is about), retried while unanswered or answered 503 on a
   * loaded box: shards are still being allocated right after the cluster formed.
   */
  HttpResponse<String> setUp(Node node, String method, String path, String body) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try {
        HttpResponse<String> r = send(node, method, path, body);
        if (r.statusCode() != 503 || System.nanoTime() > deadline) return r;
      } catch (IOException e) {
        if (System.nanoTime() > deadline) throw e;
      }
      Thread.sleep(500);
    }
  }

  /** Polls {@code condition} every 100 ms until it holds (true) or {@code timeout} passes (false). */
  static boolean eventually(Duration timeout, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline || Thread.currentThread().isInterrupted()) return false;
      Thread.sleep(100);
    }
    return true;
  }

  /**
   * SIGTERM, as an orchestrator stops a node: CoordinatedShutdown leaves the cluster and hands
   * the node's shards over before the process exits. Waits for the exit.
   */
  void terminate(Node n, Duration timeout) throws InterruptedException {
    // ProcessHandle.destroy sends SIGTERM without closing our end of its output (Process.destroy would).
    n.current().toHandle().destroy();
    if (!n.current().waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
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
        if (!p.waitFor(60, TimeUnit.SECONDS)) p.destroyForcibly();
      }
    }
  }
}
