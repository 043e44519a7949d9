package io.twinhub.ops.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.HdrHistogram.Recorder;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * {@code config-lag}: how long a twin whose tags change into a configuration's target set waits
 * for the configuration's content, under a background load of twin PATCHes. A configuration
 * targets {@code tags.benchlag = '<run>'}; each probe tags one twin (each twin once) and, from
 * the tag PATCH's answer on, reads the twin every 50 ms until its desired properties hold the
 * content. The row's latency figures are that lag; its rate is probes per second.
 */
final class ConfigLagBench {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration POLL = Duration.ofMillis(50);
  private static final Duration GIVE_UP = Duration.ofSeconds(60);

  private ConfigLagBench() {}

  static BenchResult run(BenchOptions o, RestClient client, RestWorkloads rest, NodeProbe probe) throws Exception {
    String run = Long.toString(System.currentTimeMillis(), 36);
    String id = "bench-lag-" + run;
    String body = "{\"id\":\"" + id + "\",\"content\":{\"deviceContent\":{\"properties.desired.benchcfg\":{\"run\":\"" + run
        + "\"}}},\"targetCondition\":\"tags.benchlag = '" + run + "'\",\"priority\":1}";
    RestClient.Answer created = client.sendAndWait(0, "PUT", "/configurations/" + id + "?" + RestClient.API_VERSION, body);
    if (!created.ok()) throw new IllegalStateException("PUT /configurations/" + id + " answered " + created.status() + " " + created.text());
    int probes = Integer.parseInt(o.extra().getOrDefault("probes", "4"));
    int twins = o.twins();
    Duration window = o.warmup().plus(o.duration());
    // Background load: twin PATCHes at --concurrency for the warm-up and the measured phase.
    CompletableFuture<LoadLoop.Outcome> background = CompletableFuture.supplyAsync(() -> {
      try {
        return LoadLoop.run(client.materializer(), o.concurrency(), window, 0,
            i -> rest.patch(RestWorkloads.anyTwin(twins), (int) i));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    Thread.sleep(o.warmup().toMillis());
    Recorder lag = new Recorder(3_600_000_000L, 3);
    NodeProbe.Mark m = probe.mark();
    long count = o.count() > 0 ? Math.min(o.count(), twins) : twins;
    LoadLoop.Outcome probed = LoadLoop.run(client.materializer(), probes, o.duration(), count, i -> {
      int twin = (int) i;
      String path = "/twins/" + RestWorkloads.id(twin) + "?" + RestClient.API_VERSION;
      return client.send(twin, "PATCH", path, "{\"tags\":{\"benchlag\":\"" + run + "\"}}").thenCompose(a -> {
        if (!a.ok()) return CompletableFuture.completedFuture(false);
        long t0 = System.nanoTime();
        return awaitContent(client, twin, path, run, t0 + GIVE_UP.toNanos()).thenApply(ok -> {
          if (ok) lag.recordValue(Math.min((System.nanoTime() - t0) / 1000, 3_600_000_000L));
          return ok;
        });
      });
    });
    double cpu = probe.cpuPercentSince(m);
    LoadLoop.Outcome load = background.get(window.toSeconds() + 360, TimeUnit.SECONDS);
    client.sendAndWait(0, "DELETE", "/configurations/" + id + "?" + RestClient.API_VERSION, null);
    BenchResult r = BenchResult.of("config-lag", probed.operations(), probed.errors(), probed.elapsed(), lag.getIntervalHistogram())
        .withNode(cpu, probe.heapAfterGc());
    return r.withNote(String.format(Locale.ROOT,
        "%,d twins; lag = tag PATCH answered → content visible in a twin GET (50 ms polls), %d probes at a time; "
            + "background twin PATCHes %.0f/s at %d in flight (%,d errors); load average %s",
        twins, probes, (load.operations() - load.errors()) / (load.elapsed().toNanos() / 1e9), o.concurrency(), load.errors(),
        BenchRun.loadAverage()));
  }

  private static CompletionStage<Boolean> awaitContent(RestClient client, int twin, String path, String run, long deadline) {
    return client.send(twin, "GET", path, null).thenCompose(a -> {
      if (a.ok() && run.equals(content(a))) return CompletableFuture.completedFuture(true);
      if (System.nanoTime() > deadline) return CompletableFuture.completedFuture(false);
      return akka.pattern.Patterns.after(POLL, client.system().scheduler(), client.system().dispatcher(),
          () -> awaitContent(client, twin, path, run, deadline));
    });
  }

  private static String content(RestClient.Answer a) {
    try {
      JsonNode twin = JSON.readTree(a.text());
      return twin.path("properties").path("desired").path("benchcfg").path("run").asText(null);
    } catch (Exception e) {
      return null;
    }
  }
}
