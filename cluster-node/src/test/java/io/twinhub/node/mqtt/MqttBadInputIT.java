package io.twinhub.node.mqtt;

import io.twinhub.mqtt.codec.MqttCodec;
import io.twinhub.mqtt.codec.MqttPacket;
import io.twinhub.mqtt.codec.MqttPacket.*;
import io.twinhub.node.TwinhubNode;
import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;
import io.twinhub.twin.auth.SasToken;
import io.twinhub.twin.entity.TwinReply;
import akka.util.ByteString;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.twinhub.node.mqtt.MqttTestNodes.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Hostile and broken input over real TLS sockets against a real node: every case is refused or
 * closed (or, for a bad twin patch, answered with a 4xx result topic), nothing is written, and a
 * well-behaved device connected the whole time keeps being served. Also raw-topic checks with
 * Paho (the MQTT client inside the device SDK) on a free port.
 */
class MqttBadInputIT {
  @TempDir
  static Path dataDir;
  static TwinhubNode node;
  static int port;
  static SSLContext tls;
  static String dev;
  static String other;

  @BeforeAll
  static void start() throws Exception {
    port = SharedEmbeddedCassandra.freePort();
    node = start(dataDir, port);
    tls = clientTls(dataDir);
    dev = "bad-" + UUID.randomUUID().toString().substring(0, 8);
    other = "victim-" + UUID.randomUUID().toString().substring(0, 8);
    createDevice(node.twins(), dev);
    createDevice(node.twins(), other);
  }

  @AfterAll
  static void stop() throws Exception {
    node.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  private static TwinhubNode start(Path dir, int p) throws IOException {
    return MqttTestNodes.start(dir, p);
  }

  static String token(String deviceId) {
    return SasToken.signForDevice(HOST, deviceId, null, KEY1, System.currentTimeMillis() / 1000 + 3600);
  }

  static byte[] connect(String deviceId) {
    return bytes(new Connect("MQTT", 4, deviceId, true, 60, null, HOST + "/" + deviceId + "/?api-version=2020-09-30",
        ByteString.fromString(token(deviceId))));
  }

  static byte[] bytes(MqttPacket p) {
    return MqttCodec.encode(p).toArray();
  }

  static byte[] hex(String s) {
    s = s.replace(" ", "");
    byte[] out = new byte[s.length() / 2];
    for (int i = 0; i < out.length; i++) out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
    return out;
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) out.writeBytes(p);
    return out.toByteArray();
  }

  static byte[] publish(int qos, String topic, String payload) {
    return bytes(new Publish(false, qos, false, topic, qos == 0 ? 0 : 1, ByteString.fromString(payload)));
  }

  static byte[] subscribe(String filter) {
    return bytes(new Subscribe(1, List.of(new TopicFilter(filter, 1))));
  }

  /** A case: bytes to send after connecting (or instead of connecting), and what must happen. */
  record Case(String name, boolean connectFirst, byte[] bytes, Expect expect) {}

  enum Expect { CLOSED, CONNACK_REFUSED_THEN_CLOSED, RESULT_4XX }

