package io.twinhub.node.cli;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.Callable;

/**
 * {@code ./twinhub bench <workload>}: the benchmark harness's command line. The options are
 * declared here, with the other commands; the harness itself lives in {@code ops/bench} (it starts
 * nodes and baseline servers, so it depends on this module, not the other way round) and is found
 * as a {@link Harness} service. Workload-specific options (MQTT, streams) are declared too and reach
 * the harness by name through {@link #workloadOptions()}.
 */
@Command(name = "bench", sortOptions = false, description = {
    "Benchmark a workload against a baseline measured in the same run; prints a Markdown table.",
    "Starts the nodes itself (embedded Cassandra, free loopback ports, a temporary data dir) unless --url names existing ones.",
    "Workloads: twin-get | twin-patch | mixed | query-mix | query-each (REST API); cassandra-insert | http-bare |",
    "http-cassandra (baselines); cassandra-batch (journal-shaped rows: single inserts vs unlogged batches of several twins);",
    "mqtt-reported | mqtt-idle | mqtt-notify | mqtt-storm | mosquitto (MQTT);",
    "mqtt-bare (mqtt-storm's floor: the same storm against the node's MQTT TLS transport answering CONNACK after the SAS HMAC only,",
    "in a JVM of its own; run it with mqtt-storm, e.g. mqtt-bare,mqtt-storm);",
    "mqtt-reported-bare (mqtt-reported's floor: the same load against that endpoint answering every reported patch 204 at once;",
    "after mqtt-reported in one run its Nx loads are the node's rates, e.g. mqtt-reported,mqtt-reported-bare); streams;",
    "job-update (the twin-patch rate, then one twin-update job over --query-twins twins);",
    "config-lag (tag change -> configuration content under PATCH load);",
    "index-lag (twin PATCH answered -> visible to a plain query, at --rate PATCHes/s, default 0.5x the closed-loop twin-patch rate);",
    "kafka-publish (journal backlog -> Kafka, events/s) | kafka-latency (write ack -> read_committed consumer) | kafka (both);",
    "c2d (cloud-to-device messages over AMQPS -> MQTT device PUBACK, against twin-patch in back-to-back pairs);",
    "functions-isolation (a function app in a class loader vs a child JVM, no node);",
    "functions (a trivial telemetry function on --nodes workers: a backlog of --events drained, events/s per worker;",
    "then --rate events/s for --duration: enqueued -> invocation latency);",
    "edge (the IoT Edge runtime as its own process: module-to-module routing, storing and forwarding a backlog, RSS);",
    "all (baselines + workloads); or several separated by commas."})
public final class BenchCommand implements Callable<Integer> {

  /** The harness in ops/bench ({@code META-INF/services/io.twinhub.node.cli.BenchCommand$Harness}). */
  public interface Harness {
    /** Runs the command's workloads; the exit code (0: every workload measured). */
    int run(BenchCommand command) throws Exception;
  }

  @Spec
  CommandSpec spec;

