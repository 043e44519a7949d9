package io.twinhub.ops.bench.functions;

import io.twinhub.functions.runtime.AppJars;
import io.twinhub.ops.bench.BenchTarget;
import io.twinhub.ops.bench.SasTokens;
import io.twinhub.ops.bench.mqtt.MqttLoadClient;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code ./twinhub bench functions}: a trivial telemetry function (cardinality MANY or ONE, it only
 * counts what it gets) on the nodes the harness started, each a worker.
 *
 * <p>Throughput from a backlog: the function's first batch on every partition waits until the
 * bench releases it ({@code POST /api/release} on every node: a static flag in the app's class
 * loader), while {@code --events} messages are sent and acknowledged; then the backlog drains at
 * the functions' speed: events / (last invocation's end - release).
 *
 * <p>Latency: then messages at {@code --rate} per second for {@code --duration}; each invocation
 * notes, per message, its start minus the message's {@code iothub-enqueuedtime} (set when the hub
 * accepted it, just before the journal write the PUBACK waits for: so an upper bound of ack →
 * invocation). The figures come back from the app itself ({@code GET /api/stats} on every node).
 * {@code --cardinality ONE} measures an invocation per message instead of batches.
 */
public final class FunctionsBench {
  static final String DEVICE_KEY = java.util.Base64.getEncoder().encodeToString("functions-bench-device-key-0123".getBytes(StandardCharsets.US_ASCII));

  /**
   * The bench app: {@code count} notes each message (a static counter per phase, and the latency of
   * each timed one) and returns; {@code stats} (HTTP) reports them. TRIGGER is the binding of the
   * cardinality measured.
   */
  static final String SOURCE = """
      package bench;
      import com.microsoft.azure.functions.*;
      import com.microsoft.azure.functions.annotation.*;
      import java.util.*;
      import java.util.concurrent.atomic.AtomicLong;
      public class Count {
        static volatile boolean released;
        static final AtomicLong backlog = new AtomicLong();
        static final AtomicLong backlogEnd = new AtomicLong();
        static final AtomicLong invocations = new AtomicLong();
        static final AtomicLong timed = new AtomicLong();
        static final java.util.concurrent.ConcurrentLinkedQueue<Long> latencies = new java.util.concurrent.ConcurrentLinkedQueue<>();
        @FunctionName("count")
        public void count(TRIGGER) throws Exception {
          while (!released) Thread.sleep(5);
          long start = System.currentTimeMillis();
          invocations.incrementAndGet();
          BODY
        }
        static void note(String message, Map<String, Object> system, long start) {
          if (message.contains("\\"latency\\"")) {
            latencies.add(start - java.time.Instant.parse(String.valueOf(system.get("iothub-enqueuedtime"))).toEpochMilli());
            timed.incrementAndGet();
          } else {
            backlog.incrementAndGet();
            backlogEnd.accumulateAndGet(System.currentTimeMillis(), Math::max);
          }
        }
        @FunctionName("release")
        public HttpResponseMessage release(@HttpTrigger(name = "r", methods = {HttpMethod.POST}, authLevel = AuthorizationLevel.ANONYMOUS)
                                           HttpRequestMessage<Optional<String>> request) {
          released = true;
          return request.createResponseBuilder(HttpStatus.OK).body("released").build();
        }
        @FunctionName("stats")
        public HttpResponseMessage stats(@HttpTrigger(name = "r", methods = {HttpMethod.GET}, authLevel = AuthorizationLevel.ANONYMOUS)
                                         HttpRequestMessage<Optional<String>> request) {
          StringBuilder b = new StringBuilder().append(backlog.get()).append(' ').append(backlogEnd.get()).append(' ')
              .append(invocations.get()).append(' ').append(timed.get());
          if (request.getQueryParameters().containsKey("latencies")) for (Long l : latencies) b.append(' ').append(l);
          return request.createResponseBuilder(HttpStatus.OK).body(b.toString()).build();
        }
      }
      """;

  static String source(boolean many) {
    return many
        ? SOURCE.replace("TRIGGER", "@EventHubTrigger(name = \"m\", eventHubName = \"messages/events\", connection = \"c\") List<String> messages,"
            + " @BindingName(\"SystemPropertiesArray\") Map<String, Object>[] system")
            .replace("BODY", "for (int i = 0; i < messages.size(); i++) note(messages.get(i), system[i], start);")
        : SOURCE.replace("TRIGGER", "@EventHubTrigger(name = \"m\", eventHubName = \"messages/events\", connection = \"c\","
            + " cardinality = Cardinality.ONE) String message, @BindingName(\"SystemProperties\") Map<String, Object> system")
            .replace("BODY", "note(message, system, start);");
  }