  static List<Case> cases() {
    String own = "devices/" + dev;
    List<Case> c = new ArrayList<>();
    // Garbage and broken framing, before CONNECT.
    c.add(new Case("random garbage", false, "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII), Expect.CLOSED));
    c.add(new Case("zero bytes", false, new byte[64], Expect.CLOSED));
    c.add(new Case("0xff bytes", false, hex("ff".repeat(32)), Expect.CLOSED));
    c.add(new Case("reserved type 15", false, hex("f000"), Expect.CLOSED));
    c.add(new Case("remaining length 5 bytes", false, hex("10 ff ff ff ff 7f"), Expect.CLOSED));
    c.add(new Case("oversize announced", false, hex("10 ff ff ff 7f"), Expect.CLOSED));
    c.add(new Case("truncated CONNECT then close", false, java.util.Arrays.copyOf(connect(dev), 20), Expect.CLOSED));
    c.add(new Case("PUBLISH before CONNECT", false, publish(0, own + "/messages/events/", "x"), Expect.CLOSED));
    c.add(new Case("SUBSCRIBE before CONNECT", false, subscribe("$iothub/twin/res/#"), Expect.CLOSED));
    c.add(new Case("PINGREQ before CONNECT", false, hex("c000"), Expect.CLOSED));
    c.add(new Case("protocol name MQTX", false, hex("100c 0004 4d515458 04 02 003c 0000"), Expect.CLOSED));
    c.add(new Case("protocol level 5", false, bytes(new Connect("MQTT", 5, dev, true, 60, null, HOST + "/" + dev + "/", ByteString.fromString(token(dev)))), Expect.CONNACK_REFUSED_THEN_CLOSED));
    c.add(new Case("protocol level 3 MQIsdp", false, bytes(new Connect("MQIsdp", 3, dev, true, 60, null, HOST + "/" + dev + "/", ByteString.fromString(token(dev)))), Expect.CONNACK_REFUSED_THEN_CLOSED));
    c.add(new Case("CONNECT reserved flag", false, hex("100c 0004 4d515454 04 03 003c 0000"), Expect.CLOSED));
    c.add(new Case("CONNECT bad UTF-8 client id", false, hex("100e 0004 4d515454 04 02 003c 0002 c328"), Expect.CLOSED));
    c.add(new Case("CONNECT NUL in client id", false, hex("100e 0004 4d515454 04 02 003c 0002 6100"), Expect.CLOSED));
    c.add(new Case("CONNECT no credentials", false, bytes(new Connect("MQTT", 4, dev, true, 60, null, null, null)), Expect.CONNACK_REFUSED_THEN_CLOSED));
    c.add(new Case("CONNECT wrong key", false, bytes(new Connect("MQTT", 4, dev, true, 60, null, HOST + "/" + dev + "/",
        ByteString.fromString(SasToken.signForDevice(HOST, dev, null, "c29tZS1vdGhlci1rZXktc29tZS1vdGhlci1rZXktc28=",
            System.currentTimeMillis() / 1000 + 60)))), Expect.CONNACK_REFUSED_THEN_CLOSED));
    c.add(new Case("CONNECT expired token", false, bytes(new Connect("MQTT", 4, dev, true, 60, null, HOST + "/" + dev + "/",
        ByteString.fromString(SasToken.signForDevice(HOST, dev, null, KEY1, System.currentTimeMillis() / 1000 - 5)))), Expect.CONNACK_REFUSED_THEN_CLOSED));
    c.add(new Case("CONNECT as other device with own token", false, bytes(new Connect("MQTT", 4, other, true, 60, null, HOST + "/" + other + "/",
        ByteString.fromString(token(dev)))), Expect.CONNACK_REFUSED_THEN_CLOSED));
    c.add(new Case("CONNECT unknown device", false, bytes(new Connect("MQTT", 4, "ghost-" + dev, true, 60, null, HOST + "/ghost-" + dev + "/",
        ByteString.fromString(token("ghost-" + dev)))), Expect.CONNACK_REFUSED_THEN_CLOSED));
    c.add(new Case("CONNECT bad client id", false, bytes(new Connect("MQTT", 4, "a b/c/d", true, 60, null, HOST + "/a b/c/d/",
        ByteString.fromString(token(dev)))), Expect.CONNACK_REFUSED_THEN_CLOSED));
    c.add(new Case("CONNECT password garbage", false, bytes(new Connect("MQTT", 4, dev, true, 60, null, HOST + "/" + dev + "/",
        ByteString.fromArray(hex("00ff00ff")))), Expect.CONNACK_REFUSED_THEN_CLOSED));
    // After a good CONNECT.
    c.add(new Case("second CONNECT", true, connect(dev), Expect.CLOSED));
    c.add(new Case("QoS 2 PUBLISH", true, publish(2, own + "/messages/events/", "x"), Expect.CLOSED));
    c.add(new Case("PUBLISH QoS 3 flags", true, hex("36 05 0001 78 0001"), Expect.CLOSED));
    c.add(new Case("PUBLISH wildcard topic", true, publish(0, own + "/messages/#", "x"), Expect.CLOSED));
    c.add(new Case("PUBLISH bad UTF-8 topic", true, hex("30 04 0002 c328"), Expect.CLOSED));
    c.add(new Case("PUBLISH NUL in topic", true, hex("30 05 0003 61 00 62"), Expect.CLOSED));
    c.add(new Case("PUBLISH packet id 0", true, hex("32 05 0001 61 0000"), Expect.CLOSED));
    c.add(new Case("telemetry of another device", true, publish(1, "devices/" + other + "/messages/events/", "spoof"), Expect.CLOSED));
    c.add(new Case("telemetry as a module of another device", true, publish(1, "devices/" + other + "/modules/m/messages/events/", "spoof"), Expect.CLOSED));
    c.add(new Case("telemetry bad property bag", true, publish(1, own + "/messages/events/a=%zz", "x"), Expect.CLOSED));
    c.add(new Case("telemetry over 256 KB", true, bytes(new Publish(false, 1, false, own + "/messages/events/", 1, ByteString.fromArray(new byte[262_145]))), Expect.CLOSED));
    c.add(new Case("unknown $iothub topic", true, publish(0, "$iothub/whatever/?$rid=1", ""), Expect.CLOSED));
    c.add(new Case("desired PATCH from the device", true, publish(0, "$iothub/twin/PATCH/properties/desired/?$rid=1", "{\"x\":1}"), Expect.CLOSED));
    c.add(new Case("twin GET without rid", true, publish(0, "$iothub/twin/GET/", ""), Expect.CLOSED));
    c.add(new Case("method response bad status", true, publish(0, "$iothub/methods/res/abc/?$rid=1", "{}"), Expect.CLOSED));
    c.add(new Case("random topic", true, publish(0, "foo/bar", "x"), Expect.CLOSED));
    c.add(new Case("subscribe other device's C2D", true, subscribe("devices/" + other + "/messages/devicebound/#"), Expect.CLOSED));
    c.add(new Case("subscribe everything", true, subscribe("#"), Expect.CLOSED));
    c.add(new Case("subscribe $iothub/#", true, subscribe("$iothub/#"), Expect.CLOSED));
    c.add(new Case("subscribe misplaced #", true, hex("82 08 0001 0003 232f61 00"), Expect.CLOSED));
    c.add(new Case("SUBSCRIBE with reserved flags 0", true, hex("80 06 0001 0001 61 00"), Expect.CLOSED));
    c.add(new Case("PUBREL (QoS 2 flow)", true, hex("62 02 0001"), Expect.CLOSED));
    c.add(new Case("server-only CONNACK from client", true, hex("20 02 0000"), Expect.CLOSED));
    c.add(new Case("truncated PUBLISH then close", true, java.util.Arrays.copyOf(publish(1, own + "/messages/events/", "hello world"), 12), Expect.CLOSED));
    // Bad twin patches: 4xx result topics, connection stays.
    c.add(new Case("reported patch not JSON", true, publish(1, "$iothub/twin/PATCH/properties/reported/?$rid=9", "{nope"), Expect.RESULT_4XX));
    c.add(new Case("reported patch array", true, publish(1, "$iothub/twin/PATCH/properties/reported/?$rid=9", "[1,2]"), Expect.RESULT_4XX));
    c.add(new Case("reported patch bad key", true, publish(1, "$iothub/twin/PATCH/properties/reported/?$rid=9", "{\"a.b\":1}"), Expect.RESULT_4XX));
    c.add(new Case("reported patch too deep", true, publish(1, "$iothub/twin/PATCH/properties/reported/?$rid=9",
        "{\"a\":".repeat(30) + "1" + "}".repeat(30)), Expect.RESULT_4XX));
    c.add(new Case("reported patch too large", true, publish(1, "$iothub/twin/PATCH/properties/reported/?$rid=9",
        "{" + java.util.stream.IntStream.range(0, 12).mapToObj(i -> "\"k" + i + "\":\"" + "x".repeat(4000) + "\"")
            .collect(java.util.stream.Collectors.joining(",")) + "}"), Expect.RESULT_4XX));
    return c;
  }

  @Test
  void fortyAndMoreBadInputsAreRefusedWhileAWellBehavedDeviceKeepsBeingServed() throws Exception {
    // A well-behaved device (Paho, as inside the SDK) connected during the whole run.
    BlockingQueue<String> desiredTopics = new LinkedBlockingQueue<>();
    MqttClient good = pahoClient(other);
    good.subscribe("$iothub/twin/PATCH/properties/desired/#", 1, (topic, msg) -> desiredTopics.add(topic));

    List<Case> cases = cases();
    assertTrue(cases.size() >= 40, "at least 40 cases: " + cases.size());
    List<String> failures = new ArrayList<>();
    long reportedBefore = reportedVersion(dev);
    for (Case k : cases) {
      try (SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket(HOST, port)) {
        s.setSoTimeout(15_000);
        s.startHandshake();
        OutputStream out = s.getOutputStream();
        InputStream in = s.getInputStream();
        if (k.connectFirst()) {
          out.write(connect(dev));
          out.flush();
          ConnAck ack = (ConnAck) readPacket(in);
          assertEquals(ConnectReturnCode.ACCEPTED, ack.returnCode(), k.name() + ": setup CONNECT");
          if (k.expect() == Expect.RESULT_4XX) {
            out.write(subscribe("$iothub/twin/res/#"));
            out.flush();
            assertInstanceOf(SubAck.class, readPacket(in));
          }
        }
        try {
          out.write(k.bytes());
          out.flush();
          if (k.name().startsWith("truncated")) s.shutdownOutput();
        } catch (IOException e) {
          // the server may close before everything is written: that is a close
        }
        String outcome = switch (k.expect()) {
          case CLOSED -> expectClose(in, false);
          case CONNACK_REFUSED_THEN_CLOSED -> expectClose(in, true);
          case RESULT_4XX -> expectResult4xx(in);
        };
        if (outcome != null) failures.add(k.name() + ": " + outcome);
      } catch (IOException e) {
        if (k.expect() == Expect.RESULT_4XX) failures.add(k.name() + ": " + e);
      }
      // The node keeps serving: a twin write by the good device's twin and its notification.
      var r = MqttTestNodes.await(node.twins().updateTwin(other, null, new io.twinhub.twin.domain.TwinUpdate.PatchDesired(
          io.twinhub.twin.domain.JsonDoc.of(new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().put("case", k.name()))), null));
      assertInstanceOf(TwinReply.Accepted.class, r);
      String topic = desiredTopics.poll(30, TimeUnit.SECONDS);
      assertNotNull(topic, "the good device still gets notifications after case " + k.name());
    }
    assertTrue(failures.isEmpty(), String.join("\n", failures));
    assertTrue(good.isConnected(), "the good device's connection survived every case");
    assertEquals(reportedBefore, reportedVersion(dev), "no bad input wrote the twin");
    assertTrue(DeviceSdkIT.telemetry(node, dev).isEmpty(), "no bad input wrote telemetry");
    assertTrue(DeviceSdkIT.telemetry(node, other).isEmpty(), "nobody could write as the other device");
    good.disconnect();
    good.close();
  }

  @Test
  void rawTopicsWithPaho() throws Exception {
    String d = "paho-" + UUID.randomUUID().toString().substring(0, 8);
    createDevice(node.twins(), d);
    MqttClient c = pahoClient(d);
    BlockingQueue<String[]> received = new LinkedBlockingQueue<>();
    c.subscribe("$iothub/twin/res/#", 1, (t, m) -> received.add(new String[] {t, new String(m.getPayload(), StandardCharsets.UTF_8)}));
    c.subscribe("devices/" + d + "/messages/devicebound/#", 1, (t, m) -> { });
    c.publish("$iothub/twin/GET/?$rid=get1", new byte[0], 0, false);
    String[] get = received.poll(30, TimeUnit.SECONDS);
    assertNotNull(get);
    assertEquals("$iothub/twin/res/200/?$rid=get1", get[0]);
    assertTrue(get[1].contains("\"desired\":{\"$version\":1}"), get[1]);
    c.publish("$iothub/twin/PATCH/properties/reported/?$rid=p1", "{\"fw\":\"2.1\"}".getBytes(StandardCharsets.UTF_8), 1, false);
    assertEquals("$iothub/twin/res/204/?$rid=p1&$version=2", received.poll(30, TimeUnit.SECONDS)[0]);
    c.publish("devices/" + d + "/messages/events/%24.ct=text%2Fplain&k=v", "hello".getBytes(StandardCharsets.UTF_8), 1, false);
    var events = DeviceSdkIT.telemetry(node, d);
    assertEquals(1, events.size(), "PUBACK came after the message was journaled");
    assertEquals("v", events.get(0).properties().get("k"));
    assertEquals("text/plain", events.get(0).systemProperties().get("content-type"));
    c.disconnect();
    c.close();
  }

  static long reportedVersion(String deviceId) {
    return ((TwinReply.Accepted) MqttTestNodes.await(node.twins().getTwin(deviceId, null))).twin().state().reported().version();
  }

  static MqttClient pahoClient(String deviceId) throws MqttException {
    MqttClient c = new MqttClient("ssl://" + HOST + ":" + port, deviceId, new MemoryPersistence());
    MqttConnectOptions o = new MqttConnectOptions();
    o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
    o.setCleanSession(true);
    o.setKeepAliveInterval(60);
    o.setUserName(HOST + "/" + deviceId + "/?api-version=2020-09-30");
    o.setPassword(token(deviceId).toCharArray());
    o.setSocketFactory(tls.getSocketFactory());
    o.setAutomaticReconnect(false);
    c.connect(o);
    return c;
  }

  /** Reads packets until the server closes; null when that matches the expectation. */
  static String expectClose(InputStream in, boolean refusalFirst) throws IOException {
    boolean sawRefusal = false;
    while (true) {
      MqttPacket p;
      try {
        p = readPacket(in);
      } catch (SocketTimeoutException e) {
        return "connection still open after 15 s";
      } catch (IOException e) {
        return refusalFirst && !sawRefusal ? "closed without a CONNACK refusal" : null; // reset / TLS close
      }
      if (p == null) return refusalFirst && !sawRefusal ? "closed without a CONNACK refusal" : null;
      if (p instanceof ConnAck a && a.returnCode() != ConnectReturnCode.ACCEPTED) sawRefusal = true;
      else if (!(p instanceof PacketIdOnly)) return "unexpected " + p;
    }
  }

  static String expectResult4xx(InputStream in) throws IOException {
    for (int i = 0; i < 3; i++) {
      MqttPacket p = readPacket(in);
      if (p instanceof Publish pub) {
        String status = pub.topic().replace("$iothub/twin/res/", "").split("/")[0];
        return status.startsWith("4") ? null : "result " + pub.topic();
      }
      if (p == null) return "closed instead of a 4xx result";
    }
    return "no result topic";
  }

  /** One packet from the stream, or null at end of stream. */
  static MqttPacket readPacket(InputStream in) throws IOException {
    int first = in.read();
    if (first < 0) return null;
    ByteArrayOutputStream header = new ByteArrayOutputStream();
    header.write(first);
    int length = 0;
    int multiplier = 1;
    int b;
    do {
      b = in.read();
      if (b < 0) return null;
      header.write(b);
      length += (b & 0x7f) * multiplier;
      multiplier *= 128;
    } while ((b & 0x80) != 0);
    byte[] body = in.readNBytes(length);
    if (body.length < length) return null;
    return MqttCodec.decode(ByteString.fromArray(concat(header.toByteArray(), body)));
  }
}
