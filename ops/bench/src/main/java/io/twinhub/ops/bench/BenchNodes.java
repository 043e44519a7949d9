package io.twinhub.ops.bench;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The hub nodes of a bench run, started the way {@code ./twinhub run} and {@code ./twinhub cluster}
 * start them, but on free loopback ports and in a temporary directory: one node with its embedded
 * Cassandra, or (with {@code --nodes N}) a shared embedded Cassandra and N nodes forming a cluster
 * (nodes 1 and 2 are seeds; nodes 2..N get node 1's keys and CA, as {@code ./twinhub cluster start} does).
 * Closing stops every process it started (SIGTERM, then SIGKILL after a minute).
 */
public final class BenchNodes implements AutoCloseable {

  /** How long a started process may take to say it is ready (on a box loaded by other work, several minutes). */
  static final Duration START_TIMEOUT = Duration.ofMinutes(10);

  private final List<Process> processes = new ArrayList<>();
  private final Thread hook = new Thread(this::stopAll, "bench-nodes-stop");
  private BenchTarget target;
  private long cassandraPid = -1;
  private Process sharedCassandra;

  private BenchNodes() {
    Runtime.getRuntime().addShutdownHook(hook);
  }

  public BenchTarget target() {
    return target;
  }

  /** The embedded Cassandra's process (the child of node 1 when it embeds it), -1 if unknown. */
  public long cassandraPid() {
    return cassandraPid;
  }

  public static BenchNodes start(int count, String javaOpts, Path workDir) throws Exception {
    List<List<String>> roles = new ArrayList<>();
    for (int i = 0; i < count; i++) roles.add(BenchTarget.Node.ALL_ROLES);
    return start(roles, javaOpts, workDir);
  }

  /** One node per element of {@code roles}, each with those roles ({@code --roles}). */
  public static BenchNodes start(List<List<String>> roles, String javaOpts, Path workDir) throws Exception {
    BenchNodes n = new BenchNodes();
    try {
      n.startAll(roles, javaOpts, workDir);
      return n;
    } catch (Exception e) {
      n.close();
      throw e;
    }
  }

  private void startAll(List<List<String>> roles, String javaOpts, Path workDir) throws Exception {
    int count = roles.size();
    long t0 = System.nanoTime();
    int cqlPort = freePort();
    int storagePort = freePort();
    int[][] ports = new int[count][];
    for (int i = 0; i < count; i++) ports[i] = new int[] {freePort(), freePort(), freePort(), freePort(), freePort()}; // https, mqtt, mgmt, remoting, amqp
    List<String> common = new ArrayList<>();
    if (count > 1) {
      Path log = workDir.resolve("cassandra.log");
      Process c = spawn(List.of("-Xmx128m"), "io.twinhub.node.cli.TwinhubCli",
          List.of("cassandra", "--data-dir", workDir.resolve("cassandra").toString(), "--native-port", Integer.toString(cqlPort),
              "--storage-port", Integer.toString(storagePort)), log);
      sharedCassandra = c;
      awaitLine(c, log, "Cassandra ready");
      String seeds = "akka://twinhub@127.0.0.1:" + ports[0][3] + ",akka://twinhub@127.0.0.1:" + ports[1][3];
      common.addAll(List.of("--cassandra-contact-points", "127.0.0.1:" + cqlPort, "--seed-nodes", seeds));
      cassandraPid = c.children().findFirst().map(ProcessHandle::pid).orElse(-1L);
    } else {
      common.addAll(List.of("--cassandra-port", Integer.toString(cqlPort), "--cassandra-storage-port", Integer.toString(storagePort)));
    }
    List<BenchTarget.Node> nodes = new ArrayList<>();
    List<Process> started = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Path dir = workDir.resolve("node-" + (i + 1));
      Files.createDirectories(dir);
      if (i > 0) shareCredentials(workDir.resolve("node-1"), dir);
      List<String> args = new ArrayList<>(List.of("--data-dir", dir.toString(),
          "--http-port", Integer.toString(ports[i][0]), "--mqtt-port", Integer.toString(ports[i][1]),
          "--management-port", Integer.toString(ports[i][2]), "--remoting-port", Integer.toString(ports[i][3])));
      args.addAll(common);
      if (!roles.get(i).equals(BenchTarget.Node.ALL_ROLES)) args.addAll(List.of("--roles", String.join(",", roles.get(i))));
      Path log = workDir.resolve("node-" + (i + 1) + ".log");
      Process p = spawn(nodeJvm(javaOpts, ports[i][4]), "io.twinhub.node.Main", args, log);
      if (i == 0) {
        // Node 1 makes the keys the others copy, and the journal's tables.
        awaitLine(p, log, "twinhub node ready");
        for (int attempt = 1; !JournalSchema.complete(cqlPort); attempt++) {
          if (attempt == 3) throw new IOException("the journal's tables are still missing after 2 restarts of node 1; see " + log);
          // On an overloaded box the node's CREATE TABLEs can time out (5 s), and the journal
          // plugin does not try again while it runs: start node 1 once more.
          System.out.println("bench: the journal's tables were not created (schema statements timed out, see " + log
              + "); restarting node 1");
          p.destroy();
          if (!p.waitFor(90, TimeUnit.SECONDS)) p.destroyForcibly();
          Files.writeString(log, "\n--- restarted by the bench: journal tables missing ---\n", java.nio.file.StandardOpenOption.APPEND);
          p = spawnAppending(nodeJvm(javaOpts, ports[i][4]), "io.twinhub.node.Main", args, log);
          awaitLine(p, log, "twinhub node ready", 2);
        }
      }
      started.add(p);
      nodes.add(new BenchTarget.Node(URI.create("https://127.0.0.1:" + ports[i][0]), "127.0.0.1", ports[i][1], ports[i][2], p.pid(),
          ports[i][4], List.copyOf(roles.get(i))));
    }
    for (int i = 1; i < count; i++) awaitLine(started.get(i), workDir.resolve("node-" + (i + 1) + ".log"), "twinhub node ready");
    String banner = Files.readString(workDir.resolve("node-1.log"));
    String owner = ownerConnectionString(banner).orElseThrow(() -> new IOException("no owner connection string in node-1.log"));
    if (count == 1) {
      cassandraPid = started.get(0).children().findFirst().map(ProcessHandle::pid).orElse(-1L);
    }
    target = new BenchTarget(List.copyOf(nodes), workDir.resolve("node-1/tls/ca.pem"), owner,
        Optional.of(new InetSocketAddress("127.0.0.1", cqlPort)), workDir);
    List<String> described = new ArrayList<>();
    for (BenchTarget.Node n : nodes) described.add(n.restUrl() + (n.roles().equals(BenchTarget.Node.ALL_ROLES) ? "" : " (" + String.join(",", n.roles()) + ")"));
    System.out.printf("bench: %d node(s) ready in %.1f s (%s; logs in %s)%n", count, (System.nanoTime() - t0) / 1e9,
        String.join(" ", described), workDir);
  }

  /** "  owner        HostName=...;SharedAccessKeyName=iothubowner;SharedAccessKey=..." from the ready banner. */
  static Optional<String> ownerConnectionString(String banner) {
    for (String line : banner.split("\n")) {
      String t = line.strip();
      if (t.startsWith("owner ") && t.contains("HostName=")) return Optional.of(t.substring(t.indexOf("HostName=")).strip());
    }
    return Optional.empty();
  }

  private static void shareCredentials(Path from, Path to) throws IOException {
    for (String f : List.of("security/policies.json", "tls/ca.pem", "tls/ca.key")) {
      Files.createDirectories(to.resolve(f).getParent());
      Files.copy(from.resolve(f), to.resolve(f), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
    }
  }

  /** A JVM on this process's own classpath (which holds the node's). */
  Process spawn(List<String> jvmOpts, String mainClass, List<String> args, Path log) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmOpts);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
    cmd.addAll(args);
    return track(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start());
  }

  private Process spawnAppending(List<String> jvmOpts, String mainClass, List<String> args, Path log) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmOpts);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
    cmd.addAll(args);
    return track(new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start());
  }

  private Process track(Process p) {
    synchronized (processes) {
      processes.removeIf(x -> !x.isAlive());
      processes.add(p);
    }
    return p;
  }

  static void awaitLine(Process p, Path log, String text) throws Exception {
    awaitLine(p, log, text, 1);
  }

  /** Waits for the {@code nth} occurrence of {@code text} in the log (a restarted process appends). */
  static void awaitLine(Process p, Path log, String text, int nth) throws Exception {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (Files.exists(log) && occurrences(Files.readString(log), text) >= nth) return;
      if (!p.isAlive()) throw new IOException("process exited (" + p.exitValue() + ") before '" + text + "'; see " + log + ":\n" + tail(log));
      Thread.sleep(200);
    }
    throw new IOException("no '" + text + "' within " + START_TIMEOUT.toSeconds() + " s; see " + log);
  }

  static int occurrences(String s, String text) {
    int n = 0;
    for (int i = s.indexOf(text); i >= 0; i = s.indexOf(text, i + text.length())) n++;
    return n;
  }

  static String tail(Path log) throws IOException {
    List<String> lines = Files.readAllLines(log);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
  }

  /** A port free on loopback now (bound and released; the OS does not hand it out again soon). */
  /** The node's JVM options plus its own AMQP port (no command-line flag for it yet). */
  private static List<String> nodeJvm(String javaOpts, int amqpPort) {
    List<String> opts = new ArrayList<>(List.of(javaOpts.trim().split("\\s+")));
    opts.add("-Dtwinhub.amqp.port=" + amqpPort);
    return opts;
  }

  public static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private void stopAll() {
    List<Process> ps;
    synchronized (processes) {
      ps = new ArrayList<>(processes);
      processes.clear();
    }
    // Nodes first (they leave the cluster and flush), the shared Cassandra last.
    ps.remove(sharedCassandra);
    if (sharedCassandra != null) ps.add(sharedCassandra);
    for (Process p : ps) if (p != sharedCassandra) p.destroy();
    for (Process p : ps) {
      if (p == sharedCassandra) p.destroy();
      try {
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
          p.descendants().forEach(ProcessHandle::destroyForcibly);
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public void close() {
    stopAll();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException ignored) {
      // already shutting down: the hook runs stopAll, which finds nothing left
    }
  }
}
