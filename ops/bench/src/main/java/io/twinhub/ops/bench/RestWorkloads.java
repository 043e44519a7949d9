package io.twinhub.ops.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

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
  /** Positions in the client's URLs of the nodes that answer queries (query and api roles). */
  private final List<Integer> queryNodes;
  private int seeded;   // bench-0..seeded-1 exist (created in this run)
  private int swept;    // bench-0..swept-1 were read once (resident)
  private final AtomicLong sequence = new AtomicLong();
  private final AtomicInteger loggedErrors = new AtomicInteger();

  RestWorkloads(RestClient client) {
    this(client, java.util.stream.IntStream.range(0, client.urls().size()).boxed().toList());
  }

  RestWorkloads(RestClient client, List<Integer> queryNodes) {
    this.client = client;
    this.queryNodes = List.copyOf(queryNodes);
  }

  /** The body of every benchmark's twin PATCH: one desired property, so one journaled event each. */
  public static String patchBody(long n) {
    return "{\"properties\":{\"desired\":{\"bench\":{\"n\":" + n + "}}}}";
  }

  static String id(int i) {
    return PREFIX + i;
  }

  /**
   * Creates bench-{seeded}..{n-1} with bulk calls ({@link BulkSeeder}, {@code callsInFlight} at a
   * time over all nodes); returns the seconds it took (0 when nothing to do). With a probe of the
   * servers, prints their CPU per created twin too.
   */
  double seed(int n, int callsInFlight, NodeProbe servers) throws Exception {
    if (n <= seeded) return 0;
    long t0 = System.nanoTime();
    NodeProbe.Mark m = servers.mark();
    new BulkSeeder(client, callsInFlight).seed(seeded, n);
    double seconds = (System.nanoTime() - t0) / 1e9;
    double cpu = servers.cpuPercentSince(m);
    System.out.printf(Locale.ROOT, "bench: seeded %,d twins in %.1f s (%.0f/s; %d bulk calls of 100 in flight), server CPU %s%n",
        n - seeded, seconds, (n - seeded) / seconds, callsInFlight,
        Double.isNaN(cpu) ? "n/a" : String.format(Locale.ROOT, "%.0f %% (%.0f µs per twin)", cpu, cpu / 100.0 * seconds * 1e6 / (n - seeded)));
    seeded = n;
    return seconds;
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

  /** Short names of {@link #QUERIES}, for the rows of {@code query-each}. */
  static final List<String> QUERY_NAMES = List.of("query-lookup", "query-page", "query-count", "query-group-by");

  CompletionStage<Boolean> query(long i, int twins) {
    return queryNumber((int) (i % QUERIES.size()), (int) i, twins);
  }

  /**
   * Query {@code q} of {@link #QUERIES} (a random twin for the lookup), sent to the {@code node}-th
   * query node (round robin over the nodes with the query role).
   */
  CompletionStage<Boolean> queryNumber(int q, int node, int twins) {
    if (queryNodes.isEmpty()) throw new IllegalStateException("no node has the query and api roles (--node-roles)");
    return client.send(queryNodes.get(Math.floorMod(node, queryNodes.size())), "POST", QUERY_PATH,
            queryBody(q, ThreadLocalRandom.current().nextInt(twins)))
        .thenApply(a -> check("query", a));
  }

  private static final String QUERY_PATH = "/devices/query?" + RestClient.API_VERSION;
  /** The bodies of the queries without a parameter, built once (the lookup's names a twin each time). */
  private static final List<String> QUERY_BODIES = QUERIES.stream().map(q -> "{\"query\":" + JSON.valueToTree(q) + "}").toList();
  private static final String LOOKUP_BODY_START = "{\"query\":\"SELECT * FROM devices WHERE deviceId = '" + PREFIX;

  /** The JSON body of query {@code q} of {@link #QUERIES}, with twin {@code twin} for the lookup (q = 0). */
  static String queryBody(int q, int twin) {
    return q == 0 ? LOOKUP_BODY_START + twin + "'\"}" : QUERY_BODIES.get(q);
  }

  /** Twins node {@code node}'s query index answers for, from {@code SELECT COUNT()}; -1 when it does not answer. */
  long indexedTwins(int node) {
    try {
      RestClient.Answer a = client.sendAndWait(node, "POST", "/devices/query?" + RestClient.API_VERSION,
          "{\"query\":\"SELECT COUNT() AS n FROM devices\"}");
      if (!a.ok()) return -1;
      JsonNode rows = JSON.readTree(a.text());
      return rows.isArray() && rows.size() == 1 ? rows.get(0).path("n").asLong(-1) : -1;
    } catch (Exception e) {
      return -1;
    }
  }

  /**
   * Waits until every query node's index holds {@code n} twins (each query node keeps an index of
   * its own, and query-mix asks all of them); returns the seconds waited.
   */
  double awaitIndexed(int n, Duration timeout) throws Exception {
    long t0 = System.nanoTime();
    long deadline = t0 + timeout.toNanos();
    if (queryNodes.isEmpty()) throw new IllegalStateException("no node has the query and api roles (--node-roles)");
    for (int node : queryNodes) {
      long seen = -1;
      while ((seen = indexedTwins(node)) < n) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("node " + (node + 1) + "'s query index holds " + seen + " of " + n
              + " twins after " + timeout.toSeconds() + " s");
        }
        Thread.sleep(1000);
      }
    }
    return (System.nanoTime() - t0) / 1e9;
  }

  /** A finished job: its devices, failures and the seconds from creation to end (the hub's own times). */
  record JobRun(long devices, long failed, double seconds, String status) {}

  /**
   * {@code job-update}: one scheduleUpdateTwin job over bench-0..twins-1 (a desired property, like
   * twin-patch's), created through node 1 and followed with {@code GET /jobs/v2/{id}} every second
   * (progress printed) until it ends or {@code timeout} passes.
   */
  JobRun updateJob(int twins, Duration timeout) throws Exception {
    String jobId = "bench-job-" + System.currentTimeMillis();
    String body = "{\"jobId\":\"" + jobId + "\",\"type\":\"scheduleUpdateTwin\",\"queryCondition\":"
        + "\"STARTSWITH(deviceId, '" + PREFIX + "')\",\"startTime\":\"" + java.time.Instant.now() + "\","
        + "\"maxExecutionTimeInSeconds\":0,\"updateTwin\":{\"properties\":{\"desired\":{\"benchJob\":\"" + jobId + "\"}}}}";
    RestClient.Answer created = client.sendAndWait(0, "PUT", "/jobs/v2/" + jobId + "?" + RestClient.API_VERSION, body);
    if (!created.ok()) throw new IllegalStateException("PUT /jobs/v2/" + jobId + " answered " + created.status() + " " + created.text());
    long deadline = System.nanoTime() + timeout.toNanos();
    JsonNode job = JSON.readTree(created.text());
    long lastDone = 0;
    long lastAt = System.nanoTime();
    while (System.nanoTime() < deadline) {
      Thread.sleep(1000);
      RestClient.Answer a = client.sendAndWait(0, "GET", "/jobs/v2/" + jobId + "?" + RestClient.API_VERSION, null);
      if (!a.ok()) continue;
      job = JSON.readTree(a.text());
      JsonNode st = job.path("deviceJobStatistics");
      long done = st.path("succeededCount").asLong() + st.path("failedCount").asLong();
      long now = System.nanoTime();
      System.out.printf(Locale.ROOT, "bench: job-update %s %,d of %,d twins (%,.0f/s now)%n", job.path("status").asText(),
          done, st.path("deviceCount").asLong(), (done - lastDone) / ((now - lastAt) / 1e9));
      lastDone = done;
      lastAt = now;
      String status = job.path("status").asText();
      if (status.equals("completed") || status.equals("failed") || status.equals("cancelled")) break;
    }
    JsonNode st = job.path("deviceJobStatistics");
    String end = job.path("endTime").asText(null);
    double seconds = end == null ? Double.NaN : java.time.Duration.between(java.time.Instant.parse(job.path("createdTime").asText()),
        java.time.Instant.parse(end)).toMillis() / 1000.0;
    if (st.path("deviceCount").asLong() != twins) {
      System.out.printf(Locale.ROOT, "bench: job-update selected %,d twins, expected %,d%n", st.path("deviceCount").asLong(), twins);
    }
    return new JobRun(st.path("deviceCount").asLong(), st.path("failedCount").asLong(), seconds, job.path("status").asText());
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
