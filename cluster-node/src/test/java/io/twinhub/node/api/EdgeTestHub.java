package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.node.NodeSettings;
import io.twinhub.node.TestNodes;
import io.twinhub.node.TwinhubNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The hub node of the IoT Edge ITs ({@link EdgeRuntimeIT}, {@link EdgeGatewayIT},
 * {@link EdgeOfflineIT}): one for all of them (host name {@code 127.0.0.1}, a journal keyspace of
 * its own) instead of a node start and stop each. Each IT has its own edge device, and everything
 * the ITs read (module twins, the {@code deviceMessages} stream) is filtered by it, so they share
 * the node as they would share a real hub. An IT takes it with {@link #acquire()} and gives it
 * back with {@link #release()}; the hub stops {@link #IDLE} after the last release unless another
 * edge IT takes it first (failsafe runs them one after the other: runOrder alphabetical), and
 * when the JVM exits. An IT that stops the hub for an outage starts it again with
 * {@link #restart()}; {@link #acquire()} starts it again if an IT failed before that.
 */
final class EdgeTestHub {
  static final ObjectMapper JSON = new ObjectMapper();
  /** How long the hub waits, unused, for the next edge IT. */
  static final Duration IDLE = Duration.ofSeconds(20);

  private static EdgeTestHub shared;
  private static final ScheduledExecutorService IDLE_STOPPER = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "edge-test-hub-idle-stop");
    t.setDaemon(true);
    return t;
  });
  private static ScheduledFuture<?> idleStop;

  final NodeSettings settings;
  final ApiClient api;
  private volatile TwinhubNode node;

  private EdgeTestHub(NodeSettings settings) throws Exception {
    this.settings = settings;
    this.node = TwinhubNode.start(settings);
    this.api = new ApiClient("https://127.0.0.1:" + node.api().httpsPort(), node.api().tls().caPemPath(), node.policies(),
        settings.hostName());
  }

  /** The running shared hub, for one IT class (give it back in its @AfterAll). */
  static synchronized EdgeTestHub acquire() throws Exception {
    if (idleStop != null) {
      idleStop.cancel(false);
      idleStop = null;
    }
    if (shared == null) {
      Map<String, Object> o = new java.util.HashMap<>(TestNodes.ownKeyspace("edge_it"));
      o.put("twinhub.host-name", "127.0.0.1");
      Path dir = Files.createTempDirectory("twinhub-edge-hub");
      shared = new EdgeTestHub(TestNodes.settings(dir, o));
      EdgeTestHub hub = shared;
      Runtime.getRuntime().addShutdownHook(new Thread(hub::stopQuietly, "edge-test-hub-stop"));
    } else {
      shared.restart();
    }
    return shared;
  }

  /** The IT is done with the hub: it stops after {@link #IDLE} unless another edge IT takes it. */
  static synchronized void release() {
    if (shared == null) return;
    EdgeTestHub hub = shared;
    if (idleStop != null) idleStop.cancel(false);
    idleStop = IDLE_STOPPER.schedule(() -> {
      synchronized (EdgeTestHub.class) {
        if (idleStop == null || idleStop.isCancelled()) return;
        idleStop = null;
        hub.stopQuietly();
      }
    }, IDLE.toMillis(), TimeUnit.MILLISECONDS);
  }

  TwinhubNode node() {
    return node;
  }

  /** Stops the hub (an outage); {@link #restart()} brings it back on the same ports and data. */
  synchronized void stop() throws Exception {
    TwinhubNode n = node;
    node = null;
    if (n != null) n.stop().toCompletableFuture().get(90, TimeUnit.SECONDS);
  }

  synchronized void restart() throws Exception {
    if (node == null) node = TwinhubNode.start(settings);
  }

  private void stopQuietly() {
    try {
      stop();
    } catch (Exception e) {
      // the JVM is exiting
    }
  }

  /** A new IoT Edge device; its primary key. */
  String createEdgeDevice(String deviceId) throws Exception {
    ApiClient.Reply created = api.put("/devices/" + deviceId, "{\"deviceId\":\"" + deviceId + "\",\"capabilities\":{\"iotEdge\":true}}");
    assertEquals(200, created.status(), created.text());
    return created.json().at("/authentication/symmetricKey/primaryKey").asText();
  }

  /**
   * A deployment's {@code modulesContent}: IoT Edge's system modules, {@code modules} for
   * $edgeAgent, {@code routes} (name to route) for $edgeHub, store and forward for two hours.
   */
  static ObjectNode deployment(ObjectNode modules, Map<String, String> routes) throws IOException {
    ObjectNode content = (ObjectNode) JSON.readTree("""
        {"$edgeAgent": {"properties.desired": {
            "schemaVersion": "1.1",
            "runtime": {"type": "docker", "settings": {"minDockerVersion": "v1.25"}},
            "systemModules": {
              "edgeAgent": {"type": "docker", "settings": {"image": "mcr.microsoft.com/azureiotedge-agent:1.5"}},
              "edgeHub": {"type": "docker", "status": "running", "restartPolicy": "always",
                          "settings": {"image": "mcr.microsoft.com/azureiotedge-hub:1.5"}}}}},
         "$edgeHub": {"properties.desired": {
            "schemaVersion": "1.1",
            "routes": {},
            "storeAndForwardConfiguration": {"timeToLiveSecs": 7200}}}}""");
    ((ObjectNode) content.at("/$edgeAgent/properties.desired")).set("modules", modules);
    ObjectNode r = (ObjectNode) content.at("/$edgeHub/properties.desired/routes");
    new java.util.TreeMap<>(routes).forEach(r::put);
    return content;
  }

  /** Applies a deployment ({@code modulesContent}) to {@code deviceId}. */
  void apply(String deviceId, ObjectNode modulesContent) throws Exception {
    ObjectNode body = JSON.createObjectNode();
    body.set("modulesContent", modulesContent);
    ApiClient.Reply r = api.post("/devices/" + deviceId + "/applyConfigurationContent", body.toString());
    assertTrue(r.status() == 200 || r.status() == 204, r.toString());
  }

  /** The reported properties of a module twin; empty while the hub does not answer. */
  JsonNode moduleReported(String deviceId, String module) {
    try {
      ApiClient.Reply r = api.get("/twins/" + deviceId + "/modules/" + module);
      return r.status() == 200 ? r.json().at("/properties/reported") : JSON.createObjectNode();
    } catch (Exception e) {
      return JSON.createObjectNode();
    }
  }

  /** $edgeAgent's reported properties once they meet {@code condition} (polled, also while the hub restarts). */
  JsonNode awaitAgentReported(String deviceId, Duration timeout, Predicate<JsonNode> condition, String what) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    JsonNode last = null;
    while (System.nanoTime() < deadline) {
      try {
        ApiClient.Reply r = api.get("/twins/" + deviceId + "/modules/$edgeAgent");
        if (r.status() == 200) {
          last = r.json().at("/properties/reported");
          if (condition.test(last)) return last;
        }
      } catch (IOException e) {
        // the hub is starting
      }
      Thread.sleep(500);
    }
    throw new AssertionError("$edgeAgent never reported " + what + "; last: " + last);
  }

  /** The hub's {@code deviceMessages} stream of {@code deviceId} up to now, oldest first. */
  List<JsonNode> deviceMessages(String deviceId) throws Exception {
    ApiClient.Reply r = api.send("GET", "/streams/deviceMessages?from=earliest&to=now&deviceId=" + deviceId, null,
        Map.of("Accept", "application/x-ndjson"));
    List<JsonNode> out = new ArrayList<>();
    if (r.status() == 200) for (String line : r.text().split("\n")) if (!line.isBlank()) out.add(JSON.readTree(line));
    return out;
  }

  static void awaitTrue(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) return;
      Thread.sleep(250);
    }
    fail(what);
  }

  /** An @argfile with this JVM's classpath (process modules' command lines; desired strings are ≤ 4 KB). */
  static Path classpathArgs(Path dir) {
    Path args = dir.resolve("classpath.args");
    try {
      if (!Files.exists(args)) Files.writeString(args, "-cp \"" + System.getProperty("java.class.path") + "\"\n");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return args;
  }

  /** 127.0.0.x (x random) whose port 8883 is free: edgeHub's own loopback address for the SDK's fixed port. */
  static String freeLoopbackFor8883() throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      String address = "127.0.0." + ThreadLocalRandom.current().nextInt(10, 250);
      try (ServerSocket s = new ServerSocket(8883, 1, InetAddress.getByName(address))) {
        return address;
      } catch (IOException taken) {
        // another one
      }
    }
    throw new IOException("no loopback address with port 8883 free");
  }
}
