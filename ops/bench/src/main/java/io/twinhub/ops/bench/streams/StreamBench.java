package io.twinhub.ops.bench.streams;

import io.twinhub.mqtt.tls.TlsMaterial;
import io.twinhub.ops.bench.BenchNodes;
import io.twinhub.ops.bench.BenchOptions;
import io.twinhub.ops.bench.BenchResult;
import io.twinhub.ops.bench.BenchRun;
import io.twinhub.ops.bench.BenchTable;
import io.twinhub.ops.bench.BenchTarget;
import io.twinhub.ops.bench.NodeProbe;
import io.twinhub.ops.bench.RestClient;
import org.HdrHistogram.Histogram;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The change streams' figures (issue #8), measured over HTTPS against a running node, as a
 * client of the wire protocol only:
 * <ul>
 *   <li>{@code read}: pre-writes {@code --events} twin PATCHes, then one consumer reads the
 *       journal from {@code earliest} as NDJSON ({@code to=now}): events per second;</li>
 *   <li>{@code latency}: a writer PATCHes at a fixed rate (each of {@code --rates}) while one
 *       consumer tails {@code twinChangeEvents} from {@code latest}; latency = the moment the
 *       consumer read the event − the moment the writer read the PATCH's 200, per
 *       (twin, version), in an HdrHistogram;</li>
 *   <li>{@code idle}: opens {@code --idle-streams} idle SSE streams; the node's heap after a full
 *       GC ({@code jcmd GC.run}, {@code GC.heap_info}) before and after, per stream, and the CPU
 *       the idle streams cost (their tag polls) of node and Cassandra.</li>
 * </ul>
 * As {@code ./twinhub bench streams} (nodes started for the run, or {@code --url}...) or by hand:
 * <pre>
 * java -cp "$(cat ops/bench/target/bench.classpath):ops/bench/target/classes" io.twinhub.ops.bench.streams.StreamBench \
 *   --url https://127.0.0.1:18443 --ca /tmp/d/tls/ca.pem --connection-string 'HostName=..;SharedAccessKeyName=iothubowner;SharedAccessKey=..' \
 *   --pid NODE_PID --cassandra-pid CASSANDRA_PID --events 20000 --rates 2000,200 --duration 30s --idle-streams 200
 * </pre>
 * Options (besides the harness's {@code --duration}, {@code --concurrency}): {@code --phases
 * read,latency,idle}, {@code --stream-twins 1000}, {@code --events 20000}, {@code --rates 2000,200},
 * {@code --idle-streams 100}, {@code --cassandra-pid}.
 */
public final class StreamBench {
  static final String PREFIX = "sbench-";
  static final String API_VERSION = "api-version=2021-04-12";
  private static final Pattern VERSION = Pattern.compile("\"version\":(\\d+)");
  private static final Pattern TWIN_ID = Pattern.compile("\"twinId\":\"([^\"]+)\"");

  private final BenchOptions o;
  private final BenchTarget target;
  private final RestClient rest;
  private final HttpClient http;
  private final String token;
  private final URI base;
  private final NodeProbe node;
  private final NodeProbe cassandra;
  private final int twins;

  private StreamBench(BenchOptions o, BenchTarget target, long cassandraPid) throws Exception {
    this.o = o;
    this.target = target;
    this.base = target.restUrls().get(0);
    this.rest = new RestClient(List.of(base), target.caPem(), target.ownerConnectionString(), o.concurrency());
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .sslContext(TlsMaterial.clientSslContext(target.caPem())).connectTimeout(Duration.ofSeconds(10)).build();
    this.token = sasToken(target.ownerConnectionString(), Instant.now().plus(Duration.ofHours(6)));
    this.node = new NodeProbe(target.pids());
    this.cassandra = new NodeProbe(cassandraPid > 0 ? List.of(cassandraPid) : List.of());
    this.twins = Integer.parseInt(o.extra().getOrDefault("stream-twins", "1000"));
  }

  /** The {@code streams} workload of {@code ./twinhub bench}: one row per measured phase. */
  public static List<BenchResult> run(BenchOptions o, BenchTarget target) throws Exception {
    return run(o, target, Long.parseLong(o.extra().getOrDefault("cassandra-pid", "-1")));
  }

