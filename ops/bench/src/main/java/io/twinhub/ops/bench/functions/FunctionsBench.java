package io.twinhub.ops.bench.functions;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code ./twinhub bench functions}: a trivial telemetry function (cardinality MANY, it only
 * notes its batch) on the nodes the harness started, each a worker.
 *
 * <p>Throughput from a backlog: the function's first batch on every partition waits until the
 * bench releases it ({@code POST /api/release} on every node: a static flag in the app's class
 * loader), while {@code --events} messages are sent and acknowledged; then the backlog drains at
 * the functions' speed: events / (last invocation's end - release).
 *
 * <p>Latency: then messages at {@code --rate} per second for {@code --duration}; each invocation
 * notes, per message, its start minus the message's {@code iothub-enqueuedtime} (set when the hub
 * accepted it, just before the journal write the PUBACK waits for: so an upper bound of ack →
 * invocation). The figures come back through the invocation log ({@code /functions/apps/bench/logs}).
 */
public final class FunctionsBench {
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String DEVICE_KEY = java.util.Base64.getEncoder().encodeToString("functions-bench-device-key-0123".getBytes(StandardCharsets.US_ASCII));

  static final String SOURCE = """
      package bench;
      import com.microsoft.azure.functions.*;
      import com.microsoft.azure.functions.annotation.*;
      import java.util.*;
      public class Count {
        static volatile boolean released;
        @FunctionName("count")
        public void count(@EventHubTrigger(name = "m", eventHubName = "messages/events", connection = "c") List<String> messages,
                          @BindingName("SystemPropertiesArray") Map<String, Object>[] system, ExecutionContext context) throws Exception {
          while (!released) Thread.sleep(5);
          long start = System.currentTimeMillis();
          StringBuilder b = new StringBuilder("batch ").append(messages.size()).append(' ').append(start);
          boolean timed = messages.get(0).contains("\\"latency\\"");
          b.append(timed ? " latency" : " backlog");
          if (timed) for (Map<String, Object> s : system) {
            b.append(' ').append(start - java.time.Instant.parse(String.valueOf(s.get("iothub-enqueuedtime"))).toEpochMilli());
          }
          b.append(" end ").append(System.currentTimeMillis());
          context.getLogger().info(b.toString());
        }
        @FunctionName("release")
        public HttpResponseMessage release(@HttpTrigger(name = "r", methods = {HttpMethod.POST}, authLevel = AuthorizationLevel.ANONYMOUS)
                                           HttpRequestMessage<Optional<String>> request) {
          released = true;
          return request.createResponseBuilder(HttpStatus.OK).body("released").build();
        }
      }
      """;

  private FunctionsBench() {}

  public static int run(BenchTarget target, int devices, int events, int rate, Duration latencyPhase) throws Exception {
    String host = target.connectionStringPart("HostName");
    String token = SasTokens.sign(host, target.connectionStringPart("SharedAccessKey"), target.connectionStringPart("SharedAccessKeyName"),
        System.currentTimeMillis() / 1000 + 6 * 3600);
    HttpClient http = HttpClient.newBuilder().sslContext(io.twinhub.mqtt.tls.TlsMaterial.clientSslContext(target.caPem()))
        .connectTimeout(Duration.ofSeconds(30)).build();
    URI node1 = target.nodes().get(0).restUrl();
    System.out.printf(Locale.ROOT, "functions bench: %d worker node(s), %d devices, backlog %d events, then %d/s for %s; load average %s%n",
        target.nodes().size(), devices, events, rate, latencyPhase, loadAverage());

    StringBuilder bulk = new StringBuilder("[");
    for (int i = 0; i < devices; i++) {
      if (i > 0) bulk.append(',');
      bulk.append("{\"id\":\"fn-bench-").append(i).append("\",\"importMode\":\"createOrUpdate\",\"authentication\":{\"type\":\"sas\",")
          .append("\"symmetricKey\":{\"primaryKey\":\"").append(DEVICE_KEY).append("\",\"secondaryKey\":\"").append(DEVICE_KEY).append("\"}}}");
    }
    check(send(http, node1, "POST", "/devices?api-version=2021-04-12", token, bulk.append(']').toString().getBytes(StandardCharsets.UTF_8)));
    check(send(http, node1, "PUT", "/functions/apps/bench?api-version=2021-04-12", token, appJar(target.workDir())));
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
      List<long[]> backlog = awaitBatches(http, node1, token, "backlog", events, Duration.ofMinutes(10));
      long lastEnd = backlog.stream().mapToLong(b -> b[2]).max().orElse(released);
      long processed = backlog.stream().mapToLong(b -> b[0]).sum();
      double seconds = (lastEnd - released) / 1000.0;
      System.out.printf(Locale.ROOT, "drain: %d events in %d invocations, %.2f s after the release: %.0f events/s, %.0f per worker; load average %s%n",
          processed, backlog.size(), seconds, processed / seconds, processed / seconds / target.nodes().size(), loadAverage());

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
      List<Long> latencies = new ArrayList<>();
      for (long[] b : awaitBatches(http, node1, token, "latency", n, Duration.ofMinutes(5))) {
        for (int i = 3; i < b.length; i++) latencies.add(b[i]);
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

  /** Batches of {@code phase} from the invocation log: [size, start, end, latencies...], until they hold {@code events}. */
  private static List<long[]> awaitBatches(HttpClient http, URI node, String token, String phase, long events, Duration max) throws Exception {
    long until = System.nanoTime() + max.toNanos();
    List<long[]> batches = List.of();
    while (System.nanoTime() < until) {
      batches = new ArrayList<>();
      HttpResponse<String> r = send(http, node, "GET", "/functions/apps/bench/logs?top=1000&api-version=2021-04-12", token, null);
      for (JsonNode line : JSON.readTree(r.body())) {
        String text = line.path("line").asText();
        int at = text.indexOf("batch ");
        if (at < 0) continue;
        String[] f = text.substring(at + 6).split(" ");
        if (!f[2].equals(phase)) continue;
        long[] b = new long[3 + (f.length - 5)];
        b[0] = Long.parseLong(f[0]);
        b[1] = Long.parseLong(f[1]);
        b[2] = Long.parseLong(f[f.length - 1]);
        for (int i = 3; i < f.length - 2; i++) b[i] = Long.parseLong(f[i]);
        batches.add(b);
      }
      if (batches.stream().mapToLong(b -> b[0]).sum() >= events) return batches;
      Thread.sleep(1000);
    }
    System.out.printf("functions bench: only %d of %d %s events seen in the invocation log (at most 1000 invocations are listed)%n",
        batches.stream().mapToLong(b -> b[0]).sum(), events, phase);
    return batches;
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
  static byte[] appJar(Path workDir) throws Exception {
    Path dir = Files.createDirectories(workDir.resolve("functions-bench-app"));
    Path src = dir.resolve("src/bench/Count.java");
    Files.createDirectories(src.getParent());
    Files.writeString(src, SOURCE);
    Path classes = Files.createDirectories(dir.resolve("classes"));
    if (AppJars.compile(src, classes) != 0) {
      throw new IllegalStateException("the bench app did not compile (a JDK is needed, not a JRE)");
    }
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    AppJars.jar(classes, out);
    return out.toByteArray();
  }
}
