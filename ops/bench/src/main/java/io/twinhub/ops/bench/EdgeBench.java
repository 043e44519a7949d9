package io.twinhub.ops.bench;

import akka.util.ByteString;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.edge.mqtt.PacketSocket;
import io.twinhub.mqtt.codec.MqttPacket;
import io.twinhub.mqtt.codec.MqttPacket.*;
import io.twinhub.mqtt.tls.TlsMaterial;
import io.twinhub.twin.auth.SasToken;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * {@code edge}: the IoT Edge runtime ({@code twinhub edge run} as its own process, with the JVM
 * flags of the launcher) against the run's hub node. Three rows:
 * <ul>
 *   <li>{@code edge-routing}: module a's output routed to module b's input through edgeHub
 *   (both raw MQTT/TLS clients with their module keys, QoS 1, {@code --concurrency} publishes in
 *   flight); rate = messages b received per second, latency = a's send → b's receipt;</li>
 *   <li>{@code edge-store}: the hub unreachable (the runtime restarted with a closed MQTT port),
 *   a's messages for {@code $upstream} acknowledged by edgeHub, i.e. on disk;</li>
 *   <li>{@code edge-forward}: the runtime restarted with the hub reachable: the stored backlog
 *   forwarded (time until the store's checkpoint reaches its end).</li>
 * </ul>
 * The notes give the runtime's RSS idle and under load, and its heap after a full GC.
 */
final class EdgeBench {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The launcher's (./twinhub) flags for the {@code edge} command. */
  static final List<String> EDGE_JVM = List.of("-Xms16m", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
      "-XX:ReservedCodeCacheSize=32m", "-XX:MaxMetaspaceSize=96m", "-Xss512k");

  private EdgeBench() {}

  static List<BenchResult> run(BenchOptions o, BenchTarget target, RestClient client) throws Exception {
    String device = "bench-edge-" + Long.toString(System.currentTimeMillis(), 36);
    RestClient.Answer created = client.sendAndWait(0, "PUT", "/devices/" + device + "?" + RestClient.API_VERSION,
        "{\"deviceId\":\"" + device + "\",\"capabilities\":{\"iotEdge\":true}}");
    if (!created.ok()) throw new IllegalStateException("PUT device answered " + created.status() + " " + created.text());
    String key = JSON.readTree(created.text()).at("/authentication/symmetricKey/primaryKey").asText();
    String host = target.connectionStringPart("HostName");
    BenchTarget.Node node = target.nodes().get(0);
    Path data = target.workDir().resolve("edge-" + device);
    int edgePort = BenchNodes.freePort();
    int closedPort = BenchNodes.freePort();
    List<String> base = new ArrayList<>();
    base.add(ProcessHandle.current().info().command().orElse("java"));
    base.addAll(EDGE_JVM);
    base.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.twinhub.node.cli.TwinhubCli", "edge", "run",
        "--connection-string", "HostName=" + host + ";DeviceId=" + device + ";SharedAccessKey=" + key,
        "--data-dir", data.toString(), "--ca", target.caPem().toString(),
        "--hub-https-port", String.valueOf(node.restUrl().getPort()), "--gateway-host-name", "127.0.0.1",
        "--edgehub-port", String.valueOf(edgePort)));
    int count = o.count() > 0 ? (int) o.count() : 50_000;
    int window = (int) Math.max(1, Math.min(o.concurrency(), 2000));
    List<BenchResult> rows = new ArrayList<>();

    // 1. Hub reachable: the deployment (two placeholder process modules give a and b identities and routes).
    Process edge = start(base, node.mqttPort(), data);
    try {
      String deployment = """
          {"modulesContent": {
            "$edgeAgent": {"properties.desired": {"schemaVersion": "1.1", "runtime": {"type": "docker", "settings": {}},
              "systemModules": {"edgeAgent": {"type": "docker", "settings": {"image": "x"}},
                                "edgeHub": {"type": "docker", "status": "running", "restartPolicy": "always", "settings": {"image": "x"}}},
              "modules": {"a": {"type": "process", "status": "running", "restartPolicy": "never", "settings": {"command": "sleep 86400"}},
                          "b": {"type": "process", "status": "running", "restartPolicy": "never", "settings": {"command": "sleep 86400"}}}}},
            "$edgeHub": {"properties.desired": {"schemaVersion": "1.1",
              "routes": {"ab": "FROM /messages/modules/a/outputs/out1 INTO BrokeredEndpoint(\\"/modules/b/inputs/in1\\")",
                         "up": "FROM /messages/modules/a/outputs/out2 INTO $upstream"},
              "storeAndForwardConfiguration": {"timeToLiveSecs": 86400}}}}}""";
      RestClient.Answer applied = client.sendAndWait(0, "POST", "/devices/" + device + "/applyConfigurationContent?"
          + RestClient.API_VERSION, deployment);
      if (!applied.ok()) throw new IllegalStateException("applyConfigurationContent answered " + applied.status() + " " + applied.text());
      String[] keys = new String[2];
      await(() -> {
        try {
          for (int i = 0; i < 2; i++) {
            RestClient.Answer m = client.sendAndWait(0, "GET", "/devices/" + device + "/modules/" + "ab".charAt(i) + "?"
                + RestClient.API_VERSION, null);
            if (!m.ok()) return false;
            keys[i] = JSON.readTree(m.text()).at("/authentication/symmetricKey/primaryKey").asText();
          }
          return Files.exists(data.resolve("store/edgehub-desired.json"));
        } catch (Exception e) {
          return false;
        }
      }, Duration.ofMinutes(3), "the deployment applied (module identities, routes)");
      SSLContext edgeTls = TlsMaterial.clientSslContext(data.resolve("tls/ca.pem"));
      Thread.sleep(5000);
      long idleRss = rssKb(edge.pid());
      long idleHeap = heapAfterGc(edge.pid());

      Recorder latency = new Recorder(3_600_000_000L, 3);
      AtomicLong received = new AtomicLong();
      try (Client b = Client.connect(edgeTls, edgePort, host, device, "b", keys[1], (topic, payload) -> {
             long sent = Long.parseLong(payload.utf8String());
             latency.recordValue(Math.max(0, Math.min((System.nanoTime() - sent) / 1000, 3_600_000_000L)));
             received.incrementAndGet();
           });
           Client a = Client.connect(edgeTls, edgePort, host, device, "a", keys[0], null)) {
        b.subscribe("devices/" + device + "/modules/b/inputs/#");
        String out1 = "devices/" + device + "/modules/a/messages/events/%24.on=out1";
        int warm = Math.min(5000, count);
        a.sendAll(out1, warm, window);
        await(() -> received.get() >= warm, Duration.ofMinutes(2), "warm-up messages at b");
        latency.reset();
        received.set(0);
        NodeProbe probe = new NodeProbe(List.of(edge.pid()));
        NodeProbe.Mark mark = probe.mark();
        long peakRss = 0;
        long t0 = System.nanoTime();
        Thread sender = new Thread(() -> a.sendAll(out1, count, window), "edge-bench-a");
        sender.start();
        while (received.get() < count && System.nanoTime() - t0 < Duration.ofMinutes(10).toNanos()) {
          peakRss = Math.max(peakRss, rssKb(edge.pid()));
          Thread.sleep(100);
        }
        long elapsed = System.nanoTime() - t0;
        double cpu = probe.cpuPercentSince(mark);
        sender.join(60_000);
        Histogram h = latency.getIntervalHistogram();
        rows.add(BenchResult.of("edge-routing", count, count - Math.min(count, received.get()), Duration.ofNanos(elapsed), h)
            .withNode(cpu, heapAfterGc(edge.pid()))
            .withNote(String.format(Locale.ROOT, "module a → route → module b's input through edgeHub, QoS 1, %d in flight, "
                    + "each message forced to disk (group commit) before its PUBACK; runtime RSS %d MB idle (heap %d MB after GC), "
                    + "%d MB peak under load; JVM %s; load average %s (shared box)",
                window, idleRss / 1024, idleHeap / (1 << 20), peakRss / 1024, String.join(" ", EDGE_JVM), BenchRun.loadAverage())));
      }
      stop(edge);

      // 2. Hub unreachable: a's messages for $upstream are stored.
      edge = start(base, closedPort, data);
      awaitPort(edgePort);
      int backlog = Math.min(count, 20_000);
      try (Client a = Client.connect(edgeTls, edgePort, host, device, "a", keys[0], null)) {
        long t0 = System.nanoTime();
        a.sendAll("devices/" + device + "/modules/a/messages/events/%24.on=out2", backlog, window);
        long elapsed = System.nanoTime() - t0;
        rows.add(BenchResult.of("edge-store", backlog, 0, Duration.ofNanos(elapsed), new Histogram(3))
            .withNote(String.format(Locale.ROOT, "hub unreachable: messages for $upstream acknowledged by edgeHub (on disk), "
                + "%d in flight; RSS %d MB; load average %s (shared box)", window, rssKb(edge.pid()) / 1024, BenchRun.loadAverage())));
      }
      stop(edge);

      // 3. Hub reachable again: the backlog forwarded.
      long t0 = System.nanoTime();
      edge = start(base, node.mqttPort(), data);
      Path log = data.resolve("store/upstream.log");
      Path offset = data.resolve("store/upstream.offset");
      long peak = 0;
      while (!drained(log, offset) && System.nanoTime() - t0 < Duration.ofMinutes(10).toNanos()) {
        peak = Math.max(peak, rssKb(edge.pid()));
        Thread.sleep(100);
      }
      long elapsed = System.nanoTime() - t0;
      rows.add(BenchResult.of("edge-forward", backlog, drained(log, offset) ? 0 : backlog, Duration.ofNanos(elapsed), new Histogram(3))
          .withNote(String.format(Locale.ROOT, "%,d stored messages forwarded to the hub, one at a time (each waits for "
              + "the hub's PUBACK), timed from the runtime's start (JVM start included); RSS peak %d MB; load average %s (shared box)",
              backlog, peak / 1024, BenchRun.loadAverage())));
    } finally {
      stop(edge);
    }
    return rows;
  }

  private static Process start(List<String> base, int hubMqttPort, Path data) throws IOException {
    List<String> cmd = new ArrayList<>(base);
    cmd.addAll(List.of("--hub-mqtt-port", String.valueOf(hubMqttPort)));
    Files.createDirectories(data);
    return new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(data.resolve("runtime.out").toFile())).start();
  }

  private static void stop(Process p) throws InterruptedException {
    if (p == null || !p.isAlive()) return;
    p.destroy();
    if (!p.waitFor(60, TimeUnit.SECONDS)) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
  }

  /** Whether the checkpoint of the $upstream store reached the end of its log. */
  static boolean drained(Path log, Path offset) {
    try (FileChannel c = FileChannel.open(offset, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate(8);
      long acknowledged = c.read(b, 0) == 8 ? b.flip().getLong() : 0;
      long size = Files.size(log);
      return size == 0 || acknowledged >= size;
    } catch (IOException e) {
      return false;
    }
  }

  static long rssKb(long pid) {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (l.startsWith("VmRSS:")) return Long.parseLong(l.replaceAll("[^0-9]", ""));
      }
    } catch (IOException | NumberFormatException e) {
      // gone, or not Linux
    }
    return 0;
  }

  /** Heap used after a full GC (serial collector: young + tenured), bytes; -1 if jcmd cannot tell. */
  static long heapAfterGc(long pid) {
    if (JdkTools.run(Duration.ofSeconds(60), JdkTools.tool("jcmd"), Long.toString(pid), "GC.run") == null) return -1;
    String info = JdkTools.run(Duration.ofSeconds(60), JdkTools.tool("jcmd"), Long.toString(pid), "GC.heap_info");
    if (info == null) return -1;
    long used = 0;
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?:generation|heap)\\s+total\\s+\\d+K,\\s+used\\s+(\\d+)K").matcher(info);
    while (m.find()) used += Long.parseLong(m.group(1)) * 1024;
    return used == 0 ? -1 : used;
  }

  static void awaitPort(int port) throws InterruptedException {
    await(() -> {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
        return true;
      } catch (IOException e) {
        return false;
      }
    }, Duration.ofMinutes(2), "edgeHub listening on " + port);
  }

  static void await(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new IllegalStateException("timed out waiting for " + what);
      Thread.sleep(200);
    }
  }

  /** A module's MQTT/TLS connection to edgeHub with its own key: QoS 1 publishes with a window, inputs acknowledged. */
  static final class Client implements AutoCloseable {
    interface OnPublish {
      void accept(String topic, ByteString payload);
    }

    private final PacketSocket ps;
    private final Semaphore window = new Semaphore(0);
    private final Thread reader;
    private volatile int ids;

    private Client(PacketSocket ps, OnPublish onPublish) {
      this.ps = ps;
      this.reader = new Thread(() -> {
        try {
          while (true) {
            MqttPacket p = ps.read();
            if (p instanceof PacketIdOnly ack && ack.type() == MqttPacket.PUBACK) window.release();
            else if (p instanceof SubAck) window.release();
            else if (p instanceof Publish pub) {
              if (pub.qos() == 1) ps.write(PacketIdOnly.pubAck(pub.packetId()));
              if (onPublish != null) onPublish.accept(pub.topic(), pub.payload());
            }
          }
        } catch (IOException | RuntimeException e) {
          // closed
        }
      }, "edge-bench-reader");
      reader.setDaemon(true);
    }

    static Client connect(SSLContext tls, int port, String host, String device, String module, String key, OnPublish onPublish)
        throws IOException {
      SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket();
      s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
      s.setTcpNoDelay(true);
      PacketSocket ps = new PacketSocket(s, 1 << 20);
      String token = SasToken.signForDevice(host, device, module, key, System.currentTimeMillis() / 1000 + 36_000);
      ps.write(new Connect("MQTT", 4, device + "/" + module, true, 120, null,
          host + "/" + device + "/" + module + "/?api-version=2021-04-12", ByteString.fromString(token)));
      MqttPacket answer = ps.read();
      if (!(answer instanceof ConnAck c) || c.returnCode() != ConnectReturnCode.ACCEPTED) {
        ps.close();
        throw new IOException("edgeHub refused " + module + ": " + answer);
      }
      Client client = new Client(ps, onPublish);
      client.reader.start();
      return client;
    }

    void subscribe(String filter) throws IOException, InterruptedException {
      ps.write(new Subscribe(1, List.of(new TopicFilter(filter, 1))));
      if (!window.tryAcquire(30, TimeUnit.SECONDS)) throw new IOException("no SUBACK");
    }

    /** {@code n} QoS 1 publishes (body: System.nanoTime() at sending), {@code inFlight} unacknowledged at most; returns when all are acknowledged. */
    void sendAll(String topic, int n, int inFlight) {
      window.drainPermits();
      window.release(inFlight);
      try {
        for (int i = 0; i < n; i++) {
          if (!window.tryAcquire(60, TimeUnit.SECONDS)) throw new IllegalStateException("no PUBACK for 60 s");
          ids = ids >= 65535 ? 1 : ids + 1;
          ps.write(new Publish(false, 1, false, topic, ids, ByteString.fromString(Long.toString(System.nanoTime()))));
        }
        if (!window.tryAcquire(inFlight, 120, TimeUnit.SECONDS)) throw new IllegalStateException("not all acknowledged");
      } catch (IOException | InterruptedException e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public void close() {
      ps.close();
    }
  }
}
