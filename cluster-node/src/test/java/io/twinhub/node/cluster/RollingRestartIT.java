package io.twinhub.node.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.twin.auth.SasToken;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLContext;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Rolling restart of all three nodes under write load, as an orchestrator does it: SIGTERM one
 * node (CoordinatedShutdown: it leaves the cluster and hands its shards over), wait until it
 * is gone from the membership, start it again, wait until it is ready, next node. Clients retry
 * as the SDKs do (connect failure, 503, 504; bounded, with backoff; behind a load balancer, so
 * a retry may land on another node). Afterwards: no write failed after its retries, every
 * acknowledged write is there, versions are contiguous; an MQTT device whose node was
 * restarted reconnects and resyncs (twin GET) the desired changes made while it was away,
 * then gets the next desired change pushed. On {@link SharedCluster}, after ClusterFailoverIT (which
 * leaves it whole) and before FunctionsClusterIT: it leaves it whole too.
 */
@Order(2) // SharedCluster's users, first and in this order (junit-platform.properties)
class RollingRestartIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final int TWINS = 12;
  static final int WRITERS = 3;
  /**
   * SDK-like retry budget: attempts and the first backoff (doubling, at most 4 s; the device
   * SDK's ExponentialBackoffWithJitter goes up to 10 s and retries without a count limit).
   */
  static final int ATTEMPTS = 8;
  static final long FIRST_BACKOFF_MS = 250;
  /** Each writer's pause between writes (about 3 × 20 writes per second on a quiet box). */
  static final long WRITE_PAUSE_MS = 50;
  /** Writes acknowledged before the first restart and after the last one. */
  static final int PHASE_WRITES = 30;

  private final Map<String, Map<Long, String>> acknowledged = new ConcurrentHashMap<>();
  private final Queue<String> failed = new ConcurrentLinkedQueue<>();
  private final AtomicInteger retried = new AtomicInteger();
  private final AtomicBoolean stop = new AtomicBoolean();
  /** Writes acknowledged so far, by all writers. */
  private final AtomicInteger acks = new AtomicInteger();

  @Test
  void rollingRestartUnderLoadFailsNoRequestAndLosesNoWrite() throws Exception {
    String run = UUID.randomUUID().toString().substring(0, 8);
    // The shared cluster, whole again (acquire starts the node the previous class killed): this
    // class is its last user, and leaves it whole too.
    NodeProcesses cluster = SharedCluster.acquire();
    List<String> twins = new ArrayList<>();
    for (int d = 0; d < TWINS; d++) twins.add("rr-" + run + "-" + d);
    String deviceId = "rr-" + run + "-mqtt";
    for (String id : concat(twins, deviceId)) {
      // Retried like everything a client does here; a retry of a create that did succeed gets 409.
      var r = withRetries(cluster, "PUT", "/devices/" + id, "{\"deviceId\":\"" + id + "\"}", 0);
      assertTrue(r != null && (r.statusCode() == 200 || r.statusCode() == 409), () -> id + ": " + (r == null ? "no answer" : r.body()));
    }
    String deviceKey = JSON.readTree(withRetries(cluster, "GET", "/devices/" + deviceId, null, 0)
        .body()).path("authentication").path("symmetricKey").path("primaryKey").asText();

    // The device lives on node 3, the first one restarted.
    NodeProcesses.Node deviceNode = cluster.nodes.get(2);
    Device device = new Device(deviceId, deviceKey, deviceNode.mqttPort(), cluster.tls);
    device.connect();
    long v0 = patchDesired(cluster, deviceId, "{\"phase\":\"before\"}");
    device.awaitDesired(v0);

    List<Thread> writers = new ArrayList<>();
    for (int w = 0; w < WRITERS; w++) writers.add(writer(cluster, twins, w));
    writers.forEach(Thread::start);
    awaitAcknowledged(PHASE_WRITES, "before the first restart");

    long lastWhileAway = -1;
    List<Integer> ackedPerRestart = new ArrayList<>();
    List<String> steps = new ArrayList<>(); // where the time goes, printed, never asserted
    for (int i = cluster.nodes.size() - 1; i >= 0; i--) {
      NodeProcesses.Node n = cluster.nodes.get(i);
      NodeProcesses.Node survivor = cluster.nodes.get(i == 0 ? 1 : 0);
      int[] seen = cluster.nodes.stream().mapToInt(x -> x.output().size()).toArray();
      int ackedBefore = acks.get();
      long t0 = System.nanoTime();
      cluster.terminate(n, Duration.ofSeconds(60));
      long exited = System.nanoTime();
      List<String> shutdownLog = List.copyOf(n.output());
      assertTrue(shutdownLog.stream().anyMatch(l -> l.contains("twinhub: stopped")),
          "node " + n.index() + " stopped cleanly after SIGTERM:\n" + tail(shutdownLog));
      // Left, not crashed: the others remove it without ever finding it unreachable (a crash
      // would show as UNREACHABLE, then a Split Brain Resolver decision after stable-after).
      cluster.awaitMembers(survivor, 2);
      if (n == deviceNode) {
        assertTrue(device.lost.await(30, TimeUnit.SECONDS), "the device saw its connection drop");
        for (int k = 0; k < 3; k++) lastWhileAway = patchDesired(cluster, deviceId, "{\"phase\":\"away\",\"k\":" + k + "}");
      }
      for (NodeProcesses.Node other : cluster.nodes) {
        if (other == n) continue;
        List<String> since = List.copyOf(other.output()).subList(seen[other.index() - 1], other.output().size());
        assertTrue(since.stream().noneMatch(l -> l.contains(":" + n.remotingPort()) && (l.contains("UNREACHABLE") || l.contains("SBR"))),
            "node " + other.index() + " never saw node " + n.index() + " unreachable: it left gracefully\n" + tail(since)
                + "\n--- node " + n.index() + " after SIGTERM:\n" + tail(shutdownLog));
      }
      long restarted = System.nanoTime();
      cluster.start(n);
      cluster.awaitReady(n);
      long ready = System.nanoTime();
      cluster.awaitMembers(survivor, 3);
      steps.add(String.format("node %d: exit %.1f s, away %.1f s, start to ready %.1f s, to member %.1f s", n.index(),
          seconds(exited - t0), seconds(restarted - exited), seconds(ready - restarted), seconds(System.nanoTime() - ready)));
      if (n == deviceNode) {
        // The SDK reconnects to the same host name, then GETs the twin to resync.
        device.connect();
        JsonNode twin = device.getTwin();
        assertEquals(lastWhileAway, twin.path("desired").path("$version").asLong(), "resync sees every change made while away: " + twin);
        assertEquals(2, twin.path("desired").path("k").asInt());
        long next = patchDesired(cluster, deviceId, "{\"phase\":\"after\"}");
        device.awaitDesired(next); // pushed again after the reconnect
      }
      ackedPerRestart.add(acks.get() - ackedBefore);
    }
    awaitAcknowledged(acks.get() + PHASE_WRITES, "after the last restart");
    stop.set(true);
    for (Thread w : writers) w.join(60_000);
    device.close();

    assertEquals(List.of(), List.copyOf(failed), "no write failed after the SDK's retries");
    // Under load: writes were acknowledged while each node was away and starting again.
    assertTrue(ackedPerRestart.stream().allMatch(a -> a > 0), "writes acknowledged during every restart: " + ackedPerRestart);
    long acked = 0;
    for (String id : twins) {
      JsonNode twin = JSON.readTree(cluster.send(cluster.nodes.get(1), "GET", "/twins/" + id, null).body());
      long finalVersion = twin.path("properties").path("desired").path("$version").asLong();
      Map<Long, String> versions = acknowledged.getOrDefault(id, Map.of());
      acked += versions.size();
      for (long v : versions.keySet()) {
        assertTrue(v <= finalVersion, id + ": acknowledged version " + v + " lost, twin is at " + finalVersion);
      }
      // $version grows by one per applied patch: applied = acknowledged + retried ones whose answer was lost.
      assertTrue(finalVersion - 1 >= versions.size(), id + ": fewer patches applied than acknowledged");
      assertEquals(twin.path("version").asLong(), finalVersion, id + ": twin version follows desired $version");
    }
    System.out.printf("RollingRestartIT: %d acknowledged writes (%s during the restarts of nodes 3, 2, 1), %d retries, 0 failed%n",
        acked, ackedPerRestart, retried.get());
    System.out.println("RollingRestartIT: " + String.join("; ", steps));
  }

  private static double seconds(long nanos) {
    return nanos / 1e9;
  }

  /** Until {@code count} writes in all were acknowledged (writers that fail are reported by {@link #failed}). */
  private void awaitAcknowledged(int count, String when) throws InterruptedException {
    assertTrue(NodeProcesses.eventually(Duration.ofSeconds(120), () -> acks.get() >= count || !failed.isEmpty()),
        "writes acknowledged " + when + ": " + acks.get() + " of " + count);
    assertEquals(List.of(), List.copyOf(failed), "no write failed after the SDK's retries (" + when + ")");
  }

  /**
   * A writer behind a load balancer: each attempt goes to the next node, SDK-style retries; a
   * short pause between writes keeps the load steady without starving the restarting node of CPU.
   */
  private Thread writer(NodeProcesses cluster, List<String> twins, int w) {
    return new Thread(() -> {
      Random random = new Random(w);
      for (int n = 0; !stop.get(); n++) {
        String id = twins.get(random.nextInt(twins.size()));
        String op = w + "-" + n;
        try {
          HttpResponse<String> r = withRetries(cluster, "PATCH", "/twins/" + id,
              "{\"properties\":{\"desired\":{\"op\":\"" + op + "\"}}}", w + n);
          if (r != null && r.statusCode() == 200) {
            long v = JSON.readTree(r.body()).path("properties").path("desired").path("$version").asLong();
            if (acknowledged.computeIfAbsent(id, k -> new ConcurrentHashMap<>()).putIfAbsent(v, op) != null) {
              failed.add(id + ": version " + v + " acknowledged twice");
            }
            acks.incrementAndGet();
          } else {
            failed.add(op + " on " + id + ": " + (r == null ? "no answer after " + ATTEMPTS + " attempts" : r.statusCode() + " " + r.body()));
          }
          Thread.sleep(WRITE_PAUSE_MS);
        } catch (InterruptedException e) {
          return;
        } catch (Exception e) {
          failed.add(op + " on " + id + ": " + e);
        }
      }
    }, "writer-" + w);
  }

  /**
   * Retries on what the SDK retries (no connection, connection broken, 503, 504) with doubling
   * backoff; returns the last answer, or null if no attempt got one.
   */
  private HttpResponse<String> withRetries(NodeProcesses cluster, String method, String path, String body, int start)
      throws InterruptedException {
    HttpResponse<String> last = null;
    long backoff = FIRST_BACKOFF_MS;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (attempt > 0) {
        retried.incrementAndGet();
        Thread.sleep(backoff);
        backoff = Math.min(4000, backoff * 2);
      }
      NodeProcesses.Node node = cluster.nodes.get(Math.floorMod(start + attempt, cluster.nodes.size()));
      try {
        last = cluster.send(node, method, path, body);
        if (last.statusCode() != 503 && last.statusCode() != 504) return last;
      } catch (java.io.IOException e) {
        // refused, reset or timed out: the outcome is unknown, retry like the SDK
      }
    }
    return last;
  }

  private long patchDesired(NodeProcesses cluster, String deviceId, String desired) throws Exception {
    HttpResponse<String> r = withRetries(cluster, "PATCH", "/twins/" + deviceId,
        "{\"properties\":{\"desired\":" + desired + "}}", 0);
    assertNotNull(r, "desired patch answered");
    assertEquals(200, r.statusCode(), r.body());
    return JSON.readTree(r.body()).path("properties").path("desired").path("$version").asLong();
  }

  /** A device as the SDK drives Paho: IoT Hub topics, SAS password, twin GET to resync. */
  static final class Device implements AutoCloseable {
    final String id;
    final String key;
    final int port;
    final SSLContext tls;
    final BlockingQueue<JsonNode> twinResponses = new LinkedBlockingQueue<>();
    final BlockingQueue<Long> desiredVersions = new LinkedBlockingQueue<>();
    volatile java.util.concurrent.CountDownLatch lost = new java.util.concurrent.CountDownLatch(1);
    MqttClient client;
    int rid;

    Device(String id, String key, int port, SSLContext tls) {
      this.id = id;
      this.key = key;
      this.port = port;
      this.tls = tls;
    }

    /** Connects (retrying while the node comes up) and subscribes to desired changes and twin responses. */
    void connect() throws Exception {
      MqttConnectOptions o = new MqttConnectOptions();
      o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
      o.setCleanSession(true);
      o.setKeepAliveInterval(30);
      o.setUserName("127.0.0.1/" + id + "/?api-version=2020-09-30");
      o.setPassword(SasToken.signForDevice("127.0.0.1", id, null, key, Instant.now().getEpochSecond() + 3600).toCharArray());
      o.setSocketFactory(tls.getSocketFactory());
      o.setConnectionTimeout(15);
      if (client != null) {
        try {
          client.close(true);
        } catch (Exception ignored) {
          // the old connection is gone already
        }
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (true) {
        MqttClient c = new MqttClient("ssl://127.0.0.1:" + port, id, new MemoryPersistence());
        try {
          c.connect(o);
          client = c;
          break;
        } catch (org.eclipse.paho.client.mqttv3.MqttException e) {
          c.close();
          if (System.nanoTime() > deadline) throw e;
          Thread.sleep(500);
        }
      }
      lost = new java.util.concurrent.CountDownLatch(1);
      client.setCallback(new org.eclipse.paho.client.mqttv3.MqttCallback() {
        public void connectionLost(Throwable cause) {
          lost.countDown();
        }

        public void messageArrived(String topic, org.eclipse.paho.client.mqttv3.MqttMessage message) {}

        public void deliveryComplete(org.eclipse.paho.client.mqttv3.IMqttDeliveryToken token) {}
      });
      client.subscribe("$iothub/twin/res/#", 0, (t, m) -> twinResponses.add(JSON.readTree(m.getPayload())));
      client.subscribe("$iothub/twin/PATCH/properties/desired/#", 1,
          (t, m) -> desiredVersions.add(JSON.readTree(m.getPayload()).path("$version").asLong()));
    }

    JsonNode getTwin() throws Exception {
      twinResponses.clear();
      client.publish("$iothub/twin/GET/?$rid=" + (++rid), new byte[0], 0, false);
      JsonNode twin = twinResponses.poll(30, TimeUnit.SECONDS);
      assertNotNull(twin, "twin GET answered");
      return twin;
    }

    /** Waits for the desired change with {@code version} (earlier ones may arrive first). */
    void awaitDesired(long version) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      List<Long> seen = new ArrayList<>();
      while (System.nanoTime() < deadline) {
        Long v = desiredVersions.poll(1, TimeUnit.SECONDS);
        if (v == null) continue;
        if (v == version) return;
        seen.add(v);
      }
      fail("desired $version " + version + " was not pushed to the device (got " + seen + ")");
    }

    @Override
    public void close() throws Exception {
      if (client != null && client.isConnected()) client.disconnect();
      if (client != null) client.close();
    }
  }

  private static List<String> concat(List<String> a, String b) {
    List<String> all = new ArrayList<>(a);
    all.add(b);
    return all;
  }

  private static String tail(List<String> lines) {
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
  }
}
