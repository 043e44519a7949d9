package io.twinhub.ops.bench;

import io.twinhub.node.cli.BenchCommand;
import io.twinhub.node.cli.TwinhubCli;
import picocli.CommandLine;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Options of {@code ./twinhub bench <workload> [--option value ...]}, declared in {@link BenchCommand}.
 * Every phase is bounded: by {@code --duration} and, when given, by {@code --count} operations.
 * Workload-specific options (MQTT: {@code --devices}, {@code --connect-rate}, ...; streams) are in
 * {@link #extra} by name.
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

  /** Bulk creates in flight per node while seeding: see BENCHMARKS.md, "3 nodes: query mix (session 4)". */
  static final int DEFAULT_SEED_CALLS_PER_NODE = 4;

  /** {@code --jit-settle}'s default (as {@link BenchCommand} declares it). */
  static final Duration DEFAULT_JIT_SETTLE = Duration.ofSeconds(60);

  /**
   * {@code ./twinhub bench <args>} as the command line parses it ({@link BenchCommand}, picocli);
   * a usage error is an {@link IllegalArgumentException} naming the flag.
   */
  public static BenchOptions parse(String... args) {
    String[] all = new String[args.length + 1];
    all[0] = "bench";
    System.arraycopy(args, 0, all, 1, args.length);
    CommandLine cli = TwinhubCli.commandLine();
    try {
      CommandLine.ParseResult parsed = cli.parseArgs(all);
      return from((BenchCommand) parsed.subcommand().commandSpec().userObject());
    } catch (CommandLine.ParameterException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /** The harness's options from the parsed command; checks what picocli's types cannot. */
  public static BenchOptions from(BenchCommand c) {
    Duration duration = duration(c.duration);
    if (duration.isZero() || duration.isNegative()) throw new IllegalArgumentException("--duration must be above 0");
    positive(c.count, "count", true);
    int concurrency = positiveInt(c.concurrency, "concurrency");
    int twins = positiveInt(c.twins, "twins");
    int queryTwins = positiveInt(c.queryTwins, "query-twins");
    int nodes = positiveInt(c.nodes, "nodes");
    List<String> urls = List.copyOf(c.existing.urls);
    int seedCalls = positiveInt(c.seedCalls != null ? c.seedCalls
        : (long) DEFAULT_SEED_CALLS_PER_NODE * (urls.isEmpty() ? nodes : urls.size()), "seed-calls");
    Optional<String> jfrWorkload = Optional.ofNullable(c.jfrWorkload);
    int jfr = c.jfr != null ? c.jfr : jfrWorkload.isPresent() ? (int) duration.toSeconds() : 0;
    positive(jfr, "jfr", true);
    if (jfrWorkload.isPresent() && !BenchMain.isKnown(jfrWorkload.get())) {
      throw new IllegalArgumentException("--jfr-workload names no workload: '" + jfrWorkload.get() + "'");
    }
    if (!urls.isEmpty() && (c.existing.connectionString == null || c.existing.ca == null)) {
      throw new IllegalArgumentException("--url needs --connection-string and --ca");
    }
    if (!c.threadCpu.equals("on") && !c.threadCpu.equals("off")) {
      throw new IllegalArgumentException("--thread-cpu must be on or off, got '" + c.threadCpu + "'");
    }
    Map<String, String> extra = new LinkedHashMap<>(c.workloadOptions());
    if (c.threadCpu.equals("on")) extra.put("thread-cpu", "on");
    Duration jitSettle = duration(c.jitSettle);
    if (jitSettle.isNegative()) throw new IllegalArgumentException("--jit-settle must be 0s or more");
    if (!jitSettle.equals(DEFAULT_JIT_SETTLE)) extra.put("jit-settle", Long.toString(jitSettle.toMillis()));
    if (!c.nodeRoles.isEmpty()) extra.put("node-roles", String.join(";", c.nodeRoles));
    nodeRoles(extra.get("node-roles"), nodes); // checked here, used when the nodes start
    RestClient.Kind.parse(extra.get("http-client")); // likewise
    return new BenchOptions(c.workload, duration, duration(c.warmup), c.count, concurrency, twins, queryTwins,
        nodes, urls, Optional.ofNullable(c.existing.connectionString), Optional.ofNullable(c.existing.ca),
        Optional.ofNullable(c.existing.cassandra), List.copyOf(c.existing.pids), c.nodeJavaOpts, jfr,
        jfrWorkload.orElse("twin-patch"), duration(c.idle), seedCalls, Map.copyOf(extra));
  }

  /** {@code --node-roles}: the roles of each started node (index 0 = node 1), all roles where not given. */
  public List<List<String>> nodeRoles() {
    return nodeRoles(extra.get("node-roles"), nodes);
  }

  private static final java.util.regex.Pattern NODE_ROLES =
      java.util.regex.Pattern.compile("([1-9][0-9]*)=((?:twin|api|mqtt|query|worker)(?:,(?:twin|api|mqtt|query|worker))*)");

  /** "1=twin,api;3=api,query" (as --node-roles I=ROLE,... gives it) for {@code nodes} nodes. */
  static List<List<String>> nodeRoles(String spec, int nodes) {
    List<List<String>> roles = new java.util.ArrayList<>();
    for (int i = 0; i < nodes; i++) roles.add(BenchTarget.Node.ALL_ROLES);
    if (spec == null || spec.isBlank()) return roles;
    for (String one : spec.split(";")) {
      java.util.regex.Matcher m = NODE_ROLES.matcher(one.strip());
      if (!m.matches()) {
        throw new IllegalArgumentException("--node-roles takes NODE=ROLE,ROLE (roles: twin api mqtt query worker), got '" + one + "'");
      }
      int node = Integer.parseInt(m.group(1));
      if (node > nodes) throw new IllegalArgumentException("--node-roles names node " + node + " of " + nodes + " (--nodes)");
      roles.set(node - 1, List.of(m.group(2).split(",")));
    }
    if (!roles.get(0).contains("api")) throw new IllegalArgumentException("--node-roles: node 1 needs the api role (the harness seeds and reads through it)");
    if (roles.stream().noneMatch(r -> r.contains("twin"))) throw new IllegalArgumentException("--node-roles: no node has the twin role");
    return roles;
  }

  /** True when {@code workload} is the one to profile with JFR. */
  public boolean profiles(String workload) {
    return jfr > 0 && jfrWorkload.equals(workload);
  }

  /** {@code --http-client}: the REST load client (akka unless named). */
  public RestClient.Kind httpClient() {
    return RestClient.Kind.parse(extra.get("http-client"));
  }

  /** {@code --thread-cpu on}: the servers' CPU by thread group after each measured phase. */
  public boolean threadCpu() {
    return extra.getOrDefault("thread-cpu", "off").equals("on");
  }

  /**
   * {@code --jit-settle}: how long the warm-up may go on, in rounds of {@link BenchRun#JIT_ROUND},
   * while the servers' JIT compilers are still busy (zero: the warm-up is {@code --warmup} only).
   */
  public Duration jitSettle() {
    String ms = extra.get("jit-settle");
    return ms == null ? DEFAULT_JIT_SETTLE : Duration.ofMillis(Long.parseLong(ms));
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

  private static int positiveInt(long v, String name) {
    positive(v, name, false);
    if (v > Integer.MAX_VALUE) throw new IllegalArgumentException("--" + name + " must be at most " + Integer.MAX_VALUE + ", got " + v);
    return (int) v;
  }

  private static void positive(long v, String name, boolean zeroOk) {
    if (v < 0 || (v == 0 && !zeroOk)) throw new IllegalArgumentException("--" + name + " must be above 0, got " + v);
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
