package io.twinhub.node.sdk;

import com.sun.net.httpserver.HttpServer;
import io.twinhub.node.NodeSettings;
import io.twinhub.node.TestNodes;
import io.twinhub.node.TwinhubNode;
import io.twinhub.node.security.SharedAccessPolicies;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The official Azure IoT Node SDKs ({@code azure-iothub}, {@code azure-iot-device} +
 * {@code azure-iot-device-mqtt}, pinned in {@code src/test/node/package-lock.json} and installed by
 * the build with {@code npm ci}) against one real node: embedded Cassandra, TLS, SAS.
 *
 * <p>The JS tests in {@code src/test/node/test/*.test.js} run in name order, one file at a time,
 * under Node's own runner ({@code node --test}); each JS test becomes one dynamic test here (read
 * from the runner's JUnit report), and a failure carries the runner's whole output.
 *
 * <p>Ports: the Node service SDK cannot put a port in its host name (it is passed to
 * {@code https.request} as {@code host}, so 443) and the device SDKs hard-wire 8883. So the node
 * listens on 443, 8883 and 5671 (AMQP) of a loopback address of its own ({@code 127.0.0.x}, x ≥ 20; Linux routes
 * all of 127/8 to {@code lo}) with that address as its host name, leaving 127.0.0.1 to nodes the
 * user runs. The certificate carries the address as an IP SAN; the JS processes trust the node's CA
 * through {@code NODE_EXTRA_CA_CERTS} (service SDK) and the device clients' {@code ca} option.
 *
 * <p>A JS test that needs the node restarted (reconnect) POSTs to {@code TWINHUB_CONTROL_URL/restart};
 * the answer comes once the node is back.
 */
class NodeSdkIT {
  private static final Path HARNESS = Path.of("src/test/node").toAbsolutePath();
  private static final int HTTPS_PORT = 443;
  private static final int MQTT_PORT = 8883;
  /** The service SDK's AMQP port (cloud-to-device messages), fixed as well. */
  private static final int AMQP_PORT = 5671;

  @TempDir
  static Path dataDir;

  private static volatile TwinhubNode node;
  private static NodeSettings settings;
  private static HttpServer control;
  private static String host;

  @BeforeAll
  static void startNode() throws Exception {
    assertTrue(Files.isDirectory(HARNESS.resolve("node_modules")),
        "the Node SDKs are not installed in " + HARNESS + " (the build runs npm ci before the ITs; run mvn verify)");
    host = freeLoopbackAddress();
    Map<String, Object> o = new HashMap<>(TestNodes.ownKeyspace("node_sdk_it"));
    o.put("twinhub.host-name", host);
    o.put("twinhub.bind-interface", host);
    o.put("twinhub.http.port", HTTPS_PORT);
    o.put("twinhub.mqtt.port", MQTT_PORT);
    o.put("twinhub.amqp.port", AMQP_PORT);
    // Low enough for 40-device-mqtt to reach with three calls (429 ThrottlingException).
    o.put("twinhub.mqtt.max-pending-methods", 2);
    settings = TestNodes.settings(dataDir, o);
    node = TwinhubNode.start(settings);

    control = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    control.createContext("/restart", exchange -> {
      int status = 200;
      String body = "restarted";
      try {
        node.stop().toCompletableFuture().get(90, TimeUnit.SECONDS);
        node = TwinhubNode.start(settings);
      } catch (Exception e) {
        status = 500;
        body = "restart failed: " + e;
      }
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(status, bytes.length);
      exchange.getResponseBody().write(bytes);
      exchange.close();
    });
    control.start();
  }

  @AfterAll
  static void stopNode() throws Exception {
    if (control != null) control.stop(0);
    if (node != null) node.stop().toCompletableFuture().get(90, TimeUnit.SECONDS);
  }

  @TestFactory
  Stream<DynamicTest> nodeSdks() throws Exception {
    Path out = Path.of("target/node-sdk").toAbsolutePath();
    Files.createDirectories(out);
    Path report = out.resolve("junit.xml");
    Path log = out.resolve("output.txt");
    Files.deleteIfExists(report);

    // Not --test-force-exit: it cuts the JUnit report short. A file whose clients leave handles or
    // timers behind ends only when they do: close every client in the file.
    List<String> cmd = new ArrayList<>(List.of("node", "--test", "--test-concurrency=1",
        "--test-reporter=spec", "--test-reporter-destination=stdout",
        "--test-reporter=junit", "--test-reporter-destination=" + report));
    try (Stream<Path> files = Files.list(HARNESS.resolve("test"))) {
      // -Dnode-sdk.only=<regex> runs only the files whose names match (while working on one).
      String only = System.getProperty("node-sdk.only", "");
      files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".test.js"))
          .filter(n -> only.isEmpty() || java.util.regex.Pattern.compile(only).matcher(n).find()).sorted()
          .forEach(n -> cmd.add("test/" + n));
    }
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(HARNESS.toFile())
        .redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().putAll(jsEnvironment());
    Process p = pb.start();
    boolean finished = p.waitFor(15, TimeUnit.MINUTES);
    if (!finished) p.destroyForcibly().waitFor();
    String output = Files.readString(log);
    System.out.println(output);
    assertTrue(finished, "node --test did not finish within 15 minutes:\n" + output);
    assertTrue(Files.exists(report), "node --test wrote no report (exit " + p.exitValue() + "):\n" + output);

    List<DynamicTest> tests = junitCases(report, output);
    assertFalse(tests.isEmpty(), "node --test ran no tests:\n" + output);
    int exit = p.exitValue();
    List<DynamicTest> all = new ArrayList<>(tests);
    // Any failure outside a test (a file that does not load, a hook) still fails the run.
    all.add(DynamicTest.dynamicTest("node --test exit code", () ->
        assertEquals(0, exit, "node --test failed:\n" + output)));
    return all.stream();
  }

  private static Map<String, String> jsEnvironment() throws IOException {
    SharedAccessPolicies policies = node.policies();
    Map<String, String> env = new HashMap<>();
    String ca = node.api().tls().caPemPath().toString();
    env.put("NODE_EXTRA_CA_CERTS", ca);
    env.put("TWINHUB_CA", ca);
    env.put("TWINHUB_HOST", host);
    env.put("TWINHUB_SERVICE_CS", connectionString(policies, SharedAccessPolicies.IOTHUBOWNER));
    env.put("TWINHUB_REGISTRY_READ_CS", connectionString(policies, "registryRead"));
    env.put("TWINHUB_CONTROL_URL", "http://" + control.getAddress().getAddress().getHostAddress() + ":"
        + control.getAddress().getPort());
    return env;
  }

  private static String connectionString(SharedAccessPolicies policies, String name) {
    var policy = policies.get(name);
    return "HostName=" + host + ";SharedAccessKeyName=" + policy.keyName() + ";SharedAccessKey=" + policy.keys().primaryKey();
  }

  /** Every {@code testcase} of the runner's JUnit report, named by its suites, as a dynamic test. */
  static List<DynamicTest> junitCases(Path report, String output) throws Exception {
    var factory = DocumentBuilderFactory.newInstance();
    factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    org.w3c.dom.Document doc;
    try (InputStream in = Files.newInputStream(report)) {
      doc = factory.newDocumentBuilder().parse(in);
    }
    NodeList cases = doc.getElementsByTagName("testcase");
    List<DynamicTest> tests = new ArrayList<>();
    for (int i = 0; i < cases.getLength(); i++) {
      Element c = (Element) cases.item(i);
      List<String> names = new ArrayList<>();
      names.add(c.getAttribute("name"));
      for (Node n = c.getParentNode(); n instanceof Element e && e.getTagName().equals("testsuite"); n = n.getParentNode()) {
        names.add(e.getAttribute("name"));
      }
      Collections.reverse(names);
      String name = String.join(" > ", names);
      Element failure = firstChild(c, "failure");
      boolean skipped = firstChild(c, "skipped") != null;
      tests.add(DynamicTest.dynamicTest(name, () -> {
        org.junit.jupiter.api.Assumptions.assumeFalse(skipped, "skipped in node --test");
        if (failure != null) {
          fail(name + ": " + failure.getAttribute("message") + "\n" + failure.getTextContent()
              + "\n---- node --test output ----\n" + output);
        }
      }));
    }
    return tests;
  }

  private static Element firstChild(Element e, String tag) {
    for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element child && child.getTagName().equals(tag)) return child;
    }
    return null;
  }

  /**
   * A loopback address (127.0.0.20 to 127.0.0.250) whose 443, 8883 and 5671 are free: the SDKs'
   * fixed ports, without touching 127.0.0.1 where the user's own node may listen.
   */
  static String freeLoopbackAddress() throws IOException {
    List<Integer> candidates = new ArrayList<>();
    for (int x = 20; x <= 250; x++) candidates.add(x);
    Collections.shuffle(candidates);
    for (int x : candidates) {
      String address = "127.0.0." + x;
      if (free(address, HTTPS_PORT) && free(address, MQTT_PORT) && free(address, AMQP_PORT)) return address;
    }
    throw new IOException("no loopback address 127.0.0.20-250 has ports " + HTTPS_PORT + ", " + MQTT_PORT + " and "
        + AMQP_PORT + " free (binding 443 needs root or net.ipv4.ip_unprivileged_port_start <= 443)");
  }

  private static boolean free(String address, int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(InetAddress.getByName(address), port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
