package io.twinhub.node.mqtt;

import com.azure.core.credential.AzureSasCredential;
import com.microsoft.azure.sdk.iot.device.ClientOptions;
import com.microsoft.azure.sdk.iot.device.DeviceClient;
import com.microsoft.azure.sdk.iot.device.IotHubClientProtocol;
import com.microsoft.azure.sdk.iot.device.IotHubMessageResult;
import com.microsoft.azure.sdk.iot.service.exceptions.IotHubDeviceMaximumQueueDepthExceededException;
import com.microsoft.azure.sdk.iot.service.exceptions.IotHubNotFoundException;
import com.microsoft.azure.sdk.iot.service.exceptions.IotHubUnauthorizedException;
import com.microsoft.azure.sdk.iot.service.messaging.AcknowledgementType;
import com.microsoft.azure.sdk.iot.service.messaging.DeliveryAcknowledgement;
import com.microsoft.azure.sdk.iot.service.messaging.FeedbackRecord;
import com.microsoft.azure.sdk.iot.service.messaging.FeedbackStatusCode;
import com.microsoft.azure.sdk.iot.service.messaging.IotHubServiceClientProtocol;
import com.microsoft.azure.sdk.iot.service.messaging.Message;
import com.microsoft.azure.sdk.iot.service.messaging.MessageFeedbackProcessorClient;
import com.microsoft.azure.sdk.iot.service.messaging.MessageFeedbackProcessorClientOptions;
import com.microsoft.azure.sdk.iot.service.messaging.MessagingClient;
import com.microsoft.azure.sdk.iot.service.messaging.MessagingClientOptions;
import io.twinhub.node.TwinhubNode;
import io.twinhub.node.security.SharedAccessPolicies;
import io.twinhub.twin.auth.SasToken;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.twinhub.node.mqtt.MqttTestNodes.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Cloud-to-device messages end to end with the official Java SDKs: the service SDK's
 * {@code MessagingClient} sends over AMQPS (port 5671, hard-wired in the SDK), the device SDK
 * receives over MQTT (8883) and completes, the service SDK's {@code MessageFeedbackProcessorClient}
 * reads the feedback. Plus queue depth, expiry, purge, bad AMQP input, and a node restart with
 * messages queued and in flight (Paho with manual acks holds one unacknowledged).
 */
class CloudToDeviceIT {
  @TempDir
  static Path dataDir;
  static TwinhubNode node;
  static SSLContext tls;
  static String ownerConnectionString;
  static final Map<String, FeedbackRecord> feedback = new ConcurrentHashMap<>();

