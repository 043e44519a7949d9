package io.twinhub.ops.bench;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Options of {@code ./twinhub bench <workload> [--option value ...]}. Every phase is bounded: by
 * {@code --duration} and, when given, by {@code --count} operations. Options this class does not
 * know are kept in {@link #extra} for workloads that define their own (the MQTT ones:
 * {@code --devices}, {@code --connect-rate}, ...).
 *
 * @param workload    what to run (see {@link BenchMain#WORKLOADS}, {@code mqtt-*}, {@code mosquitto})
 * @param duration    measured phase, at most
 * @param warmup      unmeasured phase before it (same load)
 * @param count       operations per measured phase, at most (0: bounded by time only)
 * @param concurrency requests in flight (closed loop)
 * @param twins       twins for GET/PATCH/mixed (created with the bulk API)
 * @param queryTwins  twins for query-mix
 * @param nodes       hub nodes to start (1 or more; ignored with --url)
 * @param urls        existing nodes' REST URLs (then --connection-string and --ca are needed)
 * @param jfr         record a JFR profile of the server during {@code jfrWorkload} (seconds, 0: none)
 * @param jfrWorkload the workload profiled with {@code --jfr} (twin-patch unless named)
 * @param idle        a pause between warm-up and measured phase in which the server's CPU without
 *                    load is measured (its background work: cluster, projections), 0: none
 * @param seedCalls   bulk create calls (100 devices each) in flight while seeding twins, spread over the nodes
 */
public record BenchOptions(String workload, Duration duration, Duration warmup, long count, int concurrency,
                           int twins, int queryTwins, int nodes, List<String> urls,
                           Optional<String> connectionString, Optional<String> ca, Optional<String> cassandra,
                           List<Long> pids, String nodeJavaOpts, int jfr, String jfrWorkload, Duration idle,
                           int seedCalls, Map<String, String> extra) {

  public static final String USAGE = """
      usage: ./twinhub bench <workload> [options]
      workloads: twin-get | twin-patch | mixed | query-mix        (REST API, Akka HTTP client)
                 query-each                                       (query-mix's four queries, one row each)
                 cassandra-insert | http-bare | http-cassandra    (baselines)
                 mqtt-reported | mqtt-idle | mqtt-notify | mqtt-storm | mosquitto   (MQTT)
                 streams                                          (change streams: read, latency, idle)
                 job-update                                       (twin-patch rate, then one twin-update job over --query-twins)
                 all                                              (baselines + workloads, one table)
                 or several separated by commas: cassandra-insert,twin-patch
      options:
        --duration 30s          measured phase, at most (ms, s, m)
        --warmup 10s            unmeasured phase before it
        --count N               operations per measured phase, at most (default: no limit)
        --concurrency 64        requests in flight
        --twins 10000           twins for twin-get, twin-patch, mixed
        --query-twins 100000    twins for query-mix
        --seed-calls 4/node     bulk creates (100 twins each) in flight while seeding, over all nodes
        --nodes 1               hub nodes started for the run (embedded Cassandra, free ports, temp dirs)
        --node-java-opts '-Xms256m -Xmx2g'   JVM options of each started node and baseline server
        --jfr 30                JFR profile (s) of node 1 during twin-patch, top frames printed
        --idle 0s               server CPU without load, measured between warm-up and measured phase
                                (background work: cluster, projections), shown in the note
        --thread-cpu on         CPU of each server process (nodes, Cassandra) by thread group per
                                operation, from /proc/<pid>/task, printed after each measured phase
        --jfr-workload twin-get JFR profile during this workload instead (of its server: node 1, or the
                                bare endpoint for http-bare); alone it records the whole measured phase
        --url https://H:P[,..]  run against existing nodes instead (with --connection-string, --ca,
                                optionally --cassandra H:P, --journal-keyspace twinhub, --pid PID[,..] for CPU/heap)
      """;

  /** Bulk creates in flight per node while seeding: see BENCHMARKS.md, "3 nodes: query mix (session 4)". */
  static final int DEFAULT_SEED_CALLS_PER_NODE = 4;

  public static BenchOptions parse(String... args) {
    if (args.length == 0 || args[0].startsWith("-")) {
      throw new IllegalArgumentException("name a workload");
    }
    Map<String, String> a = new LinkedHashMap<>();
    for (int i = 1; i < args.length; i++) {
      String k = args[i];
      if (!k.startsWith("--")) throw new IllegalArgumentException("unexpected argument '" + k + "'");
      if (i + 1 >= args.length) throw new IllegalArgumentException("option " + k + " needs a value");
      a.put(k.substring(2), args[++i]);
    }
    Duration duration = duration(take(a, "duration", "30s"));
    Duration warmup = duration(take(a, "warmup", "10s"));
    long count = positiveLong(take(a, "count", "0"), "count", true);
    int concurrency = (int) positiveLong(take(a, "concurrency", "64"), "concurrency", false);
    int twins = (int) positiveLong(take(a, "twins", "10000"), "twins", false);
    int queryTwins = (int) positiveLong(take(a, "query-twins", "100000"), "query-twins", false);
    int nodes = (int) positiveLong(take(a, "nodes", "1"), "nodes", false);
    String url = take(a, "url", "");
    List<String> urls = url.isEmpty() ? List.of() : List.of(url.split(","));
    int seedCalls = (int) positiveLong(take(a, "seed-calls", Integer.toString(DEFAULT_SEED_CALLS_PER_NODE
        * (urls.isEmpty() ? nodes : urls.size()))), "seed-calls", false);
    Optional<String> cs = Optional.ofNullable(a.remove("connection-string"));
    Optional<String> ca = Optional.ofNullable(a.remove("ca"));
    Optional<String> cassandra = Optional.ofNullable(a.remove("cassandra"));
    String pid = take(a, "pid", "");
    List<Long> pids = pid.isEmpty() ? List.of() : java.util.Arrays.stream(pid.split(",")).map(p -> positiveLong(p, "pid", false)).toList();
    String javaOpts = take(a, "node-java-opts", "-Xms256m -Xmx2g");
    Duration idle = duration(take(a, "idle", "0s"));
    Optional<String> jfrWorkload = Optional.ofNullable(a.remove("jfr-workload"));
    int jfr = (int) positiveLong(take(a, "jfr", jfrWorkload.isPresent() ? Long.toString(duration.toSeconds()) : "0"),
        "jfr", true);
    if (jfrWorkload.isPresent() && !BenchMain.isKnown(jfrWorkload.get())) {
      throw new IllegalArgumentException("--jfr-workload names no workload: '" + jfrWorkload.get() + "'");
    }
    if (!urls.isEmpty() && (cs.isEmpty() || ca.isEmpty())) {
      throw new IllegalArgumentException("--url needs --connection-string and --ca");
    }
    if (duration.isZero()) throw new IllegalArgumentException("--duration must be above 0");
    return new BenchOptions(args[0], duration, warmup, count, concurrency, twins, queryTwins, nodes, urls,
        cs, ca, cassandra, pids, javaOpts, jfr, jfrWorkload.orElse("twin-patch"), idle,
        seedCalls, Map.copyOf(a));
  }

  /** True when {@code workload} is the one to profile with JFR. */
  public boolean profiles(String workload) {
    return jfr > 0 && jfrWorkload.equals(workload);
  }

  /** {@code --thread-cpu on}: the servers' CPU by thread group after each measured phase. */
  public boolean threadCpu() {
    return extra.getOrDefault("thread-cpu", "off").equals("on");
  }

  /** True when the harness starts the nodes itself. */
  public boolean startsNodes() {
    return urls.isEmpty();
  }

  /** The same options for another workload (used by {@code all}). */
  public BenchOptions forWorkload(String name) {
    return new BenchOptions(name, duration, warmup, count, concurrency, twins, queryTwins, nodes, urls,
        connectionString, ca, cassandra, pids, nodeJavaOpts, jfr, jfrWorkload, idle, seedCalls, extra);
  }

  private static String take(Map<String, String> a, String key, String dflt) {
    String v = a.remove(key);
    return v == null ? dflt : v;
  }

  static long positiveLong(String s, String name, boolean zeroOk) {
    long v;
    try {
      v = Long.parseLong(s.replace("_", "").replace(",", ""));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + " must be a number, got '" + s + "'");
    }
    if (v < 0 || (v == 0 && !zeroOk)) throw new IllegalArgumentException("--" + name + " must be above 0, got " + s);
    return v;
  }

  /** 500ms, 30s, 2m, or plain seconds. */
  public static Duration duration(String s) {
    try {
      if (s.endsWith("ms")) return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
      if (s.endsWith("m")) return Duration.ofMinutes(Long.parseLong(s.substring(0, s.length() - 1)));
      if (s.endsWith("s")) return Duration.ofSeconds(Long.parseLong(s.substring(0, s.length() - 1)));
      return Duration.ofSeconds(Long.parseLong(s));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("not a duration: '" + s + "' (e.g. 500ms, 30s, 2m)");
    }
  }
}
