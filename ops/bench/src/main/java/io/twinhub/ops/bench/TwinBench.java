package io.twinhub.ops.bench;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Load generator for the REST API: a closed loop of {@code --concurrency} clients, each sending its
 * next request when the previous one answered, over its own keep-alive HTTPS connection; latencies
 * in an HdrHistogram (microseconds, from request written to answer read), throughput per second. A
 * client of the wire protocol only (JSSE sockets, its own SAS signing), no hub code.
 *
 * <pre>
 * java -cp "$(cat cluster-node/target/twinhub.classpath)" io.twinhub.ops.bench.TwinBench \
 *   --url https://127.0.0.1:8443 --ca data/tls/ca.pem \
 *   --connection-string 'HostName=127.0.0.1;SharedAccessKeyName=iothubowner;SharedAccessKey=...' \
 *   --twins 10000 --setup --mode get --concurrency 100 --warmup 15s --duration 30s
 * </pre>
 *
 * Modes: {@code get} ({@code GET /twins/{id}}), {@code patch} ({@code PATCH /twins/{id}} of one
 * desired property, unconditional). {@code --setup} first creates the twins with bulk
 * {@code POST /devices} (100 per call, createOrUpdate).
 */
public final class TwinBench {

  static final String API_VERSION = "api-version=2021-04-12";

  record Options(URI url, Path ca, String hostName, String keyName, String key, int twins, boolean setup,
                 String mode, int concurrency, Duration warmup, Duration duration, String prefix) {}

  public static void main(String[] args) throws Exception {
    Options o = parse(args);
    HttpClient http = client(o);
    if (o.setup()) {
      setup(http, o);
    }
    // One keep-alive connection per client for every phase: TLS handshakes happen once, up front.
    Connection[] connections = new Connection[o.concurrency()];
    for (int c = 0; c < connections.length; c++) {
      connections[c] = Connection.open(o);
    }
    sweep(o, connections);
    System.out.printf(Locale.ROOT, "warm-up %s: %s, %d clients, %d twins%n", o.warmup(), o.mode(), o.concurrency(), o.twins());
    run(o, connections, o.warmup());
    System.out.printf(Locale.ROOT, "measuring %s ...%n", o.duration());
    Result r = run(o, connections, o.duration());
    r.print(o);
    System.exit(0);
  }

  // ---------------------------------------------------------------- load

  record Result(long requests, Map<Integer, Long> statuses, long failures, Histogram latencyMicros, Duration elapsed) {
    double perSecond() {
      return requests * 1e9 / elapsed.toNanos();
    }

    void print(Options o) {
      Histogram h = latencyMicros;
      System.out.printf(Locale.ROOT, "%s: %d requests in %.1f s = %.0f req/s; statuses %s; transport failures %d%n",
          o.mode(), requests, elapsed.toMillis() / 1000.0, perSecond(), statuses, failures);
      System.out.printf(Locale.ROOT, "latency ms: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  (mean %.2f)%n",
          h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(90) / 1000.0, h.getValueAtPercentile(99) / 1000.0,
          h.getValueAtPercentile(99.9) / 1000.0, h.getMaxValue() / 1000.0, h.getMean() / 1000.0);
    }
  }

