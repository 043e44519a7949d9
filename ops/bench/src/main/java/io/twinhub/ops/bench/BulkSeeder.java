package io.twinhub.ops.bench;

import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.node.cli.ProgressBar;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Creates the benchmark's twins with IoT Hub's bulk registry operation ({@code POST /devices}, up
 * to 100 identities per call, {@code importMode: create}), {@code callsInFlight} calls at a time,
 * spread round robin over all nodes. {@code create} costs one entity ask per device where
 * {@code createOrUpdate} costs two (an update that finds no device, then the create). Devices an
 * answer reports as not done for a passing reason (503, ServiceUnavailable, throttling) are sent
 * again, alone; a device reported as already existing was created by an earlier attempt of the
 * same call (or an earlier run of the harness, with the same status) and counts as seeded.
 */
final class BulkSeeder {

  static final int PER_CALL = 100;
  static final int ATTEMPTS = 6;
  /** Per-device error codes worth sending again: the entity did not answer in time, or the hub throttles. */
  static final Set<String> TRANSIENT = Set.of("ServiceUnavailable", "ThrottlingException");
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What one bulk answer leaves to do: devices to send again, devices that failed for good. */
  record Verdict(List<String> retry, List<String> failed, String why) {
    static Verdict done() {
      return new Verdict(List.of(), List.of(), "");
    }
  }

  private final RestClient client;
  private final int callsInFlight;
  private final AtomicInteger logged = new AtomicInteger();

  BulkSeeder(RestClient client, int callsInFlight) {
    this.client = client;
    this.callsInFlight = callsInFlight;
  }

  /** Creates bench-{from}..{to-1}; throws when a device could not be created after every attempt. */
  void seed(int from, int to) throws Exception {
    int calls = (to - from + PER_CALL - 1) / PER_CALL;
    LongAdder failed = new LongAdder();
    LongAdder sent = new LongAdder();
    ProgressBar progress = new ProgressBar(System.out, "twins");
    Source.range(0, calls - 1)
        .mapAsyncUnordered(callsInFlight, c -> {
          int lo = from + c * PER_CALL;
          List<String> ids = IntStream.range(lo, Math.min(lo + PER_CALL, to)).mapToObj(RestWorkloads::id).toList();
          return call(c, ids, 1).thenApply(lost -> {
            failed.add(lost);
            sent.add(ids.size());
            return lost;
          });
        })
        // One stage draws the bar, so its line is never written by two threads at once.
        .map(lost -> {
          progress.update(sent.sum(), (double) sent.sum() / (to - from), "seeding");
          return lost;
        })
        .runWith(Sink.ignore(), client.materializer())
        .toCompletableFuture().get(2, TimeUnit.HOURS);
    progress.done(sent.sum(), "seeded");
    if (failed.sum() > 0) throw new IllegalStateException(failed.sum() + " devices could not be created; see above");
  }

  /** One bulk call and its repetitions for what it left undone; completes with the number of devices lost. */
  private CompletionStage<Integer> call(int node, List<String> ids, int attempt) {
    return client.send(node + attempt - 1, "POST", "/devices?" + RestClient.API_VERSION, body(ids))
        .handle((a, err) -> err != null ? new Verdict(ids, List.of(), err.toString()) : judge(a.status(), a.text(), ids))
        .thenCompose(v -> {
          boolean again = !v.retry().isEmpty() && attempt < ATTEMPTS;
          if (!v.failed().isEmpty() || !v.retry().isEmpty()) log(attempt, again, v);
          int lost = v.failed().size() + (again ? 0 : v.retry().size());
          if (!again) return CompletableFuture.completedFuture(lost);
          return CompletableFuture.supplyAsync(() -> null, CompletableFuture.delayedExecutor(attempt, TimeUnit.SECONDS))
              .thenCompose(x -> call(node, v.retry(), attempt + 1))
              .thenApply(more -> more + lost);
        });
  }

  /** The bulk body: every 100th twin disabled, which gives query-mix its 1 % subset. */
  static String body(List<String> ids) {
    return ids.stream()
        .map(id -> "{\"id\":\"" + id + "\",\"importMode\":\"create\""
            + (number(id) % 100 == 0 ? ",\"status\":\"disabled\"" : "") + "}")
        .collect(Collectors.joining(",", "[", "]"));
  }

  private static int number(String id) {
    return Integer.parseInt(id.substring(RestWorkloads.PREFIX.length()));
  }

  /**
   * What an answer to a bulk create of {@code sent} leaves to do. 200: all created. A 400 with a
   * BulkRegistryOperationResult: its per-device errors say which were not (already existing
   * ones count as created). 503, other 5xx and 429: all again. Anything else: all failed.
   */
  static Verdict judge(int status, String body, List<String> sent) {
    if (status == 200) return Verdict.done();
    if (status == 503 || status == 429 || status >= 500) return new Verdict(sent, List.of(), "HTTP " + status);
    JsonNode errors;
    try {
      errors = status == 400 ? JSON.readTree(body).path("errors") : null;
    } catch (Exception e) {
      errors = null;
    }
    if (errors == null || !errors.isArray() || errors.isEmpty()) {
      return new Verdict(List.of(), sent, "HTTP " + status + " " + body.substring(0, Math.min(200, body.length())));
    }
    List<String> retry = new ArrayList<>();
    List<String> failed = new ArrayList<>();
    String why = "";
    for (JsonNode e : errors) {
      String id = e.path("deviceId").asText();
      String code = e.path("errorCode").asText();
      if (code.equals("DeviceAlreadyExists")) continue;
      (TRANSIENT.contains(code) ? retry : failed).add(id);
      if (why.isEmpty()) why = id + ": " + code + " " + e.path("errorStatus").asText();
    }
    return new Verdict(retry, failed, why);
  }

  private void log(int attempt, boolean again, Verdict v) {
    if (logged.incrementAndGet() <= 10) {
      System.out.printf("bench: bulk create attempt %d: %d to send again%s, %d failed (%s)%n", attempt, v.retry().size(),
          again ? "" : " but no attempts left", v.failed().size(), v.why());
    }
  }
}
