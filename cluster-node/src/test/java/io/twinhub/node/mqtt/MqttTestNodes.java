package io.twinhub.node.mqtt;

import io.twinhub.node.NodeSettings;
import io.twinhub.node.TestNodes;
import io.twinhub.node.TwinhubNode;
import io.twinhub.node.security.SharedAccessPolicies;
import io.twinhub.mqtt.tls.TlsMaterial;
import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;
import io.twinhub.twin.auth.SasToken;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.service.TwinService;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Nodes for the MQTT acceptance tests: real node, shared embedded Cassandra, host name
 * {@code 127.0.0.1} (the device SDK refuses a host name without a dot, and 127.0.0.1 is in
 * the certificate's SANs).
 *
 * <p>The Java device SDK connects to {@code ssl://<host>:8883} with the port hard-wired
 * ({@code MqttIotHubConnection.SSL_PORT_SUFFIX}); {@code GatewayHostName} changes only the host.
 * The alternative, its HTTP-proxy socket factory pointed at a CONNECT proxy that ignores the
 * port, would put a home-made proxy between the SDK and the hub. So SDK tests run the node's
 * MQTT listener on 127.0.0.1:8883 and fail with a clear message when that port is taken; tests
 * with their own clients use a free port.
 */
public final class MqttTestNodes {
  public static final String HOST = "127.0.0.1";
  static final int SDK_PORT = 8883;
  public static final String KEY1 = "aGVsbG8taGVsbG8taGVsbG8taGVsbG8taGVsbG8taGU=";
  static final String KEY2 = "d29ybGQtd29ybGQtd29ybGQtd29ybGQtd29ybGQtd28=";

  private MqttTestNodes() {}

  public static TwinhubNode start(Path dataDir, int mqttPort) throws IOException {
    return start(dataDir, mqttPort, SharedEmbeddedCassandra.freePort());
  }

  public static TwinhubNode start(Path dataDir, int mqttPort, int amqpPort) throws IOException {
    return start(dataDir, mqttPort, amqpPort, Map.of());
  }

  /** As above, with {@code extra} settings over the defaults (e.g. a lower limit a test must reach). */
  public static TwinhubNode start(Path dataDir, int mqttPort, int amqpPort, Map<String, Object> extra) throws IOException {
    Map<String, Object> o = new HashMap<>(TestNodes.LOADED_BOX);
    o.put("twinhub.amqp.port", amqpPort);
    o.put("twinhub.data-dir", dataDir.toString());
    o.put("twinhub.host-name", HOST);
    o.put("twinhub.http.port", SharedEmbeddedCassandra.freePort());
    o.put("twinhub.mqtt.port", mqttPort);
    o.put("twinhub.management.port", SharedEmbeddedCassandra.freePort());
    o.put("twinhub.remoting.port", SharedEmbeddedCassandra.freePort());
    o.put("twinhub.cassandra.contact-points", SharedEmbeddedCassandra.contactPoint());
    o.putAll(extra);
    return TwinhubNode.start(NodeSettings.fromConfig(o));
  }

  /**
   * The SDK's port. Another test run on the same machine (the SDK tests of a second checkout's
   * {@code mvn verify}) holds it for a minute or two, so this waits up to 5 minutes for it, then
   * fails the test with a clear message.
   */
  public static int requireSdkPortFree() throws InterruptedException {
    return requirePortFree(SDK_PORT);
  }

  /** The service SDK's AMQPS port, hard-wired like the device SDK's (see {@link #requirePortFree}). */
  public static final int SERVICE_SDK_AMQP_PORT = 5671;

  /** Waits for {@code port} on {@link #HOST} to be free (an SDK hard-wires it), as described above. */
  public static int requirePortFree(int port) throws InterruptedException {
    final int SDK_PORT = port;
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
    while (true) {
      try (ServerSocket s = new ServerSocket(SDK_PORT, 1, InetAddress.getByName(HOST))) {
        s.setReuseAddress(true);
        return SDK_PORT;
      } catch (IOException e) {
        if (System.nanoTime() > deadline) {
          return fail(portTakenMessage(SDK_PORT, e));
        }
        Thread.sleep(1000);
      }
    }
  }

  /**
   * Why an SDK test cannot run: the SDK's fixed port is taken on {@link #HOST}. The usual holder is
   * a node the developer runs ({@code ./twinhub run} binds 8883, 5671 and 8443 on 127.0.0.1), so
   * the message names it and what to do, and the process holding the port where Linux says.
   */
  static String portTakenMessage(int port, Exception e) {
    return "The Azure IoT SDKs only connect to port " + port + " (hard-wired) and " + HOST + ":" + port
        + " has been in use by another process for 5 minutes, so this SDK acceptance test cannot run"
        + holder(port) + ". If it is a node you started with ./twinhub run (it listens on 127.0.0.1:8883 and"
        + " :5671), stop it, or run it on another loopback address: TWINHUB_BIND_INTERFACE=127.0.0.2 ./twinhub run"
        + " (" + e + ")";
  }

  /** " (held by pid N: command)" from /proc where Linux tells, else "". */
  private static String holder(int port) {
    try {
      String hexPort = String.format("%04X", port);
      String inode = null;
      for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/net/tcp"))) {
        String[] f = line.trim().split("\\s+");
        if (f.length > 9 && f[1].endsWith(":" + hexPort) && "0A".equals(f[3])) inode = f[9]; // 0A: LISTEN
      }
      if (inode == null) return "";
      String socket = "socket:[" + inode + "]";
      try (var procs = java.nio.file.Files.list(Path.of("/proc"))) {
        for (Path p : (Iterable<Path>) procs.filter(d -> d.getFileName().toString().matches("\\d+"))::iterator) {
          try (var fds = java.nio.file.Files.list(p.resolve("fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
              if (socket.equals(java.nio.file.Files.readSymbolicLink(fd).toString())) {
                String cmd = java.nio.file.Files.readString(p.resolve("cmdline")).replace('\0', ' ').strip();
                return " (held by pid " + p.getFileName() + ": " + (cmd.length() > 200 ? cmd.substring(0, 200) + "..." : cmd) + ")";
              }
            }
          } catch (IOException | SecurityException ignored) {
            // a process that is gone or not ours
          }
        }
      }
    } catch (IOException | RuntimeException ignored) {
      // not Linux
    }
    return "";
  }

  public static SSLContext clientTls(Path dataDir) throws Exception {
    return TlsMaterial.loadOrCreate(dataDir, List.of(HOST), Clock.systemUTC()).clientSslContext();
  }

  public static String ownerToken(Path dataDir) throws IOException {
    var owner = SharedAccessPolicies.loadOrCreate(dataDir).get(SharedAccessPolicies.IOTHUBOWNER);
    return SasToken.signForService(HOST, owner.keyName(), owner.keys().primaryKey(), System.currentTimeMillis() / 1000 + 3600);
  }

  public static void createDevice(TwinService twins, String deviceId) {
    TwinReply r = await(twins.createDevice(deviceId, new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(KEY1, KEY2), false)));
    assertInstanceOf(TwinReply.Accepted.class, r, () -> "create " + deviceId + ": " + r);
  }

  static void createModule(TwinService twins, String deviceId, String moduleId) {
    TwinReply r = await(twins.createModule(deviceId, moduleId, new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(KEY2, KEY1), false)));
    assertInstanceOf(TwinReply.Accepted.class, r, () -> "create module " + moduleId + ": " + r);
  }

  public static String deviceConnectionString(String deviceId) {
    return "HostName=" + HOST + ";DeviceId=" + deviceId + ";SharedAccessKey=" + KEY1;
  }

  static String moduleConnectionString(String deviceId, String moduleId) {
    return "HostName=" + HOST + ";DeviceId=" + deviceId + ";ModuleId=" + moduleId + ";SharedAccessKey=" + KEY2;
  }

  public static <T> T await(CompletionStage<T> f) {
    try {
      return f.toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /**
   * A device (key {@link #KEY1}) on Paho with manual acks, subscribed to its cloud-to-device
   * messages on {@code port}: each message's {@code $.mid} goes to {@code arrived}, its packet id to
   * {@code packetIds} (acknowledge with {@code messageArrivedComplete(id, 1)}).
   */
  public static org.eclipse.paho.client.mqttv3.MqttClient cloudToDeviceReceiver(int port, SSLContext tls, String dev,
      List<String> arrived, List<Integer> packetIds) throws Exception {
    return cloudToDeviceReceiver(port, tls, dev, (mid, msg) -> {
      if (mid != null) arrived.add(mid);
      packetIds.add(msg.getId());
    });
  }

  /**
   * As above, each message handed to {@code onMessage} with its {@code $.mid} (null if none). A
   * client whose connect or subscribe fails is closed, so it never receives anything.
   */
  public static org.eclipse.paho.client.mqttv3.MqttClient cloudToDeviceReceiver(int port, SSLContext tls, String dev,
      java.util.function.BiConsumer<String, org.eclipse.paho.client.mqttv3.MqttMessage> onMessage) throws Exception {
    org.eclipse.paho.client.mqttv3.MqttClient c = new org.eclipse.paho.client.mqttv3.MqttClient("ssl://" + HOST + ":" + port, dev,
        new org.eclipse.paho.client.mqttv3.persist.MemoryPersistence());
    var o = new org.eclipse.paho.client.mqttv3.MqttConnectOptions();
    o.setMqttVersion(org.eclipse.paho.client.mqttv3.MqttConnectOptions.MQTT_VERSION_3_1_1);
    o.setCleanSession(true);
    o.setAutomaticReconnect(false);
    o.setSocketFactory(tls.getSocketFactory());
    o.setUserName(HOST + "/" + dev + "/?api-version=2020-09-30");
    o.setPassword(SasToken.signForDevice(HOST, dev, null, KEY1, System.currentTimeMillis() / 1000 + 3600).toCharArray());
    c.setManualAcks(true);
    try {
      c.connect(o);
      c.subscribe("devices/" + dev + "/messages/devicebound/#", 1, (topic, msg) -> {
        String bag = topic.substring(topic.indexOf("/devicebound/") + "/devicebound/".length());
        String mid = null;
        for (String kv : bag.split("&")) {
          if (kv.startsWith("%24.mid=")) mid = java.net.URLDecoder.decode(kv.substring(8), java.nio.charset.StandardCharsets.UTF_8);
        }
        onMessage.accept(mid, msg);
      });
    } catch (Exception e) {
      try {
        c.disconnectForcibly(1000, 1000);
      } catch (Exception ignored) {
        // not connected
      }
      c.close(true);
      throw e;
    }
    return c;
  }
}
