package io.twinhub.mqtt.session;

import akka.persistence.testkit.javadsl.PersistenceTestKit;
import akka.util.ByteString;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.twinhub.mqtt.codec.MqttPacket;
import io.twinhub.mqtt.codec.MqttPacket.*;
import io.twinhub.mqtt.telemetry.TelemetryLog;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.DirectMethodReply;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.error.IotHubErrorCode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;

import static io.twinhub.mqtt.session.SessionHarness.*;
import static org.junit.jupiter.api.Assertions.*;

/** The session state machine against the real twin entities (in-memory journal). */
class MqttSessionTest {
  static SessionHarness hub;

  @BeforeAll
  static void start() {
    hub = new SessionHarness("""
        twinhub.mqtt.twin-ops-burst = 5
        twinhub.mqtt.twin-ops-per-second = 0.001
        """);
  }

  @AfterAll
  static void stop() {
    hub.shutdown();
  }

  private ConnectionState connectionState(String deviceId, String moduleId) {
    return ((TwinReply.Accepted) await(hub.twins.getTwin(deviceId, moduleId))).twin().identity().connectionState();
  }

  @Test
  void connectWithValidTokenIsAcceptedAndTwinBecomesConnected() throws Exception {
    String dev = hub.createDevice("ok");
    var c = hub.new Client();
    c.connectOk(dev, null);
    assertEquals(ConnectionState.CONNECTED, connectionState(dev, null));
    c.sendAndAwaitAck(Empty.PINGREQ_PACKET);
    assertEquals(Empty.PINGRESP_PACKET, c.receive());
    c.send(Empty.DISCONNECT_PACKET);
    c.expectClosed();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos(); // a loaded box
    while (connectionState(dev, null) != ConnectionState.DISCONNECTED && System.nanoTime() < deadline) Thread.sleep(20);
    assertEquals(ConnectionState.DISCONNECTED, connectionState(dev, null));
  }

  @Test
  void connectRefusalsUseIotHubsReturnCodes() {
    String dev = hub.createDevice("refuse");
    String good = token(dev, null, KEY1, 3600);
    record Case(String name, Connect connect, ConnectReturnCode expected) {}
    List<Case> cases = List.of(
        new Case("wrong signature", connect(dev, null, token(dev, null, KEY2.replace('d', 'e'), 3600), 60), ConnectReturnCode.NOT_AUTHORIZED),
        new Case("expired", connect(dev, null, token(dev, null, KEY1, -10), 60), ConnectReturnCode.NOT_AUTHORIZED),
        new Case("no password", connect(dev, null, null, 60), ConnectReturnCode.NOT_AUTHORIZED),
        new Case("password not a token", connect(dev, null, "hunter2", 60), ConnectReturnCode.NOT_AUTHORIZED),
        new Case("unknown device", connect("nobody-" + dev, null, token("nobody-" + dev, null, KEY1, 3600), 60), ConnectReturnCode.NOT_AUTHORIZED),
        new Case("token of another device", connect(dev, null, token("other", null, KEY1, 3600), 60), ConnectReturnCode.NOT_AUTHORIZED),
        new Case("protocol level 3", new Connect("MQTT", 3, dev, true, 60, null, HOST + "/" + dev + "/", ByteString.fromString(good)), ConnectReturnCode.UNACCEPTABLE_PROTOCOL_VERSION),
        new Case("MQIsdp", new Connect("MQIsdp", 3, dev, true, 60, null, HOST + "/" + dev + "/", ByteString.fromString(good)), ConnectReturnCode.UNACCEPTABLE_PROTOCOL_VERSION),
        new Case("empty client id", new Connect("MQTT", 4, "", true, 60, null, HOST + "//", ByteString.fromString(good)), ConnectReturnCode.IDENTIFIER_REJECTED),
        new Case("bad client id", new Connect("MQTT", 4, "a b", true, 60, null, HOST + "/a b/", ByteString.fromString(good)), ConnectReturnCode.IDENTIFIER_REJECTED),
        new Case("user name of another hub", new Connect("MQTT", 4, dev, true, 60, null, "evil.example/" + dev + "/?api-version=2020-09-30", ByteString.fromString(good)), ConnectReturnCode.BAD_USERNAME_OR_PASSWORD),
        new Case("user name of another device", new Connect("MQTT", 4, dev, true, 60, null, HOST + "/x" + dev + "/?api-version=2020-09-30", ByteString.fromString(good)), ConnectReturnCode.BAD_USERNAME_OR_PASSWORD),
        new Case("no user name", new Connect("MQTT", 4, dev, true, 60, null, null, null), ConnectReturnCode.BAD_USERNAME_OR_PASSWORD));
    for (Case k : cases) {
      var c = hub.new Client();
      assertEquals(k.expected(), c.connect(k.connect()).returnCode(), k.name());
      c.expectClosed();
    }
    assertEquals(ConnectionState.DISCONNECTED, connectionState(dev, null), "no refused connection marked the twin Connected");
  }