  /** Counts as people write them: 100000, 100_000 or 100,000. */
  static final class Count implements picocli.CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
      return Long.parseLong(value.replace("_", "").replace(",", ""));
    }
  }

  @Parameters(paramLabel = "WORKLOAD", description = "what to run (see above)")
  public String workload;

  @Option(names = "--duration", paramLabel = "30s", defaultValue = "30s", description = "measured phase, at most (ms, s, m)")
  public String duration;
  @Option(names = "--warmup", paramLabel = "10s", defaultValue = "10s", description = "unmeasured phase before it")
  public String warmup;
  @Option(names = "--count", converter = Count.class, paramLabel = "N", defaultValue = "0", description = "operations per measured phase, at most (0: no limit)")
  public long count;
  @Option(names = "--concurrency", converter = Count.class, paramLabel = "N", defaultValue = "64", description = "requests in flight (closed loop)")
  public long concurrency;
  @Option(names = "--twins", converter = Count.class, paramLabel = "N", defaultValue = "10000", description = "twins for twin-get, twin-patch, mixed")
  public long twins;
  @Option(names = "--query-twins", converter = Count.class, paramLabel = "N", defaultValue = "100000", description = "twins for query-mix, query-each and job-update")
  public long queryTwins;
  @Option(names = "--seed-calls", converter = Count.class, paramLabel = "N", description = "bulk creates (100 twins each) in flight while seeding (default 4 per node)")
  public Long seedCalls;
  @Option(names = "--nodes", converter = Count.class, paramLabel = "N", defaultValue = "1", description = "hub nodes started for the run")
  public long nodes;
  @Option(names = "--node-roles", paramLabel = "I=ROLE,...", description = "roles of started node I (twin, api, mqtt, query, worker; default all); node 1 needs api; queries go to the nodes with query and api")
  public List<String> nodeRoles = new java.util.ArrayList<>();
  @Option(names = "--node-java-opts", paramLabel = "OPTS", defaultValue = "-Xms256m -Xmx2g", description = "JVM options of each started node and baseline server")
  public String nodeJavaOpts;
  @Option(names = "--jfr", paramLabel = "SECONDS", description = "JFR profile of node 1 during twin-patch (or --jfr-workload; mqtt-storm and mqtt-bare: of their resumed reconnects), top frames printed")
  public Integer jfr;
  @Option(names = "--jfr-workload", paramLabel = "WORKLOAD", description = "profile this workload instead; alone it records its whole measured phase")
  public String jfrWorkload;
  @Option(names = "--jit-settle", paramLabel = "60s", defaultValue = "60s", description = "after --warmup, warm up on in 5 s rounds (at most this long) while the servers' JIT compilers use over 5 %% of a core (0s: off)")
  public String jitSettle;
  @Option(names = "--idle", paramLabel = "0s", defaultValue = "0s", description = "server CPU without load, measured between warm-up and measured phase")
  public String idle;
  @Option(names = "--thread-cpu", paramLabel = "on|off", defaultValue = "off", description = "each server process's CPU by thread group per operation (/proc/<pid>/task)")
  public String threadCpu;
  @Option(names = "--http-client", paramLabel = "akka|plain", descriptionKey = "workload",
      description = "the REST load client: akka (Akka HTTP's connection pools, default) or plain (blocking keep-alive HTTPS sockets, less client CPU per request); the same for every REST workload and baseline of the run")
  String httpClient;

  @ArgGroup(validate = false, heading = "%nExisting nodes instead of started ones:%n")
  public Existing existing = new Existing();

  /** Options of {@code --url}: a running cluster. */
  public static final class Existing {
    @Option(names = "--url", paramLabel = "https://H:P,...", split = ",", description = "the nodes' REST URLs (then --connection-string and --ca)")
    public List<String> urls = List.of();
    @Option(names = "--connection-string", paramLabel = "CS", description = "owner connection string of the nodes")
    public String connectionString;
    @Option(names = "--ca", paramLabel = "PEM", description = "the CA the nodes' certificates chain to")
    public String ca;
    @Option(names = "--cassandra", paramLabel = "H:P", description = "their Cassandra (for the cassandra-insert baseline)")
    public String cassandra;
    @Option(names = "--pid", paramLabel = "PID,...", split = ",", description = "the nodes' process ids (CPU and heap figures)")
    public List<Long> pids = List.of();
    @Option(names = "--journal-keyspace", paramLabel = "NAME", descriptionKey = "workload", description = "their journal keyspace (default twinhub)")
    String journalKeyspace;
    @Option(names = "--mqtt-port", paramLabel = "PORT", descriptionKey = "workload", description = "node 1's MQTT port (default 8883)")
    String mqttPort;
    @Option(names = "--management-port", paramLabel = "PORT", descriptionKey = "workload", description = "node 1's management port (default 8558)")
    String managementPort;
    @Option(names = "--amqp-port", paramLabel = "PORT", descriptionKey = "workload", description = "the nodes' AMQPS port (default 5671)")
    String amqpPort;
  }

  @ArgGroup(validate = false, heading = "%nMQTT workloads (mqtt-*, mosquitto):%n")
  Mqtt mqtt = new Mqtt();

  static final class Mqtt {
    @Option(names = "--devices", paramLabel = "N", descriptionKey = "workload", description = "devices (default 10000)")
    String devices;
    @Option(names = "--setup", paramLabel = "true|false", descriptionKey = "workload", description = "create the devices first (default true)")
    String setup;
    @Option(names = "--prefix", paramLabel = "ID", descriptionKey = "workload", description = "device id prefix (default mqtt-bench-)")
    String prefix;
    @Option(names = "--connect-rate", paramLabel = "R", descriptionKey = "workload", description = "connects per second (default 200)")
    String connectRate;
    @Option(names = "--connect-inflight", paramLabel = "K", descriptionKey = "workload", description = "connects in progress at once (default 200, storm and bare 1000)")
    String connectInflight;
    @Option(names = "--reconnect", paramLabel = "true|false", descriptionKey = "workload", description = "mqtt-storm, mqtt-bare: then every device connects twice more, with a full and with a resumed TLS handshake (default true)")
    String reconnect;
    @Option(names = "--keep-alive", paramLabel = "S", descriptionKey = "workload", description = "MQTT keep-alive seconds (default 60)")
    String keepAlive;
    @Option(names = "--rate", paramLabel = "R", descriptionKey = "workload", description = "reported: patches/s, 0 = closed loop (2000); several separated by commas run in turn on the same devices, Nx = N × the closed-loop goodput measured before (e.g. 0,1x,2x,4x); notify: desired PATCHes/s (200); index-lag: PATCHes/s or Nx the closed-loop twin-patch rate (0.5x)")
    String rate;
    @Option(names = "--hold", paramLabel = "30s", descriptionKey = "workload", description = "mqtt-idle: how long the sessions are held (default 30s)")
    String hold;
    @Option(names = "--payload-bytes", paramLabel = "N", descriptionKey = "workload", description = "reported patch / publish payload size (default 64)")
    String payloadBytes;
    @Option(names = "--policy-auth", paramLabel = "true|false", descriptionKey = "workload", description = "devices sign with the owner policy instead of their key")
    String policyAuth;
    @Option(names = "--rest-connections", paramLabel = "N", descriptionKey = "workload", description = "mqtt-notify: HTTPS connections sending the PATCHes (default 8)")
    String restConnections;
    @Option(names = "--threads", paramLabel = "N", descriptionKey = "workload", description = "event-loop threads of the load client (default 2)")
    String threads;
  }

  @ArgGroup(validate = false, heading = "%nStreams workload:%n")
  Streams streams = new Streams();

  static final class Streams {
    @Option(names = "--stream-twins", paramLabel = "N", descriptionKey = "workload", description = "twins written (default 1000)")
    String streamTwins;
    @Option(names = "--events", paramLabel = "N", descriptionKey = "workload", description = "events for the read phase (default 20000)")
    String events;
    @Option(names = "--rates", paramLabel = "R,...", descriptionKey = "workload", description = "write rates of the latency phase (default 2000,200)")
    String rates;
    @Option(names = "--idle-streams", paramLabel = "N", descriptionKey = "workload", description = "idle streams held (default 100)")
    String idleStreams;
    @Option(names = "--phases", paramLabel = "P,...", descriptionKey = "workload", description = "read, latency, idle (default all)")
    String phases;
    @Option(names = "--cassandra-pid", paramLabel = "PID", descriptionKey = "workload", description = "Cassandra's pid with --url (its CPU)")
    String cassandraPid;
  }

  @ArgGroup(validate = false, heading = "%nConfigurations workload (config-lag) and index lag (index-lag):%n")
  Configurations configurations = new Configurations();

  static final class Configurations {
    @Option(names = "--probes", paramLabel = "N", descriptionKey = "workload", description = "twins tagged into the target set at a time (default 4); index-lag: PATCHes followed by queries at a time (default 2)")
    String probes;
    @Option(names = "--poll", paramLabel = "5ms", descriptionKey = "workload", description = "index-lag: how often a probe queries until its PATCH is visible (default 5ms)")
    String poll;
  }

  @ArgGroup(validate = false, heading = "%nJournal batches (cassandra-batch):%n")
  JournalBatches journalBatches = new JournalBatches();

  static final class JournalBatches {
    @Option(names = "--batch-rows", paramLabel = "N,...", descriptionKey = "workload",
        description = "rows per request, a table row per value (1: single inserts; default 1,4,16,64); --concurrency rows in flight")
    String batchRows;
  }

  @ArgGroup(validate = false, heading = "%nKafka workloads (kafka, kafka-publish, kafka-latency):%n")
  Kafka kafka = new Kafka();

  static final class Kafka {
    @Option(names = "--kafka-events", paramLabel = "N", descriptionKey = "workload", description = "twin PATCHes written as the backlog (default 100000)")
    String events;
    @Option(names = "--kafka-rate", paramLabel = "R", descriptionKey = "workload", description = "PATCHes/s of the latency phase (default 200)")
    String rate;
    @Option(names = "--kafka-batch", paramLabel = "N,...", descriptionKey = "workload", description = "feed messages per transaction, at most; several: a kafka-publish row each (default: twinhub.kafka.batch-size, 5000)")
    String batch;
    @Option(names = "--kafka-batch-wait", paramLabel = "10ms,...", descriptionKey = "workload", description = "how long a batch collects messages, at most (default: twinhub.kafka.batch-window, 10ms); several: a kafka-latency row each")
    String batchWait;
    @Option(names = "--kafka-read-journal", paramLabel = "ID,...", descriptionKey = "workload",
        description = "the Cassandra read journal the publisher reads with (default: twinhub.kafka.read-journal); several: a kafka-latency row each")
    String readJournal;
    @Option(names = "--kafka-live", paramLabel = "on,off", descriptionKey = "workload",
        description = "the publisher's live path (default: twinhub.kafka.live-feed, on; on: the harness joins node 1's cluster); several: a kafka-latency row per value and read journal")
    String live;
    @Option(names = "--kafka-producer", paramLabel = "K=V,...;...", descriptionKey = "workload",
        description = "kafka-clients producer properties over the publisher's (e.g. linger.ms=20,compression.type=lz4); sets separated by ';': a kafka-publish row each")
    String producer;
    @Option(names = "--kafka-bootstrap", paramLabel = "H:P", descriptionKey = "workload", description = "an existing broker (default: an embedded one started for the run)")
    String bootstrap;
    @Option(names = "--kafka-heap", paramLabel = "1g", descriptionKey = "workload", description = "the embedded broker's heap (default 1g)")
    String heap;
  }

  @ArgGroup(validate = false, heading = "%nCloud-to-device workload (c2d; also --devices, default 1000, and --threads):%n")
  CloudToDevice c2d = new CloudToDevice();

  static final class CloudToDevice {
    @Option(names = "--pairs", paramLabel = "N", descriptionKey = "workload", description = "twin-patch then c2d, back to back, N times (default 3)")
    String pairs;
    @Option(names = "--amqp-connections", paramLabel = "N", descriptionKey = "workload", description = "AMQPS connections sending (default 4, spread over the nodes)")
    String amqpConnections;
  }

  @ArgGroup(validate = false, heading = "%nFunction apps (functions-isolation; functions also takes --events, --rate, --devices):%n")
  Functions functions = new Functions();

  static final class Functions {
    @Option(names = "--app-jar", paramLabel = "JAR", descriptionKey = "workload",
        description = "the app invoked (default functions-sample/target/twinhub-functions-sample-0.1.0-SNAPSHOT.jar)")
    String appJar;
    @Option(names = "--invocations", paramLabel = "N", descriptionKey = "workload", description = "invocations per variant (default 100000)")
    String invocations;
    @Option(names = "--cardinality", paramLabel = "ONE|MANY", descriptionKey = "workload",
        description = "functions: the telemetry function takes one message per invocation or a batch (default MANY)")
    String cardinality;
  }

  /** Workload-specific options given on the command line, by name without dashes. */
  public Map<String, String> workloadOptions() {
    Map<String, String> o = new LinkedHashMap<>();
    var parsed = spec.commandLine().getParseResult();
    for (OptionSpec option : spec.options()) {
      if ("workload".equals(option.descriptionKey()) && parsed.hasMatchedOption(option)) {
        o.put(option.longestName().substring(2), String.valueOf((Object) option.getValue()));
      }
    }
    return o;
  }

  @Override
  public Integer call() throws Exception {
    Harness harness = ServiceLoader.load(Harness.class).findFirst().orElseThrow(() -> new TwinhubCli.CommandFailure(
        "the bench harness (ops/bench) is not on the classpath: run it as ./twinhub bench, which builds it"));
    return harness.run(this);
  }
}
