package io.twinhub.node.cli;

import io.twinhub.node.NodeSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.io.Writer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.regex.Pattern;

/**
 * {@code ./twinhub cluster start|status|stop|kill|restart}: a local multi-node cluster on loopback,
 * N hub node processes sharing embedded Cassandra (one node, or three real nodes with replication
 * factor 3 on 127.0.0.1-3), each with its own data dir and ports. Node i listens on the port bases
 * + i - 1; nodes 1 and 2 are the seeds. Everything lives under {@code --dir}: cassandra-k/, node-i/,
 * *.pid, *.log and cluster.properties (what {@code start} chose, read by the other commands).
 */
@Command(name = "cluster", description = "A local multi-node cluster on loopback sharing embedded Cassandra.",
    subcommands = picocli.CommandLine.HelpCommand.class)
public final class ClusterCommand {
  static final Duration START_TIMEOUT = Duration.ofSeconds(180);
  private static final Pattern ROLES = Pattern.compile("[1-9][0-9]*=(twin|api|mqtt|query|worker)(,(twin|api|mqtt|query|worker))*");

  /** Where the cluster lives and which ports it uses (saved by start, read back by the others). */
  static final class Layout {
    @Option(names = "--dir", paramLabel = "DIR", defaultValue = "${env:TWINHUB_CLUSTER_DIR}",
        description = "where the cluster's data, logs and pid files live (TWINHUB_CLUSTER_DIR; default <data-dir>/cluster)")
    Path given;

    Path dir() {
      return given != null ? given
          : Path.of(com.typesafe.config.ConfigFactory.load().getString("twinhub.data-dir")).resolve("cluster");
    }
  }

  @Spec
  CommandSpec spec;

  @Command(name = "start", description = "Start embedded Cassandra and N nodes, node 1 first; print the owner connection string.")
  int start(@Mixin Layout layout,
            @Parameters(paramLabel = "N", defaultValue = "3", description = "hub nodes (default ${DEFAULT-VALUE})") int count,
            @Option(names = "--cassandra-nodes", paramLabel = "1|3", defaultValue = "1",
                description = "embedded Cassandra nodes; 3 = replication factor 3, QUORUM (default ${DEFAULT-VALUE})") int cassandraNodes,
            @Option(names = "--roles", paramLabel = "I=ROLE,...", description = "roles of node I (twin, api, mqtt, query, worker; default all)") List<String> roles,
            @Option(names = "--http-port", paramLabel = "PORT", defaultValue = "${env:TWINHUB_CLUSTER_HTTP_PORT:-8443}", description = "node 1's HTTPS port; node i uses +i-1 (TWINHUB_CLUSTER_HTTP_PORT; default ${DEFAULT-VALUE})") int http,
            @Option(names = "--mqtt-port", paramLabel = "PORT", defaultValue = "${env:TWINHUB_CLUSTER_MQTT_PORT:-8883}", description = "node 1's MQTT port (TWINHUB_CLUSTER_MQTT_PORT; default ${DEFAULT-VALUE})") int mqtt,
            @Option(names = "--amqp-port", paramLabel = "PORT", defaultValue = "${env:TWINHUB_CLUSTER_AMQP_PORT:-5671}", description = "node 1's AMQPS port (TWINHUB_CLUSTER_AMQP_PORT; default ${DEFAULT-VALUE})") int amqp,
            @Option(names = "--management-port", paramLabel = "PORT", defaultValue = "${env:TWINHUB_CLUSTER_MANAGEMENT_PORT:-8558}", description = "node 1's management port (TWINHUB_CLUSTER_MANAGEMENT_PORT; default ${DEFAULT-VALUE})") int management,
            @Option(names = "--remoting-port", paramLabel = "PORT", defaultValue = "${env:TWINHUB_CLUSTER_REMOTING_PORT:-25520}", description = "node 1's remoting port (TWINHUB_CLUSTER_REMOTING_PORT; default ${DEFAULT-VALUE})") int remoting,
            @Option(names = "--cassandra-port", paramLabel = "PORT", defaultValue = "${env:TWINHUB_CASSANDRA_PORT:-9042}", description = "CQL port of every Cassandra node (TWINHUB_CASSANDRA_PORT; default ${DEFAULT-VALUE})") int cql,
            @Option(names = "--cassandra-storage-port", paramLabel = "PORT", defaultValue = "${env:TWINHUB_CASSANDRA_STORAGE_PORT:-7000}", description = "gossip port (TWINHUB_CASSANDRA_STORAGE_PORT; default ${DEFAULT-VALUE})") int storage,
            @Option(names = "--java-opts", paramLabel = "OPTS", defaultValue = "${env:TWINHUB_JAVA_OPTS:--Xms256m -Xmx1g}", description = "JVM options of each node (TWINHUB_JAVA_OPTS; default ${DEFAULT-VALUE})") String javaOpts)
      throws Exception {
    if (count < 1) throw new IllegalArgumentException("N must be at least 1");
    if (cassandraNodes != 1 && cassandraNodes != 3) throw new IllegalArgumentException("--cassandra-nodes must be 1 or 3, got " + cassandraNodes);
    Properties p = new Properties();
    for (String r : roles == null ? List.<String>of() : roles) {
      if (!ROLES.matcher(r).matches()) throw new IllegalArgumentException("--roles takes NODE=ROLE,ROLE (roles: twin api mqtt query worker), got '" + r + "'");
      p.setProperty("roles." + r.substring(0, r.indexOf('=')), r.substring(r.indexOf('=') + 1));
    }
    LocalCluster c = new LocalCluster(layout.dir(), p);
    if (c.alive("node-1") || c.alive("cassandra-1")) {
      throw new TwinhubCli.CommandFailure("a cluster is already running under " + layout.dir() + " (./twinhub cluster status; stop it first)");
    }
    p.setProperty("nodes", Integer.toString(count));
    p.setProperty("cassandra.nodes", Integer.toString(cassandraNodes));
    p.setProperty("port.http", Integer.toString(http));
    p.setProperty("port.mqtt", Integer.toString(mqtt));
    p.setProperty("port.amqp", Integer.toString(amqp));
    p.setProperty("port.management", Integer.toString(management));
    p.setProperty("port.remoting", Integer.toString(remoting));
    p.setProperty("port.cql", Integer.toString(cql));
    p.setProperty("port.storage", Integer.toString(storage));
    p.setProperty("java-opts", javaOpts);
    c.save();
    PrintWriter out = spec.commandLine().getOut();
    for (int k = 1; k <= cassandraNodes; k++) c.startCassandra(k, out);
    c.startNode(1, false, out);
    c.awaitLine("node-1", "twinhub node ready");
    for (int i = 2; i <= count; i++) c.startNode(i, false, out);
    for (int i = 2; i <= count; i++) c.awaitLine("node-" + i, "twinhub node ready");
    c.status(out);
    out.println("owner connection string: " + c.ownerConnectionString());
    out.flush();
    return 0;
  }

