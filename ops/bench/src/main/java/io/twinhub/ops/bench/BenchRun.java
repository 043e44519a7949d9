package io.twinhub.ops.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * One bench run: nodes up (or an existing target), the workload(s) one after the other, each a
 * warm-up then a measured phase with the server's CPU and heap, the table; nodes down.
 */
public final class BenchRun implements AutoCloseable {

  /**
   * The order of {@code all}: each baseline right before the workload compared with it;
   * query-mix last, because its 100,000 seeded twins stay resident in the node's heap and would
   * weigh on every workload after it.
   */
  static final List<String> ALL = List.of("cassandra-insert", "http-cassandra", "twin-patch", "http-bare", "twin-get", "mixed",
      "mqtt-reported", "query-mix");

  private final BenchOptions options;
  private final BenchTarget target;
  private final BenchNodes nodes;      // null for an existing target
  private RestClient client;
  private RestWorkloads rest;

  private BenchRun(BenchOptions options, BenchTarget target, BenchNodes nodes) {
    this.options = options;
    this.target = target;
    this.nodes = nodes;
  }

  static BenchTable run(BenchOptions o) throws Exception {
    BenchTable table = new BenchTable();
    Path work = Files.createTempDirectory("twinhub-bench-");
    System.out.printf(Locale.ROOT, "bench: %s, load average %s%n", o.workload(), loadAverage());
    if (!o.startsNodes()) {
      try (BenchRun run = new BenchRun(o, existing(o, work), null)) {
        run.runAll(table);
      }
      return table;
    }
    try (BenchNodes nodes = BenchNodes.start(o.nodeRoles(), o.nodeJavaOpts(), work);
         BenchRun run = new BenchRun(o, nodes.target(), nodes)) {
      run.runAll(table);
    }
    System.out.printf(Locale.ROOT, "bench: done, load average %s%n", loadAverage());
    deleteData(work);
    return table;
  }

  static BenchTarget existing(BenchOptions o, Path work) {
    List<BenchTarget.Node> list = new ArrayList<>();
    for (int i = 0; i < o.urls().size(); i++) {
      URI url = URI.create(o.urls().get(i).replaceAll("/+$", ""));
      long pid = i < o.pids().size() ? o.pids().get(i) : -1;
      list.add(new BenchTarget.Node(url, url.getHost(), Integer.parseInt(o.extra().getOrDefault("mqtt-port", "8883")),
          Integer.parseInt(o.extra().getOrDefault("management-port", "8558")), pid,
          Integer.parseInt(o.extra().getOrDefault("amqp-port", "5671"))));
    }
    Optional<InetSocketAddress> cassandra = o.cassandra().map(hp -> {
      int colon = hp.lastIndexOf(':');
      return new InetSocketAddress(hp.substring(0, colon), Integer.parseInt(hp.substring(colon + 1)));
    });
    return new BenchTarget(list, Path.of(o.ca().orElseThrow()), o.connectionString().orElseThrow(), cassandra, work);
  }

  private void runAll(BenchTable table) throws Exception {
    List<String> workloads = workloads(options.workload());
    for (String w : workloads) {
      System.out.printf(Locale.ROOT, "bench: --- %s (load average %s)%n", w, loadAverage());
      try {
        for (BenchResult r : runOne(options.forWorkload(w), table)) {
          table.add(r);
          System.out.println(table.row(r));
        }
      } catch (Exception e) {
        // One workload failing (e.g. seeding refused) leaves the others' figures standing.
        System.out.println("bench: " + w + " FAILED: " + e);
        e.printStackTrace(System.out);
        table.failed(w);
      }
    }
  }

  /** {@code all}, one workload, or several separated by commas. */
  static List<String> workloads(String spec) {
    return spec.equals("all") ? ALL : List.of(spec.split(","));
  }

  List<BenchResult> runOne(BenchOptions o, BenchTable table) throws Exception {
    String w = o.workload();
    if (w.equals("mqtt-bare") || w.equals("mqtt-reported-bare")) return mqttBare(o);
    if (BenchMain.isMqtt(w)) return BenchMain.runMqtt(o, target, cassandraPid());
    // Change streams (issue #8): options --phases, --events, --rates, --idle-streams, --stream-twins.
    if (w.equals("streams")) return io.twinhub.ops.bench.streams.StreamBench.run(o, target, cassandraPid());
    // The change feed on Kafka (issue #20): kafka = kafka-publish then kafka-latency on one broker and publisher.
    if (w.startsWith("kafka")) return io.twinhub.ops.bench.kafka.KafkaBench.run(o, target,
        w.equals("kafka") ? List.of("kafka-publish", "kafka-latency") : List.of(w), cassandraPid());
    return switch (w) {
      case "twin-get" -> List.of(twins(o, (i, node) -> rest.get(RestWorkloads.anyTwin(o.twins()), node)));
      case "twin-patch" -> List.of(twins(o, (i, node) -> rest.patch(RestWorkloads.anyTwin(o.twins()), node)));
      case "mixed" -> List.of(twins(o, (i, node) -> ThreadLocalRandom.current().nextInt(10) < 8
          ? rest.get(RestWorkloads.anyTwin(o.twins()), node) : rest.patch(RestWorkloads.anyTwin(o.twins()), node)));
      case "query-mix" -> List.of(queryMix(o));
      case "query-each" -> queryEach(o);
      case "job-update" -> jobUpdate(o);
      case "config-lag" -> List.of(configLag(o));
      case "index-lag" -> indexLag(o);
      case "c2d" -> c2d(o);
      case "edge" -> {
        rest();
        yield EdgeBench.run(o, target, client); // the IoT Edge runtime (issue 17): routing, store, forward, memory
      }
      case "cassandra-insert" -> List.of(cassandraInsert(o));
      case "cassandra-batch" -> cassandraBatch(o);
      case "http-bare" -> List.of(httpBare(o, false));
      case "http-cassandra" -> List.of(httpBare(o, true));
      default -> throw new IllegalArgumentException("unknown workload " + w);
    };
  }

