package io.twinhub.ops.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The result table of a bench run, in Markdown: every twinhub row with its ratio to the baseline
 * measured in the same run (issue #9's goal: GET ≥ 0.7 × bare Akka HTTP; issue 23's: PATCH ≥ 1.3 ×
 * the durable-write floor {@code http-cassandra} (HTTPS + one insert per request), and by CPU per
 * operation at least 1.0; MQTT reported patch ≥ 1.0 × {@code http-cassandra}, since a durable
 * patch cannot be held against Mosquitto's in-memory publish), plus latency percentiles, the
 * server's CPU and heap.
 */
public final class BenchTable {

  /** Which baseline a workload is compared with, and the goal for the ratio (NaN: no goal). */
  public record Baseline(String workload, double goal) {}

  /** twinhub workload → its baseline. Workloads not listed have no ratio. */
  public static final Map<String, Baseline> BASELINES = Map.of(
      // Issue 23 judges a PATCH against the durable-write floor, no longer against raw inserts.
      "twin-patch", new Baseline("http-cassandra", 1.3),
      "twin-get", new Baseline("http-bare", 0.7),
      "mixed", new Baseline("http-bare", Double.NaN),
      "mqtt-reported", new Baseline("http-cassandra", 1.0),
      // Connects (issue 23): each storm phase against the same phase on the node's TLS transport alone.
      "mqtt-storm", new Baseline("mqtt-bare", Double.NaN),
      "mqtt-storm/full", new Baseline("mqtt-bare/full", Double.NaN),
      "mqtt-storm/resumed", new Baseline("mqtt-bare/resumed", Double.NaN),
      // The least a durable HTTPS write costs (TLS + HTTP + one insert), against bare inserts.
      "http-cassandra", new Baseline("cassandra-insert", Double.NaN));

  private final List<BenchResult> rows = new ArrayList<>();
  private final List<String> failed = new ArrayList<>();
  private final List<String[]> figures = new ArrayList<>();

  /** A named figure of a workload that reports figures rather than rows (printed under the table). */
  public void addFigure(String workload, String name, String value) {
    figures.add(new String[] {workload, name, value});
  }

  public List<String[]> figures() {
    return List.copyOf(figures);
  }

  /** A workload that could not be measured (no row; the run exits non-zero). */
  public void failed(String workload) {
    failed.add(workload);
  }

  public List<String> failedWorkloads() {
    return List.copyOf(failed);
  }

  public BenchTable add(BenchResult r) {
    rows.add(r);
    return this;
  }

  public List<BenchResult> rows() {
    return List.copyOf(rows);
  }

  /** The ratio of a row's rate to its baseline's rate in this table, if both are there. */
  public Optional<Double> ratio(BenchResult r) {
    Baseline b = BASELINES.get(r.workload());
    if (b == null) return Optional.empty();
    return rows.stream().filter(x -> x.workload().equals(b.workload()) && x.rate() > 0).findFirst()
        .map(base -> r.rate() / base.rate());
  }

  public static final String HEADER =
      "| workload | operations | errors | rate /s | vs baseline | ratio (goal) | p50 ms | p99 ms | p99.9 ms | server CPU % | server CPU µs/op | server heap MB | note |\n"
    + "|---|---|---|---|---|---|---|---|---|---|---|---|---|";

  public String markdown() {
    StringBuilder sb = new StringBuilder(HEADER).append('\n');
    for (BenchResult r : rows) sb.append(row(r)).append('\n');
    if (!figures.isEmpty()) {
      sb.append("\n| workload | figure | value |\n|---|---|---|\n");
      for (String[] f : figures) sb.append("| ").append(f[0]).append(" | ").append(f[1].replace("|", "/")).append(" | ")
          .append(f[2].replace("|", "/")).append(" |\n");
    }
    if (!failed.isEmpty()) sb.append("\nnot measured (failed, see the log above): ").append(String.join(", ", failed)).append('\n');
    return sb.toString();
  }

  /**
   * The baseline's server CPU per operation over this row's: the ratio the rates would have if
   * server CPU were the only limit (on a shared box, or with the load client saturated, the rate
   * ratio says more about the box than about the servers).
   */
  public Optional<Double> cpuRatio(BenchResult r) {
    Baseline b = BASELINES.get(r.workload());
    if (b == null) return Optional.empty();
    Optional<Double> mine = cpuPerOperation(r);
    Optional<Double> base = rows.stream().filter(x -> x.workload().equals(b.workload())).findFirst().flatMap(BenchTable::cpuPerOperation);
    return mine.isPresent() && base.isPresent() && mine.get() > 0 ? Optional.of(base.get() / mine.get()) : Optional.empty();
  }

  String row(BenchResult r) {
    Baseline b = BASELINES.get(r.workload());
    String ratio = "";
    if (b != null) {
      Optional<Double> x = ratio(r);
      ratio = x.map(v -> String.format(Locale.ROOT, "**%.2f**", v)).orElse("n/a");
      if (!Double.isNaN(b.goal())) {
        ratio += String.format(Locale.ROOT, " (≥ %.1f%s)", b.goal(),
            x.map(v -> v >= b.goal() ? ", met" : ", not met").orElse(""));
      }
      ratio += cpuRatio(r).map(v -> String.format(Locale.ROOT, "; by CPU/op %.2f", v)).orElse("");
    }
    return String.format(Locale.ROOT, "| %s | %,d | %,d | %,.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s |",
        r.workload(), r.operations(), r.errors(), r.rate(), b == null ? "" : b.workload(), ratio,
        millis(r.p50Micros()), millis(r.p99Micros()), millis(r.p999Micros()),
        Double.isNaN(r.nodeCpuPercent()) ? "n/a" : String.format(Locale.ROOT, "%.0f", r.nodeCpuPercent()),
        cpuPerOperation(r).map(v -> String.format(Locale.ROOT, "%,.0f", v)).orElse("n/a"),
        r.nodeHeapBytes() < 0 ? "n/a" : String.format(Locale.ROOT, "%.0f", r.nodeHeapBytes() / 1048576.0),
        r.note().replace("|", "/"));
  }

  /**
   * Server CPU time per successful operation in µs: what an operation costs the server whatever
   * else the box was doing (on a shared box the rate also measures the neighbours; this does not).
   * Per successful one, like the rate: a row with cheap refusals (MQTT 429 at the admission limit)
   * is then compared with its baseline by what its goodput costs, refusals included.
   */
  static Optional<Double> cpuPerOperation(BenchResult r) {
    long ok = r.operations() - r.errors();
    if (Double.isNaN(r.nodeCpuPercent()) || ok <= 0) return Optional.empty();
    return Optional.of(r.nodeCpuPercent() / 100.0 * r.seconds() * 1e6 / ok);
  }

  static String millis(long micros) {
    if (micros < 0) return ""; // a row without per-operation latencies (job-update)
    return micros < 10_000 ? String.format(Locale.ROOT, "%.2f", micros / 1000.0)
        : String.format(Locale.ROOT, "%,.0f", micros / 1000.0);
  }
}