  @Test
  void disabledDeviceIsRefused() {
    String dev = hub.createDevice("disabled");
    await(hub.twins.updateDevice(dev, new IdentitySpec(DeviceStatus.DISABLED, "test", Authentication.sas(KEY1, KEY2), false), "*"));
    var c = hub.new Client();
    assertEquals(ConnectReturnCode.NOT_AUTHORIZED, c.connect(connect(dev, null, token(dev, null, KEY1, 3600), 60)).returnCode());
    c.expectClosed();
  }

  @Test
  void anythingButConnectFirstClosesTheConnection() {
    var c = hub.new Client();
    c.send(Publish.qos0("devices/x/messages/events/", ByteString.fromString("hi")));
    c.expectClosed();
  }

  @Test
  void twinGetAndReportedPatchWithResultTopics() {
    String dev = hub.createDevice("twin");
    await(hub.twins.updateTwin(dev, null, new TwinUpdate.PatchDesired(hub.doc("{\"fw\":\"1.2\"}")), null));
    var c = hub.new Client();
    c.connectOk(dev, null);
    assertEquals(List.of(1), c.subscribe(DeviceTopics.TWIN_RES_FILTER));

    c.publish(0, "$iothub/twin/GET/?$rid=10", "");
    Publish get = c.receivePublish();
    assertEquals("$iothub/twin/res/200/?$rid=10", get.topic());
    JsonNode view = c.json(get);
    assertEquals("1.2", view.get("desired").get("fw").asText());
    assertEquals(2, view.get("desired").get("$version").asInt());
    assertEquals(1, view.get("reported").get("$version").asInt());
    c.acks.expectMessage(MqttSession.Ack.ACK);

    int id = c.publish(1, "$iothub/twin/PATCH/properties/reported/?$rid=11", "{\"temp\":21.5,\"nested\":{\"a\":true}}");
    assertEquals(PacketIdOnly.pubAck(id), c.receive(), "PUBACK before the result, as IoT Hub (the SDK depends on it)");
    assertEquals("$iothub/twin/res/204/?$rid=11&$version=2", c.receivePublish().topic());
    c.acks.expectMessage(MqttSession.Ack.ACK);
    var twin = ((TwinReply.Accepted) await(hub.twins.getTwin(dev, null))).twin();
    assertEquals(21.5, twin.state().reported().values().get("temp").asDouble());

    // Invalid patches: 400 (malformed, bad key) and 413 (section too large); nothing written.
    c.publish(1, "$iothub/twin/PATCH/properties/reported/?$rid=12", "{not json");
    assertInstanceOf(PacketIdOnly.class, c.receive());
    assertEquals("$iothub/twin/res/400/?$rid=12", c.receivePublish().topic());
    c.acks.expectMessage(MqttSession.Ack.ACK);
    c.publish(0, "$iothub/twin/PATCH/properties/reported/?$rid=13", "{\"bad key\":1}");
    assertEquals("$iothub/twin/res/400/?$rid=13", c.receivePublish().topic());
    c.acks.expectMessage(MqttSession.Ack.ACK);
    c.publish(0, "$iothub/twin/PATCH/properties/reported/?$rid=14", "{\"big\":\"" + "x".repeat(4000) + "\",\"b2\":\"" + "y".repeat(4000)
        + "\",\"b3\":\"" + "y".repeat(4000) + "\",\"b4\":\"" + "y".repeat(4000) + "\",\"b5\":\"" + "y".repeat(4000)
        + "\",\"b6\":\"" + "y".repeat(4000) + "\",\"b7\":\"" + "y".repeat(4000) + "\",\"b8\":\"" + "y".repeat(4000)
        + "\",\"b9\":\"" + "y".repeat(4000) + "\"}");
    assertEquals("$iothub/twin/res/413/?$rid=14", c.receivePublish().topic());
    c.acks.expectMessage(MqttSession.Ack.ACK);
    twin = ((TwinReply.Accepted) await(hub.twins.getTwin(dev, null))).twin();
    assertEquals(2, twin.state().reported().version(), "rejected patches wrote nothing");
  }