  private FunctionsBench() {}

  /** @param many cardinality MANY (batches of up to {@code max-batch}) or ONE (an invocation per message) */
  public static int run(BenchTarget target, int devices, int events, int rate, Duration latencyPhase, boolean many) throws Exception {
    String host = target.connectionStringPart("HostName");
    String token = SasTokens.sign(host, target.connectionStringPart("SharedAccessKey"), target.connectionStringPart("SharedAccessKeyName"),
        System.currentTimeMillis() / 1000 + 6 * 3600);
    HttpClient http = HttpClient.newBuilder().sslContext(io.twinhub.mqtt.tls.TlsMaterial.clientSslContext(target.caPem()))
        .connectTimeout(Duration.ofSeconds(30)).build();
    URI node1 = target.nodes().get(0).restUrl();
    System.out.printf(Locale.ROOT, "functions bench: cardinality %s, %d worker node(s), %d devices, backlog %d events, then %d/s for %s; load average %s%n",
        many ? "MANY" : "ONE", target.nodes().size(), devices, events, rate, latencyPhase, loadAverage());

    StringBuilder bulk = new StringBuilder("[");
    for (int i = 0; i < devices; i++) {
      if (i > 0) bulk.append(',');
      bulk.append("{\"id\":\"fn-bench-").append(i).append("\",\"importMode\":\"createOrUpdate\",\"authentication\":{\"type\":\"sas\",")
          .append("\"symmetricKey\":{\"primaryKey\":\"").append(DEVICE_KEY).append("\",\"secondaryKey\":\"").append(DEVICE_KEY).append("\"}}}");
    }
    check(send(http, node1, "POST", "/devices?api-version=2021-04-12", token, bulk.append(']').toString().getBytes(StandardCharsets.UTF_8)));
    check(send(http, node1, "PUT", "/functions/apps/bench?api-version=2021-04-12", token, appJar(target.workDir(), many)));
    // Every node loads the app within its refresh interval (2 s), and every partition starts.
    Thread.sleep(10_000);

    try (MqttLoadClient mqtt = new MqttLoadClient("127.0.0.1", target.nodes().get(0).mqttPort(), target.caPem().toFile(), 2)) {
      Semaphore inflight = new Semaphore(2000);
      AtomicLong acked = new AtomicLong();
      MqttLoadClient.Listener listener = new MqttLoadClient.Listener() {
        @Override
        public void onPubAck(MqttLoadClient.Device device, int packetId, long nanos) {
          acked.incrementAndGet();
          inflight.release();
        }
      };
      List<MqttLoadClient.Device> ds = new ArrayList<>();
      long expiry = System.currentTimeMillis() / 1000 + 6 * 3600;
      for (int i = 0; i < devices; i++) {
        String id = "fn-bench-" + i;
        ds.add(mqtt.connect(id, host + "/" + id + "/?api-version=2021-04-12", SasTokens.sign(host + "/devices/" + id, DEVICE_KEY, null, expiry),
            60, listener));
      }
      for (var d : ds) d.connAck().get(60, TimeUnit.SECONDS);

      // Phase 1: the backlog, while the functions wait.
      long t0 = System.nanoTime();
      byte[] body = "{\"backlog\":1}".getBytes(StandardCharsets.UTF_8);
      for (int i = 0; i < events; i++) {
        inflight.acquire();
        MqttLoadClient.Device d = ds.get(i % ds.size());
        d.publish("devices/" + d.clientId + "/messages/events/", 1, body);
      }
      while (acked.get() < events) Thread.sleep(10);
      System.out.printf(Locale.ROOT, "backlog: %d events acknowledged in %.1f s (%.0f/s)%n", events, (System.nanoTime() - t0) / 1e9,
          events / ((System.nanoTime() - t0) / 1e9));
      Thread.sleep(2000); // the journal's eventual-consistency delay: every event readable before the release
      long released = System.currentTimeMillis();
      for (var n : target.nodes()) check(send(http, n.restUrl(), "POST", "/api/release", null, new byte[0]));
      long[] drained = awaitStats(http, target, "backlog", events, Duration.ofMinutes(10));
      long processed = drained[0];
      double seconds = (drained[1] - released) / 1000.0;
      System.out.printf(Locale.ROOT, "drain: %d events in %d invocations, %.2f s after the release: %.0f events/s, %.0f per worker; load average %s%n",
          processed, drained[2], seconds, processed / seconds, processed / seconds / target.nodes().size(), loadAverage());

      // Phase 2: latency at a steady rate.
      long n = rate * latencyPhase.toSeconds();
      byte[] timed = "{\"latency\":1}".getBytes(StandardCharsets.UTF_8);
      long start = System.nanoTime();
      for (long i = 0; i < n; i++) {
        long due = start + i * 1_000_000_000L / rate;
        while (System.nanoTime() < due) Thread.sleep(0, 200_000);
        inflight.acquire();
        MqttLoadClient.Device d = ds.get((int) (i % ds.size()));
        d.publish("devices/" + d.clientId + "/messages/events/", 1, timed);
      }
      awaitStats(http, target, "latency", n, Duration.ofMinutes(5));
      List<Long> latencies = new ArrayList<>();
      for (var node : target.nodes()) {
        String[] f = send(http, node.restUrl(), "GET", "/api/stats?latencies", null, null).body().trim().split(" ");
        for (int i = 4; i < f.length; i++) latencies.add(Long.parseLong(f[i]));
      }
      long[] l = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
      System.out.printf(Locale.ROOT, "latency (enqueued → invocation start) of %d events at %d/s: p50 %d ms, p90 %d ms, p99 %d ms, max %d ms; load average %s%n",
          l.length, rate, pct(l, 0.50), pct(l, 0.90), pct(l, 0.99), l.length == 0 ? 0 : l[l.length - 1], loadAverage());
      for (var d : ds) d.disconnect();
    }
    return 0;
  }

