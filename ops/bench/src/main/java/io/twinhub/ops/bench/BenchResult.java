package io.twinhub.ops.bench;

import org.HdrHistogram.Histogram;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * One measured row of a bench run: a twinhub workload or a baseline.
 *
 * <p>The contract every workload (REST here, MQTT in {@code io.twinhub.ops.bench.mqtt}) keeps:
 * it measures a bounded phase (at most {@code --duration}, at most {@code --count} operations),
 * counts every operation that got an answer ({@code operations}, successful or not) and every
 * one that did not succeed ({@code errors}: non-2xx, transport failures, timeouts), records the
 * latency of every operation in microseconds in an HdrHistogram, and takes the node's CPU and heap
 * with {@link NodeProbe}. {@code rate} is successful operations per second of the measured phase.
 * Unknown figures are {@code NaN} (CPU) or {@code -1} (heap), never guessed.
 *
 * @param workload     name as given to {@code ./twinhub bench} (e.g. {@code twin-get}, {@code http-bare})
 * @param operations   operations answered in the measured phase (including errors)
 * @param errors       operations that failed (non-2xx status, transport failure, timeout)
 * @param seconds      length of the measured phase
 * @param rate         successful operations per second
 * @param p50Micros    latency percentiles in microseconds
 * @param p99Micros    "
 * @param p999Micros   "
 * @param nodeCpuPercent CPU of the measured server process(es) over the phase, in % of one core
 *                     (200 = both cores of a 2-core box); {@code NaN} when unknown
 * @param nodeHeapBytes heap used by the server process(es) after a full GC at the end of the phase;
 *                     -1 when unknown
 * @param note         free text for the table (e.g. "10k devices", "seeded in 41 s"), may be empty
 */
public record BenchResult(String workload, long operations, long errors, double seconds, double rate,
                          long p50Micros, long p99Micros, long p999Micros,
                          double nodeCpuPercent, long nodeHeapBytes, String note) {

  /** A result from a latency histogram (µs) and counts; CPU and heap filled in later with {@link #withNode}. */
  public static BenchResult of(String workload, long operations, long errors, Duration measured, Histogram latencyMicros) {
    double seconds = measured.toNanos() / 1e9;
    double rate = seconds > 0 ? (operations - errors) / seconds : 0;
    boolean empty = latencyMicros.getTotalCount() == 0;
    return new BenchResult(workload, operations, errors, seconds, rate,
        empty ? 0 : latencyMicros.getValueAtPercentile(50),
        empty ? 0 : latencyMicros.getValueAtPercentile(99),
        empty ? 0 : latencyMicros.getValueAtPercentile(99.9),
        Double.NaN, -1, "");
  }

  /** The same figures with the server's CPU and heap (see {@link NodeProbe}). */
  public BenchResult withNode(double cpuPercent, long heapBytes) {
    return new BenchResult(workload, operations, errors, seconds, rate, p50Micros, p99Micros, p999Micros,
        cpuPercent, heapBytes, note);
  }

  public BenchResult withNote(String text) {
    return new BenchResult(workload, operations, errors, seconds, rate, p50Micros, p99Micros, p999Micros,
        nodeCpuPercent, nodeHeapBytes, text);
  }

  /** p50, p99, p99.9 and max of a latency histogram (µs), in ms: a bench's console line. */
  public static String percentilesMs(Histogram latencyMicros) {
    Histogram h = latencyMicros;
    return String.format(Locale.ROOT, "p50 %.0f ms p99 %.0f ms p99.9 %.0f ms max %.0f ms", h.getValueAtPercentile(50) / 1000.0,
        h.getValueAtPercentile(99) / 1000.0, h.getValueAtPercentile(99.9) / 1000.0, h.getMaxValue() / 1000.0);
  }

  /**
   * End-to-end latency of a change seen at two ends, whichever is seen first: records
   * (side 1's nanos − side 0's nanos) in µs once both sides of {@code key} are in {@code seen}
   * (side 0: the write's acknowledgement; side 1: where it arrives).
   */
  public static void recordPair(Map<String, long[]> seen, String key, int side, long nanos, Histogram latencyMicros) {
    long[] both = seen.compute(key, (k, v) -> {
      long[] x = v == null ? new long[2] : v;
      x[side] = nanos;
      return x;
    });
    if (both[0] != 0 && both[1] != 0) {
      synchronized (latencyMicros) {
        latencyMicros.recordValue(Math.max(0, Math.min((both[1] - both[0]) / 1000, 3_600_000_000L)));
      }
    }
  }
}