  @Test
  void twinOperationsBeyondTheRateGet429() {
    String dev = hub.createDevice("rate");
    var c = hub.new Client();
    c.connectOk(dev, null);
    c.subscribe(DeviceTopics.TWIN_RES_FILTER);
    // A burst of 5 and a token every 1,000 s: how fast the box answers cannot refill the bucket.
    int ok = 0;
    int throttled = 0;
    for (int i = 0; i < 8; i++) {
      c.publish(0, "$iothub/twin/GET/?$rid=" + i, "");
      String topic = c.receivePublish().topic();
      if (topic.startsWith("$iothub/twin/res/200/")) ok++;
      else if (topic.startsWith("$iothub/twin/res/429/")) throttled++;
      c.acks.expectMessage(MqttSession.Ack.ACK);
    }
    assertEquals(5, ok, ok + " ok, " + throttled + " throttled");
    assertEquals(3, throttled, ok + " ok, " + throttled + " throttled");
  }

  @Test
  void desiredChangesArriveInVersionOrderAfterSubscribing() {
    String dev = hub.createDevice("desired");
    var c = hub.new Client();
    c.connectOk(dev, null);
    c.subscribe(DeviceTopics.TWIN_RES_FILTER, DeviceTopics.TWIN_DESIRED_FILTER);
    for (int i = 0; i < 20; i++) {
      await(hub.twins.updateTwin(dev, null, new TwinUpdate.PatchDesired(hub.doc("{\"n\":" + i + "}")), null));
    }
    for (int i = 0; i < 20; i++) {
      Publish p = c.receivePublish();
      assertEquals("$iothub/twin/PATCH/properties/desired/?$version=" + (i + 2), p.topic());
      assertEquals(i, c.json(p).get("n").asInt());
      assertEquals(i + 2, c.json(p).get("$version").asInt());
    }
    c.expectNothing(Duration.ofMillis(200));
  }

  @Test
  void moduleConnectsWithItsOwnTokenAndGetsItsOwnTwin() {
    String dev = hub.createDevice("modhost");
    hub.createModule(dev, "sensor");
    await(hub.twins.updateTwin(dev, "sensor", new TwinUpdate.PatchDesired(hub.doc("{\"rate\":5}")), null));
    var c = hub.new Client();
    c.connectOk(dev, "sensor");
    assertEquals(ConnectionState.CONNECTED, connectionState(dev, "sensor"));
    assertEquals(ConnectionState.DISCONNECTED, connectionState(dev, null));
    c.subscribe(DeviceTopics.TWIN_RES_FILTER, "devices/" + dev + "/modules/sensor/messages/devicebound/#",
        "devices/" + dev + "/modules/sensor/inputs/#");
    c.publish(0, "$iothub/twin/GET/?$rid=1", "");
    assertEquals(5, c.json(c.receivePublish()).get("desired").get("rate").asInt());
    c.acks.expectMessage(MqttSession.Ack.ACK);
    // The module may not use the device's topics.
    c.send(new Subscribe(50, List.of(new TopicFilter("devices/" + dev + "/messages/devicebound/#", 1))));
    c.expectClosed();
  }