  @Command(name = "status", description = "pid, state, /ready and roles of each node and Cassandra node; members Up.")
  int status(@Mixin Layout layout) throws Exception {
    LocalCluster.load(layout.dir()).status(spec.commandLine().getOut());
    return 0;
  }

  @Command(name = "stop", description = "Graceful leave of every node (SIGTERM), then Cassandra.")
  int stop(@Mixin Layout layout) throws Exception {
    LocalCluster c = LocalCluster.load(layout.dir());
    List<String> nodes = new ArrayList<>();
    for (int i = c.nodes(); i >= 1; i--) nodes.add("node-" + i);
    List<String> cassandras = new ArrayList<>();
    for (int k = c.cassandraNodes(); k >= 1; k--) cassandras.add("cassandra-" + k);
    // Nodes leave together, then Cassandra drains: the nodes need it until they are gone.
    nodes.parallelStream().forEach(c::terminate);
    cassandras.parallelStream().forEach(c::terminate);
    spec.commandLine().getOut().println("twinhub cluster: stopped");
    return 0;
  }

  @Command(name = "kill", description = "kill -9 node I: the others down it (Split Brain Resolver, keep-majority) and take its shards.")
  int kill(@Mixin Layout layout, @Parameters(paramLabel = "I") int i) throws Exception {
    LocalCluster c = LocalCluster.load(layout.dir());
    c.pid("node-" + i).flatMap(ProcessHandle::of).ifPresent(ProcessHandle::destroyForcibly);
    spec.commandLine().getOut().println("twinhub cluster: node " + i + " killed (-9)");
    return 0;
  }

  @Command(name = "restart", description = "SIGTERM node I (graceful leave), start it again, rejoin through the other nodes.")
  int restart(@Mixin Layout layout, @Parameters(paramLabel = "I") int i) throws Exception {
    LocalCluster c = LocalCluster.load(layout.dir());
    PrintWriter out = spec.commandLine().getOut();
    c.terminate("node-" + i);
    c.startNode(i, true, out);
    c.awaitLine("node-" + i, "twinhub node ready");
    out.println("twinhub cluster: node " + i + " restarted");
    return 0;
  }

  /** The processes of one cluster directory. */
  static final class LocalCluster {
    private final Path dir;
    private final Properties p;