  interface TwinOp {
    java.util.concurrent.CompletionStage<Boolean> apply(long i, int node);
  }

  private RestWorkloads rest() throws Exception {
    if (client == null) {
      client = new RestClient(target.restUrls(), target.caPem(), target.ownerConnectionString(), options.concurrency(),
          options.httpClient());
      rest = new RestWorkloads(client, target.queryNodes());
    }
    return rest;
  }

  private BenchResult twins(BenchOptions o, TwinOp op) throws Exception {
    rest();
    double seeded = rest.seed(o.twins(), o.seedCalls(), serversProbe());
    double swept = rest.sweep(o.twins(), o.concurrency());
    LoadLoop.Operation operation = i -> op.apply(i, (int) i);
    BenchResult r = measure(o, new NodeProbe(target.pids()), operation, client.materializer());
    return r.withNote(note(o.twins() + " twins", seeded, swept) + "; " + r.note());
  }

  /** Index lag (issue 23): PATCH answered → visible to a plain query, at --rate ({@link IndexLagBench}). */
  private List<BenchResult> indexLag(BenchOptions o) throws Exception {
    rest();
    double seeded = rest.seed(o.twins(), o.seedCalls(), serversProbe());
    double swept = rest.sweep(o.twins(), o.concurrency());
    List<BenchResult> rows = new ArrayList<>(IndexLagBench.run(o, client, rest, target.queryNodes(), new NodeProbe(target.pids())));
    BenchResult last = rows.remove(rows.size() - 1);
    rows.add(last.withNote(note(o.twins() + " twins", seeded, swept) + "; " + last.note()));
    return rows;
  }

  /** Configurations (issue 16): tag change → content lag under twin PATCH load ({@link ConfigLagBench}). */
  private BenchResult configLag(BenchOptions o) throws Exception {
    rest();
    double seeded = rest.seed(o.twins(), o.seedCalls(), serversProbe());
    double swept = rest.sweep(o.twins(), o.concurrency());
    BenchResult r = ConfigLagBench.run(o, client, rest, new NodeProbe(target.pids()));
    return r.withNote(note(o.twins() + " twins", seeded, swept) + "; " + r.note());
  }

  /**
   * {@code c2d} (issue 19): C2D messages/s from the AMQPS send to the device's PUBACK
   * ({@link io.twinhub.ops.bench.mqtt.C2dLoad}), against the twin-patch rate: {@code --pairs} pairs
   * of a twin-patch phase then a c2d phase, back to back; the ratio of each pair and their median.
   */
  private List<BenchResult> c2d(BenchOptions o) throws Exception {
    rest();
    double seeded = rest.seed(o.twins(), o.seedCalls(), serversProbe());
    double swept = rest.sweep(o.twins(), o.concurrency());
    int pairs = Integer.parseInt(o.extra().getOrDefault("pairs", "3"));
    List<BenchResult> rows = new ArrayList<>();
    List<Double> ratios = new ArrayList<>();
    try (io.twinhub.ops.bench.mqtt.C2dLoad load = io.twinhub.ops.bench.mqtt.C2dLoad.start(o, target)) {
      for (int p = 1; p <= pairs; p++) {
        BenchResult patch = measure(o.forWorkload("twin-patch"), new NodeProbe(target.pids()),
            i -> rest.patch(RestWorkloads.anyTwin(o.twins()), (int) i), client.materializer());
        BenchResult c2d = measure(o, new NodeProbe(target.pids()), load::send, client.materializer());
        double ratio = patch.rate() > 0 ? c2d.rate() / patch.rate() : Double.NaN;
        ratios.add(ratio);
        System.out.printf(Locale.ROOT, "bench: c2d pair %d: twin-patch %,.0f/s, c2d %,.0f/s, ratio %.2f%n", p, patch.rate(), c2d.rate(), ratio);
        rows.add(patch.withNote(String.format(Locale.ROOT, "pair %d; %s; %s", p, note(o.twins() + " twins", seeded, swept), patch.note())));
        rows.add(c2d.withNote(String.format(Locale.ROOT, "pair %d: %.2f x the twin-patch rate before it; %s; %s", p, ratio,
            load.describe(), c2d.note())));
      }
    }
    double median = median(ratios);
    System.out.printf(Locale.ROOT, "bench: c2d / twin-patch ratio by pair %s, median %.2f%n",
        ratios.stream().map(r -> String.format(Locale.ROOT, "%.2f", r)).toList(), median);
    BenchResult last = rows.remove(rows.size() - 1);
    rows.add(last.withNote(last.note() + String.format(Locale.ROOT, "; median ratio of the %d pairs %.2f", pairs, median)));
    return rows;
  }