  @Test
  void secondConnectionWithTheSameClientIdTakesOver() {
    String dev = hub.createDevice("takeover");
    var first = hub.new Client();
    first.connectOk(dev, null);
    var second = hub.new Client();
    second.connectOk(dev, null);
    first.expectClosed();
    second.sendAndAwaitAck(Empty.PINGREQ_PACKET);
    assertEquals(Empty.PINGRESP_PACKET, second.receive());
    assertEquals(ConnectionState.CONNECTED, connectionState(dev, null), "the old session's detach leaves the new one connected");
  }

  @Test
  void directMethodsReachTheSubscribedDeviceAndItsAnswerReturns() {
    String dev = hub.createDevice("method");
    JsonNode payload = JsonNodeFactory.instance.objectNode().put("delay", 3);
    var offline = await(hub.twins.invokeMethod(dev, null, "reboot", payload, Duration.ofSeconds(5)));
    assertEquals(IotHubErrorCode.DeviceNotOnline, ((DirectMethodReply.Failed) offline).error().code());

    var c = hub.new Client();
    c.connectOk(dev, null);
    var notSubscribed = await(hub.twins.invokeMethod(dev, null, "reboot", payload, Duration.ofSeconds(5)));
    assertEquals(IotHubErrorCode.DeviceNotOnline, ((DirectMethodReply.Failed) notSubscribed).error().code());

    c.subscribe(DeviceTopics.METHODS_FILTER);
    CompletionStage<DirectMethodReply> call = hub.twins.invokeMethod(dev, null, "reboot", payload, Duration.ofSeconds(5));
    Publish request = c.receivePublish();
    assertTrue(request.topic().startsWith("$iothub/methods/POST/reboot/?$rid="), request.topic());
    assertEquals(3, c.json(request).get("delay").asInt());
    String rid = request.topic().substring(request.topic().indexOf("$rid=") + 5);
    int id = c.publish(1, "$iothub/methods/res/201/?$rid=" + rid, "{\"done\":true}");
    assertEquals(PacketIdOnly.pubAck(id), c.receive());
    var answer = (DirectMethodReply.Responded) await(call);
    assertEquals(201, answer.status());
    assertTrue(answer.payload().get("done").asBoolean());

    // No answer in time: 504.
    var late = await(hub.twins.invokeMethod(dev, null, "slow", null, Duration.ofMillis(300)));
    assertEquals(IotHubErrorCode.GatewayTimeout, ((DirectMethodReply.Failed) late).error().code());
    assertTrue(c.receivePublish().topic().startsWith("$iothub/methods/POST/slow/"));
  }

  @Test
  void telemetryIsJournaledBeforePubAckWithItsPropertyBag() {
    String dev = hub.createDevice("telemetry");
    PersistenceTestKit journal = PersistenceTestKit.create(hub.testKit.system());
    var c = hub.new Client();
    c.connectOk(dev, null);
    int id = c.publish(1, "devices/" + dev + "/messages/events/%24.mid=m1&%24.ct=application%2Fjson&%24.ce=utf-8&alert=high%20temp&plus=a+b",
        "{\"temp\":99}");
    assertEquals(PacketIdOnly.pubAck(id), c.receive());
    var events = journal.persistedInStorage("Telemetry|" + dev);
    assertEquals(1, events.size());
    var e = (TelemetryLog.TelemetryReceived) events.get(0);
    assertEquals("{\"temp\":99}", new String(e.body()));
    assertEquals("high temp", e.properties().get("alert"));
    assertEquals("a+b", e.properties().get("plus"));
    assertEquals("m1", e.systemProperties().get("message-id"));
    assertEquals("application/json", e.systemProperties().get("content-type"));
    assertEquals(dev, e.systemProperties().get("iothub-connection-device-id"));
    assertNotNull(e.enqueuedTime());
  }