    LocalCluster(Path dir, Properties p) {
      this.dir = dir.toAbsolutePath().normalize();
      this.p = p;
    }

    static LocalCluster load(Path dir) throws IOException {
      Path file = dir.resolve("cluster.properties");
      if (!Files.exists(file)) throw new TwinhubCli.CommandFailure("no cluster under " + dir.toAbsolutePath() + " (./twinhub cluster start)");
      Properties p = new Properties();
      try (Reader r = Files.newBufferedReader(file)) {
        p.load(r);
      }
      return new LocalCluster(dir, p);
    }

    void save() throws IOException {
      Files.createDirectories(dir);
      try (Writer w = Files.newBufferedWriter(dir.resolve("cluster.properties"))) {
        p.store(w, "what ./twinhub cluster start chose; read by status, stop, kill and restart");
      }
    }

    int nodes() {
      return Integer.parseInt(p.getProperty("nodes", "0"));
    }

    int cassandraNodes() {
      return Integer.parseInt(p.getProperty("cassandra.nodes", "1"));
    }

    int port(String name, int node) {
      return Integer.parseInt(p.getProperty("port." + name)) + node - 1;
    }

    String roles(int node) {
      return p.getProperty("roles." + node, String.join(",", NodeSettings.TWIN_ROLE, NodeSettings.API_ROLE,
          NodeSettings.MQTT_ROLE, NodeSettings.QUERY_ROLE));
    }

    Optional<Long> pid(String name) {
      try {
        Path f = dir.resolve(name + ".pid");
        return Files.exists(f) ? Optional.of(Long.parseLong(Files.readString(f).trim())) : Optional.empty();
      } catch (IOException | NumberFormatException e) {
        return Optional.empty();
      }
    }

    boolean alive(String name) {
      return pid(name).flatMap(ProcessHandle::of).map(ProcessHandle::isAlive).orElse(false);
    }

    /** Cassandra node k on 127.0.0.k; node 1 is the seed of the others. One at a time: a ring takes one joiner at a time. */
    void startCassandra(int k, PrintWriter out) throws Exception {
      String name = "cassandra-" + k;
      if (alive(name)) return;
      out.printf("twinhub cluster: starting embedded Cassandra %d on 127.0.0.%d:%d%n", k, k, port("cql", 1));
      out.flush();
      spawn(name, List.of("-Xmx128m"), List.of("cassandra", "--data-dir", dir.resolve(name).toString(),
          "--address", "127.0.0." + k, "--seeds", "127.0.0.1:" + port("storage", 1),
          "--native-port", Integer.toString(port("cql", 1)), "--storage-port", Integer.toString(port("storage", 1)),
          "--heap", cassandraNodes() > 1 ? "512m" : "768m"), java.util.Map.of());
      awaitLine(name, "Cassandra ready");
    }

    void startNode(int i, boolean rejoin, PrintWriter out) throws Exception {
      String name = "node-" + i;
      if (alive(name)) {
        out.printf("twinhub cluster: node %d already running (pid %d)%n", i, pid(name).orElse(-1L));
        return;
      }
      Files.createDirectories(dir.resolve(name));
      shareCredentials(i);
      List<String> args = new ArrayList<>(List.of("run", "--data-dir", dir.resolve(name).toString(),
          "--http-port", Integer.toString(port("http", i)), "--mqtt-port", Integer.toString(port("mqtt", i)),
          "--amqp-port", Integer.toString(port("amqp", i)),
          "--management-port", Integer.toString(port("management", i)), "--remoting-port", Integer.toString(port("remoting", i)),
          "--cassandra-contact-points", contactPoints(), "--seed-nodes", seeds(i, rejoin), "--roles", roles(i)));
      // With three Cassandra nodes the journal keyspaces get replication factor 3; the journal
      // writes and reads at QUORUM (the plugin's default), so one Cassandra node may be down.
      spawn(name, List.of(p.getProperty("java-opts").trim().split("\\s+")), args,
          java.util.Map.of("TWINHUB_CASSANDRA_REPLICATION_FACTOR", Integer.toString(cassandraNodes())));
    }

