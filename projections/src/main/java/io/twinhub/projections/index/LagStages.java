package io.twinhub.projections.index;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.query.index.ThreadTimes;
import io.twinhub.query.index.TwinIndex;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * Where the index lag of live events goes, stage by stage (status {@code stages}; docs/BENCHMARKS.md
 * "Session 16: index lag"): the journal's acknowledgement at the entity → the event reaches this
 * node ({@code arrive}) → the writer thread takes it ({@code queue}) → its document is written to
 * Lucene ({@code write}) → a refresh, the writer's or a query's, makes it visible ({@code visible});
 * {@code total} is acknowledgement → visible. Beside them, what the index's own work took:
 * refreshes (and those another thread's reopen covered: {@code refreshShared}), commits, merges,
 * and writers held by Lucene's merge stall.
 *
 * <p>Costs a few long fields per live event and one small object per writer batch. Figures are per
 * interval: {@link #toJson} takes what was recorded since its last call.
 */
final class LagStages implements TwinIndex.Observer {
  private static final long MAX_MICROS = TimeUnit.MINUTES.toMicros(10);

  final Recorder arrive = recorder();
  final Recorder queue = recorder();
  final Recorder write = recorder();
  final Recorder visible = recorder();
  final Recorder total = recorder();
  final Recorder refresh = recorder();
  final Recorder refreshOnQuery = recorder();
  /** Refreshes asked for (the writer's or a query's) that a reopen started by another thread covered: the wait. */
  final Recorder refreshShared = recorder();
  /** A reopen's time split (what makes a refresh's wall time, docs/BENCHMARKS.md "Session 19"): waiting for another's reopen, */
  final Recorder reopenLockWait = recorder();
  /** then its own: wall, on a CPU, runnable waiting for a CPU (the box's load), blocked (locks, I/O: the rest). */
  final Recorder reopenWall = recorder();
  final Recorder reopenCpu = recorder();
  final Recorder reopenRunQueue = recorder();
  final Recorder reopenBlocked = recorder();
  final Recorder commit = recorder();
  final Recorder merge = recorder();
  final Recorder stall = recorder();
  /** Every event applied, live or from a tag read: written → visible (the status' visibleLag figures), in ms. */
  private final Recorder visibleLagMillis;

  /** Written batches waiting for a refresh, in write-generation order (the writer thread adds, any refresh takes). */
  private final ConcurrentLinkedQueue<Batch> unseen = new ConcurrentLinkedQueue<>();

  /**
   * @param generation       the index's write generation once the batch was written
   * @param writtenNanos     when (System.nanoTime)
   * @param writtenAtMillis  for each event, when the journal acknowledged it (epoch millis)
   */
  record Batch(long generation, long writtenNanos, long[] writtenAtMillis, int count) {}

  LagStages(Recorder visibleLagMillis) {
    this.visibleLagMillis = visibleLagMillis;
  }

  private static Recorder recorder() {
    return new Recorder(MAX_MICROS, 2);
  }

  static void record(Recorder r, long micros) {
    r.recordValue(Math.max(0, Math.min(MAX_MICROS, micros)));
  }

  /** A batch written up to {@code generation}; recorded when a refresh covers it (at once if one already did). */
  void written(Batch batch, long visibleGeneration) {
    if (batch.count() == 0) return;
    unseen.add(batch);
    if (visibleGeneration >= batch.generation()) seen(visibleGeneration, System.nanoTime());
  }

  @Override
  public void refreshed(long generation, long nanos, boolean onQuery) {
    record(onQuery ? refreshOnQuery : refresh, nanos / 1000);
    seen(generation, System.nanoTime());
  }

  private synchronized void seen(long generation, long nowNanos) {
    long nowMillis = System.currentTimeMillis();
    for (Batch b; (b = unseen.peek()) != null && b.generation() <= generation; ) {
      unseen.poll();
      for (int i = 0; i < b.count(); i++) {
        record(visible, (nowNanos - b.writtenNanos()) / 1000);
        long t = nowMillis - b.writtenAtMillis()[i];
        if (b.writtenAtMillis()[i] > 0) record(total, t * 1000);
        visibleLagMillis.recordValue(Math.max(0, Math.min(MAX_MICROS / 1000, t)));
      }
    }
  }

  @Override
  public void refreshShared(long nanos, boolean onQuery) {
    record(refreshShared, nanos / 1000);
  }

  @Override
  public void reopenTimes(long lockNanos, long reopenNanos, ThreadTimes spent, boolean onQuery) {
    record(reopenLockWait, lockNanos / 1000);
    record(reopenWall, reopenNanos / 1000);
    if (spent == null) return;
    record(reopenCpu, spent.cpuNanos() / 1000);
    record(reopenRunQueue, spent.runQueueNanos() / 1000);
    record(reopenBlocked, (reopenNanos - spent.cpuNanos() - spent.runQueueNanos()) / 1000);
  }

  @Override
  public void committed(long nanos) {
    record(commit, nanos / 1000);
  }

  @Override
  public void merged(long nanos) {
    record(merge, nanos / 1000);
  }

  @Override
  public void stalled(long nanos) {
    record(stall, nanos / 1000);
  }

  /** Each figure since the last call: count, p50, p90, p99, max (ms), and the sum for the index's own work. */
  ObjectNode toJson() {
    ObjectNode o = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
    put(o, "arrive", arrive, false);
    put(o, "queue", queue, false);
    put(o, "write", write, false);
    put(o, "visible", visible, false);
    put(o, "total", total, false);
    put(o, "refresh", refresh, true);
    put(o, "refreshOnQuery", refreshOnQuery, true);
    put(o, "refreshShared", refreshShared, true);
    put(o, "reopenLockWait", reopenLockWait, true);
    put(o, "reopenWall", reopenWall, true);
    put(o, "reopenCpu", reopenCpu, true);
    put(o, "reopenRunQueue", reopenRunQueue, true);
    put(o, "reopenBlocked", reopenBlocked, true);
    put(o, "commit", commit, true);
    put(o, "merge", merge, true);
    put(o, "mergeStall", stall, true);
    return o;
  }

  private static void put(ObjectNode o, String name, Recorder r, boolean sum) {
    Histogram h = r.getIntervalHistogram();
    ObjectNode n = o.putObject(name);
    n.put("count", h.getTotalCount());
    if (h.getTotalCount() == 0) return;
    n.put("p50", ms(h.getValueAtPercentile(50)));
    n.put("p90", ms(h.getValueAtPercentile(90)));
    n.put("p99", ms(h.getValueAtPercentile(99)));
    n.put("max", ms(h.getMaxValue()));
    if (sum) n.put("sumMs", Math.round(h.getMean() * h.getTotalCount() / 1000.0));
  }

  private static double ms(long micros) {
    return Math.round(micros / 100.0) / 10.0;
  }
}
