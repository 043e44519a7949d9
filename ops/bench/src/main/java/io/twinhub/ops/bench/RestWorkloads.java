package io.twinhub.ops.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The REST workloads against the hub: {@code twin-get}, {@code twin-patch} (one desired property,
 * unconditional: one journaled event each), {@code mixed} (80 % GET / 20 % PATCH) and
 * {@code query-mix} (point lookup, a page of a 1 % subset, a COUNT and a GROUP BY over all
 * twins). Twins are {@code bench-0..N-1}, created with bulk {@code POST /devices} (100 per call);
 * every 100th is disabled, which gives the queries a selective subset.
 */
public final class RestWorkloads {

  static final String PREFIX = "bench-";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final RestClient client;
  private int seeded;   // bench-0..seeded-1 exist (created in this run)
  private int swept;    // bench-0..swept-1 were read once (resident)
  private final AtomicLong sequence = new AtomicLong();
  private final AtomicInteger loggedErrors = new AtomicInteger();

  RestWorkloads(RestClient client) {
    this.client = client;
  }

  /** The body of every benchmark's twin PATCH: one desired property, so one journaled event each. */
  public static String patchBody(long n) {
    return "{\"properties\":{\"desired\":{\"bench\":{\"n\":" + n + "}}}}";
  }

  static String id(int i) {
    return PREFIX + i;
  }

  /** Creates bench-{seeded}..{n-1} with bulk calls; returns the seconds it took (0 when nothing to do). */
  double seed(int n) throws Exception {
    if (n <= seeded) return 0;
    long t0 = System.nanoTime();
    LongAdder failed = new LongAdder();
    int from = seeded;
    int calls = (n - from + 99) / 100;
    Source.range(0, calls - 1)
        .mapAsyncUnordered(2, c -> {   // 200 device creations in flight: enough, and within the entities' ask timeout on a busy box
          int lo = from + c * 100, hi = Math.min(lo + 100, n);
          String body = IntStream.range(lo, hi)
              .mapToObj(i -> "{\"id\":\"" + id(i) + "\",\"importMode\":\"createOrUpdate\""
                  + (i % 100 == 0 ? ",\"status\":\"disabled\"" : "") + "}")
              .collect(Collectors.joining(",", "[", "]"));
          return bulk(c, body, 1).thenApply(ok -> {
            if (!ok) failed.increment();
            return 1;
          });
        })
        .runWith(Sink.ignore(), client.materializer())
        .toCompletableFuture().get(2, TimeUnit.HOURS);
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf(Locale.ROOT, "bench: seeded %,d twins with %,d bulk calls in %.1f s (%.0f/s), %d calls failed%n",
        n - from, calls, seconds, (n - from) / seconds, failed.sum());
    if (failed.sum() > 0) throw new IllegalStateException(failed.sum() + " bulk calls failed; see above");
    seeded = n;
    return seconds;
  }

  static final int BULK_ATTEMPTS = 6;

  /**
   * One bulk call, repeated after a 503, a device answering ServiceUnavailable or a transport
   * failure (createOrUpdate is idempotent): right after a cluster forms, or on an overloaded box,
   * the first calls wait for shard allocation and entity start and may time out.
   */
  private CompletionStage<Boolean> bulk(int node, String body, int attempt) {
    return client.send(node + attempt - 1, "POST", "/devices?" + RestClient.API_VERSION, body)
        .handle((a, err) -> {
          boolean ok = err == null && a.ok() && !a.text().contains("\"isSuccessful\":false");
          // 503, or a per-device ServiceUnavailable inside a 400: the entity did not answer in time.
          boolean retry = !ok && attempt < BULK_ATTEMPTS
              && (err != null || a.status() == 503 || a.text().contains("\"errorCode\":\"ServiceUnavailable\""));
          if (!ok) logError("bulk create (attempt " + attempt + (retry ? ", retrying" : "") + ")", a, err);
          return retry ? java.util.Optional.<Boolean>empty() : java.util.Optional.of(ok);
        })
        .thenCompose(done -> done.isPresent() ? java.util.concurrent.CompletableFuture.completedFuture(done.get())
            : java.util.concurrent.CompletableFuture.supplyAsync(() -> null,
                java.util.concurrent.CompletableFuture.delayedExecutor(2L * attempt, TimeUnit.SECONDS))
              .thenCompose(x -> bulk(node, body, attempt + 1)));
  }

