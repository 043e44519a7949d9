package io.twinhub.ops.bench;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.List;

/**
 * {@code ./twinhub bench <workload>}: starts the nodes for the run (or targets existing ones),
 * runs the workload(s) and prints the result table.
 *
 * <p>Dispatch contract: {@code mqtt-*} workloads and the {@code mosquitto} baseline are run by
 * {@code io.twinhub.ops.bench.mqtt.MqttBench}, found by reflection (it is built separately):
 * <pre>
 *   public static List&lt;BenchResult&gt; run(BenchOptions options, BenchTarget target) throws Exception
 * </pre>
 * {@code options.workload()} names the workload; {@code options.extra()} holds options this
 * harness does not know ({@code --devices 10000} → {@code extra.get("devices")}). Each returned
 * {@link BenchResult} is one table row; CPU and heap via {@link NodeProbe} on {@code target.pids()}.
 */
public final class BenchMain {

  public static final List<String> WORKLOADS =
      List.of("twin-get", "twin-patch", "mixed", "query-mix", "cassandra-insert", "http-bare", "all");
  static final String MQTT_BENCH = "io.twinhub.ops.bench.mqtt.MqttBench";

  public static void main(String[] args) {
    BenchOptions options;
    try {
      options = BenchOptions.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("twinhub bench: " + e.getMessage());
      System.err.print(BenchOptions.USAGE);
      System.exit(2);
      return;
    }
    if (!isKnown(options.workload())) {
      System.err.println("twinhub bench: unknown workload '" + options.workload() + "'");
      System.err.print(BenchOptions.USAGE);
      System.exit(2);
    }
    try {
      BenchTable table = BenchRun.run(options);
      System.out.println();
      System.out.print(table.markdown());
      System.exit(!table.failedWorkloads().isEmpty() || table.rows().stream().anyMatch(r -> r.operations() == 0) ? 1 : 0);
    } catch (Exception e) {
      System.err.println("twinhub bench: " + e);
      e.printStackTrace();
      System.exit(1);
    }
  }

  static boolean isKnown(String workloads) {
    return java.util.Arrays.stream(workloads.split(",")).allMatch(w -> WORKLOADS.contains(w) || isMqtt(w));
  }

  static boolean isMqtt(String workload) {
    return workload.startsWith("mqtt-") || workload.equals("mosquitto");
  }

  /** Runs an MQTT workload through {@code MqttBench.run}; empty when that class is not built. */
  @SuppressWarnings("unchecked")
  static List<BenchResult> runMqtt(BenchOptions options, BenchTarget target) throws Exception {
    Method run;
    try {
      run = Class.forName(MQTT_BENCH).getMethod("run", BenchOptions.class, BenchTarget.class);
    } catch (ClassNotFoundException | NoSuchMethodException e) {
      System.out.println("bench: " + options.workload() + ": " + MQTT_BENCH + ".run(BenchOptions, BenchTarget) is not built yet: see the MQTT section");
      return List.of();
    }
    try {
      return (List<BenchResult>) run.invoke(null, options, target);
    } catch (InvocationTargetException e) {
      throw e.getCause() instanceof Exception ex ? ex : e;
    }
  }
}
