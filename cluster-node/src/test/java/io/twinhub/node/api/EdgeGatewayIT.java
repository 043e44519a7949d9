package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.microsoft.azure.sdk.iot.device.ClientOptions;
import com.microsoft.azure.sdk.iot.device.DeviceClient;
import com.microsoft.azure.sdk.iot.device.IotHubClientProtocol;
import com.microsoft.azure.sdk.iot.device.Message;
import com.microsoft.azure.sdk.iot.device.twin.DirectMethodResponse;
import com.microsoft.azure.sdk.iot.device.twin.Twin;
import com.microsoft.azure.sdk.iot.device.twin.TwinCollection;
import io.twinhub.edge.EdgeRuntime;
import io.twinhub.edge.EdgeSettings;
import io.twinhub.mqtt.tls.TlsMaterial;
import io.twinhub.node.edge.EchoRelayModule;
import io.twinhub.node.mqtt.SdkTwinCalls;
import io.twinhub.twin.auth.ConnectionString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The IoT Edge runtime as a gateway, against a real hub node (the edge ITs' shared {@link EdgeTestHub}), with the official SDKs unmodified:
 * <ul>
 *   <li>a leaf device (its identity's {@code deviceScope}/{@code parentScopes} name the edge
 *   device) connects with the Java device SDK through edgeHub ({@code GatewayHostName}); its
 *   telemetry goes {@code $upstream} by {@code FROM /messages/* INTO $upstream} and shows in the
 *   hub's stream as the leaf's; its twin is read and reported through edgeHub and desired
 *   changes reach it; a device that is not behind this edge device is refused;</li>
 *   <li>direct methods from the hub's REST API reach a Java module, a Node module and the leaf
 *   device through edgeHub and their answers come back;</li>
 *   <li>a module written with the Node SDK ({@code ModuleClient.fromEnvironment}), started by
 *   the deployment, sends an output that a route carries to the Java module's input, whose
 *   output goes upstream.</li>
 * </ul>
 * Both modules get no connection string: their SDKs find {@code IOTEDGE_WORKLOADURI} and
 * {@code IOTEDGE_AUTHSCHEME=sasToken} and sign their tokens through the workload API and trust
 * its trust bundle, as under IoT Edge; the agent's connection string is covered by
 * {@code EdgeRuntimeIT}.
 * edgeHub listens on 8883 (the SDKs hard-wire it) of a loopback address of its own.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EdgeGatewayIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String EDGE = "gw-leafy";
  static final String LEAF = "leaf-1";
  static final String STRANGER = "stranger-1";
  static final Path NODE_HARNESS = Path.of("src/test/node").toAbsolutePath();

  @TempDir
  static Path dir;
  static EdgeTestHub hub;
  static ApiClient api;
  static EdgeRuntime edge;
  static String edgeHubAddress;
  static String leafKey;
  static String edgeKey;
  static String strangerKey;

  @BeforeAll
  static void start() throws Exception {
    assertTrue(Files.isDirectory(NODE_HARNESS.resolve("node_modules")),
        "the Node SDKs are not installed in " + NODE_HARNESS + " (the build runs npm ci before the ITs; run mvn verify)");
    hub = EdgeTestHub.acquire();
    api = hub.api;
    ApiClient.Reply created = api.put("/devices/" + EDGE, "{\"deviceId\":\"" + EDGE + "\",\"capabilities\":{\"iotEdge\":true}}");
    assertEquals(200, created.status(), created.text());
    edgeKey = created.json().at("/authentication/symmetricKey/primaryKey").asText();
    String scope = created.json().path("deviceScope").asText();
    assertTrue(scope.startsWith("ms-azure-iot-edge://" + EDGE + "-"), "an IoT Edge device has its own scope: " + created.text());

    // The leaf names its gateway as IoT Hub's back ends do: deviceScope = the edge device's scope.
    ApiClient.Reply leaf = api.put("/devices/" + LEAF, "{\"deviceId\":\"" + LEAF + "\",\"deviceScope\":\"" + scope + "\"}");
    assertEquals(200, leaf.status(), leaf.text());
    assertEquals(scope, leaf.json().path("deviceScope").asText());
    assertEquals(scope, leaf.json().at("/parentScopes/0").asText(), "the gateway is the leaf's parent: " + leaf.text());
    leafKey = leaf.json().at("/authentication/symmetricKey/primaryKey").asText();
    ApiClient.Reply stranger = api.put("/devices/" + STRANGER, "{\"deviceId\":\"" + STRANGER + "\"}");
    assertEquals(200, stranger.status(), stranger.text());
    assertTrue(stranger.json().path("parentScopes").isMissingNode(), stranger.text());
    strangerKey = stranger.json().at("/authentication/symmetricKey/primaryKey").asText();
    ApiClient.Reply badScope = api.put("/devices/bad-scope", "{\"deviceId\":\"bad-scope\",\"deviceScope\":\"gw-leafy\"}");
    assertEquals(400, badScope.status(), "a scope that is not an IoT Edge device's: " + badScope.text());

    edgeHubAddress = EdgeTestHub.freeLoopbackFor8883();
    EdgeSettings settings = new EdgeSettings(
        ConnectionString.parse("HostName=127.0.0.1;DeviceId=" + EDGE + ";SharedAccessKey=" + edgeKey),
        hub.settings.mqttPort(), hub.node().api().httpsPort(), hub.node().api().tls().caPemPath(),
        dir.resolve("edge"), edgeHubAddress, edgeHubAddress, 8883, Duration.ofSeconds(1), 20);
    edge = EdgeRuntime.start(settings);
    apply(manifest());
    awaitAgentReported(r -> r.at("/lastDesiredStatus/code").asInt() == 200
        && "running".equals(r.at("/modules/echorelay/runtimeStatus").asText())
        && "running".equals(r.at("/modules/nodemod/runtimeStatus").asText()), "both modules running");
  }

  @AfterAll
  static void stop() throws Exception {
    if (edge != null) edge.close();
  }

  /** The leaf device's connection string through the gateway, as IoT Edge's docs give it. */
  static String gatewayConnectionString(String device, String key) {
    return "HostName=127.0.0.1;DeviceId=" + device + ";SharedAccessKey=" + key + ";GatewayHostName=" + edgeHubAddress;
  }

  static DeviceClient leafClient(String device, String key) throws Exception {
    return new DeviceClient(gatewayConnectionString(device, key), IotHubClientProtocol.MQTT,
        ClientOptions.builder().sslContext(TlsMaterial.clientSslContext(edge.edgeCaPem())).build());
  }

  @Test
  @Order(1)
  void aLeafDeviceSendsTelemetryAndUsesItsTwinThroughTheGatewayAndAStrangerIsRefused() throws Exception {
    DeviceClient leaf = leafClient(LEAF, leafKey);
    try {
      leaf.open(true);
      for (int n = 0; n < 3; n++) {
        Message m = new Message(("{\"leaf\":" + n + "}").getBytes(StandardCharsets.UTF_8));
        m.setContentType("application/json");
        m.setContentEncoding("utf-8");
        m.setProperty("n", String.valueOf(n));
        leaf.sendEvent(m);
      }
      List<JsonNode> upstream = awaitMessages(LEAF, 3);
      for (int n = 0; n < 3; n++) {
        JsonNode m = upstream.get(n);
        assertEquals(LEAF, m.at("/systemProperties/$iothub-connection-device-id").asText(), m.toString());
        assertTrue(m.at("/systemProperties/$iothub-connection-module-id").isMissingNode()
            || m.at("/systemProperties/$iothub-connection-module-id").isNull(), "the leaf's own message: " + m);
        assertEquals(n, m.at("/body/leaf").asInt(), "in order: " + upstream);
        assertEquals(String.valueOf(n), m.at("/properties/n").asText());
      }

      // Twin through edgeHub: read, report, desired change delivered.
      BlockingQueue<TwinCollection> desired = new LinkedBlockingQueue<>();
      leaf.subscribeToDesiredProperties((twin, ctx) -> desired.add(twin.getDesiredProperties()), null);
      Twin twin = getTwin(leaf);
      assertEquals(1, twin.getReportedProperties().getVersion());
      TwinCollection reported = new TwinCollection();
      reported.put("firmware", "2.1");
      // Generous: the hub journals the patch to Cassandra, slow on a loaded box.
      assertEquals(2, updateReported(leaf, reported).getVersion());
      // Back to back, each answered with its own version (a lost or crossed answer would hang or mismatch).
      for (int v = 3; v <= 12; v++) {
        TwinCollection next = new TwinCollection();
        next.put("patch", v);
        assertEquals(v, updateReported(leaf, next).getVersion());
      }
      assertEquals("2.1", api.get("/twins/" + LEAF).json().at("/properties/reported/firmware").asText());
      ApiClient.Reply patched = api.patch("/twins/" + LEAF, "{\"properties\":{\"desired\":{\"interval\":42}}}", "*");
      assertEquals(200, patched.status(), patched.text());
      TwinCollection change = desired.poll(60, TimeUnit.SECONDS);
      assertNotNull(change, "the desired change reached the leaf through edgeHub");
      assertEquals(42, ((Number) change.get("interval")).intValue());

      // The gateway lists the leaf among its clients, as IoT Edge's $edgeHub reports it.
      awaitTrue(() -> "Connected".equals(moduleReported("$edgeHub").at("/clients/" + LEAF + "/status").asText()),
          "$edgeHub reports the leaf connected");
    } finally {
      leaf.close();
    }

    // A device whose parent is not this edge device: edgeHub refuses it (valid key or not).
    DeviceClient stranger = leafClient(STRANGER, strangerKey);
    try {
      Exception refused = assertThrows(Exception.class, () -> stranger.open(false));
      assertNotNull(refused);
    } finally {
      stranger.close();
    }
    assertTrue(awaitMessagesNow(STRANGER).isEmpty());
  }

  @Test
  @Order(2)
  void directMethodsFromTheHubReachModulesAndLeafDevicesThroughEdgeHub() throws Exception {
    // The Java module (createFromEnvironment) and the Node module (fromEnvironment).
    for (String module : List.of("echorelay", "nodemod")) {
      JsonNode answer = awaitMethod("/twins/" + EDGE + "/modules/" + module + "/methods", "{\"k\":\"" + module + "\"}");
      assertEquals(200, answer.get("status").asInt(), answer.toString());
      assertEquals(module, answer.at("/payload/module").asText(), answer.toString());
      assertEquals("workload API", answer.at("/payload/auth").asText(), "signed through the workload API: " + answer);
      JsonNode got = answer.at("/payload/got");
      JsonNode payload = got.isTextual() ? JSON.readTree(got.asText()) : got;
      assertEquals(module, payload.path("k").asText(), answer.toString());
    }
    // The leaf device through the gateway.
    DeviceClient leaf = leafClient(LEAF, leafKey);
    try {
      leaf.open(true);
      leaf.subscribeToMethods((name, payload, ctx) ->
          new DirectMethodResponse(200, Map.of("leaf", LEAF, "method", name, "got", payload.getPayloadAsJsonString())), null);
      JsonNode answer = awaitMethod("/twins/" + LEAF + "/methods", "{\"x\":7}");
      assertEquals(200, answer.get("status").asInt(), answer.toString());
      assertEquals(LEAF, answer.at("/payload/leaf").asText());
      assertEquals("echo", answer.at("/payload/method").asText());
      assertEquals(7, JSON.readTree(answer.at("/payload/got").asText()).path("x").asInt());
    } finally {
      leaf.close();
    }
  }

  @Test
  @Order(3)
  void aNodeModulesOutputIsRoutedToAJavaModulesInputAndUpstream() throws Exception {
    // nodemod:out1 → echorelay:in1 → echorelay:out2 → $upstream, with the relay's connection properties.
    List<JsonNode> relayed = awaitMessages(EDGE, 3, m -> "echorelay".equals(m.at("/systemProperties/$iothub-connection-module-id").asText())
        && "node".equals(m.at("/properties/lang").asText()));
    for (JsonNode m : relayed) {
      assertEquals(EDGE, m.at("/systemProperties/$iothub-connection-device-id").asText(), m.toString());
      assertEquals("echorelay", m.at("/properties/relayedBy").asText(), m.toString());
      assertEquals("node", m.at("/body/lang").asText(), "the Node module's JSON body: " + m);
      assertEquals("workload API", m.at("/body/auth").asText(), "the Node module signed through the workload API: " + m);
    }
    List<Integer> ns = relayed.stream().map(m -> m.at("/body/n").asInt()).toList();
    assertEquals(ns.stream().sorted().toList(), ns, "in the order the Node module sent them");
  }

  /** The hub's device-scope lookup (what edgeHub asks): only for the gateway's tokens, only its children. */
  @Test
  @Order(4)
  void theDeviceScopeLookupAnswersTheGatewayAboutItsChildrenOnly() throws Exception {
    long expiry = System.currentTimeMillis() / 1000 + 600;
    String edgeToken = io.twinhub.twin.auth.SasToken.signForDevice("127.0.0.1", EDGE, null, edgeKey, expiry);
    String edgeHubKey = api.get("/devices/" + EDGE + "/modules/$edgeHub").json().at("/authentication/symmetricKey/primaryKey").asText();
    String edgeHubToken = io.twinhub.twin.auth.SasToken.signForDevice("127.0.0.1", EDGE, "$edgeHub", edgeHubKey, expiry);
    String strangerToken = io.twinhub.twin.auth.SasToken.signForDevice("127.0.0.1", STRANGER, null, strangerKey, expiry);
    for (String token : List.of(edgeToken, edgeHubToken)) {
      ApiClient.Reply leaf = scopeLookup(LEAF, token);
      assertEquals(200, leaf.status(), leaf.text());
      assertEquals(LEAF, leaf.json().at("/devices/0/deviceId").asText(), leaf.text());
      assertEquals(leafKey, leaf.json().at("/devices/0/authentication/symmetricKey/primaryKey").asText());
      ApiClient.Reply stranger = scopeLookup(STRANGER, token);
      assertEquals(200, stranger.status(), stranger.text());
      assertEquals(0, stranger.json().path("devices").size(), "not behind this gateway: " + stranger.text());
    }
    assertEquals(401, scopeLookup(LEAF, strangerToken).status(), "another device's token");
    assertEquals(401, scopeLookup(LEAF, "").status(), "no token");
  }

  static ApiClient.Reply scopeLookup(String target, String token) throws Exception {
    return api.send("GET", "/devices/" + EDGE + "/modules/$edgeHub/deviceAndModuleInDeviceScope?targetDeviceId=" + target
        + "&targetModuleId=&api-version=2021-04-12", null, Map.of("Authorization", token));
  }

  // ------------------------------------------------------------------ helpers

  static ObjectNode manifest() throws IOException {
    ObjectNode modules = JSON.createObjectNode();
    modules.set("echorelay", javaModule(EchoRelayModule.class));
    ObjectNode nodeModule = JSON.createObjectNode();
    nodeModule.put("type", "process").put("status", "running").put("restartPolicy", "always").put("startupOrder", 1);
    nodeModule.putObject("settings").put("command", "node " + NODE_HARNESS.resolve("edge/node-module.js"));
    ObjectNode env = nodeModule.putObject("env");
    env.putObject("NODE_PATH").put("value", NODE_HARNESS.resolve("node_modules").toString());
    // No connection string: the SDK signs its tokens through the workload API, as under IoT Edge.
    env.putObject("EdgeHubConnectionString").put("value", "");
    modules.set("nodemod", nodeModule);
    return EdgeTestHub.deployment(modules, Map.of(
        "nodeToJava", "FROM /messages/modules/nodemod/outputs/out1 INTO BrokeredEndpoint(\"/modules/echorelay/inputs/in1\")",
        "upstream", "FROM /messages/* INTO $upstream"));
  }

  /** A process module running {@code main} with this test's classpath (in an @argfile: desired strings are ≤ 4 KB). */
  static ObjectNode javaModule(Class<?> main) {
    Path args = EdgeTestHub.classpathArgs(dir);
    String java = ProcessHandle.current().info().command().orElse("java");
    ObjectNode m = JSON.createObjectNode();
    m.put("type", "process").put("status", "running").put("restartPolicy", "always").put("startupOrder", 0);
    m.putObject("settings").put("command", java + " -Xmx64m @" + args + " " + main.getName());
    m.putObject("env").putObject("EdgeHubConnectionString").put("value", ""); // the workload API signs
    return m;
  }

  static void apply(ObjectNode modulesContent) throws Exception {
    hub.apply(EDGE, modulesContent);
  }

  /** A direct method call through the hub's REST API, repeated while the target is not (yet) connected. */
  static JsonNode awaitMethod(String path, String payload) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    ApiClient.Reply r = null;
    while (System.nanoTime() < deadline) {
      r = api.post(path, "{\"methodName\":\"echo\",\"payload\":" + payload + ",\"responseTimeoutInSeconds\":30,\"connectTimeoutInSeconds\":5}");
      if (r.status() == 200) return r.json();
      Thread.sleep(1000);
    }
    throw new AssertionError("method " + path + " never answered: " + r + moduleLogs());
  }

  /** The modules' output (their logs in the runtime's data directory), for failure messages. */
  static String moduleLogs() {
    StringBuilder out = new StringBuilder();
    for (String module : List.of("echorelay", "nodemod")) {
      Path log = dir.resolve("edge/logs/" + module + ".log");
      try {
        String text = Files.exists(log) ? Files.readString(log) : "(no log)";
        out.append("\n--- ").append(module).append(" ---\n").append(text.substring(Math.max(0, text.length() - 3000)));
      } catch (IOException e) {
        out.append("\n--- ").append(module).append(": ").append(e);
      }
    }
    return out.toString();
  }

  /** Through {@link SdkTwinCalls}: the SDK's own getTwin(timeout) can miss an answer that arrived (SDK issue #1803). */
  static Twin getTwin(DeviceClient c) throws Exception {
    return SdkTwinCalls.getTwin(c, Duration.ofSeconds(120));
  }

  /**
   * A reported patch, through {@link SdkTwinCalls} (the SDK's own updateReportedProperties(timeout)
   * can miss an answer that arrived: SDK issue #1803); on a timeout the failure shows where
   * edgeHub's and the SDK's threads wait (edgeHub runs in this JVM).
   */
  static com.microsoft.azure.sdk.iot.device.twin.ReportedPropertiesUpdateResponse updateReported(DeviceClient c,
      TwinCollection reported) throws Exception {
    try {
      return SdkTwinCalls.updateReported(c, reported, Duration.ofSeconds(120));
    } catch (com.microsoft.azure.sdk.iot.device.exceptions.IotHubClientException e) {
      if (e.getStatusCode() != com.microsoft.azure.sdk.iot.device.IotHubStatusCode.DEVICE_OPERATION_TIMED_OUT) throw e;
      // Whether the hub applied the patch tells a lost answer (hub to edgeHub to device) from a lost request.
      String hubHas;
      try {
        hubHas = api.get("/twins/" + c.getConfig().getDeviceId()).json().at("/properties/reported").toString();
      } catch (Exception read) {
        hubHas = read.toString();
      }
      throw new AssertionError(e.getMessage() + " at " + java.time.Instant.now() + "; the hub's reported properties: "
          + hubHas + threads(), e);
    }
  }

  /** The stacks of edgeHub's threads and of the device SDK's (Paho's) threads, for a failure message. */
  static String threads() {
    StringBuilder out = new StringBuilder("\n--- edgeHub and device SDK threads ---");
    Thread.getAllStackTraces().forEach((t, stack) -> {
      String n = t.getName();
      if (!(n.startsWith("edgehub-") || n.startsWith("hub-client-") || n.startsWith("MQTT ") || n.contains("azure-iot-sdk"))) return;
      out.append('\n').append(n).append(" (").append(t.getState()).append(')');
      for (int i = 0; i < Math.min(stack.length, 20); i++) out.append("\n    at ").append(stack[i]);
    });
    return out.toString();
  }

  static JsonNode moduleReported(String module) {
    return hub.moduleReported(EDGE, module);
  }

  static JsonNode awaitAgentReported(Predicate<JsonNode> condition, String what) throws Exception {
    return hub.awaitAgentReported(EDGE, Duration.ofSeconds(180), condition, what);
  }

  static List<JsonNode> awaitMessagesNow(String device) throws Exception {
    return hub.deviceMessages(device);
  }

  static List<JsonNode> awaitMessages(String device, int atLeast) throws Exception {
    return awaitMessages(device, atLeast, m -> true);
  }

  static List<JsonNode> awaitMessages(String device, int atLeast, Predicate<JsonNode> which) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    List<JsonNode> out = List.of();
    while (System.nanoTime() < deadline) {
      out = awaitMessagesNow(device).stream().filter(which).toList();
      if (out.size() >= atLeast) return out;
      Thread.sleep(1000);
    }
    throw new AssertionError("only " + out.size() + " messages of " + device + " upstream: " + out + moduleLogs());
  }

  static void awaitTrue(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
    EdgeTestHub.awaitTrue(condition, Duration.ofSeconds(120), what);
  }
}
