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
      List.of("twin-get", "twin-patch", "mixed", "query-mix", "query-each", "cassandra-insert", "http-bare", "http-cassandra",
          "streams", "job-update", "all");
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

  /**
   * Runs an MQTT workload. Two shapes of {@code MqttBench} are understood: the contract above
   * ({@code run(BenchOptions, BenchTarget)} returning table rows), or its command-line shape
   * ({@code parse(String[])} + {@code run(Options)} returning named figures), which is given
   * the target's URL, MQTT port, CA, owner connection string and node pid as options, and whose
   * figures are printed under the table as they come (nothing is converted or guessed).
   */
  @SuppressWarnings("unchecked")
  static List<BenchResult> runMqtt(BenchOptions options, BenchTarget target, BenchTable table) throws Exception {
    Class<?> bench;
    try {
      bench = Class.forName(MQTT_BENCH);
    } catch (ClassNotFoundException e) {
      System.out.println("bench: " + options.workload() + ": " + MQTT_BENCH + " is not built: see the MQTT section");
      return List.of();
    }
    try {
      Method run = bench.getMethod("run", BenchOptions.class, BenchTarget.class);
      return (List<BenchResult>) run.invoke(null, options, target);
    } catch (NoSuchMethodException e) {
      // the command-line shape, below
    } catch (InvocationTargetException e) {
      throw e.getCause() instanceof Exception ex ? ex : e;
    }
    try {
      Method parse = bench.getMethod("parse", String[].class);
      Object mqttOptions = parse.invoke(null, (Object) mqttArgs(options, target).toArray(String[]::new));
      Method run = bench.getMethod("run", parse.getReturnType());
      List<?> figures = (List<?>) run.invoke(null, mqttOptions);
      for (Object f : figures) {
        String name = (String) f.getClass().getMethod("name").invoke(f);
        String value = (String) f.getClass().getMethod("value").invoke(f);
        table.addFigure(options.workload(), name, value);
      }
      return List.of();
    } catch (NoSuchMethodException e) {
      System.out.println("bench: " + options.workload() + ": " + MQTT_BENCH + " has neither run(BenchOptions, BenchTarget) "
          + "nor parse(String[]) + run(Options): see the MQTT section");
      return List.of();
    } catch (InvocationTargetException e) {
      throw e.getCause() instanceof Exception ex ? ex : e;
    }
  }

  /** The MqttBench command line for a target: node 1's endpoints, CA, owner key, pid; then the workload's own options. */
  static List<String> mqttArgs(BenchOptions o, BenchTarget target) {
    BenchTarget.Node n = target.nodes().get(0);
    List<String> a = new java.util.ArrayList<>(List.of(o.workload(),
        "--url", n.restUrl().toString(), "--mqtt-port", Integer.toString(n.mqttPort()),
        "--ca", target.caPem().toString(), "--connection-string", target.ownerConnectionString(),
        "--duration", o.duration().toMillis() + "ms", "--warmup", o.warmup().toMillis() + "ms"));
    if (n.pid() > 0) a.addAll(List.of("--node-pid", Long.toString(n.pid())));
    if (!o.extra().containsKey("no-setup")) a.add("--setup");
    o.extra().forEach((k, v) -> {
      if (!k.equals("no-setup") && !k.equals("journal-keyspace")) a.addAll(List.of("--" + k, v));
    });
    return a;
  }
}