  private static long pct(long[] sorted, double p) {
    return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
  }

  /**
   * The bench app's counters summed over the nodes ({@code GET /api/stats} of each), until
   * {@code phase} (backlog or latency) counted {@code events}: [events, last backlog invocation's end, invocations].
   */
  private static long[] awaitStats(HttpClient http, BenchTarget target, String phase, long events, Duration max) throws Exception {
    long until = System.nanoTime() + max.toNanos();
    long[] sum = new long[4];
    while (System.nanoTime() < until) {
      sum = new long[4];
      for (var node : target.nodes()) {
        HttpResponse<String> r = send(http, node.restUrl(), "GET", "/api/stats", null, null);
        check(r);
        String[] f = r.body().trim().split(" ");
        sum[0] += Long.parseLong(f[0]);
        sum[1] = Math.max(sum[1], Long.parseLong(f[1]));
        sum[2] += Long.parseLong(f[2]);
        sum[3] += Long.parseLong(f[3]);
      }
      long seen = phase.equals("backlog") ? sum[0] : sum[3];
      if (seen >= events) return new long[] {sum[0], sum[1], sum[2]};
      Thread.sleep(200);
    }
    System.out.printf("functions bench: only %d of %d %s events invoked within %s%n", phase.equals("backlog") ? sum[0] : sum[3], events, phase, max);
    return new long[] {sum[0], sum[1], sum[2]};
  }

  static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    } catch (Exception e) {
      return "n/a";
    }
  }

  private static HttpResponse<String> send(HttpClient http, URI base, String method, String path, String token, byte[] body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(60))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
    if (token != null) b.header("Authorization", token);
    if (body != null) b.header("Content-Type", "application/json");
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static void check(HttpResponse<String> r) {
    if (r.statusCode() >= 300) throw new IllegalStateException(r.request().method() + " " + r.uri() + ": " + r.statusCode() + " " + r.body());
  }

  /** The bench app, compiled here against the Azure Functions library on the harness's classpath. */
  static byte[] appJar(Path workDir, boolean many) throws Exception {
    Path dir = Files.createDirectories(workDir.resolve("functions-bench-app"));
    Path src = dir.resolve("src/bench/Count.java");
    Files.createDirectories(src.getParent());
    Files.writeString(src, source(many));
    Path classes = Files.createDirectories(dir.resolve("classes"));
    if (AppJars.compile(src, classes) != 0) {
      throw new IllegalStateException("the bench app did not compile (a JDK is needed, not a JRE)");
    }
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    AppJars.jar(classes, out);
    return out.toByteArray();
  }
}