  @BeforeAll
  static void start() throws Exception {
    requireSdkPortFree();
    requirePortFree(SERVICE_SDK_AMQP_PORT);
    node = MqttTestNodes.start(dataDir, SDK_PORT, SERVICE_SDK_AMQP_PORT);
    tls = clientTls(dataDir);
    var owner = SharedAccessPolicies.loadOrCreate(dataDir).get(SharedAccessPolicies.IOTHUBOWNER);
    ownerConnectionString = "HostName=" + HOST + ";SharedAccessKeyName=" + owner.keyName() + ";SharedAccessKey="
        + owner.keys().primaryKey();
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) node.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  static String id(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  static MessagingClient messaging() throws Exception {
    MessagingClient c = new MessagingClient(ownerConnectionString, IotHubServiceClientProtocol.AMQPS,
        MessagingClientOptions.builder().sslContext(tls).build());
    c.open(60_000);
    return c;
  }

  static Message message(String messageId, String body) {
    Message m = new Message(body.getBytes(StandardCharsets.UTF_8));
    m.setMessageId(messageId);
    m.setCorrelationId("corr-" + messageId);
    m.setProperties(Map.of("color", "blue green"));
    m.setDeliveryAcknowledgement(DeliveryAcknowledgement.Full);
    return m;
  }

  static DeviceClient receivingDevice(String deviceId, BlockingQueue<com.microsoft.azure.sdk.iot.device.Message> into)
      throws Exception {
    DeviceClient client = new DeviceClient(deviceConnectionString(deviceId), IotHubClientProtocol.MQTT,
        ClientOptions.builder().sslContext(tls).build());
    client.setMessageCallback((message, context) -> {
      into.add(message);
      return IotHubMessageResult.COMPLETE;
    }, null);
    client.open(false);
    return client;
  }

  @Test
  void sdkSendsDeviceReceivesAndCompletesFeedbackArrives() throws Exception {
    String dev = id("c2d");
    createDevice(node.twins(), dev);
    MessagingClient sender = messaging();
    MessageFeedbackProcessorClient feedbackReceiver = new MessageFeedbackProcessorClient(ownerConnectionString,
        IotHubServiceClientProtocol.AMQPS, batch -> {
          for (FeedbackRecord r : batch.getRecords()) feedback.put(r.getOriginalMessageId(), r);
          return AcknowledgementType.COMPLETE;
        }, MessageFeedbackProcessorClientOptions.builder().sslContext(tls).build());
    feedbackReceiver.start(60_000);
    DeviceClient device = null;
    try {
      // Queued before the device connects.
      String early = id("early");
      sender.send(dev, message(early, "queued before connect"), 60_000);
      assertEquals(1, await(node.c2d().depth(dev)));

      BlockingQueue<com.microsoft.azure.sdk.iot.device.Message> received = new LinkedBlockingQueue<>();
      device = receivingDevice(dev, received);
      var first = received.poll(60, TimeUnit.SECONDS);
      assertNotNull(first, "the message queued before the device connected arrives");
      assertEquals(early, first.getMessageId());
      assertEquals("corr-" + early, first.getCorrelationId());
      assertEquals("blue green", first.getProperty("color"));
      assertEquals("queued before connect", new String(first.getBytes(), StandardCharsets.UTF_8));

      String live = id("live");
      sender.send(dev, message(live, "while connected"), 60_000);
      var second = received.poll(60, TimeUnit.SECONDS);
      assertNotNull(second);
      assertEquals(live, second.getMessageId());

      waitFor(() -> await(node.c2d().depth(dev)) == 0, "completed messages leave the queue");
      waitFor(() -> feedback.containsKey(early) && feedback.containsKey(live), "feedback for both messages");
      assertEquals(FeedbackStatusCode.success, feedback.get(early).getStatusCode());
      assertEquals(dev, feedback.get(early).getDeviceId());
      assertNotNull(feedback.get(live).getEnqueuedTimeUtc());

      assertThrows(IotHubNotFoundException.class, () -> sender.send(id("nobody"), message(id("x"), "x"), 60_000));
      String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://" + HOST + ":"
          + node.settings().managementPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(metrics.contains("twinhub_c2d_sends_seconds_count{outcome=\"queued\""), "sends on /metrics");
      assertTrue(metrics.contains("twinhub_c2d_sends_seconds_count{outcome=\"DeviceNotFound\""), "refusals on /metrics");
      assertTrue(metrics.contains("twinhub_amqp_connections"), "connections on /metrics");
      assertNull(received.poll(2, TimeUnit.SECONDS), "nothing delivered twice");
    } finally {
      if (device != null) device.close();
      sender.close();
      feedbackReceiver.stop();
    }
  }

  @Test
  void queueDepthExpiryAndPurge() throws Exception {
    String dev = id("depth");
    createDevice(node.twins(), dev);
    MessagingClient sender = messaging();
    try {
      Message expiring = message(id("expiring"), "short-lived");
      expiring.setExpiryTimeUtc(new Date(System.currentTimeMillis() + 1500));
      sender.send(dev, expiring, 60_000);
      Thread.sleep(2000);
      waitFor(() -> await(node.c2d().depth(dev)) == 0, "the expired message leaves the queue");

      for (int i = 0; i < 50; i++) sender.send(dev, message("m" + i, "n" + i), 60_000);
      assertThrows(IotHubDeviceMaximumQueueDepthExceededException.class, () -> sender.send(dev, message("m50", "x"), 60_000));
      assertEquals(50, await(node.c2d().depth(dev)));
      HttpResponse<String> identity = rest("GET", "/devices/" + dev);
      assertEquals(200, identity.statusCode(), identity.body());
      assertTrue(identity.body().contains("\"cloudToDeviceMessageCount\":50"), identity.body());

      HttpResponse<String> purged = rest("DELETE", "/devices/" + dev + "/commands");
      assertEquals(200, purged.statusCode(), purged.body());
      assertEquals("{\"totalMessagesPurged\":50,\"deviceId\":\"" + dev + "\"}", purged.body());
      assertEquals(0, await(node.c2d().depth(dev)));
      assertEquals(404, rest("DELETE", "/devices/" + id("nobody") + "/commands").statusCode());
    } finally {
      sender.close();
    }
  }

  @Test
  void badAmqpInputClosesOnlyThatConnection() throws Exception {
    // Garbage instead of the AMQP header: the server answers with its protocol header and closes.
    try (SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket(HOST, SERVICE_SDK_AMQP_PORT)) {
      s.setSoTimeout(30_000);
      s.getOutputStream().write("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      InputStream in = s.getInputStream();
      byte[] header = in.readNBytes(8);
      assertEquals("AMQP", new String(header, 0, 4, StandardCharsets.US_ASCII), "an AMQP protocol header says what is spoken here");
      assertEquals(-1, readToEnd(in), "then the connection closes");
    }
    // A SASL mechanism the hub does not offer.
    try (SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket(HOST, SERVICE_SDK_AMQP_PORT)) {
      s.setSoTimeout(30_000);
      var out = s.getOutputStream();
      out.write(new byte[] {'A', 'M', 'Q', 'P', 3, 1, 0, 0});
      out.write(saslInit("EXTERNAL"));
      out.flush();
      byte[] all = s.getInputStream().readAllBytes();
      // sasl-outcome (descriptor 0x44) with code 1 (auth), then the server closes.
      assertTrue(indexOf(all, new byte[] {0x00, 0x53, 0x44}) > 0, "a sasl-outcome frame");
    }
    // An expired service token is refused on $cbs with 401: the SDK throws IotHubUnauthorizedException.
    var owner = SharedAccessPolicies.loadOrCreate(dataDir).get(SharedAccessPolicies.IOTHUBOWNER);
    String expired = SasToken.signForService(HOST, owner.keyName(), owner.keys().primaryKey(), System.currentTimeMillis() / 1000 - 60);
    MessagingClient bad = new MessagingClient(HOST, new AzureSasCredential(expired), IotHubServiceClientProtocol.AMQPS,
        MessagingClientOptions.builder().sslContext(tls).build());
    assertThrows(IotHubUnauthorizedException.class, () -> bad.open(60_000));
    // A device token is out of scope for the service endpoint.
    String deviceToken = SasToken.signForDevice(HOST, "some-device", null, KEY1, System.currentTimeMillis() / 1000 + 600);
    MessagingClient device = new MessagingClient(HOST, new AzureSasCredential(deviceToken), IotHubServiceClientProtocol.AMQPS,
        MessagingClientOptions.builder().sslContext(tls).build());
    assertThrows(IotHubUnauthorizedException.class, () -> device.open(60_000));
    // Oversized: refused with message-size-exceeded.
    String dev = id("big");
    createDevice(node.twins(), dev);
    MessagingClient sender = messaging();
    try {
      assertThrows(com.microsoft.azure.sdk.iot.service.exceptions.IotHubMessageTooLargeException.class,
          () -> sender.send(dev, message(id("big"), "x".repeat(100 * 1024)), 60_000));
      // The endpoint still serves everyone (this connection too).
      sender.send(dev, message(id("small"), "fits"), 60_000);
      assertEquals(1, await(node.c2d().depth(dev)));
    } finally {
      sender.close();
    }
  }

  @Test
  void restartLosesNothingAndRedeliversNothingAcknowledged() throws Exception {
    String dev = id("restart");
    createDevice(node.twins(), dev);
    MessagingClient sender = messaging();
    for (int i = 0; i < 3; i++) sender.send(dev, message("r" + i, "before restart " + i), 60_000);
    sender.close();

    // Paho with manual acks: r0 is PUBACKed, r1 and r2 arrive and stay unacknowledged (in flight).
    List<String> arrived = new CopyOnWriteArrayList<>();
    List<Integer> unacked = new CopyOnWriteArrayList<>();
    MqttClient paho = pahoDevice(dev, arrived, unacked);
    waitFor(() -> arrived.size() >= 3, "three deliveries");
    assertEquals(List.of("r0", "r1", "r2"), new ArrayList<>(arrived));
    paho.messageArrivedComplete(unacked.get(0), 1); // r0 completed
    waitFor(() -> await(node.c2d().depth(dev)) == 2, "r0 completed");
    paho.disconnectForcibly(1000, 1000);
    paho.close();

    node.stop().toCompletableFuture().get(120, TimeUnit.SECONDS);
    node = MqttTestNodes.start(dataDir, SDK_PORT, SERVICE_SDK_AMQP_PORT);
    tls = clientTls(dataDir);

    List<String> again = new CopyOnWriteArrayList<>();
    List<Integer> ids = new CopyOnWriteArrayList<>();
    MqttClient second = pahoDevice(dev, again, ids);
    try {
      waitFor(() -> again.size() >= 2, "the in-flight messages come again after the restart");
      assertEquals(List.of("r1", "r2"), new ArrayList<>(again), "nothing lost, nothing PUBACKed delivered again");
      for (int id : ids) second.messageArrivedComplete(id, 1);
      waitFor(() -> await(node.c2d().depth(dev)) == 0, "both completed");
    } finally {
      second.disconnectForcibly(1000, 1000);
      second.close();
    }
  }

  static MqttClient pahoDevice(String dev, List<String> arrived, List<Integer> packetIds) throws Exception {
    return cloudToDeviceReceiver(SDK_PORT, tls, dev, arrived, packetIds);
  }

  static HttpResponse<String> rest(String method, String path) throws Exception {
    var owner = SharedAccessPolicies.loadOrCreate(dataDir).get(SharedAccessPolicies.IOTHUBOWNER);
    String token = SasToken.signForService(HOST, owner.keyName(), owner.keys().primaryKey(), System.currentTimeMillis() / 1000 + 600);
    HttpClient http = HttpClient.newBuilder().sslContext(tls).build();
    return http.send(HttpRequest.newBuilder(URI.create("https://" + HOST + ":" + node.api().httpsPort() + path + "?api-version=2021-04-12"))
        .method(method, HttpRequest.BodyPublishers.noBody()).header("Authorization", token).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A sasl-init frame: performative 0x41 with the mechanism symbol only. */
  static byte[] saslInit(String mechanism) {
    byte[] mech = mechanism.getBytes(StandardCharsets.US_ASCII);
    // list8: size, count=1, sym8 mechanism
    byte[] body = new byte[3 + 2 + mech.length + 3];
    int i = 0;
    body[i++] = 0x00; body[i++] = 0x53; body[i++] = 0x41; // described, ulong small 0x41
    body[i++] = (byte) 0xc0; body[i++] = (byte) (1 + 2 + mech.length); body[i++] = 1;
    body[i++] = (byte) 0xa3; body[i++] = (byte) mech.length;
    System.arraycopy(mech, 0, body, i, mech.length);
    int size = 8 + body.length;
    byte[] frame = new byte[size];
    frame[0] = (byte) (size >>> 24); frame[1] = (byte) (size >>> 16); frame[2] = (byte) (size >>> 8); frame[3] = (byte) size;
    frame[4] = 2; frame[5] = 1; // doff 2, type 1 (SASL)
    System.arraycopy(body, 0, frame, 8, body.length);
    return frame;
  }

  static int indexOf(byte[] all, byte[] part) {
    outer:
    for (int i = 0; i + part.length <= all.length; i++) {
      for (int j = 0; j < part.length; j++) if (all[i + j] != part[j]) continue outer;
      return i;
    }
    return -1;
  }

  static int readToEnd(InputStream in) throws Exception {
    int b;
    while ((b = in.read()) != -1) {
      // drain
    }
    return b;
  }

  interface Check {
    boolean ok() throws Exception;
  }

  static void waitFor(Check c, String what) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (!c.ok()) {
      if (System.nanoTime() > deadline) fail("timed out waiting for: " + what);
      Thread.sleep(200);
    }
  }
}