  public static List<BenchResult> run(BenchOptions o, BenchTarget target, long cassandraPid) throws Exception {
    StreamBench b = new StreamBench(o, target, cassandraPid);
    List<BenchResult> rows = new ArrayList<>();
    List<String> phases = List.of(o.extra().getOrDefault("phases", "read,latency,idle").split(","));
    try {
      b.seed();
      if (phases.contains("read")) rows.addAll(b.read());
      if (phases.contains("latency")) {
        for (String r : o.extra().getOrDefault("rates", "2000,200").split(",")) rows.add(b.latency(Integer.parseInt(r.trim())));
      }
      if (phases.contains("idle")) {
        int k = Integer.parseInt(o.extra().getOrDefault("idle-streams", "100"));
        rows.add(b.idle(k, "/streams/all?from=latest", "all sources, 16 tags"));
        rows.add(b.idle(k, "/streams/twinChangeEvents?from=latest&deviceId=" + PREFIX + "0", "one device, 1 tag"));
      }
    } finally {
      b.rest.close();
    }
    return rows;
  }



  // ------------------------------------------------------------------ phases

  /**
   * Creates the twins (bulk, 100 per call, two in flight); idempotent, so a call a busy node
   * answered with errors (e.g. 503 per device) is simply sent again.
   */
  void seed() throws Exception {
    long t0 = System.nanoTime();
    List<String> bodies = new ArrayList<>();
    for (int from = 0; from < twins; from += 100) {
      bodies.add(IntStream.range(from, Math.min(from + 100, twins))
          .mapToObj(i -> "{\"id\":\"" + PREFIX + i + "\",\"importMode\":\"createOrUpdate\"}")
          .collect(Collectors.joining(",", "[", "]")));
    }
    for (int i = 0; i < bodies.size(); i += 2) {
      List<CompletableFuture<Boolean>> calls = new ArrayList<>();
      for (String body : bodies.subList(i, Math.min(i + 2, bodies.size()))) {
        calls.add(CompletableFuture.supplyAsync(() -> bulkWithRetries(body)));
      }
      for (CompletableFuture<Boolean> c : calls) {
        if (!c.get(600, TimeUnit.SECONDS)) throw new IllegalStateException("a bulk call kept failing");
      }
    }
    System.out.printf(Locale.ROOT, "streams: %d twins ready in %.1f s%n", twins, (System.nanoTime() - t0) / 1e9);
  }

  private boolean bulkWithRetries(String body) {
    for (int attempt = 0; attempt < 10; attempt++) {
      try {
        RestClient.Answer a = rest.sendAndWait(0, "POST", "/devices?" + API_VERSION, body);
        if (a.ok() && !a.text().contains("\"isSuccessful\":false")) return true;
        Thread.sleep(2000);
      } catch (Exception e) {
        // a timeout on a busy node: try again
      }
    }
    return false;
  }

  /** Pre-writes the events, then one consumer reads the whole journal from earliest, twice. */
  List<BenchResult> read() throws Exception {
    int events = Integer.parseInt(o.extra().getOrDefault("events", "20000"));
    long t0 = System.nanoTime();
    AtomicLong failed = new AtomicLong();
    Semaphore inFlight = new Semaphore(o.concurrency());
    for (int i = 0; i < events; i++) {
      inFlight.acquire();
      rest.send(0, "PATCH", "/twins/" + PREFIX + (i % twins) + "?" + API_VERSION,
              io.twinhub.ops.bench.RestWorkloads.patchBody(i))
          .whenComplete((a, e) -> {
            if (e != null || !a.ok()) failed.incrementAndGet();
            inFlight.release();
          });
    }
    inFlight.acquire(o.concurrency());
    inFlight.release(o.concurrency());
    double writeSeconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf(Locale.ROOT, "streams: wrote %,d PATCHes in %.1f s (%.0f/s, %d failed), load average %s%n",
        events, writeSeconds, events / writeSeconds, failed.get(), BenchRun.loadAverage());
    Thread.sleep(2000); // past the read journal's eventual-consistency delay
    List<BenchResult> rows = new ArrayList<>();
    for (String source : List.of("all", "all", "twinChangeEvents")) {
      String load = BenchRun.loadAverage();
      NodeProbe.Mark m = node.mark();
      NodeProbe.Mark mc = cassandra.mark();
      long s0 = System.nanoTime();
      Histogram gaps = new Histogram(3_600_000_000L, 3);
      long lines = 0;
      long bytes = 0;
      long last = s0;
      try (BufferedReader in = open("/streams/" + source + "?from=earliest&to=now", "application/x-ndjson")) {
        for (String line = in.readLine(); line != null; line = in.readLine()) {
          if (line.isEmpty()) continue;
          long now = System.nanoTime();
          gaps.recordValue(Math.min((now - last) / 1000, 3_600_000_000L));
          last = now;
          lines++;
          bytes += line.length() + 1;
        }
      }
      Duration took = Duration.ofNanos(System.nanoTime() - s0);
      double cpu = node.cpuPercentSince(m);
      double ccpu = cassandra.cpuPercentSince(mc);
      BenchResult r = BenchResult.of("streams-read", lines, 0, took, gaps).withNode(cpu, -1)
          .withNote(String.format(Locale.ROOT, "/streams/%s from earliest, NDJSON, %.0f B/event; latency = gap between events; "
              + "Cassandra CPU %s; pre-written %,d PATCHes at %.0f/s; load avg %s", source, bytes / (double) Math.max(1, lines),
              percent(ccpu), events, events / writeSeconds, load));
      System.out.printf(Locale.ROOT, "streams: read %,d events of /streams/%s in %.2f s = %.0f/s (node CPU %s, Cassandra %s)%n",
          lines, source, took.toMillis() / 1000.0, r.rate(), percent(cpu), percent(ccpu));
      rows.add(r);
    }
    return rows;
  }