  static double median(List<Double> values) {
    List<Double> s = values.stream().sorted().toList();
    if (s.isEmpty()) return Double.NaN;
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }

  private BenchResult queryMix(BenchOptions o) throws Exception {
    QueryTwins seeded = seedQueryTwins(o);
    int twins = o.queryTwins();
    BenchResult r = measure(o, new NodeProbe(target.pids()), i -> rest.query(i, twins), client.materializer());
    return r.withNote(note(String.format(Locale.ROOT, "%,d twins; 4 queries round robin", twins), seeded.seconds(), 0)
        + String.format(Locale.ROOT, "; every node's index caught up %.0f s after seeding; ", seeded.indexedAfter()) + r.note());
  }

  /** Seconds spent seeding the query workloads' twins, and waiting for every node's index to hold them. */
  private record QueryTwins(double seconds, double indexedAfter) {}

  private QueryTwins seedQueryTwins(BenchOptions o) throws Exception {
    rest();
    double seeded = rest.seed(o.queryTwins(), o.seedCalls(), serversProbe());
    double indexed = rest.awaitIndexed(o.queryTwins(), Duration.ofMinutes(20));
    System.out.printf(Locale.ROOT, "bench: every node's query index holds %,d twins (waited %.1f s)%n", o.queryTwins(), indexed);
    return new QueryTwins(seeded, indexed);
  }

  /**
   * The four queries of query-mix one at a time, each a row of its own (warm-up and measured
   * phase each): which of them the mix's CPU per query comes from.
   */
  private List<BenchResult> queryEach(BenchOptions o) throws Exception {
    seedQueryTwins(o);
    int twins = o.queryTwins();
    List<BenchResult> rows = new ArrayList<>();
    for (int q = 0; q < RestWorkloads.QUERIES.size(); q++) {
      int query = q;
      BenchOptions one = o.forWorkload(RestWorkloads.QUERY_NAMES.get(q));
      BenchResult r = measure(one, new NodeProbe(target.pids()), i -> rest.queryNumber(query, (int) i, twins), client.materializer());
      rows.add(r.withNote(String.format(Locale.ROOT, "%,d twins; %s; ", twins,
          String.format(Locale.ROOT, RestWorkloads.QUERIES.get(q), "bench-N")) + r.note()));
    }
    return rows;
  }

  /**
   * {@code job-update}: the twin-patch rate over the query workloads' twins ({@code --query-twins},
   * 100,000 by default), then one twin-update job over all of them in the same run: twins per
   * second of the job (creation to end, the hub's own times) and its ratio to the PATCH rate.
   */
  private List<BenchResult> jobUpdate(BenchOptions o) throws Exception {
    seedQueryTwins(o);
    int twins = o.queryTwins();
    BenchResult patch = measure(o.forWorkload("twin-patch"), new NodeProbe(target.pids()),
        i -> rest.patch(RestWorkloads.anyTwin(twins), (int) i), client.materializer());
    patch = patch.withNote(String.format(Locale.ROOT, "%,d twins, the same run's PATCH rate; ", twins) + patch.note());
    NodeProbe probe = new NodeProbe(target.pids());
    NodeProbe.Mark m = probe.mark();
    RestWorkloads.JobRun job = rest.updateJob(twins, Duration.ofMinutes(60));
    double cpu = probe.cpuPercentSince(m);
    double rate = job.seconds() > 0 ? (job.devices() - job.failed()) / job.seconds() : 0;
    BenchResult row = new BenchResult("job-update", job.devices(), job.failed(), job.seconds(), rate, -1, -1, -1, cpu,
        probe.heapAfterGc(), String.format(Locale.ROOT, "one scheduleUpdateTwin job over %,d twins, %s; %.2f x the PATCH rate",
        job.devices(), job.status(), patch.rate() > 0 ? rate / patch.rate() : Double.NaN));
    System.out.printf(Locale.ROOT, "bench: job-update %,d twins in %.1f s = %,.0f twins/s; twin-patch %,.0f/s; ratio %.2f%n",
        job.devices(), job.seconds(), rate, patch.rate(), rate / patch.rate());
    return List.of(patch, row);
  }