  /** Reads bench-0..n-1 once, so GET/PATCH measure resident twins, not recovery from the journal. */
  double sweep(int n, int concurrency) throws Exception {
    if (n <= swept) return 0;
    long t0 = System.nanoTime();
    int from = swept;
    LoadLoop.Outcome o = LoadLoop.run(client.materializer(), concurrency, Duration.ofHours(1), n - from,
        i -> get(from + (int) i, (int) i));
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf(Locale.ROOT, "bench: read %,d twins once in %.1f s (%d errors)%n", n - from, seconds, o.errors());
    swept = n;
    return seconds;
  }

  CompletionStage<Boolean> get(int twin, int node) {
    return client.send(node, "GET", "/twins/" + id(twin) + "?" + RestClient.API_VERSION, null).thenApply(a -> check("GET", a));
  }

  CompletionStage<Boolean> patch(int twin, int node) {
    String body = patchBody(sequence.incrementAndGet());
    return client.send(node, "PATCH", "/twins/" + id(twin) + "?" + RestClient.API_VERSION, body).thenApply(a -> check("PATCH", a));
  }

  static final List<String> QUERIES = List.of(
      "SELECT * FROM devices WHERE deviceId = '%s'",
      "SELECT deviceId FROM devices WHERE status = 'disabled'",
      "SELECT COUNT() AS n FROM devices WHERE status = 'enabled'",
      "SELECT status, COUNT() AS n FROM devices GROUP BY status");

  CompletionStage<Boolean> query(long i, int twins) {
    String q = String.format(Locale.ROOT, QUERIES.get((int) (i % QUERIES.size())), id(ThreadLocalRandom.current().nextInt(twins)));
    return client.send((int) i, "POST", "/devices/query?" + RestClient.API_VERSION, "{\"query\":" + JSON.valueToTree(q) + "}")
        .thenApply(a -> check("query", a));
  }

  /** Twins the query index answers for, from {@code SELECT COUNT()}; -1 when it does not answer. */
  long indexedTwins() {
    try {
      RestClient.Answer a = client.sendAndWait(0, "POST", "/devices/query?" + RestClient.API_VERSION,
          "{\"query\":\"SELECT COUNT() AS n FROM devices\"}");
      if (!a.ok()) return -1;
      JsonNode rows = JSON.readTree(a.text());
      return rows.isArray() && rows.size() == 1 ? rows.get(0).path("n").asLong(-1) : -1;
    } catch (Exception e) {
      return -1;
    }
  }

  /** Waits until the query index holds {@code n} twins; returns the seconds waited. */
  double awaitIndexed(int n, Duration timeout) throws Exception {
    long t0 = System.nanoTime();
    long deadline = t0 + timeout.toNanos();
    long seen = -1;
    while (System.nanoTime() < deadline) {
      seen = indexedTwins();
      if (seen >= n) return (System.nanoTime() - t0) / 1e9;
      Thread.sleep(1000);
    }
    throw new IllegalStateException("query index holds " + seen + " of " + n + " twins after " + timeout.toSeconds() + " s");
  }

  private boolean check(String what, RestClient.Answer a) {
    if (a.ok()) return true;
    logError(what, a, null);
    return false;
  }

  private void logError(String what, RestClient.Answer a, Throwable err) {
    if (loggedErrors.incrementAndGet() <= 10) {
      System.out.println("bench: " + what + " failed: " + (err != null ? err
          : a.status() + " " + a.text().substring(0, Math.min(200, a.text().length()))));
    }
  }

  /** One random twin among the first {@code twins}. */
  static int anyTwin(int twins) {
    return ThreadLocalRandom.current().nextInt(twins);
  }
}