  @Test
  void badPublishesAndSubscriptionsCloseTheConnectionAndWriteNothing() {
    String dev = hub.createDevice("bad");
    List<MqttPacket> bad = List.of(
        new Publish(false, 2, false, "devices/" + dev + "/messages/events/", 1, ByteString.fromString("q2")),
        Publish.qos0("devices/other/messages/events/", ByteString.fromString("x")),
        Publish.qos0("devices/" + dev + "x/messages/events/", ByteString.fromString("x")),
        Publish.qos0("$iothub/unknown/thing", ByteString.emptyByteString()),
        Publish.qos0("$iothub/twin/GET/", ByteString.emptyByteString()),
        Publish.qos0("$iothub/twin/PATCH/properties/desired/?$rid=1", ByteString.fromString("{}")),
        Publish.qos0("devices/" + dev + "/messages/events/%zz=1", ByteString.fromString("x")),
        Publish.qos0("some/other/topic", ByteString.emptyByteString()),
        new Subscribe(1, List.of(new TopicFilter("devices/other/messages/devicebound/#", 1))),
        new Subscribe(1, List.of(new TopicFilter("#", 0))),
        new Subscribe(1, List.of(new TopicFilter("$iothub/twin/res/+", 0))),
        connect(dev, null, token(dev, null, KEY1, 3600), 60),
        new PacketIdOnly(MqttPacket.PUBREL, 5),
        new ConnAck(false, ConnectReturnCode.ACCEPTED));
    PersistenceTestKit journal = PersistenceTestKit.create(hub.testKit.system());
    for (MqttPacket p : bad) {
      var c = hub.new Client();
      c.connectOk(dev, null);
      c.send(p);
      c.expectClosed();
    }
    assertTrue(journal.persistedInStorage("Telemetry|" + dev).isEmpty());
    var twin = ((TwinReply.Accepted) await(hub.twins.getTwin(dev, null))).twin();
    assertEquals(1, twin.state().desired().version());
  }

  @Test
  void oversizeTelemetryClosesTheConnection() {
    String dev = hub.createDevice("big");
    var c = hub.new Client();
    c.connectOk(dev, null);
    c.send(new Publish(false, 1, false, "devices/" + dev + "/messages/events/", 1, ByteString.fromArray(new byte[262145])));
    c.expectClosed();
  }

