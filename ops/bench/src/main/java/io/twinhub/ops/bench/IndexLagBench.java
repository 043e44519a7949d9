package io.twinhub.ops.bench;

import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code index-lag}: a twin PATCH acknowledged → visible to a plain query (no read-your-writes
 * token), at a fixed rate of PATCHes. {@code --rate R} PATCHes/s, or {@code Nx} times the closed-loop
 * {@code twin-patch} rate measured first for {@code --duration} (default {@code 0.5x}: half the max).
 * Each PATCH sets {@code properties.desired.lagprobe} to a number unique in the run; {@code --probes}
 * of them at a time (default 2) are probes: from the PATCH's answer on, a query node is asked
 * {@code SELECT deviceId FROM devices WHERE deviceId = '<id>' AND properties.desired.lagprobe.n >= <n>}
 * every {@code --poll} (default 5ms) until it answers the row. The row's latency figures are that
 * lag (p50/p90/p99 in the note too), its rate the PATCHes/s achieved.
 */
final class IndexLagBench {
  private static final Duration GIVE_UP = Duration.ofSeconds(60);

  private IndexLagBench() {}

  static List<BenchResult> run(BenchOptions o, RestClient client, RestWorkloads rest, List<Integer> queryNodes,
                               NodeProbe probe) throws Exception {
    if (queryNodes.isEmpty()) throw new IllegalStateException("no node has the query and api roles (--node-roles)");
    String rateOption = o.extra().getOrDefault("rate", "0.5x");
    int twins = o.twins();
    BenchResult max = null;
    double rate;
    if (rateOption.endsWith("x")) {
      // The max: closed-loop twin PATCHes at --concurrency, as the twin-patch workload runs them.
      LoadLoop.run(client.materializer(), o.concurrency(), o.warmup(), 0, i -> rest.patch(RestWorkloads.anyTwin(twins), (int) i));
      NodeProbe.Mark m = probe.mark();
      LoadLoop.Outcome closed = LoadLoop.run(client.materializer(), o.concurrency(), o.duration(), 0,
          i -> rest.patch(RestWorkloads.anyTwin(twins), (int) i));
      max = closed.result("twin-patch").withNode(probe.cpuPercentSince(m), probe.heapAfterGc())
          .withNote("closed loop at " + o.concurrency() + " in flight: the max PATCH rate for index-lag; load average " + BenchRun.loadAverage());
      rate = Double.parseDouble(rateOption.substring(0, rateOption.length() - 1)) * max.rate();
      System.out.printf(Locale.ROOT, "bench: index-lag: max twin-patch rate %,.0f/s, PATCHes at %s of it = %,.0f/s%n", max.rate(), rateOption, rate);
    } else {
      rate = Double.parseDouble(rateOption);
    }
    if (!(rate >= 1)) throw new IllegalArgumentException("--rate must give at least 1 PATCH/s, got " + rateOption);
    int probes = Integer.parseInt(o.extra().getOrDefault("probes", "2"));
    Duration poll = BenchOptions.duration(o.extra().getOrDefault("poll", "5ms"));
    String run = Long.toString(System.currentTimeMillis() % 1_000_000_000L);

    Recorder lag = new Recorder(3_600_000_000L, 3);
    Recorder patchLatency = new Recorder(3_600_000_000L, 3);
    LongAdder patches = new LongAdder();
    LongAdder errors = new LongAdder();
    LongAdder lost = new LongAdder();
    LongAdder polls = new LongAdder();
    AtomicInteger probing = new AtomicInteger();
    // Warm-up at the same rate, then the measured phase.
    for (boolean measured : new boolean[] {false, true}) {
      Duration phase = measured ? o.duration() : o.warmup();
      if (phase.isZero()) continue;
      lag.reset();
      patchLatency.reset();
      patches.reset();
      errors.reset();
      lost.reset();
      polls.reset();
      // The node's lag stages are per interval between two status reads: start the measured one here.
      if (measured) stages(client, queryNodes.get(0));
      NodeProbe.Mark m = probe.mark();
      long start = System.nanoTime();
      long end = start + phase.toNanos();
      int perSecond = (int) Math.max(1, Math.round(rate));
      Source.range(0, Integer.MAX_VALUE - 1)
          .throttle(perSecond, Duration.ofSeconds(1), Math.max(1, perSecond / 20), akka.stream.ThrottleMode.shaping())
          .takeWhile(i -> System.nanoTime() < end)
          .mapAsyncUnordered(Math.max(64, Math.min(4096, perSecond * 4)), i -> {
            int twin = RestWorkloads.anyTwin(twins);
            String id = RestWorkloads.id(twin);
            long value = i + 1;
            long t0 = System.nanoTime();
            boolean isProbe = probing.get() < probes && probing.incrementAndGet() <= probes;
            CompletionStage<Boolean> done = client.send(twin, "PATCH", "/twins/" + id + "?" + RestClient.API_VERSION,
                    "{\"properties\":{\"desired\":{\"lagprobe\":{\"run\":" + run + ",\"n\":" + value + "}}}}")
                .thenCompose(a -> {
                  long acked = System.nanoTime();
                  patchLatency.recordValue(Math.min((acked - t0) / 1000, 3_600_000_000L));
                  patches.increment();
                  if (!a.ok()) {
                    errors.increment();
                    return CompletableFuture.completedFuture(false);
                  }
                  if (!isProbe) return CompletableFuture.completedFuture(true);
                  String sql = "SELECT deviceId FROM devices WHERE deviceId = '" + id + "' AND properties.desired.lagprobe.run = "
                      + run + " AND properties.desired.lagprobe.n >= " + value; // a later PATCH of the same twin has a larger n
                  return awaitVisible(client, queryNodes.get(ThreadLocalRandom.current().nextInt(queryNodes.size())), sql, poll,
                      acked + GIVE_UP.toNanos(), polls).thenApply(found -> {
                    if (found) lag.recordValue(Math.min((System.nanoTime() - acked) / 1000, 3_600_000_000L));
                    else lost.increment();
                    return found;
                  });
                });
            if (isProbe) done = done.whenComplete((r, e) -> probing.decrementAndGet());
            else if (probing.get() > probes) probing.decrementAndGet();
            // Every operation ends (a PATCH the node never answers counts as an error), so the phase does.
            return done.toCompletableFuture().completeOnTimeout(false, GIVE_UP.toSeconds() + 30, TimeUnit.SECONDS).exceptionally(e -> {
              errors.increment();
              return false;
            });
          })
          .runWith(Sink.ignore(), client.materializer())
          .toCompletableFuture().get(phase.toSeconds() + 300, TimeUnit.SECONDS);
      if (!measured) continue;
      Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
      double cpu = probe.cpuPercentSince(m);
      System.out.println("bench: index-lag: the node's lag stages in the phase (ms; /query-index/status \"stages\"): "
          + stages(client, queryNodes.get(0)));
      Histogram h = lag.getIntervalHistogram();
      Histogram p = patchLatency.getIntervalHistogram();
      double achieved = patches.sum() / (elapsed.toNanos() / 1e9);
      System.out.printf(Locale.ROOT, "bench: index-lag: %,.0f PATCHes/s (target %,.0f), %,d probes, lag p50 %.1f / p90 %.1f / p99 %.1f / max %.1f ms, "
              + "%,d polls, %,d not visible within %d s, %,d errors%n", achieved, rate, h.getTotalCount(),
          h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(90) / 1000.0, h.getValueAtPercentile(99) / 1000.0,
          h.getMaxValue() / 1000.0, polls.sum(), lost.sum(), GIVE_UP.toSeconds(), errors.sum());
      BenchResult r = new BenchResult("index-lag", patches.sum(), lost.sum() + errors.sum(), elapsed.toNanos() / 1e9,
          achieved, h.getValueAtPercentile(50), h.getValueAtPercentile(99), h.getValueAtPercentile(99.9), Double.NaN, -1, "")
          .withNode(cpu, probe.heapAfterGc());
      String note = String.format(Locale.ROOT,
          "%,d twins; rate = PATCHes/s achieved at a target of %,.0f/s (%s); latency = PATCH answered → found by a plain query "
              + "(%d probes at a time, polled every %d ms): p50 %.1f, p90 %.1f, p99 %.1f, max %.1f ms over %,d probes "
              + "(%,d not visible within %d s); PATCH p50 %.1f / p99 %.1f ms, %,d errors; load average %s",
          twins, rate, rateOption, probes, poll.toMillis(), h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(90) / 1000.0,
          h.getValueAtPercentile(99) / 1000.0, h.getMaxValue() / 1000.0, h.getTotalCount(), lost.sum(), GIVE_UP.toSeconds(),
          p.getValueAtPercentile(50) / 1000.0, p.getValueAtPercentile(99) / 1000.0, errors.sum(), BenchRun.loadAverage());
      return max == null ? List.of(r.withNote(note)) : List.of(max, r.withNote(note));
    }
    throw new IllegalArgumentException("--duration must be above 0");
  }

