package io.twinhub.ops.bench.mqtt;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import com.typesafe.config.ConfigFactory;
import io.twinhub.mqtt.codec.MqttCodec;
import io.twinhub.mqtt.codec.MqttPacket;
import io.twinhub.ops.bench.SasTokens;
import io.twinhub.twin.auth.SasVerifier;
import io.twinhub.twin.auth.SymmetricKeyPair;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code mqtt-storm}'s floor: what the bare endpoint answers (pure), its per-connection flow, and the
 * endpoint over the node's TLS transport on a free loopback port against the bench's own load client
 * (first connects full, reconnects resumed, a forged token refused).
 */
class BareMqttServerTest {
  static final String HOST = "bare-test.azure-devices.net";
  final SasVerifier sas = new SasVerifier(List.of(HOST), Clock.systemUTC());
  final SymmetricKeyPair keys = new SymmetricKeyPair(MqttBench.DEVICE_KEY, MqttBench.DEVICE_KEY);

  static String token(String device, String key) {
    return SasTokens.sign(HOST + "/devices/" + device, key, null, System.currentTimeMillis() / 1000 + 3600);
  }

  static MqttPacket.Connect connect(String device, String password) {
    return new MqttPacket.Connect("MQTT", 4, device, false, 60, null, HOST + "/" + device + "/?api-version=2021-04-12",
        password == null ? null : ByteString.fromString(password));
  }

  static final String OTHER_KEY = java.util.Base64.getEncoder().encodeToString("another-key-another-key-another!".getBytes());

  @Test
  void aConnectIsAcceptedExactlyWhenItsTokenIsSignedWithTheDeviceKeyForThatDevice() {
    assertEquals(Optional.of(new MqttPacket.ConnAck(false, MqttPacket.ConnectReturnCode.ACCEPTED)),
        BareMqttServer.answer(connect("d1", token("d1", MqttBench.DEVICE_KEY)), sas, keys));
    MqttPacket.ConnAck refused = new MqttPacket.ConnAck(false, MqttPacket.ConnectReturnCode.NOT_AUTHORIZED);
    assertEquals(Optional.of(refused), BareMqttServer.answer(connect("d1", token("d1", OTHER_KEY)), sas, keys), "forged");
    assertEquals(Optional.of(refused), BareMqttServer.answer(connect("d1", token("d2", MqttBench.DEVICE_KEY)), sas, keys),
        "another device's token");
    assertEquals(Optional.of(refused), BareMqttServer.answer(connect("d1", null), sas, keys), "no password");
    assertEquals(Optional.of(refused), BareMqttServer.answer(connect("d1", "not a token"), sas, keys), "malformed");
  }

  @Test
  void pingIsAnsweredAndEverythingElseIsNot() {
    assertEquals(Optional.of(MqttPacket.Empty.PINGRESP_PACKET), BareMqttServer.answer(MqttPacket.Empty.PINGREQ_PACKET, sas, keys));
    assertEquals(Optional.empty(), BareMqttServer.answer(MqttPacket.Publish.qos0("devices/d1/messages/events/", ByteString.fromString("x")),
        sas, keys));
  }

