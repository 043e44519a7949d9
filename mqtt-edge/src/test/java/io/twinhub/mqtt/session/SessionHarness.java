package io.twinhub.mqtt.session;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.japi.Pair;
import akka.persistence.testkit.PersistenceTestKitPlugin;
import akka.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import akka.stream.BoundedSourceQueue;
import akka.stream.javadsl.Source;
import akka.stream.typed.javadsl.ActorSink;
import akka.util.ByteString;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.twinhub.mqtt.MqttSettings;
import io.twinhub.mqtt.codec.MqttPacket;
import io.twinhub.mqtt.codec.MqttPacket.*;
import io.twinhub.mqtt.telemetry.TelemetryService;
import io.twinhub.twin.auth.PolicyLookup;
import io.twinhub.twin.auth.SasToken;
import io.twinhub.twin.auth.SasVerifier;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.entity.DeviceEntity;
import io.twinhub.twin.entity.EntitySettings;
import io.twinhub.twin.entity.ModuleEntity;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.service.TwinService;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A one-node cluster with the real twin entities and telemetry log on the in-memory journal,
 * and MQTT sessions driven through their real stream protocol: packets in with acks, packets
 * out through the bounded queue the gateway uses.
 */
public final class SessionHarness {
  static final String HOST = "hub.test.local";
  public static final String KEY1 = "aGVsbG8taGVsbG8taGVsbG8taGVsbG8taGVsbG8taGU=";
  static final String KEY2 = "d29ybGQtd29ybGQtd29ybGQtd29ybGQtd29ybGQtd28=";
  static final ObjectMapper JSON = new ObjectMapper();
  static final String CLOSED = "<closed>";

  public final ActorTestKit testKit;
  public final TwinService twins;
  public final SessionDeps deps;

  /** With a 30 s ask timeout: an entity's first answer (recovery) can take seconds on a loaded box. */
  SessionHarness(String extraConfig) {
    this(extraConfig, Duration.ofSeconds(30));
  }

  /** {@code askTimeout}: how long the services wait for an entity (a loaded box needs more than 5 s). */
  SessionHarness(String extraConfig, Duration askTimeout) {
    this(extraConfig, askTimeout, null);
  }

  /** With the node's admission limit of twin writes ({@code null}: none), as the node gives its TwinService. */
  public SessionHarness(String extraConfig, Duration askTimeout, io.twinhub.twin.service.AdmissionLimit admission) {
    Config config = ConfigFactory.parseString("""
        akka.actor.provider = cluster
        akka.remote.artery.canonical.hostname = 127.0.0.1
        akka.remote.artery.canonical.port = 0
        akka.cluster.jmx.multi-mbeans-in-same-jvm = on
        akka.actor.serialization-bindings { "io.twinhub.twin.TwinhubSerializable" = jackson-json }
        akka.actor.serialize-messages = off
        akka.loglevel = WARNING
        twinhub.host-name = "%s"
        twinhub.bind-interface = "127.0.0.1"
        twinhub.mqtt.port = 0
        """.formatted(HOST) + extraConfig)
        .withFallback(PersistenceTestKitPlugin.config())
        .withFallback(PersistenceTestKitSnapshotPlugin.config())
        .withFallback(ConfigFactory.load());
    testKit = ActorTestKit.create("mqtt-session-test", config);
    Cluster cluster = Cluster.get(testKit.system());
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    EntitySettings entity = new EntitySettings(TwinLimits.DEFAULT,
        config.hasPath("test.session-timeout") ? config.getDuration("test.session-timeout") : Duration.ofSeconds(90),
        Clock.systemUTC(),
        config.hasPath("test.disconnect-grace") ? config.getDuration("test.disconnect-grace") : Duration.ZERO);
    DeviceEntity.init(testKit.system(), entity);
    ModuleEntity.init(testKit.system(), entity);
    twins = admission == null ? new TwinService(testKit.system(), askTimeout)
        : new TwinService(testKit.system(), askTimeout, admission, askTimeout.dividedBy(2));
    MqttSettings settings = MqttSettings.from(config);
    io.twinhub.twin.c2d.CloudToDeviceQueue.init(testKit.system(), io.twinhub.twin.c2d.CloudToDeviceSettings.DEFAULT, null);
    deps = new SessionDeps(twins, new io.twinhub.twin.c2d.CloudToDeviceService(testKit.system(), twins, askTimeout),
        new TelemetryService(testKit.system(), askTimeout),
        new SessionStore.Client(testKit.system(), askTimeout),
        new SasVerifier(settings.hostNames(), Clock.systemUTC()), PolicyLookup.NONE, TwinLimits.DEFAULT, settings,
        Clock.systemUTC());
  }

  public void shutdown() {
    testKit.shutdownTestKit();
  }

