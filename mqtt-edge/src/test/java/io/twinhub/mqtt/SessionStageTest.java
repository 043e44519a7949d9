package io.twinhub.mqtt;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.japi.Pair;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.twinhub.mqtt.codec.MqttCodec;
import io.twinhub.mqtt.codec.MqttPacket;
import io.twinhub.mqtt.session.MqttSession;
import io.twinhub.mqtt.session.SessionDeps;
import io.twinhub.twin.auth.PolicyLookup;
import io.twinhub.twin.auth.SasVerifier;
import io.twinhub.twin.domain.TwinLimits;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shared session stage with real session actors, on connections that end before any twin is
 * involved (a refused CONNECT, a device that goes away): the connection's and the session's ends are
 * coupled both ways, and one stage instance serves several connections at once.
 */
class SessionStageTest {
  private static final ActorTestKit testKit = ActorTestKit.create();
  private static final Config CONFIG = ConfigFactory.parseString("""
      twinhub.host-name = "hub.test.local"
      twinhub.bind-interface = "127.0.0.1"
      twinhub.mqtt.port = 0
      """).withFallback(ConfigFactory.load());
  private static final MqttSettings SETTINGS = MqttSettings.from(CONFIG);
  /** Only what a session uses before it looks a twin up (these connections never get that far). */
  private static final SessionDeps DEPS = new SessionDeps(null, null, null, null,
      new SasVerifier(SETTINGS.hostNames(), Clock.systemUTC()), PolicyLookup.NONE, TwinLimits.DEFAULT, SETTINGS,
      Clock.systemUTC());

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static void await(java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "condition not met within 30 s");
      Thread.sleep(20);
    }
  }

  @Test
  void aRefusedConnectIsAnsweredThenTheSessionClosesTheConnectionAndStops() throws Exception {
    Set<ActorRef<MqttSession.Command>> sessions = ConcurrentHashMap.newKeySet();
    Flow<MqttPacket, ByteString, akka.NotUsed> stage = Flow.fromGraph(new SessionStage(testKit.system(), DEPS, sessions));
    MqttPacket connect = new MqttPacket.Connect("MQTT", 3, "dev-1", true, 60, null, "hub.test.local/dev-1/?api-version=x", null);
    // Two connections through the same stage instance; the device never closes its end (Source.maybe).
    List<CompletionStage<List<ByteString>>> written = List.of(1, 2).stream().map(i ->
        Source.single(connect).concat(Source.maybe()).via(stage).runWith(Sink.seq(), testKit.system())).toList();
    ByteString refused = MqttCodec.encode(new MqttPacket.ConnAck(false, MqttPacket.ConnectReturnCode.UNACCEPTABLE_PROTOCOL_VERSION));
    for (CompletionStage<List<ByteString>> w : written) {
      assertEquals(List.of(refused), w.toCompletableFuture().get(30, TimeUnit.SECONDS));
    }
    await(sessions::isEmpty);
  }

  @Test
  void theDevicesEndStopsItsSession() throws Exception {
    Set<ActorRef<MqttSession.Command>> sessions = ConcurrentHashMap.newKeySet();
    Pair<CompletableFuture<Optional<MqttPacket>>, CompletionStage<List<ByteString>>> run = Source.<MqttPacket>maybe()
        .via(new SessionStage(testKit.system(), DEPS, sessions))
        .toMat(Sink.seq(), Keep.both())
        .run(testKit.system());
    await(() -> sessions.size() == 1);
    ActorRef<MqttSession.Command> session = sessions.iterator().next();
    TestProbe<Object> watcher = testKit.createTestProbe();
    run.first().complete(Optional.empty()); // the device closes its socket before CONNECT
    assertEquals(List.of(), run.second().toCompletableFuture().get(30, TimeUnit.SECONDS));
    watcher.expectTerminated(session, Duration.ofSeconds(30));
    assertTrue(sessions.isEmpty());
  }
}