  static Result run(Options o, Connection[] connections, Duration length) throws InterruptedException {
    Recorder recorder = new Recorder(3_600_000_000L, 3);
    LongAdder requests = new LongAdder();
    LongAdder failures = new LongAdder();
    Map<Integer, LongAdder> statuses = new ConcurrentHashMap<>();
    AtomicLong sequence = new AtomicLong();
    String token = token(o, Instant.now().plus(Duration.ofHours(2)));
    long start = System.nanoTime();
    long end = start + length.toNanos();
    List<Thread> clients = new ArrayList<>();
    for (int c = 0; c < o.concurrency(); c++) {
      int slot = c;
      Thread t = new Thread(() -> client(o, connections, slot, token, end, recorder, requests, failures, statuses, sequence),
          "bench-client-" + c);
      t.setDaemon(true);
      t.start();
      clients.add(t);
    }
    for (Thread t : clients) {
      t.join();
    }
    Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
    Map<Integer, Long> byStatus = new LinkedHashMap<>();
    statuses.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> byStatus.put(e.getKey(), e.getValue().sum()));
    return new Result(requests.sum(), byStatus, failures.sum(), recorder.getIntervalHistogram(), elapsed);
  }

  /**
   * One client on one keep-alive connection: the next request goes out when the previous answer
   * has been read. Plain blocking HTTP/1.1 over JSSE sockets: the cheapest client the JDK offers,
   * so the load generator takes as little of the box's CPU as it can.
   */
  private static void client(Options o, Connection[] connections, int slot, String token, long end, Recorder recorder,
                             LongAdder requests, LongAdder failures, Map<Integer, LongAdder> statuses, AtomicLong sequence) {
    Connection conn = connections[slot];
    while (System.nanoTime() < end) {
      try {
        if (conn == null) {
          conn = Connection.open(o);
        }
        String id = o.prefix() + ThreadLocalRandom.current().nextInt(o.twins());
        byte[] request = o.mode().equals("patch")
            ? conn.request("PATCH", "/twins/" + id + "?" + API_VERSION, token,
                RestWorkloads.patchBody(sequence.incrementAndGet()))
            : conn.request("GET", "/twins/" + id + "?" + API_VERSION, token, null);
        long t0 = System.nanoTime();
        int status = conn.exchange(request);
        recorder.recordValue(Math.min((System.nanoTime() - t0) / 1000, 3_600_000_000L));
        requests.increment();
        statuses.computeIfAbsent(status, s -> new LongAdder()).increment();
      } catch (Exception e) {
        failures.increment();
        if (conn != null) conn.close();
        conn = null;
      }
    }
    connections[slot] = conn;
  }

  /** A keep-alive HTTP/1.1 connection (TLS when the URL says https). */
  static final class Connection {
    private static volatile javax.net.SocketFactory factory;
    private final java.net.Socket socket;
    private final java.io.BufferedInputStream in;
    private final java.io.OutputStream out;
    private final String host;

    private Connection(java.net.Socket socket, String host) throws java.io.IOException {
      this.socket = socket;
      this.host = host;
      socket.setTcpNoDelay(true);
      socket.setSoTimeout(30_000);
      this.in = new java.io.BufferedInputStream(socket.getInputStream(), 64 * 1024);
      this.out = new java.io.BufferedOutputStream(socket.getOutputStream(), 16 * 1024);
    }

    static Connection open(Options o) throws Exception {
      if (factory == null) {
        factory = o.url().getScheme().equals("https") ? trusting(o.ca()).getSocketFactory() : javax.net.SocketFactory.getDefault();
      }
      int port = o.url().getPort() > 0 ? o.url().getPort() : (o.url().getScheme().equals("https") ? 443 : 80);
      return new Connection(factory.createSocket(o.url().getHost(), port), o.url().getHost() + ":" + port);
    }

    byte[] request(String method, String path, String token, String body) {
      byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
      String head = method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: " + token + "\r\n"
          + (body == null ? "" : "Content-Type: application/json\r\n") + "Content-Length: " + b.length + "\r\n\r\n";
      byte[] h = head.getBytes(StandardCharsets.ISO_8859_1);
      byte[] all = java.util.Arrays.copyOf(h, h.length + b.length);
      System.arraycopy(b, 0, all, h.length, b.length);
      return all;
    }

    /** Sends the request, reads the whole answer, returns its status. */
    int exchange(byte[] request) throws java.io.IOException {
      out.write(request);
      out.flush();
      String statusLine = line();
      int status = Integer.parseInt(statusLine.substring(9, 12));
      long length = -1;
      boolean close = false;
      for (String l = line(); !l.isEmpty(); l = line()) {
        int colon = l.indexOf(':');
        String name = l.substring(0, colon).trim();
        if (name.equalsIgnoreCase("Content-Length")) length = Long.parseLong(l.substring(colon + 1).trim());
        if (name.equalsIgnoreCase("Connection") && l.substring(colon + 1).trim().equalsIgnoreCase("close")) close = true;
      }
      if (length < 0) throw new java.io.IOException("no Content-Length");
      in.skipNBytes(length);
      if (close) throw new java.io.IOException("server closed the connection");
      return status;
    }

    private String line() throws java.io.IOException {
      StringBuilder sb = new StringBuilder(64);
      for (int c = in.read(); c != '\n'; c = in.read()) {
        if (c < 0) throw new java.io.EOFException();
        if (c != '\r') sb.append((char) c);
      }
      return sb.toString();
    }

    void close() {
      try {
        socket.close();
      } catch (java.io.IOException ignored) {
        // gone anyway
      }
    }
  }

  /**
   * Reads every twin once, so the measurement sees the hub's steady state (twins resident in
   * memory) rather than first-access recovery from the journal.
   */
  static void sweep(Options o, Connection[] connections) throws InterruptedException {
    long t0 = System.nanoTime();
    String token = token(o, Instant.now().plus(Duration.ofHours(1)));
    AtomicLong next = new AtomicLong();
    LongAdder bad = new LongAdder();
    List<Thread> clients = new ArrayList<>();
    for (int c = 0; c < o.concurrency(); c++) {
      Connection conn = connections[c];
      Thread t = new Thread(() -> {
        try {
          for (long i = next.getAndIncrement(); i < o.twins(); i = next.getAndIncrement()) {
            if (conn.exchange(conn.request("GET", "/twins/" + o.prefix() + i + "?" + API_VERSION, token, null)) != 200) {
              bad.increment();
            }
          }
        } catch (Exception e) {
          bad.increment();
        }
      }, "bench-sweep-" + c);
      t.start();
      clients.add(t);
    }
    for (Thread t : clients) {
      t.join();
    }
    System.out.printf(Locale.ROOT, "sweep: read %d twins once in %.1f s (%d not 200)%n", o.twins(), (System.nanoTime() - t0) / 1e9, bad.sum());
  }

  /** Creates (or keeps) the twins with bulk calls, 100 devices each, a few calls at a time. */
  static void setup(HttpClient http, Options o) throws Exception {
    long t0 = System.nanoTime();
    String token = token(o, Instant.now().plus(Duration.ofHours(1)));
    List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
    int failed = 0;
    for (int from = 0; from < o.twins(); from += 100) {
      String body = IntStream.range(from, Math.min(from + 100, o.twins()))
          .mapToObj(i -> "{\"id\":\"" + o.prefix() + i + "\",\"importMode\":\"createOrUpdate\"}")
          .collect(Collectors.joining(",", "[", "]"));
      HttpRequest request = HttpRequest.newBuilder(URI.create(o.url() + "/devices?" + API_VERSION))
          .timeout(Duration.ofSeconds(60))
          .header("Authorization", token)
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(body))
          .build();
      inFlight.add(http.sendAsync(request, HttpResponse.BodyHandlers.ofString()));
      if (inFlight.size() >= 4) {
        failed += drain(inFlight);
      }
    }
    failed += drain(inFlight);
    System.out.printf(Locale.ROOT, "setup: %d twins in %.1f s (%d bulk calls failed)%n",
        o.twins(), (System.nanoTime() - t0) / 1e9, failed);
  }

  private static int drain(List<CompletableFuture<HttpResponse<String>>> inFlight) throws Exception {
    int failed = 0;
    for (CompletableFuture<HttpResponse<String>> f : inFlight) {
      HttpResponse<String> r = f.get();
      if (r.statusCode() != 200) {
        failed++;
        System.out.println("bulk call: " + r.statusCode() + " " + r.body().substring(0, Math.min(300, r.body().length())));
      }
    }
    inFlight.clear();
    return failed;
  }

  // ---------------------------------------------------------------- plumbing

  static HttpClient client(Options o) throws Exception {
    ExecutorService executor = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "bench-http");
      t.setDaemon(true);
      return t;
    });
    HttpClient.Builder b = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10))
        .executor(executor);
    if (o.url().getScheme().equals("https")) {
      b.sslContext(trusting(o.ca()));
    }
    return b.build();
  }

  static SSLContext trusting(Path caPem) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    try (InputStream in = Files.newInputStream(caPem)) {
      int i = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        ks.setCertificateEntry("ca-" + i++, c);
      }
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  /** An IoT Hub service SAS token: sig = HMAC-SHA256(key, urlencode(host) + "\n" + expiry). */
  static String token(Options o, Instant expiry) {
    try {
      String sr = URLEncoder.encode(o.hostName().toLowerCase(Locale.ROOT), StandardCharsets.UTF_8);
      long se = expiry.getEpochSecond();
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(Base64.getDecoder().decode(o.key()), "HmacSHA256"));
      String sig = Base64.getEncoder().encodeToString(mac.doFinal((sr + "\n" + se).getBytes(StandardCharsets.UTF_8)));
      return "SharedAccessSignature sr=" + sr + "&sig=" + URLEncoder.encode(sig, StandardCharsets.UTF_8)
          + "&se=" + se + "&skn=" + o.keyName();
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static Options parse(String[] args) {
    Map<String, String> a = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--setup")) {
        a.put("--setup", "true");
      } else if (i + 1 < args.length) {
        a.put(args[i], args[++i]);
      } else {
        throw new IllegalArgumentException("option " + args[i] + " needs a value");
      }
    }
    Map<String, String> cs = new LinkedHashMap<>();
    for (String part : a.getOrDefault("--connection-string", "").split(";")) {
      int eq = part.indexOf('=');
      if (eq > 0) cs.put(part.substring(0, eq).strip(), part.substring(eq + 1).strip());
    }
    if (!cs.containsKey("SharedAccessKey") || !cs.containsKey("SharedAccessKeyName") || !cs.containsKey("HostName")) {
      throw new IllegalArgumentException("--connection-string 'HostName=..;SharedAccessKeyName=..;SharedAccessKey=..' is required");
    }
    String mode = a.getOrDefault("--mode", "get");
    if (!mode.equals("get") && !mode.equals("patch")) {
      throw new IllegalArgumentException("--mode get|patch");
    }
    return new Options(
        URI.create(a.getOrDefault("--url", "https://" + cs.get("HostName") + ":8443").replaceAll("/+$", "")),
        Path.of(a.getOrDefault("--ca", "data/tls/ca.pem")),
        cs.get("HostName"), cs.get("SharedAccessKeyName"), cs.get("SharedAccessKey"),
        Integer.parseInt(a.getOrDefault("--twins", "10000")),
        a.containsKey("--setup"),
        mode,
        Integer.parseInt(a.getOrDefault("--concurrency", "100")),
        duration(a.getOrDefault("--warmup", "15s")),
        duration(a.getOrDefault("--duration", "30s")),
        a.getOrDefault("--prefix", "bench-"));
  }

  private static Duration duration(String s) {
    return s.endsWith("ms") ? Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)))
        : Duration.ofSeconds(Long.parseLong(s.replaceAll("s$", "")));
  }
}
