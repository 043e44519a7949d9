package io.twinhub.ops.bench;

import io.twinhub.node.cli.BenchCommand;
import io.twinhub.ops.bench.mqtt.MqttBench;

import java.util.List;

/**
 * The harness behind {@code ./twinhub bench <workload>} ({@link BenchCommand} declares its options):
 * starts the nodes for the run (or targets existing ones), runs the workload(s) and prints the
 * result table. {@code mqtt-*} workloads and the {@code mosquitto} baseline are run by
 * {@link MqttBench}; CPU and heap via {@link NodeProbe} on the target's pids.
 */
public final class BenchMain implements BenchCommand.Harness {

  public static final List<String> WORKLOADS =
      List.of("twin-get", "twin-patch", "mixed", "query-mix", "query-each", "cassandra-insert", "cassandra-batch", "http-bare", "http-cassandra",
          "streams", "job-update", "config-lag", "index-lag", "c2d", "functions-isolation", "functions", "kafka", "kafka-publish", "kafka-latency", "edge",
          "all");

  /** Exit 0 when every workload measured something, 1 otherwise; an unknown workload is a usage error. */
  @Override
  public int run(BenchCommand command) throws Exception {
    BenchOptions options = BenchOptions.from(command);
    if (!isKnown(options.workload())) {
      throw new IllegalArgumentException("unknown workload '" + options.workload() + "' (run ./twinhub help bench)");
    }
    // Function app isolation (issue #18): class loader vs child JVM, no node needed.
    if (options.workload().equals("functions-isolation")) {
      return io.twinhub.ops.bench.functions.FunctionIsolationBench.run(
          java.nio.file.Path.of(options.extra().getOrDefault("app-jar", "functions-sample/target/twinhub-functions-sample-0.1.0-SNAPSHOT.jar")),
          Integer.parseInt(options.extra().getOrDefault("invocations", "100000")));
    }
    // Functions on worker nodes (issue #18): a backlog drained per worker, enqueued -> invocation latency.
    if (options.workload().equals("functions")) {
      java.nio.file.Path work = java.nio.file.Files.createTempDirectory("twinhub-bench-");
      try (BenchNodes nodes = BenchNodes.start(options.nodes(), options.nodeJavaOpts(), work)) {
        return io.twinhub.ops.bench.functions.FunctionsBench.run(nodes.target(),
            Integer.parseInt(options.extra().getOrDefault("devices", "32")),
            Integer.parseInt(options.extra().getOrDefault("events", "30000")),
            Integer.parseInt(options.extra().getOrDefault("rate", "200")), options.duration(),
            !options.extra().getOrDefault("cardinality", "MANY").equalsIgnoreCase("ONE"));
      }
    }
    BenchTable table = BenchRun.run(options);
    System.out.println();
    System.out.print(table.markdown());
    return !table.failedWorkloads().isEmpty() || table.rows().stream().anyMatch(r -> r.operations() == 0) ? 1 : 0;
  }

  static boolean isKnown(String workloads) {
    return java.util.Arrays.stream(workloads.split(",")).allMatch(w -> WORKLOADS.contains(w) || isMqtt(w));
  }

  static boolean isMqtt(String workload) {
    return workload.startsWith("mqtt-") || workload.equals("mosquitto");
  }

  /** Runs an MQTT workload against node 1 of the target: a table row per load (its figures are printed as it runs). */
  static List<BenchResult> runMqtt(BenchOptions options, BenchTarget target, long cassandraPid) throws Exception {
    return MqttBench.run(MqttBench.options(options, target, cassandraPid)).results();
  }
}