  /** One twin seeded and PATCHed once through the node: its journal event is the baselines' template. */
  private void journalOnePatch() throws Exception {
    rest();
    rest.seed(1, 1, new NodeProbe(List.of()));
    if (!client.sendAndWait(0, "PATCH", "/twins/" + RestWorkloads.id(0) + "?" + RestClient.API_VERSION,
        RestWorkloads.patchBody(0)).ok()) {
      throw new IllegalStateException("PATCH of " + RestWorkloads.id(0) + " failed");
    }
  }

  private BenchResult cassandraInsert(BenchOptions o) throws Exception {
    InetSocketAddress cql = target.cassandra().orElseThrow(() -> new IllegalArgumentException("cassandra-insert needs --cassandra H:P"));
    // The payload: as big as the journal event a twin PATCH writes (measured, not assumed).
    journalOnePatch();
    try (CassandraBaseline base = new CassandraBaseline(cql)) {
      int bytes = base.lastEventBytes(o.extra().getOrDefault("journal-keyspace", "twinhub"), RestWorkloads.id(0));
      if (bytes <= 0) throw new IllegalStateException("no journal event of " + RestWorkloads.id(0) + " found");
      System.out.printf(Locale.ROOT, "bench: a twin PATCH's journal event is %d bytes%n", bytes);
      NodeProbe cassandra = new NodeProbe(cassandraPid() > 0 ? List.of(cassandraPid()) : List.of());
      base.run(client.materializer(), o.concurrency(), o.warmup(), o.count(), o.twins(), bytes);
      NodeProbe self = new NodeProbe(List.of(ProcessHandle.current().pid()));
      NodeProbe.Mark m = cassandra.mark();
      NodeProbe.Mark ms = self.mark();
      LoadLoop.Outcome out = base.run(client.materializer(), o.concurrency(), o.duration(), o.count(), o.twins(), bytes);
      double cpu = cassandra.cpuPercentSince(m);
      return out.result("cassandra-insert").withNode(cpu, cassandra.heapAfterGc())
          .withNote(String.format(Locale.ROOT, "%d B payload, RF 1; server = Cassandra; client CPU %.0f %%", bytes, self.cpuPercentSince(ms)));
    }
  }

  /**
   * Group commit's evidence (issue 23, {@link JournalBatchBench}): journal-shaped rows as single
   * inserts and as unlogged batches of 4, 16, 64 twins' rows ({@code --batch-rows}), back to back,
   * each with its warm-up; Cassandra's CPU per row as the server's, the driver's (this process) in
   * the note.
   */
  private List<BenchResult> cassandraBatch(BenchOptions o) throws Exception {
    InetSocketAddress cql = target.cassandra().orElseThrow(() -> new IllegalArgumentException("cassandra-batch needs --cassandra H:P"));
    journalOnePatch();
    String keyspace = o.extra().getOrDefault("journal-keyspace", "twinhub");
    List<BenchResult> out = new ArrayList<>();
    try (CassandraBaseline base = new CassandraBaseline(cql); JournalBatchBench bench = new JournalBatchBench(cql, keyspace)) {
      int bytes = base.lastEventBytes(keyspace, RestWorkloads.id(0));
      if (bytes <= 0) throw new IllegalStateException("no journal event of " + RestWorkloads.id(0) + " found");
      byte[] event = new byte[bytes];
      ThreadLocalRandom.current().nextBytes(event);
      NodeProbe cassandra = new NodeProbe(cassandraPid() > 0 ? List.of(cassandraPid()) : List.of());
      NodeProbe self = new NodeProbe(List.of(ProcessHandle.current().pid()));
      for (int n : o.extra().containsKey("batch-rows") ? JournalBatchBench.sizes(o.extra().get("batch-rows")) : JournalBatchBench.SIZES) {
        String name = "cassandra-batch-" + n;
        System.out.printf(Locale.ROOT, "bench: --- %s (load average %s)%n", name, loadAverage());
        bench.run(client.materializer(), n, o.concurrency(), o.warmup(), o.twins(), event);
        NodeProbe.Mark m = cassandra.mark();
        NodeProbe.Mark ms = self.mark();
        LoadLoop.Outcome run = bench.run(client.materializer(), n, o.concurrency(), o.duration(), o.twins(), event);
        double cpu = cassandra.cpuPercentSince(m);
        double clientCpu = self.cpuPercentSince(ms);
        BenchResult r = JournalBatchBench.rows(name, n, run);
        r = r.withNode(cpu, -1).withNote(JournalBatchBench.note(n, o.concurrency(), bytes, clientCpu, r.rate()));
        out.add(r);
      }
    }
    return out;
  }