  /**
   * A writer at {@code rate} PATCHes/s (open loop, at most {@code --concurrency} in flight: when
   * the node cannot keep up, the ticks it cannot take are counted, not queued) while one consumer
   * tails {@code twinChangeEvents} from latest.
   */
  BenchResult latency(int rate) throws Exception {
    String load = BenchRun.loadAverage();
    Map<String, long[]> seen = new ConcurrentHashMap<>(); // (twin@version) -> {ack, delivered}
    Histogram latency = new Histogram(3_600_000_000L, 3);
    AtomicLong delivered = new AtomicLong();
    BufferedReader in = open("/streams/twinChangeEvents?from=latest", "application/x-ndjson");
    Thread consumer = new Thread(() -> {
      try {
        for (String line = in.readLine(); line != null; line = in.readLine()) {
          if (line.isEmpty()) continue;
          long now = System.nanoTime();
          Matcher id = TWIN_ID.matcher(line);
          Matcher v = VERSION.matcher(line);
          if (!id.find() || !v.find() || !id.group(1).startsWith(PREFIX)) continue;
          delivered.incrementAndGet();
          BenchResult.recordPair(seen, id.group(1) + "@" + v.group(1), 1, now, latency);
        }
      } catch (java.io.IOException e) {
        // closed at the end of the phase
      }
    }, "streams-consumer");
    consumer.setDaemon(true);
    consumer.start();
    Thread.sleep(1500); // the stream is attached ("latest" is taken when it opens)

    AtomicLong acked = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    AtomicLong skipped = new AtomicLong();
    AtomicLong seq = new AtomicLong();
    Semaphore inFlight = new Semaphore(o.concurrency());
    ScheduledExecutorService ticks = Executors.newSingleThreadScheduledExecutor();
    long periodNanos = 1_000_000_000L / rate;
    NodeProbe.Mark m = node.mark();
    NodeProbe.Mark mc = cassandra.mark();
    long t0 = System.nanoTime();
    ticks.scheduleAtFixedRate(() -> {
      if (!inFlight.tryAcquire()) {
        skipped.incrementAndGet();
        return;
      }
      long n = seq.getAndIncrement();
      rest.send(0, "PATCH", "/twins/" + PREFIX + (n % twins) + "?" + API_VERSION,
              io.twinhub.ops.bench.RestWorkloads.patchBody(n))
          .whenComplete((a, e) -> {
            long now = System.nanoTime();
            inFlight.release();
            if (e != null || !a.ok()) {
              failed.incrementAndGet();
              return;
            }
            Matcher v = VERSION.matcher(a.text());
            if (!v.find()) {
              failed.incrementAndGet();
              return;
            }
            acked.incrementAndGet();
            BenchResult.recordPair(seen, PREFIX + (n % twins) + "@" + v.group(1), 0, now, latency);
          });
    }, 0, periodNanos, TimeUnit.NANOSECONDS);
    Thread.sleep(o.duration().toMillis());
    ticks.shutdownNow();
    double writeSeconds = (System.nanoTime() - t0) / 1e9;
    double cpu = node.cpuPercentSince(m);
    double ccpu = cassandra.cpuPercentSince(mc);
    inFlight.acquire(o.concurrency());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (delivered.get() < acked.get() && System.nanoTime() < deadline) Thread.sleep(100);
    in.close();
    long missing = seen.values().stream().filter(x -> x[0] != 0 && x[1] == 0).count();
    Histogram h;
    synchronized (latency) {
      h = latency.copy();
    }
    BenchResult r = BenchResult.of("streams-latency", h.getTotalCount() + missing, missing, Duration.ofMillis((long) (writeSeconds * 1000)), h)
        .withNode(cpu, -1)
        .withNote(String.format(Locale.ROOT, "target %,d writes/s, achieved %.0f acked/s (%,d ticks skipped, %,d failed); "
                + "%,d delivered, %,d never delivered; latency = write ack → NDJSON line read; Cassandra CPU %s; load avg %s",
            rate, acked.get() / writeSeconds, skipped.get(), failed.get(), delivered.get(), missing, percent(ccpu), load));
    System.out.printf(Locale.ROOT, "streams: latency at %d/s target (%.0f/s acked): %s%n", rate, acked.get() / writeSeconds,
        BenchResult.percentilesMs(h));
    return r;
  }

