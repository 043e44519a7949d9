package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.node.ClassKeyspaces;
import io.twinhub.node.NodeSettings;
import io.twinhub.node.TestNodes;
import io.twinhub.node.TwinhubNode;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

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
import java.util.Set;
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
 * the node as they would share a real hub. An IT takes it with {@link #acquire()}; it stops when a
 * test class that is not an edge IT starts ({@link StopForOtherTests}, before that class starts
 * nodes of its own: two nodes in one JVM would share the JVM-wide meters) and when the JVM exits.
 * Failsafe runs the edge ITs one after the other (runOrder alphabetical). An IT that stops the hub
 * for an outage starts it again with {@link #restart()}; {@link #acquire()} starts it again if an
 * IT failed before that.
 */
public final class EdgeTestHub {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Set<Class<?>> USERS = Set.of(EdgeRuntimeIT.class, EdgeGatewayIT.class, EdgeOfflineIT.class);

  private static EdgeTestHub shared;

  final NodeSettings settings;
  final ApiClient api;
  private volatile TwinhubNode node;

  private EdgeTestHub(NodeSettings settings) throws Exception {
    this.settings = settings;
    this.node = TwinhubNode.start(settings);
    this.api = new ApiClient("https://127.0.0.1:" + node.api().httpsPort(), node.api().tls().caPemPath(), node.policies(),
        settings.hostName());
  }

  /** The running shared hub. */
  static synchronized EdgeTestHub acquire() throws Exception {
    if (shared == null) {
      Map<String, Object> o = new java.util.HashMap<>(TestNodes.ownKeyspace("edge_it"));
      // Several classes use it: its keyspaces outlive each class and are dropped when it stops.
      ClassKeyspaces.keepAcrossClasses((String) o.get("akka.persistence.cassandra.journal.keyspace"));
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

  /** Stops the shared hub if it runs and drops its keyspaces (a later {@link #acquire()} starts a new one). */
  static synchronized void stopShared() {
    if (shared == null) return;
    shared.stopQuietly();
    ClassKeyspaces.drop(shared.settings.config().getString("akka.persistence.cassandra.journal.keyspace"));
    shared = null;
  }

  /**
   * Stops the edge ITs' hub before any other test class runs (a JUnit extension registered for
   * every class by {@code META-INF/services} and {@code junit-platform.properties}).
   */
  public static final class StopForOtherTests implements BeforeAllCallback {
    @Override
    public void beforeAll(ExtensionContext context) {
      if (!USERS.contains(context.getRequiredTestClass())) stopShared();
    }
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