  /**
   * The bare endpoint: GET of a fixed document ({@code http-bare}), or with {@code store} a PATCH
   * whose body is inserted into Cassandra before the answer ({@code http-cassandra}).
   */
  private BenchResult httpBare(BenchOptions o, boolean store) throws Exception {
    rest();
    rest.seed(1, 1, new NodeProbe(List.of()));
    RestClient.Answer twin = client.sendAndWait(0, "GET", "/twins/" + RestWorkloads.id(0) + "?" + RestClient.API_VERSION, null);
    if (!twin.ok()) throw new IllegalStateException("GET of " + RestWorkloads.id(0) + " answered " + twin.status());
    int bytes = twin.body().size();
    List<String> args = new ArrayList<>(List.of("0", Integer.toString(bytes)));
    if (store) {
      InetSocketAddress cql = target.cassandra().orElseThrow(() -> new IllegalArgumentException("http-cassandra needs --cassandra H:P"));
      args.add(cql.getHostString() + ":" + cql.getPort());
    }
    Process server = startBaseline(o, "http-bare", BareHttpServer.class, args, "bare http ready");
    try {
      int port = boundPort(target.workDir().resolve("http-bare.log"), "bare http ready");
      try (RestClient bare = new RestClient(List.of(URI.create("https://127.0.0.1:" + port)), target.caPem(),
          target.ownerConnectionString(), o.concurrency(), o.httpClient())) {
        java.util.concurrent.atomic.AtomicLong n = new java.util.concurrent.atomic.AtomicLong();
        LoadLoop.Operation op = store
            // The same request as twin-patch's, to a random one of --twins ids.
            ? i -> bare.send(0, "PATCH", "/twins/" + RestWorkloads.id(ThreadLocalRandom.current().nextInt(o.twins())) + "?"
                + RestClient.API_VERSION, RestWorkloads.patchBody(n.incrementAndGet()))
                .thenApply(a -> a.ok() && a.body().size() == bytes)
            : i -> bare.send(0, "GET", "/twins/" + RestWorkloads.id(0) + "?" + RestClient.API_VERSION, null)
                .thenApply(a -> a.ok() && a.body().size() == bytes);
        BenchResult r = measure(o, new NodeProbe(List.of(server.pid())), op, bare.materializer());
        return r.withNote(bytes + " B document, one JVM; server = bare endpoint"
            + (store ? " + one Cassandra insert of the request body per request" : "") + "; " + r.note());
      }
    } finally {
      stopBaseline(server);
    }
  }

  /**
   * {@code mqtt-storm}'s floor (issue 23): the same storm (first connects, full and resumed reconnects,
   * the same client) against {@link io.twinhub.ops.bench.mqtt.BareMqttServer}, the node's MQTT transport
   * and TLS with nothing of the hub behind it, started in a JVM of its own with {@code --node-java-opts};
   * its CPU per connect is the server CPU the node's is compared with. {@code mqtt-reported-bare}:
   * {@code mqtt-reported}'s load against the same endpoint, which answers every reported patch 204 at
   * once ({@code BareMqttServer.twinAnswer}); run after {@code mqtt-reported} in one bench, its "Nx"
   * loads are the node's packet rates.
   */
  private List<BenchResult> mqttBare(BenchOptions o) throws Exception {
    io.twinhub.ops.bench.mqtt.MqttBench.Options storm = io.twinhub.ops.bench.mqtt.MqttBench.options(o, target, -1);
    Process server = startBaseline(o, "mqtt-bare", io.twinhub.ops.bench.mqtt.BareMqttServer.class,
        List.of("0", storm.host()), io.twinhub.ops.bench.mqtt.BareMqttServer.READY);
    try {
      int port = boundPort(target.workDir().resolve("mqtt-bare.log"), io.twinhub.ops.bench.mqtt.BareMqttServer.READY);
      String ready = Files.readAllLines(target.workDir().resolve("mqtt-bare.log")).stream()
          .filter(l -> l.contains(io.twinhub.ops.bench.mqtt.BareMqttServer.READY)).findFirst().orElse("");
      System.out.println("bench: " + ready);
      return io.twinhub.ops.bench.mqtt.MqttBench.run(storm.againstBare(port, server.pid())).results().stream()
          .map(r -> r.withNote("server = bare MQTT endpoint " + ready.substring(ready.indexOf('(')) + "; " + r.note())).toList();
    } finally {
      stopBaseline(server);
    }
  }

