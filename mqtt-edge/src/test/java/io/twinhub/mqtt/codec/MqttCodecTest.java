package io.twinhub.mqtt.codec;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import io.twinhub.mqtt.codec.MqttPacket.*;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.internal.wire.MqttConnack;
import org.eclipse.paho.client.mqttv3.internal.wire.MqttConnect;
import org.eclipse.paho.client.mqttv3.internal.wire.MqttPublish;
import org.eclipse.paho.client.mqttv3.internal.wire.MqttSuback;
import org.eclipse.paho.client.mqttv3.internal.wire.MqttSubscribe;
import org.eclipse.paho.client.mqttv3.internal.wire.MqttUnsubscribe;
import org.eclipse.paho.client.mqttv3.internal.wire.MqttWireMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** Round trips, differential checks against Paho (the device SDK's MQTT client), malformed input, framing. */
class MqttCodecTest {
  static final ActorTestKit testKit = ActorTestKit.create();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  static final List<MqttPacket> SAMPLES = List.of(
      new Connect("MQTT", 4, "dev1/mod-a", false, 230, null, "hub.example/dev1/mod-a/?api-version=2020-09-30",
          ByteString.fromString("SharedAccessSignature sig=x&se=1&sr=y")),
      new Connect("MQTT", 4, "d", true, 0, new Will("w/t", ByteString.fromString("bye"), 1, true), null, null),
      new ConnAck(false, ConnectReturnCode.ACCEPTED),
      new ConnAck(true, ConnectReturnCode.NOT_AUTHORIZED),
      new Publish(false, 0, false, "$iothub/twin/GET/?$rid=1", 0, ByteString.emptyByteString()),
      new Publish(true, 1, true, "devices/d/messages/events/a=b&%24.ct=application%2Fjson", 65535,
          ByteString.fromString("{\"t\":21.5}")),
      new Publish(false, 2, false, "x/ü/€", 7, ByteString.fromArray(new byte[300])),
      PacketIdOnly.pubAck(1), new PacketIdOnly(MqttPacket.PUBREC, 2), new PacketIdOnly(MqttPacket.PUBREL, 3),
      new PacketIdOnly(MqttPacket.PUBCOMP, 4), PacketIdOnly.unsubAck(5),
      new Subscribe(9, List.of(new TopicFilter("$iothub/twin/res/#", 1), new TopicFilter("a/+/c", 0))),
      new SubAck(9, List.of(1, 0, SubAck.FAILURE)),
      new Unsubscribe(10, List.of("$iothub/methods/POST/#")),
      Empty.PINGREQ_PACKET, Empty.PINGRESP_PACKET, Empty.DISCONNECT_PACKET);

  @Test
  void everyPacketTypeRoundTrips() {
    for (MqttPacket p : SAMPLES) {
      MqttPacket back = MqttCodec.decode(MqttCodec.encode(p));
      assertEquals(normalize(p), normalize(back), () -> "round trip of " + p);
    }
  }

  @Test
  void remainingLengthUsesOneToFourBytes() {
    for (int size : new int[] {0, 127, 128, 16383, 16384, 2_097_151, 2_097_152}) {
      Publish p = new Publish(false, 0, false, "t", 0, ByteString.fromArray(new byte[Math.max(0, size - 3)]));
      ByteString bytes = MqttCodec.encode(p);
      MqttPacket back = MqttCodec.decode(bytes);
      assertEquals(p.payload().size(), ((Publish) back).payload().size());
    }
  }

  @Test
  void pahoEncodedPacketsDecode() throws Exception {
    MqttConnect connect = new MqttConnect("dev1", 4, false, 230, "host/dev1/?api-version=2020-09-30",
        "SharedAccessSignature sr=a&sig=b&se=1".toCharArray(), null, null);
    Connect c = (Connect) MqttCodec.decode(paho(connect));
    assertEquals("MQTT", c.protocolName());
    assertEquals(4, c.protocolLevel());
    assertEquals("dev1", c.clientId());
    assertFalse(c.cleanSession());
    assertEquals(230, c.keepAliveSeconds());
    assertEquals("host/dev1/?api-version=2020-09-30", c.userName());
    assertEquals("SharedAccessSignature sr=a&sig=b&se=1", c.passwordText());

    MqttMessage m = new MqttMessage("{\"a\":1}".getBytes(StandardCharsets.UTF_8));
    m.setQos(1);
    MqttPublish pub = new MqttPublish("$iothub/twin/PATCH/properties/reported/?$rid=2", m);
    pub.setMessageId(42);
    Publish p = (Publish) MqttCodec.decode(paho(pub));
    assertEquals(1, p.qos());
    assertEquals(42, p.packetId());
    assertEquals("$iothub/twin/PATCH/properties/reported/?$rid=2", p.topic());
    assertEquals("{\"a\":1}", p.payload().utf8String());

    MqttSubscribe sub = new MqttSubscribe(new String[] {"$iothub/twin/res/#", "$iothub/methods/POST/#"}, new int[] {1, 2});
    sub.setMessageId(7);
    Subscribe s = (Subscribe) MqttCodec.decode(paho(sub));
    assertEquals(7, s.packetId());
    assertEquals(List.of(new TopicFilter("$iothub/twin/res/#", 1), new TopicFilter("$iothub/methods/POST/#", 2)), s.filters());

    MqttUnsubscribe unsub = new MqttUnsubscribe(new String[] {"a/b"});
    unsub.setMessageId(8);
    assertEquals(new Unsubscribe(8, List.of("a/b")), MqttCodec.decode(paho(unsub)));
  }

  @Test
  void ourPacketsDecodeInPaho() throws Exception {
    MqttConnack ack = (MqttConnack) MqttWireMessage.createWireMessage(
        MqttCodec.encode(new ConnAck(false, ConnectReturnCode.NOT_AUTHORIZED)).toArray());
    assertEquals(5, ack.getReturnCode());
    assertFalse(ack.getSessionPresent());

    MqttSuback suback = (MqttSuback) MqttWireMessage.createWireMessage(MqttCodec.encode(new SubAck(3, List.of(1, 0))).toArray());
    assertEquals(3, suback.getMessageId());
    assertArrayEquals(new int[] {1, 0}, suback.getGrantedQos());

    byte[] payload = "{\"desired\":{\"$version\":3}}".getBytes(StandardCharsets.UTF_8);
    MqttPublish pub = (MqttPublish) MqttWireMessage.createWireMessage(MqttCodec.encode(
        Publish.qos0("$iothub/twin/res/200/?$rid=5", ByteString.fromArray(payload))).toArray());
    assertEquals("$iothub/twin/res/200/?$rid=5", pub.getTopicName());
    assertArrayEquals(payload, pub.getMessage().getPayload());
    assertEquals(0, pub.getMessage().getQos());
  }

  /** Each entry: hex bytes of a whole packet and a fragment of the expected error. */
  static final String[][] MALFORMED = {
      {"f000", "reserved packet type 15"},
      {"0000", "reserved packet type 0"},
      {"3603007861", "QoS 3"},
      {"38030078" + "61", "QoS 0 with DUP"},
      {"32050001780000", "packet identifier 0"},
      {"300300012b", "wildcard"},
      {"3003000123", "wildcard"},
      {"30020000", "empty topic"},
      {"3003000100", "control character"},
      {"300300 01 c3".replace(" ", ""), "UTF-8"},
      {"3004 0002 eda0".replace(" ", ""), "UTF-8"},
      {"300500 03 eda080".replace(" ", ""), "UTF-8"}, // encoded surrogate
      {"400100", "truncated packet identifier"},
      {"4002 0000".replace(" ", ""), "packet identifier 0"},
      {"41020001", "reserved header flags"},
      {"6002 0001".replace(" ", ""), "reserved header flags"},
      {"8205 0001 0001 61".replace(" ", ""), "truncated requested QoS"},
      {"8206 0001 0001 61 03".replace(" ", ""), "requested QoS"},
      {"8206 0001 0001 61 04".replace(" ", ""), "requested QoS"},
      {"8202 0001".replace(" ", ""), "without topic filters"},
      {"8207 0001 0002 6123 00".replace(" ", ""), "misplaced '#'"},
      {"8208 0001 0003 232f61 00".replace(" ", ""), "misplaced '#'"},
      {"8207 0001 0002 612b 00".replace(" ", ""), "misplaced '+'"},
      {"8006 0001 0001 61 00".replace(" ", ""), "reserved header flags"},
      {"a202 0001".replace(" ", ""), "without topic filters"},
      {"c001 00".replace(" ", ""), "trailing"},
      {"c100", "reserved header flags"},
      {"e001 00".replace(" ", ""), "trailing"},
      {"100c 0004 4d515454 04 01 0000 0000".replace(" ", ""), "reserved flag"},
      {"100c 0004 4d515454 04 18 0000 0000".replace(" ", ""), "will QoS 3"},
      {"100c 0004 4d515454 04 20 0000 0000".replace(" ", ""), "without will flag"},
      {"100c 0004 4d515454 04 40 0000 0000".replace(" ", ""), "password without user name"},
      {"100c 0004 4d515555 04 00 0000 0000".replace(" ", ""), "unknown protocol name"},
      {"1008 0004 4d515454 04 00".replace(" ", ""), "truncated keep alive"},
      {"100a 0004 4d515454 04 00 0000".replace(" ", ""), "truncated client identifier"},
      {"100e 0004 4d515454 04 00 0000 0000 ffff".replace(" ", ""), "trailing"},
      {"2003 0000 00".replace(" ", ""), "trailing"},
      {"2002 0200".replace(" ", ""), "CONNACK reserved flags"},
      {"2002 0006".replace(" ", ""), "return code 6"},
      {"30ffffffff7f", "remaining length longer than 4 bytes"},
  };

  @Test
  void malformedPacketsAreRejectedWithAReason() {
    int checked = 0;
    for (String[] c : MALFORMED) {
      ByteString bytes = ByteString.fromArray(hex(c[0]));
      MqttProtocolException e = assertThrows(MqttProtocolException.class, () -> MqttCodec.decode(bytes),
          () -> "should refuse " + c[0]);
      assertTrue(e.getMessage().contains(c[1]), () -> c[0] + ": '" + e.getMessage() + "' should mention '" + c[1] + "'");
      checked++;
    }
    assertTrue(checked >= 35, "checked " + checked);
  }

  @Test
  void framingCutsAnySplitOfTheByteStreamIntoTheSamePackets() throws Exception {
    ByteString all = ByteString.emptyByteString();
    for (MqttPacket p : SAMPLES) all = all.concat(MqttCodec.encode(p));
    Random random = new Random(7);
    for (int round = 0; round < 50; round++) {
      List<ByteString> chunks = new ArrayList<>();
      ByteString rest = all;
      while (!rest.isEmpty()) {
        int n = Math.min(rest.size(), round == 0 ? 1 : 1 + random.nextInt(64));
        chunks.add(rest.take(n));
        rest = rest.drop(n);
      }
      List<MqttPacket> out = Source.from(chunks).via(new MqttFraming(1_000_000))
          .runWith(Sink.seq(), testKit.system()).toCompletableFuture().get(5, TimeUnit.SECONDS);
      assertEquals(SAMPLES.stream().map(MqttCodecTest::normalize).toList(), out.stream().map(MqttCodecTest::normalize).toList());
    }
  }

  @Test
  void framingRefusesOversizePacketsBeforeTheirBodyArrives() throws Exception {
    // Header announcing 2 MB; only the header is sent, the connection stays open.
    assertEquals("packet of 2097152 bytes exceeds the maximum of 1024", malformed(hex("30808080" + "01"), 1024, false));
  }

  @Test
  void framingReportsATruncatedPacketAtEndOfStream() throws Exception {
    ByteString bytes = MqttCodec.encode(Publish.qos0("a/b", ByteString.fromString("hello")));
    List<MqttPacket> out = Source.single(bytes.take(bytes.size() - 2))
        .via(new MqttFraming(1024)).runWith(Sink.seq(), testKit.system()).toCompletableFuture().get(5, TimeUnit.SECONDS);
    assertTrue(((Malformed) out.get(out.size() - 1)).reason().contains("closed inside a packet"));
  }

  @Test
  void serverSideFramingRefusesAFirstPacketThatIsNotConnectAtItsFirstByte() throws Exception {
    for (String hex : new String[] {"47", "30", "c0", "ff"}) {
      assertEquals("first packet is not CONNECT", malformed(hex(hex), 1024, true), hex);
    }
    assertTrue(malformed(hex("10ffff03"), 1_000_000, true).startsWith("CONNECT of"));
    assertTrue(malformed(hex("c000"), 1024, false) == null, "PINGREQ is fine on a client-side or later stream");
  }

  /** Feeds bytes into a stream that stays open; the reason of the Malformed element, or null if none within 1 s. */
  private static String malformed(byte[] bytes, int max, boolean serverSide) throws Exception {
    var first = Source.single(ByteString.fromArray(bytes)).concat(Source.<ByteString>maybe())
        .via(new MqttFraming(max, serverSide)).runWith(Sink.head(), testKit.system()).toCompletableFuture();
    try {
      MqttPacket p = first.get(1, TimeUnit.SECONDS);
      return p instanceof Malformed m ? m.reason() : null;
    } catch (java.util.concurrent.TimeoutException e) {
      return null;
    }
  }

  private static ByteString paho(MqttWireMessage m) throws Exception {
    return ByteString.fromArray(m.getHeader()).concat(ByteString.fromArray(m.getPayload()));
  }

  /** Packets compare by content (ByteString equality is by content already; Connect's password too). */
  private static Object normalize(MqttPacket p) {
    return p instanceof Publish pub ? List.of(pub.dup(), pub.qos(), pub.retain(), pub.topic(), pub.packetId(), pub.payload().utf8String()) : p;
  }

  static byte[] hex(String s) {
    byte[] out = new byte[s.length() / 2];
    for (int i = 0; i < out.length; i++) out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
    return out;
  }
}