  static String uniqueId(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  public String createDevice(String prefix) {
    String id = uniqueId(prefix);
    TwinReply r = await(twins.createDevice(id, new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(KEY1, KEY2), false)));
    assertInstanceOf(TwinReply.Accepted.class, r, () -> "create " + id + ": " + r);
    return id;
  }

  void createModule(String deviceId, String moduleId) {
    TwinReply r = await(twins.createModule(deviceId, moduleId, new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(KEY2, KEY1), false)));
    assertInstanceOf(TwinReply.Accepted.class, r, () -> "create module: " + r);
  }

  public static <T> T await(CompletionStage<T> f) {
    try {
      return f.toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  public static String token(String deviceId, String moduleId, String key, long expiresInSeconds) {
    return SasToken.signForDevice(HOST, deviceId, moduleId, key, System.currentTimeMillis() / 1000 + expiresInSeconds);
  }

  public static Connect connect(String deviceId, String moduleId, String password, int keepAlive) {
    String cid = moduleId == null ? deviceId : deviceId + "/" + moduleId;
    return new Connect("MQTT", 4, cid, false, keepAlive, null, HOST + "/" + cid + "/?api-version=2020-09-30",
        password == null ? null : ByteString.fromString(password));
  }

  JsonDoc doc(String json) {
    try {
      return JsonDoc.of((ObjectNode) JSON.readTree(json));
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
  }

  /** One connection: the session actor, what it writes (or {@link #CLOSED}), and the ack channel. */
  final class Client {
    final ActorRef<MqttSession.Command> session;
    final TestProbe<Object> out = testKit.createTestProbe();
    final TestProbe<MqttSession.Ack> acks = testKit.createTestProbe();
    int nextId = 1;

    Client() {
      Pair<BoundedSourceQueue<MqttPacket>, Source<MqttPacket, akka.NotUsed>> q =
          Source.<MqttPacket>queue(deps.settings().maxOutboundQueue()).preMaterialize(testKit.system());
      q.second().<Object>map(p -> p).runWith(ActorSink.actorRef(out.ref(), CLOSED, e -> CLOSED), testKit.system());
      session = testKit.spawn(MqttSession.create(deps, Outbound.of(q.first()), "test"));
      session.tell(new MqttSession.StreamInit(acks.ref()));
      acks.expectMessage(MqttSession.Ack.ACK);
    }

    /** Sends a packet; waits until the session asks for the next one. */
    void send(MqttPacket p) {
      session.tell(new MqttSession.Inbound(p, acks.ref()));
    }

    void sendAndAwaitAck(MqttPacket p) {
      send(p);
      acks.expectMessage(Duration.ofSeconds(10), MqttSession.Ack.ACK);
    }

    MqttPacket receive() {
      Object o = out.receiveMessage(Duration.ofSeconds(10));
      assertNotEquals(CLOSED, o, "connection closed unexpectedly");
      return (MqttPacket) o;
    }

    Publish receivePublish() {
      return assertInstanceOf(Publish.class, receive());
    }

    void expectClosed() {
      Object o;
      do {
        o = out.receiveMessage(Duration.ofSeconds(10));
      } while (o != CLOSED && o instanceof MqttPacket);
      assertEquals(CLOSED, o);
    }

    /** The next packet written, or {@link #CLOSED}. */
    Object receiveOrClosed() {
      return out.receiveMessage(Duration.ofSeconds(10));
    }

    void expectNothing(Duration d) {
      out.expectNoMessage(d);
    }

    ConnAck connect(Connect c) {
      send(c);
      return assertInstanceOf(ConnAck.class, receive());
    }

    void connectOk(String deviceId, String moduleId) {
      String key = moduleId == null ? KEY1 : KEY2;
      ConnAck ack = connect(SessionHarness.connect(deviceId, moduleId, token(deviceId, moduleId, key, 3600), 60));
      assertEquals(ConnectReturnCode.ACCEPTED, ack.returnCode());
      acks.expectMessage(MqttSession.Ack.ACK);
    }

    List<Integer> subscribe(String... filters) {
      int id = nextId++;
      send(new Subscribe(id, java.util.Arrays.stream(filters).map(f -> new TopicFilter(f, 1)).toList()));
      SubAck ack = assertInstanceOf(SubAck.class, receive());
      assertEquals(id, ack.packetId());
      acks.expectMessage(MqttSession.Ack.ACK);
      return ack.returnCodes();
    }

    int publish(int qos, String topic, String payload) {
      int id = qos == 0 ? 0 : nextId++;
      send(new Publish(false, qos, false, topic, id, ByteString.fromString(payload)));
      return id;
    }

    JsonNode json(Publish p) {
      try {
        return JSON.readTree(p.payload().toArray());
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }
  }
}