  /** {@code k} idle SSE streams: heap per stream after a full GC, and what they cost in CPU while idle. */
  BenchResult idle(int k, String pathAndQuery, String what) throws Exception {
    String load = BenchRun.loadAverage();
    Thread.sleep(5000);
    long before = node.heapAfterGc();
    NodeProbe.Mark m0 = node.mark();
    NodeProbe.Mark mc0 = cassandra.mark();
    Thread.sleep(10_000);
    double cpuBefore = node.cpuPercentSince(m0);
    double ccpuBefore = cassandra.cpuPercentSince(mc0);
    List<InputStream> streams = new ArrayList<>();
    Histogram open = new Histogram(3_600_000_000L, 3);
    try {
      for (int i = 0; i < k; i++) {
        long t0 = System.nanoTime();
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(base + pathAndQuery))
            .header("Authorization", token).header("Accept", "text/event-stream").build(), HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() != 200) throw new IllegalStateException("stream " + i + " answered " + r.statusCode());
        open.recordValue((System.nanoTime() - t0) / 1000);
        streams.add(r.body());
      }
      Thread.sleep(10_000);
      NodeProbe.Mark m = node.mark();
      NodeProbe.Mark mc = cassandra.mark();
      Thread.sleep(20_000);
      double cpu = node.cpuPercentSince(m);
      double ccpu = cassandra.cpuPercentSince(mc);
      long after = node.heapAfterGc();
      double perStream = before < 0 || after < 0 ? Double.NaN : (after - before) / (double) k;
      System.out.printf(Locale.ROOT, "streams: %d idle streams (%s): heap %.1f → %.1f MB = %.1f KB per stream; "
              + "idle CPU node %s → %s, Cassandra %s → %s%n", k, what, before / 1048576.0, after / 1048576.0, perStream / 1024,
          percent(cpuBefore), percent(cpu), percent(ccpuBefore), percent(ccpu));
      return BenchResult.of("streams-idle", k, 0, Duration.ofSeconds(20), open).withNode(cpu, after)
          .withNote(String.format(Locale.ROOT, "%d idle SSE streams %s (%s): %.1f KB heap per stream after full GC "
                  + "(%.1f → %.1f MB); idle CPU node %s → %s, Cassandra %s → %s; latency = time to open one; load avg %s",
              k, pathAndQuery, what, perStream / 1024, before / 1048576.0, after / 1048576.0, percent(cpuBefore), percent(cpu),
              percent(ccpuBefore), percent(ccpu), load));
    } finally {
      for (InputStream s : streams) s.close();
    }
  }

  // ------------------------------------------------------------------ plumbing

  private BufferedReader open(String pathAndQuery, String accept) throws Exception {
    HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(base + pathAndQuery))
        .header("Authorization", token).header("Accept", accept).build(), HttpResponse.BodyHandlers.ofInputStream());
    if (r.statusCode() != 200) {
      throw new IllegalStateException(pathAndQuery + " answered " + r.statusCode() + ": "
          + new String(r.body().readAllBytes(), StandardCharsets.UTF_8));
    }
    return new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8), 1 << 16);
  }

  static String percent(double cpu) {
    return Double.isNaN(cpu) ? "n/a" : String.format(Locale.ROOT, "%.0f %%", cpu);
  }

  /** An IoT Hub service SAS token from a connection string: HMAC-SHA256(key, urlencode(host) + "\n" + expiry). */
  static String sasToken(String connectionString, Instant expiry) throws Exception {
    Map<String, String> cs = new java.util.HashMap<>();
    for (String part : connectionString.split(";")) {
      int eq = part.indexOf('=');
      if (eq > 0) cs.put(part.substring(0, eq).strip(), part.substring(eq + 1).strip());
    }
    String sr = URLEncoder.encode(cs.get("HostName").toLowerCase(Locale.ROOT), StandardCharsets.UTF_8);
    long se = expiry.getEpochSecond();
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(Base64.getDecoder().decode(cs.get("SharedAccessKey")), "HmacSHA256"));
    String sig = Base64.getEncoder().encodeToString(mac.doFinal((sr + "\n" + se).getBytes(StandardCharsets.UTF_8)));
    return "SharedAccessSignature sr=" + sr + "&sig=" + URLEncoder.encode(sig, StandardCharsets.UTF_8) + "&se=" + se
        + "&skn=" + cs.get("SharedAccessKeyName");
  }
}
