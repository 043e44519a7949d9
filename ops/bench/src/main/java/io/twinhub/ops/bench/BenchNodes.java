package io.twinhub.ops.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
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
 * (node 1 joins itself, nodes 2..N join it and get its keys and CA, as {@code ./twinhub cluster start}
 * gives them). The nodes' listeners bind port 0: the ports are read from their ready banners.
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
    // Every listener of a node binds port 0 and the ready banner says what it got; only Cassandra,
    // which cannot bind port 0, is told its ports (picked by FreePorts, started again on fresh ones
    // if it still loses one). Session 18: a bench run died when the harness's bind-0-and-close
    // picker handed the same port to Cassandra's storage port and to the node's HTTPS.
    int[] cql = new int[1];
    List<String> common = new ArrayList<>();
    if (count > 1) {
      Path log = workDir.resolve("cassandra.log");
      Process c = startOnFreshPorts(() -> {
        cql[0] = freePort();
        return spawn(List.of("-Xmx128m"), "io.twinhub.node.cli.TwinhubCli",
            List.of("cassandra", "--data-dir", workDir.resolve("cassandra").toString(), "--native-port", Integer.toString(cql[0]),
                "--storage-port", Integer.toString(freePort())), log);
      }, log, "Cassandra ready");
      sharedCassandra = c;
      common.addAll(List.of("--cassandra-contact-points", "127.0.0.1:" + cql[0]));
      cassandraPid = c.children().findFirst().map(ProcessHandle::pid).orElse(-1L);
    }
    List<BenchTarget.Node> nodes = new ArrayList<>();
    List<Process> started = new ArrayList<>();
    List<List<String>> argsOf = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Path dir = workDir.resolve("node-" + (i + 1));
      Files.createDirectories(dir);
      if (i > 0) shareCredentials(workDir.resolve("node-1"), dir);
      List<String> args = new ArrayList<>(List.of("--data-dir", dir.toString(),
          "--http-port", "0", "--mqtt-port", "0", "--management-port", "0", "--remoting-port", "0"));
      args.addAll(common);
      // Node 1 joins itself; the others join it (its remoting port is known once it is ready).
      if (i > 0) args.addAll(List.of("--seed-nodes", "akka://twinhub@127.0.0.1:" + bannerPort(readyBanner(workDir.resolve("node-1.log")), "cluster")));
      if (!roles.get(i).equals(BenchTarget.Node.ALL_ROLES)) args.addAll(List.of("--roles", String.join(",", roles.get(i))));
      argsOf.add(args);
      Path log = workDir.resolve("node-" + (i + 1) + ".log");
      Process p;
      if (i == 0) {
        // Node 1 makes the keys the others copy, and the journal's tables; alone, it embeds Cassandra.
        p = count > 1 ? spawn(nodeJvm(javaOpts), "io.twinhub.node.Main", args, log) : startOnFreshPorts(() -> {
          cql[0] = freePort();
          List<String> withCassandra = new ArrayList<>(args);
          withCassandra.addAll(List.of("--cassandra-port", Integer.toString(cql[0]), "--cassandra-storage-port", Integer.toString(freePort())));
          argsOf.set(0, withCassandra);
          return spawn(nodeJvm(javaOpts), "io.twinhub.node.Main", withCassandra, log);
        }, log, "twinhub node ready");
        awaitLine(p, log, "twinhub node ready");
        for (int attempt = 1; !JournalSchema.complete(cql[0]); attempt++) {
          if (attempt == 3) throw new IOException("the journal's tables are still missing after 2 restarts of node 1; see " + log);
          // On an overloaded box the node's CREATE TABLEs can time out (5 s), and the journal
          // plugin does not try again while it runs: start node 1 once more.
          System.out.println("bench: the journal's tables were not created (schema statements timed out, see " + log
              + "); restarting node 1");
          p.destroy();
          if (!p.waitFor(90, TimeUnit.SECONDS)) p.destroyForcibly();
          Files.writeString(log, "\n--- restarted by the bench: journal tables missing ---\n", java.nio.file.StandardOpenOption.APPEND);
          p = spawnAppending(nodeJvm(javaOpts), "io.twinhub.node.Main", argsOf.get(0), log);
          awaitLine(p, log, "twinhub node ready", 2);
        }
      } else {
        p = spawn(nodeJvm(javaOpts), "io.twinhub.node.Main", args, log);
      }
      started.add(p);
    }
    for (int i = 1; i < count; i++) awaitLine(started.get(i), workDir.resolve("node-" + (i + 1) + ".log"), "twinhub node ready");
    for (int i = 0; i < count; i++) {
      String banner = readyBanner(workDir.resolve("node-" + (i + 1) + ".log"));
      nodes.add(new BenchTarget.Node(URI.create("https://127.0.0.1:" + bannerPort(banner, "REST API")), "127.0.0.1",
          bannerPort(banner, "MQTT"), bannerPort(banner, "health"), started.get(i).pid(), bannerPort(banner, "AMQPS"),
          List.copyOf(roles.get(i))));
    }
    String banner = Files.readString(workDir.resolve("node-1.log"));
    String owner = ownerConnectionString(banner).orElseThrow(() -> new IOException("no owner connection string in node-1.log"));
    if (count == 1) {
      cassandraPid = started.get(0).children().findFirst().map(ProcessHandle::pid).orElse(-1L);
    }
    target = new BenchTarget(List.copyOf(nodes), workDir.resolve("node-1/tls/ca.pem"), owner,
        Optional.of(new InetSocketAddress("127.0.0.1", cql[0])), workDir);
    List<String> described = new ArrayList<>();
    for (BenchTarget.Node n : nodes) described.add(n.restUrl() + (n.roles().equals(BenchTarget.Node.ALL_ROLES) ? "" : " (" + String.join(",", n.roles()) + ")"));
    System.out.printf("bench: %d node(s) ready in %.1f s (%s; logs in %s)%n", count, (System.nanoTime() - t0) / 1e9,
        String.join(" ", described), workDir);
  }

  /** Starts a process on ports it picks itself (each call picks fresh ones). */
  interface PortedStart {
    Process start() throws Exception;
  }

  /**
   * Starts {@code start} and waits for {@code ready} in its log; when it exits first because a port
   * it was told is taken ("already in use": something bound it after it was picked), starts it again
   * on fresh ports, three times at most. The failed attempt's log is kept beside, as {@code <log>.in-use-N}.
   */
  Process startOnFreshPorts(PortedStart start, Path log, String ready) throws Exception {
    for (int attempt = 1; ; attempt++) {
      Process p = start.start();
      try {
        awaitLine(p, log, ready);
        return p;
      } catch (IOException e) {
        if (p.isAlive() || attempt == 3 || !portTaken(Files.exists(log) ? Files.readString(log) : "")) throw e;
        Path kept = log.resolveSibling(log.getFileName() + ".in-use-" + attempt);
        Files.move(log, kept, StandardCopyOption.REPLACE_EXISTING);
        System.out.println("bench: a port picked for it was taken before it bound it (see " + kept + "); starting again on fresh ports");
      }
    }
  }

  private static final java.util.regex.Pattern PORT_IN_USE = java.util.regex.Pattern.compile("port \\d+ on \\S+ is already in use");

  /**
   * A start that failed on a taken port: the JDK's BindException (the node's listeners, Cassandra's),
   * Cassandra's own words for it, the node's and the Cassandra launcher's checks before they start.
   */
  static boolean portTaken(String log) {
    return log.contains("Address already in use") || log.contains("Unable to bind to address")
        || PORT_IN_USE.matcher(log).find();
  }

  /** The last ready banner of a node's log (a restarted node appends another). */
  static String readyBanner(Path log) throws IOException {
    String text = Files.readString(log);
    int at = text.lastIndexOf("twinhub node ready");
    if (at < 0) throw new IOException("no ready banner in " + log);
    return text.substring(at);
  }

  /**
   * The port of the banner line {@code label} ("REST API", "MQTT", "AMQPS", "health", "cluster"):
   * the digits after the last ':' of the line's first address, as {@code ./twinhub run} prints the
   * ports its listeners bound; 0 for a listener that is off (a member without that role).
   */
  static int bannerPort(String banner, String label) throws IOException {
    for (String line : banner.split("\n")) {
      String t = line.strip();
      if (!t.startsWith(label + " ")) continue;
      String address = t.substring(label.length()).strip().split("\\s+")[0];
      int colon = address.lastIndexOf(':');
      int end = colon + 1;
      while (end < address.length() && Character.isDigit(address.charAt(end))) end++;
      if (address.equals("off")) return 0;
      if (colon < 0 || end == colon + 1) break;
      return Integer.parseInt(address.substring(colon + 1, end));
    }
    throw new IOException("no port on the banner line '" + label + "' in:\n" + banner);
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

  /** The node's JVM options, its AMQP listener on port 0 too. */
  private static List<String> nodeJvm(String javaOpts) {
    List<String> opts = new ArrayList<>(List.of(javaOpts.trim().split("\\s+")));
    opts.add("-Dtwinhub.amqp.port=0");
    return opts;
  }

  /** A loopback port for a process told its port before it binds: {@link io.twinhub.ops.net.FreePorts#next()}. */
  public static int freePort() {
    return io.twinhub.ops.net.FreePorts.next();
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