  @Test
  void keepAliveExpiryClosesTheConnection() {
    String dev = hub.createDevice("keepalive");
    var c = hub.new Client();
    c.send(connect(dev, null, token(dev, null, KEY1, 3600), 1));
    assertEquals(ConnectReturnCode.ACCEPTED, ((ConnAck) c.receive()).returnCode());
    long t0 = System.nanoTime();
    c.expectClosed();
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms >= 1000 && ms < 4000, "closed after " + ms + " ms");
  }

  @Test
  void expiringTokenClosesTheConnection() {
    String dev = hub.createDevice("expiry");
    var c = hub.new Client();
    c.send(connect(dev, null, token(dev, null, KEY1, 2), 60));
    assertEquals(ConnectReturnCode.ACCEPTED, ((ConnAck) c.receive()).returnCode());
    c.expectClosed();
  }

  @Test
  void persistentSessionKeepsSubscriptionsAcrossConnectionsAndCleanSessionDropsThem() {
    String dev = hub.createDevice("persistent");
    var first = hub.new Client();
    ConnAck ack = first.connect(connect(dev, null, token(dev, null, KEY1, 3600), 60)); // CleanSession=0 like the SDK
    assertFalse(ack.sessionPresent());
    first.acks.expectMessage(MqttSession.Ack.ACK);
    first.subscribe(DeviceTopics.TWIN_DESIRED_FILTER, DeviceTopics.METHODS_FILTER);
    first.send(Empty.DISCONNECT_PACKET);
    first.expectClosed();

    var second = hub.new Client();
    ack = second.connect(connect(dev, null, token(dev, null, KEY1, 3600), 60));
    assertTrue(ack.sessionPresent(), "the session was stored");
    second.acks.expectMessage(MqttSession.Ack.ACK);
    await(hub.twins.updateTwin(dev, null, new TwinUpdate.PatchDesired(hub.doc("{\"x\":1}")), null));
    assertEquals("$iothub/twin/PATCH/properties/desired/?$version=2", second.receivePublish().topic(),
        "delivered without subscribing again");
    second.send(Empty.DISCONNECT_PACKET);
    second.expectClosed();

    var clean = hub.new Client();
    Connect c = connect(dev, null, token(dev, null, KEY1, 3600), 60);
    ack = clean.connect(new Connect(c.protocolName(), c.protocolLevel(), c.clientId(), true, 60, null, c.userName(), c.password()));
    assertFalse(ack.sessionPresent());
    clean.acks.expectMessage(MqttSession.Ack.ACK);
    await(hub.twins.updateTwin(dev, null, new TwinUpdate.PatchDesired(hub.doc("{\"x\":2}")), null));
    clean.expectNothing(Duration.ofMillis(300));
  }

  @Test
  void deltaIsPushedOnSubscribeAndOnReconnectWhenTheDeviceOwesAny() throws Exception {
    String dev = hub.createDevice("delta");
    await(hub.twins.updateTwin(dev, null, new TwinUpdate.PatchDesired(hub.doc("{\"rate\":5,\"mode\":\"eco\"}")), null));
    await(hub.twins.updateTwin(dev, null, new TwinUpdate.PatchReported(hub.doc("{\"rate\":5}")), null));
    var first = hub.new Client();
    ConnAck ack = first.connect(connect(dev, null, token(dev, null, KEY1, 3600), 60)); // persistent session
    assertFalse(ack.sessionPresent());
    first.acks.expectMessage(MqttSession.Ack.ACK);
    first.subscribe(DeviceTopics.TWINHUB_DELTA_FILTER);
    Publish p = first.receivePublish();
    assertEquals("$twinhub/twin/delta/?$version=2", p.topic());
    var body = first.json(p);
    assertFalse(body.get("isEmpty").asBoolean());
    assertEquals(1, body.get("count").asInt(), body.toString()); // rate is reported, mode is not
    assertEquals("mode", body.get("delta").get(0).get("path").asText());
    assertEquals("eco", body.get("delta").get(0).get("desired").asText());
    first.expectNothing(Duration.ofMillis(200));
    first.send(Empty.DISCONNECT_PACKET);
    first.expectClosed();

    // The persistent session holds the subscription: the delta comes again on connect.
    var second = hub.new Client();
    ack = second.connect(connect(dev, null, token(dev, null, KEY1, 3600), 60));
    assertTrue(ack.sessionPresent());
    second.acks.expectMessage(MqttSession.Ack.ACK);
    assertEquals("$twinhub/twin/delta/?$version=2", second.receivePublish().topic());
    second.send(Empty.DISCONNECT_PACKET);
    second.expectClosed();

    // Nothing owed, nothing pushed.
    await(hub.twins.updateTwin(dev, null, new TwinUpdate.PatchReported(hub.doc("{\"mode\":\"eco\"}")), null));
    var third = hub.new Client();
    third.connect(connect(dev, null, token(dev, null, KEY1, 3600), 60));
    third.acks.expectMessage(MqttSession.Ack.ACK);
    third.expectNothing(Duration.ofMillis(500));
  }
}