  /** The query node's lag stages since the last status read (docs/BENCHMARKS.md "Session 16: index lag"). */
  private static String stages(RestClient client, int node) {
    try {
      RestClient.Answer a = client.sendAndWait(node, "GET", "/query-index/status", null);
      com.fasterxml.jackson.databind.JsonNode s = new com.fasterxml.jackson.databind.ObjectMapper()
          .readTree(a.body().utf8String()).path("stages");
      return s.isMissingNode() ? "none (status " + a.status() + ")" : s.toString();
    } catch (Exception e) {
      return "unreadable: " + e;
    }
  }

  private static CompletionStage<Boolean> awaitVisible(RestClient client, int node, String sql, Duration poll, long deadline,
                                                       LongAdder polls) {
    polls.increment();
    return client.send(node, "POST", "/devices/query?" + RestClient.API_VERSION,
        "{\"query\":" + com.fasterxml.jackson.databind.node.TextNode.valueOf(sql) + "}").thenCompose(a -> {
      if (a.ok() && a.text().contains("deviceId")) return CompletableFuture.completedFuture(true);
      if (System.nanoTime() > deadline) return CompletableFuture.completedFuture(false);
      return akka.pattern.Patterns.after(poll, client.system().scheduler(), client.system().dispatcher(),
          () -> awaitVisible(client, node, sql, poll, deadline, polls));
    });
  }
}