  /**
   * Starts a baseline server ({@code main} with {@code args} after its data directory, which gets the
   * hub's CA and CA key to issue its own certificate from) in a JVM of its own with the nodes' JVM
   * options; returns once its log ({@code <work>/<name>.log}) shows {@code ready}.
   */
  private Process startBaseline(BenchOptions o, String name, Class<?> main, List<String> args, String ready) throws Exception {
    Path dir = target.workDir().resolve(name);
    Files.createDirectories(dir.resolve("tls"));
    Files.copy(target.caPem(), dir.resolve("tls/ca.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Path caKey = target.caPem().resolveSibling("ca.key");
    if (!Files.exists(caKey)) throw new IllegalStateException(name + " needs the hub's CA key beside " + target.caPem());
    Files.copy(caKey, dir.resolve("tls/ca.key"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Path log = target.workDir().resolve(name + ".log");
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(List.of(o.nodeJavaOpts().trim().split("\\s+")));
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName(), dir.toString()));
    cmd.addAll(args);
    Process server = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      BenchNodes.awaitLine(server, log, ready);
      return server;
    } catch (Exception e) {
      server.destroyForcibly();
      throw e;
    }
  }

  /** The port of a baseline server's "{@code ready} on /host:port ..." line: it binds port 0 and says what it got. */
  static int boundPort(Path log, String ready) throws java.io.IOException {
    String line = Files.readAllLines(log).stream().filter(l -> l.contains(ready + " on ")).findFirst()
        .orElseThrow(() -> new java.io.IOException("no '" + ready + " on' line in " + log));
    String address = line.substring(line.indexOf(ready + " on ") + ready.length() + 4).split("[\\s,]+")[0];
    return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
  }

  private static void stopBaseline(Process server) throws InterruptedException {
    server.destroy();
    if (!server.waitFor(30, TimeUnit.SECONDS)) server.destroyForcibly();
  }

  /**
   * Warm-up, then the measured phase with CPU (and a JFR profile of the first server process when
   * this is the {@code --jfr-workload}) and heap after.
   */
  private BenchResult measure(BenchOptions o, NodeProbe probe, LoadLoop.Operation op, akka.stream.Materializer mat) throws Exception {
    if (!o.warmup().isZero()) {
      LoadLoop.run(mat, o.concurrency(), o.warmup(), o.count(), op);
      settleJit(o, probe, op, mat);
    }
    double idleCpu = Double.NaN;
    if (!o.idle().isZero()) {
      NodeProbe cassandraIdle = new NodeProbe(cassandraPid() > 0 ? List.of(cassandraPid()) : List.of());
      ThreadCpu.Probe idleThreads = o.threadCpu() ? threadProbe(probe, cassandraIdle) : null;
      if (idleThreads != null) idleThreads.start();
      NodeProbe.Mark mi = probe.mark();
      Thread.sleep(o.idle().toMillis());
      idleCpu = probe.cpuPercentSince(mi);
      // What the servers do without load (cluster, tag reads, index catch-up, timers), by thread.
      if (idleThreads != null) System.out.print("bench: without load (--idle), per thread group:\n"
          + idleThreads.end(0, o.idle().toNanos() / 1e9));
    }
    NodeProbe cassandra = new NodeProbe(cassandraPid() > 0 ? List.of(cassandraPid()) : List.of());
    Optional<Path> jfr = o.profiles(o.workload()) ? startJfr(o, profiled(o.workload(), probe.pids())) : Optional.empty();
    NodeProbe self = new NodeProbe(List.of(ProcessHandle.current().pid()));
    ThreadCpu.Probe threads = o.threadCpu() ? threadProbe(probe, cassandra, self) : null;
    double cqlBefore = threads != null ? cqlRequests() : Double.NaN;
    if (threads != null) threads.start();
    NodeProbe.Mark m = probe.mark();
    NodeProbe.Mark mc = cassandra.mark();
    NodeProbe.Mark ms = self.mark();
    String loadBefore = loadAverage1();
    long jitBefore = jitTicks(probe);
    LoadLoop.Outcome out = LoadLoop.run(mat, o.concurrency(), o.duration(), o.count(), op);
    long jitDuring = jitTicks(probe) - jitBefore;
    String loadAfter = loadAverage1();
    double cpu = probe.cpuPercentSince(m);
    double cassandraCpu = cassandra.cpuPercentSince(mc);
    double clientCpu = self.cpuPercentSince(ms);
    if (threads != null) {
      // After the process figures: jcmd Thread.print and the status calls cost the node CPU too.
      System.out.print(threads.end(out.operations(), out.elapsed().toNanos() / 1e9));
      System.out.printf(Locale.ROOT, "bench: node 1's CQL requests (journal session, /metrics): %.2f per operation%n",
          (cqlRequests() - cqlBefore) / out.operations());
      printIndexStatus();
    }
    jfr.ifPresent(f -> printProfile(f, o.workload()));
    BenchResult r = out.result(o.workload()).withNode(cpu, probe.heapAfterGc());
    System.out.printf(Locale.ROOT, "bench: %s: %,d operations, %,d errors in %.1f s; Cassandra CPU %s, load client CPU %.0f %%%n",
        o.workload(), out.operations(), out.errors(), out.elapsed().toMillis() / 1000.0,
        Double.isNaN(cassandraCpu) ? "n/a" : String.format(Locale.ROOT, "%.0f %%", cassandraCpu), clientCpu);
    // The box is shared: the 1-minute load average at the start and end of the measured phase.
    String note = String.format(Locale.ROOT, "load average %s → %s; client CPU %.0f %%", loadBefore, loadAfter, clientCpu);
    if (!Double.isNaN(idleCpu)) note = idleNote(idleCpu, cpu, out.operations(), out.elapsed()) + "; " + note;
    if (out.operations() > 0 && !probe.pids().isEmpty() && !Double.isNaN(cpu)) note = jitNote(cpu, jitDuring, out.operations(), out.elapsed()) + "; " + note;
    if (!Double.isNaN(cassandraCpu) && !o.workload().equals("http-bare")) {
      // (for http-cassandra this is the bare endpoint's Cassandra, for the twin rows the node's)
      note += String.format(Locale.ROOT, ", Cassandra CPU %.0f %%", cassandraCpu);
    }
    return r.withNote(note);
  }

  /** One round of the JIT settling warm-up ({@code --jit-settle}). */
  static final Duration JIT_ROUND = Duration.ofSeconds(5);
  /** The JIT counts as settled when its compiler threads used less than this share of one core in a round. */
  static final double JIT_SETTLED_CORE = 0.05;

  /**
   * After the warm-up: more warm-up rounds while the servers' JIT compilers are busy, at most
   * {@code --jit-settle}. On 2 loaded cores a 15 s warm-up left C2 compiling through the measured
   * phase (≈ 460 µs of a PATCH's node CPU in session 9), which the operations do not cost.
   */
  private void settleJit(BenchOptions o, NodeProbe probe, LoadLoop.Operation op, akka.stream.Materializer mat) throws Exception {
    if (o.jitSettle().isZero() || probe.pids().isEmpty()) return;
    long deadline = System.nanoTime() + o.jitSettle().toNanos();
    long extra = 0;
    while (true) {
      long before = jitTicks(probe);
      long t0 = System.nanoTime();
      LoadLoop.run(mat, o.concurrency(), JIT_ROUND, o.count(), op);
      double seconds = (System.nanoTime() - t0) / 1e9;
      double core = (jitTicks(probe) - before) / (double) NodeProbe.TICKS_PER_SECOND / seconds;
      extra += Math.round(seconds);
      if (core < JIT_SETTLED_CORE) {
        System.out.printf(Locale.ROOT, "bench: JIT settled after %d s more warm-up (compilers %.1f %% of a core in the last %.0f s)%n",
            extra, 100 * core, seconds);
        return;
      }
      if (System.nanoTime() >= deadline) {
        System.out.printf(Locale.ROOT, "bench: JIT not settled after %d s more warm-up (--jit-settle; compilers %.1f %% of a core "
            + "in the last %.0f s): the measured phase includes compilation (see 'total net of JIT' with --thread-cpu on)%n",
            extra, 100 * core, seconds);
        return;
      }
    }
  }

  /** The servers' JIT compilers during the measured phase, and the CPU per operation without them. */
  static String jitNote(double cpuPercent, long jitTicks, long operations, Duration elapsed) {
    double allMicros = cpuPercent / 100.0 * elapsed.toNanos() / 1000.0 / operations;
    double jitMicros = ThreadCpu.micros(jitTicks, operations);
    return String.format(Locale.ROOT, "JIT compilers %.0f µs/op, server CPU net of them %.0f µs/op", jitMicros,
        Math.max(0, allMicros - jitMicros));
  }

  private static long jitTicks(NodeProbe servers) {
    long sum = 0;
    for (long pid : servers.pids()) sum += ThreadCpu.jitTicks(pid);
    return sum;
  }

  /** Node 1's {@code twinhub_cassandra_requests_total} from its management port's /metrics; NaN if unknown. */
  private double cqlRequests() {
    if (target.nodes().isEmpty()) return Double.NaN;
    try {
      var http = java.net.http.HttpClient.newHttpClient();
      String body = http.send(java.net.http.HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
              + target.nodes().get(0).managementPort() + "/metrics")).timeout(Duration.ofSeconds(10)).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).body();
      return metric(body, "twinhub_cassandra_requests_total");
    } catch (Exception e) {
      return Double.NaN;
    }
  }

  /** The value of an unlabelled metric in Prometheus text, NaN when absent. */
  public static double metric(String prometheusText, String name) {
    for (String line : prometheusText.split("\n")) {
      if (line.startsWith(name + " ") || line.startsWith(name + "{")) return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
    }
    return Double.NaN;
  }

  /** The first query node's index status (events applied, duplicates, gaps filled). */
  private void printIndexStatus() {
    if (client == null || target.queryNodes().isEmpty()) return;
    int node = target.queryNodes().get(0);
    String name = "REST node " + (node + 1);
    try {
      RestClient.Answer a = client.sendAndWait(node, "GET", "/query-index/status", null);
      System.out.println("bench: " + name + " /query-index/status " + a.status() + " " + a.body().utf8String());
    } catch (Exception e) {
      System.out.println("bench: " + name + " /query-index/status unreadable: " + e);
    }
  }

  /** {@code --thread-cpu on}: every server process by thread group (node-1.., cassandra). */
  private static ThreadCpu.Probe threadProbe(NodeProbe servers, NodeProbe cassandra) {
    return threadProbe(servers, cassandra, new NodeProbe(List.of()));
  }

  /** The same and the load client (this JVM: its load loop, HTTP client, TLS) as "load-client". */
  private static ThreadCpu.Probe threadProbe(NodeProbe servers, NodeProbe cassandra, NodeProbe client) {
    Map<String, Long> pids = new LinkedHashMap<>();
    for (int i = 0; i < servers.pids().size(); i++) pids.put("server-" + (i + 1), servers.pids().get(i));
    for (long pid : cassandra.pids()) pids.put("cassandra", pid);
    for (long pid : client.pids()) pids.put("load-client", pid);
    return new ThreadCpu.Probe(pids);
  }

  /**
   * The server's CPU without load and the CPU per operation net of it: at low rates the server's
   * background work (cluster, projections, timers) is a large share of its CPU per operation.
   */
  static String idleNote(double idleCpu, double cpu, long operations, Duration elapsed) {
    double netMicros = operations <= 0 ? Double.NaN
        : Math.max(0, cpu - idleCpu) / 100.0 * elapsed.toNanos() / 1000.0 / operations;
    return String.format(Locale.ROOT, "server CPU without load %.1f %%, per op net of it %.0f µs", idleCpu, netMicros);
  }

  private static String note(String what, double seeded, double swept) {
    StringBuilder sb = new StringBuilder(what);
    if (seeded > 0) sb.append(String.format(Locale.ROOT, "; seeded in %.0f s", seeded));
    if (swept > 0) sb.append(String.format(Locale.ROOT, "; first read in %.0f s", swept));
    return sb.toString();
  }

  /** The nodes and their Cassandra (when this run started it): what seeding costs the server side. */
  private NodeProbe serversProbe() {
    List<Long> pids = new ArrayList<>(target.pids());
    if (cassandraPid() > 0) pids.add(cassandraPid());
    return new NodeProbe(pids);
  }

  private long cassandraPid() {
    return nodes == null ? -1 : nodes.cassandraPid();
  }

  /** The servers to profile: for a query workload the first query node first (it may not be node 1, see --node-roles). */
  private List<Long> profiled(String workload, List<Long> servers) {
    if (!workload.startsWith("query")) return servers;
    List<Long> out = new ArrayList<>();
    target.nodes().stream().filter(n -> n.has("query") && n.has("api") && n.pid() > 0).findFirst().ifPresent(n -> out.add(n.pid()));
    for (long pid : servers) if (!out.contains(pid)) out.add(pid);
    return out;
  }

  /** Starts a JFR recording of {@code servers}' first process (node 1, or a baseline server). */
  private Optional<Path> startJfr(BenchOptions o, List<Long> servers) {
    if (servers.isEmpty()) return Optional.empty();
    long pid = servers.get(0);
    long seconds = Math.min(o.jfr(), Math.max(1, o.duration().toSeconds()));
    Path file = target.workDir().resolve(o.workload() + "-server1.jfr");
    if (JdkTools.run(java.time.Duration.ofMinutes(2), JdkTools.tool("jcmd"), Long.toString(pid), "JFR.start", "name=bench", "settings=profile",
        "duration=" + seconds + "s", "filename=" + file) == null) return Optional.empty();
    return Optional.of(file);
  }

  private void printProfile(Path file, String workload) {
    try {
      for (int i = 0; i < 60 && !(Files.exists(file) && Files.size(file) > 0); i++) Thread.sleep(1000);
      Thread.sleep(1000); // the dump is written, then closed
      String out = JdkTools.run(java.time.Duration.ofMinutes(2), JdkTools.tool("jfr"), "print", "--events",
          "jdk.ExecutionSample", "--stack-depth", "64", file.toString());
      if (out == null) return;
      String summary = JfrSummary.render(out, 15);
      Files.writeString(target.workDir().resolve(workload + "-profile.txt"), summary);
      System.out.println("bench: JFR profile of the server during " + workload + " (" + file + "):");
      System.out.print(summary);
    } catch (IOException e) {
      System.out.println("bench: JFR profile unreadable: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The 1-minute load average. */
  static String loadAverage1() {
    return loadAverage().split(" ")[0];
  }

  /** The 1, 5 and 15-minute load averages ("n/a" off Linux). */
  public static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException e) {
      return "n/a";
    }
  }

  /** Removes the Cassandra data of a finished run; logs and profiles stay. */
  static void deleteData(Path work) {
    List<Path> data = new ArrayList<>(List.of(work.resolve("cassandra")));   // the shared one (--nodes N)
    try (var dirs = Files.list(work)) {
      dirs.filter(Files::isDirectory).forEach(d -> data.add(d.resolve("cassandra")));   // node-i/cassandra (embedded)
      for (Path c : data) {
        if (!Files.isDirectory(c)) continue;
        try (var walk = Files.walk(c)) {
          walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
      }
    } catch (IOException e) {
      System.out.println("bench: could not clean " + work + ": " + e);
    }
  }

  @Override
  public void close() {
    if (client != null) client.close();
  }
}