  @Test
  void aSubscribeIsGrantedAtMostQos1AndEachReportedPatchIsAcceptedWithTheConnectionsNextVersion() {
    long[] version = {1};
    assertEquals(List.of(new MqttPacket.SubAck(7, List.of(1, 0))), BareMqttServer.twinAnswer(new MqttPacket.Subscribe(7,
        List.of(new MqttPacket.TopicFilter("$iothub/twin/res/#", 2), new MqttPacket.TopicFilter("x", 0))), version));
    MqttPacket.Publish patch = new MqttPacket.Publish(false, 1, false, "$iothub/twin/PATCH/properties/reported/?$rid=41", 9,
        ByteString.fromString("{\"a\":1}"));
    assertEquals(List.of(MqttPacket.PacketIdOnly.pubAck(9), MqttPacket.Publish.qos0("$iothub/twin/res/204/?$rid=41&$version=2",
        ByteString.emptyByteString())), BareMqttServer.twinAnswer(patch, version));
    assertEquals(List.of(MqttPacket.PacketIdOnly.pubAck(9), MqttPacket.Publish.qos0("$iothub/twin/res/204/?$rid=41&$version=3",
        ByteString.emptyByteString())), BareMqttServer.twinAnswer(patch, version));
    assertEquals(List.of(), BareMqttServer.twinAnswer(new MqttPacket.Publish(false, 1, false,
        "$iothub/twin/PATCH/properties/reported/?rid=41", 9, ByteString.fromString("{}")), version), "no $rid");
    assertEquals(List.of(), BareMqttServer.twinAnswer(MqttPacket.Publish.qos0("devices/d1/messages/events/", ByteString.fromString("x")),
        version), "telemetry");
    assertEquals(3, version[0]);
  }

  @Test
  void aConnectionIsAnsweredUntilItsDisconnect() throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bare-test");
    try {
      List<ByteString> out = Source.from(List.<MqttPacket>of(connect("d1", token("d1", MqttBench.DEVICE_KEY)),
              MqttPacket.Empty.PINGREQ_PACKET, MqttPacket.Empty.DISCONNECT_PACKET, MqttPacket.Empty.PINGREQ_PACKET))
          .via(BareMqttServer.session(sas, keys))
          .runWith(Sink.seq(), system)
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertEquals(List.of(MqttCodec.encode(new MqttPacket.ConnAck(false, MqttPacket.ConnectReturnCode.ACCEPTED)),
          MqttCodec.encode(MqttPacket.Empty.PINGRESP_PACKET)), out);
    } finally {
      system.terminate();
    }
  }

  @Test
  void overTheNodesTlsTransportDevicesConnectAndResumeTheirSessionsWhenReconnecting(@TempDir Path dir) throws Exception {
    var config = ConfigFactory.parseString("akka.actor.provider = local\nakka.loglevel = WARNING\ntwinhub.bind-interface = 127.0.0.1")
        .withFallback(ConfigFactory.load());
    try (BareMqttServer.Running server = BareMqttServer.start(dir, 0, HOST, config);
         MqttLoadClient client = new MqttLoadClient("127.0.0.1", server.binding().localAddress().getPort(),
             dir.resolve("tls/ca.pem").toFile(), 1)) {
      assertTrue(server.describe().contains("EC 256-bit"), server.describe());
      List<MqttLoadClient.Device> first = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        first.add(client.connect("d" + i, HOST + "/d" + i + "/?api-version=2021-04-12", token("d" + i, MqttBench.DEVICE_KEY), 60,
            new MqttLoadClient.Listener() {}));
      }
      for (MqttLoadClient.Device d : first) {
        assertEquals(0, d.connAck().get(30, TimeUnit.SECONDS), d.clientId);
        assertTrue(!d.resumedTls(), "a first connect is a full handshake");
      }
      MqttBench.disconnectAll(first);
      List<MqttLoadClient.Device> again = new ArrayList<>();
      for (MqttLoadClient.Device d : first) again.add(client.reconnect(d, token(d.clientId, MqttBench.DEVICE_KEY),
          new MqttLoadClient.Listener() {}));
      for (MqttLoadClient.Device d : again) {
        assertEquals(0, d.connAck().get(30, TimeUnit.SECONDS), d.clientId);
        assertTrue(d.resumedTls(), d.clientId + " resumed its TLS session");
      }
      MqttBench.disconnectAll(again);
      MqttLoadClient.Device forged = client.connect("d0", HOST + "/d0/?api-version=2021-04-12", token("d0", OTHER_KEY), 60,
          new MqttLoadClient.Listener() {});
      assertEquals(5, forged.connAck().get(30, TimeUnit.SECONDS));
      forged.disconnect();
      CompletableFuture.allOf(forged.closed()).get(30, TimeUnit.SECONDS);
    }
  }
}