    /** Nodes share the hub's keys and CA, so one token and one trust store work on every node. */
    private void shareCredentials(int i) throws IOException {
      if (i == 1) return;
      Path from = dir.resolve("node-1");
      Path to = dir.resolve("node-" + i);
      for (String f : List.of("security/policies.json", "tls/ca.pem", "tls/ca.key")) {
        Files.createDirectories(to.resolve(f).getParent());
        Files.copy(from.resolve(f), to.resolve(f), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
      }
    }

    private String contactPoints() {
      List<String> points = new ArrayList<>();
      for (int k = 1; k <= cassandraNodes(); k++) points.add("127.0.0." + k + ":" + port("cql", 1));
      return String.join(",", points);
    }

    /**
     * Nodes 1 and 2 while the cluster forms. A restarted node joins through the other nodes only:
     * a first seed node that lists itself first joins itself when the others do not answer within
     * seed-node-timeout (a loaded machine), which would make a second cluster.
     */
    private String seeds(int i, boolean rejoin) {
      List<String> list = new ArrayList<>();
      if (!rejoin) {
        list.add(seed(1));
        if (nodes() > 1) list.add(seed(2));
      } else {
        for (int j = 1; j <= nodes(); j++) if (j != i) list.add(seed(j));
      }
      return String.join(",", list);
    }

    private String seed(int node) {
      return "akka://twinhub@127.0.0.1:" + port("remoting", node);
    }

    /** A detached process running {@code ./twinhub <args>} with this JVM's classpath, output to NAME.log. */
    private void spawn(String name, List<String> jvm, List<String> args, java.util.Map<String, String> env) throws IOException {
      List<String> cmd = new ArrayList<>();
      cmd.add(ProcessHandle.current().info().command().orElse("java"));
      cmd.addAll(jvm);
      cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), TwinhubCli.class.getName()));
      cmd.addAll(args);
      Path log = dir.resolve(name + ".log");
      Files.deleteIfExists(log);
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
      pb.environment().putAll(env);
      Process proc = pb.start();
      Files.writeString(dir.resolve(name + ".pid"), Long.toString(proc.pid()));
    }

    void awaitLine(String name, String text) throws Exception {
      Path log = dir.resolve(name + ".log");
      long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
      while (System.nanoTime() < deadline) {
        if (Files.exists(log) && Files.readString(log).contains(text)) return;
        if (!alive(name)) throw new TwinhubCli.CommandFailure(name + " exited during start:\n" + tail(log) + "\n(log: " + log + ")");
        Thread.sleep(200);
      }
      throw new TwinhubCli.CommandFailure(name + " not ready within " + START_TIMEOUT.toSeconds() + " s:\n" + tail(log) + "\n(log: " + log + ")");
    }

    private static String tail(Path log) throws IOException {
      if (!Files.exists(log)) return "";
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    }

    /** SIGTERM and wait for the process to leave (90 s), e.g. a node's graceful leave. */
    void terminate(String name) {
      pid(name).flatMap(ProcessHandle::of).ifPresent(h -> {
        h.destroy();
        try {
          h.onExit().get(90, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
          // still running after 90 s: left to the operator (status shows it)
        }
      });
    }

    String ownerConnectionString() throws IOException {
      Path log = dir.resolve("node-1.log");
      return Files.readAllLines(log).stream().filter(l -> l.trim().startsWith("owner "))
          .map(l -> l.trim().substring("owner".length()).trim()).findFirst().orElse("(see " + log + ")");
    }

    void status(PrintWriter out) {
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
      out.printf("%-12s %-8s %-7s %-7s %-6s %-10s %s%n", "node", "pid", "state", "ready", "HTTPS", "management", "roles");
      for (int k = 1; k <= cassandraNodes(); k++) {
        String name = "cassandra-" + k;
        out.printf("%-12s %-8s %-7s %s%n", name, pid(name).map(String::valueOf).orElse("-"), alive(name) ? "up" : "down",
            "127.0.0." + k + ":" + port("cql", 1));
      }
      for (int i = 1; i <= nodes(); i++) {
        String name = "node-" + i;
        int mgmt = port("management", i);
        out.printf("%-12s %-8s %-7s %-7s %-6s %-10s %s%n", name, pid(name).map(String::valueOf).orElse("-"),
            alive(name) ? "up" : "down", get(http, "http://127.0.0.1:" + mgmt + "/ready").map(r -> Integer.toString(r.statusCode())).orElse("000"),
            port("http", i), mgmt, roles(i));
      }
      long up = get(http, "http://127.0.0.1:" + port("management", 1) + "/cluster/members")
          .map(r -> Pattern.compile("\"status\":\"Up\"").matcher(r.body()).results().count()).orElse(0L);
      out.println("members Up (seen by node-1): " + up);
      out.flush();
    }

    private static Optional<HttpResponse<String>> get(HttpClient http, String url) {
      try {
        return Optional.of(http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).GET().build(),
            HttpResponse.BodyHandlers.ofString()));
      } catch (IOException e) {
        return Optional.empty();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return Optional.empty();
      }
    }
  }
}
