package io.twinhub.mqtt;

import akka.japi.Pair;
import akka.stream.BoundedSourceQueue;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.mqtt.codec.MqttCodec;
import io.twinhub.mqtt.codec.MqttPacket;
import io.twinhub.mqtt.codec.MqttPacket.ConnAck;
import io.twinhub.mqtt.codec.MqttPacket.ConnectReturnCode;
import io.twinhub.mqtt.codec.MqttPacket.PacketIdOnly;
import io.twinhub.mqtt.codec.MqttPacket.Publish;
import io.twinhub.mqtt.codec.MqttPacket.SubAck;
import io.twinhub.mqtt.codec.MqttPacket.Subscribe;
import io.twinhub.mqtt.codec.MqttPacket.TopicFilter;
import io.twinhub.mqtt.session.DeviceTopics;
import io.twinhub.mqtt.session.MqttSession;
import io.twinhub.mqtt.session.SessionHarness;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.service.AdmissionLimit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Reported patches refused at the node's admission limit by the connection's stream stage
 * ({@code overload-mode = refuse}, session 11's path), by mechanism: the limit is 1 and the test holds that write itself. The stage answers PUBACK and
 * {@code $iothub/twin/res/429} for the patch's {@code $rid}, the patch is never applied, and the
 * session never saw it: its per-connection rate limit (a burst of 2, refilled once in ~17 minutes)
 * still has both tokens for the two patches after the limit is released, which a session that had
 * handled a refusal (each takes a token first) would have answered 429. That the stage, not the
 * session, decides a patch sent right after the previous answer rests on the hand-over rule of
 * session 14 (see SessionStage): the session's answer and its ack reach the stage as one message.
 * Session 13 had to accept either (burst 8, a primer refusal): the clean-clone suite saw a patch sent
 * right after SUBACK overtake the session's ack and reach the session.
 */
class SessionStageAdmissionTest {
  static final AdmissionLimit ADMISSION = new AdmissionLimit(AdmissionLimit.Settings.fixed(1));
  static final ObjectMapper JSON = new ObjectMapper();
  static SessionHarness hub;

  @BeforeAll
  static void start() {
    hub = new SessionHarness("""
        twinhub.mqtt.overload-mode = refuse
        twinhub.mqtt.throttle-pause = 100ms
        twinhub.mqtt.throttle-pause-max = 2s
        twinhub.mqtt.twin-ops-burst = 2
        twinhub.mqtt.twin-ops-per-second = 0.001
        """, Duration.ofSeconds(30), ADMISSION);
  }

  @AfterAll
  static void stop() {
    hub.shutdown();
  }

  private static final java.util.Map<SessionHarness, SessionStage> STAGES = new ConcurrentHashMap<>();

  /** One stage for every connection to a harness, as a gateway has (its session actors are named by its counter). */
  static SessionStage stage(SessionHarness hub) {
    return STAGES.computeIfAbsent(hub, h -> {
      Set<akka.actor.typed.ActorRef<MqttSession.Command>> sessions = ConcurrentHashMap.newKeySet();
      return new SessionStage(h.testKit.system(), h.deps, sessions);
    });
  }

  /** One connection through a real {@link SessionStage}: packets in, the bytes written split into packets. */
  static final class Connection {
    final BoundedSourceQueue<MqttPacket> in;
    final LinkedBlockingQueue<ByteString> written = new LinkedBlockingQueue<>();
    final ArrayDeque<MqttPacket> received = new ArrayDeque<>();

    Connection(SessionHarness hub) {
      this(hub, stage(hub));
    }

    Connection(SessionHarness hub, SessionStage stage) {
      Pair<BoundedSourceQueue<MqttPacket>, Source<MqttPacket, akka.NotUsed>> q =
          Source.<MqttPacket>queue(16).preMaterialize(hub.testKit.system());
      in = q.first();
      q.second().via(stage)
          .runWith(Sink.foreach(written::add), hub.testKit.system());
    }

    void send(MqttPacket p) {
      assertEquals(akka.stream.QueueOfferResult.enqueued(), in.offer(p));
    }

    MqttPacket receive() throws InterruptedException {
      while (received.isEmpty()) {
        ByteString bytes = written.poll(30, TimeUnit.SECONDS);
        assertNotNull(bytes, "nothing written within 30 s");
        split(bytes);
      }
      return received.poll();
    }

    /** A write holds one packet or two (PUBACK and the twin response). */
    private void split(ByteString bytes) {
      while (!bytes.isEmpty()) {
        int length = 0, multiplier = 1, i = 1;
        while (true) {
          int b = bytes.apply(i++) & 0xff;
          length += (b & 0x7f) * multiplier;
          if ((b & 0x80) == 0) break;
          multiplier *= 128;
        }
        received.add(MqttCodec.decode(bytes.take(i + length)));
        bytes = bytes.drop(i + length);
      }
    }

    Publish receivePublish() throws InterruptedException {
      return assertInstanceOf(Publish.class, receive());
    }
  }

  /** A connection of {@code dev} through the stage, connected and subscribed to the twin responses. */
  private static Connection connectedToTwinResponses(String dev) throws InterruptedException {
    return connectedToTwinResponses(hub, dev);
  }

  /** As above, on {@code hub} (shared with the other stage tests). */
  static Connection connectedToTwinResponses(SessionHarness hub, String dev) throws InterruptedException {
    Connection c = new Connection(hub);
    c.send(SessionHarness.connect(dev, null, SessionHarness.token(dev, null, SessionHarness.KEY1, 3600), 60));
    assertEquals(ConnectReturnCode.ACCEPTED, assertInstanceOf(ConnAck.class, c.receive()).returnCode());
    c.send(new Subscribe(1, List.of(new TopicFilter(DeviceTopics.TWIN_RES_FILTER, 1))));
    assertInstanceOf(SubAck.class, c.receive());
    return c;
  }

  private static long reportedVersion(String dev) {
    return reportedVersion(hub, dev);
  }

  static long reportedVersion(SessionHarness hub, String dev) {
    return ((TwinReply.Accepted) SessionHarness.await(hub.twins.getTwin(dev, null))).twin().state().reported().version();
  }

  @Test
  void aRefusalAtTheLimitIsOneReplyBuiltOnceAndCountedEachTime() {
    long refusedBefore = ADMISSION.refused();
    assertTrue(ADMISSION.tryAcquire(), "the test holds the node's only write in flight");
    try {
      var first = hub.twins.refusedAtLimit(io.twinhub.twin.domain.TwinUpdate.PatchReported.class).orElseThrow();
      var second = hub.twins.refusedAtLimit(io.twinhub.twin.domain.TwinUpdate.PatchReported.class).orElseThrow();
      // Under overload most answers are refusals: nothing is built per refusal (the MQTT body is encoded once for this reply).
      assertSame(io.twinhub.twin.service.TwinService.THROTTLED, first);
      assertSame(first, second);
    } finally {
      ADMISSION.release(0, false);
    }
    assertEquals(refusedBefore + 2, ADMISSION.refused(), "each refusal counted by the node's admission");
    assertTrue(hub.twins.refusedAtLimit(io.twinhub.twin.domain.TwinUpdate.PatchReported.class).isEmpty(), "room again");
  }

  @Test
  void theStageRefusesReportedPatchesAtTheLimitWithoutTheSessionAndNeverAppliesThem() throws Exception {
    String dev = hub.createDevice("stage-admission");
    Connection c = connectedToTwinResponses(dev);
    long before = reportedVersion(dev);
    long refusedBefore = ADMISSION.refused();

    assertTrue(ADMISSION.tryAcquire(), "the test holds the node's only write in flight");
    try {
      for (int rid = 1; rid <= 3; rid++) {
        c.send(new Publish(false, 1, false, "$iothub/twin/PATCH/properties/reported/?$rid=" + rid, 10 + rid,
            ByteString.fromString("{\"refused\":" + rid + "}")));
        assertEquals(PacketIdOnly.pubAck(10 + rid), c.receive(), "PUBACK first");
        Publish refused = c.receivePublish();
        assertEquals("$iothub/twin/res/429/?$rid=" + rid, refused.topic());
        var body = JSON.readTree(refused.payload().toArray());
        assertEquals(429001, body.get("errorCode").asInt());
        assertTrue(body.get("message").asText().contains("twin writes in flight"), "refused by the admission limit: " + body);
      }
    } finally {
      ADMISSION.release(0, false);
    }
    assertEquals(refusedBefore + 3, ADMISSION.refused(), "each refusal counted by the node's admission");
    assertEquals(before, reportedVersion(dev), "nothing applied while the limit was held");

    // Both tokens of the connection's rate limit are left: the session never handled the refusals.
    for (int i = 1; i <= 2; i++) {
      c.send(new Publish(false, 0, false, "$iothub/twin/PATCH/properties/reported/?$rid=a" + i, 0,
          ByteString.fromString("{\"accepted\":" + i + "}")));
      assertEquals("$iothub/twin/res/204/?$rid=a" + i + "&$version=" + (before + i), c.receivePublish().topic());
    }
    var twin = ((TwinReply.Accepted) SessionHarness.await(hub.twins.getTwin(dev, null))).twin();
    assertEquals(before + 2, twin.state().reported().version(), "only the two accepted patches were applied");
    assertNull(twin.state().reported().values().get("refused"), "no refused patch was applied");
    assertEquals(0, ADMISSION.inFlight());
  }

  /**
   * Session 13: a refusal is answered after a back-off that doubles with each refusal in a row on
   * the connection (throttle-pause 100 ms, then 200, 400, 800 ms), and nothing is read meanwhile: a
   * PINGREQ sent right behind the fourth refused patch is answered after its 429, within the
   * back-off (far below any keep-alive). Only lower bounds are checked (the timer cannot fire early;
   * a slow box only makes them hold more): without the back-off the 429s come at once.
   */
  @Test
  void refusalsInARowAreAnsweredAfterADoublingBackOffWithNothingReadMeanwhile() throws Exception {
    String dev = hub.createDevice("stage-back-off");
    Connection c = connectedToTwinResponses(dev);
    long before = reportedVersion(dev);

    assertTrue(ADMISSION.tryAcquire(), "the test holds the node's only write in flight");
    try {
      long backOff = 100;
      for (int rid = 1; rid <= 4; rid++, backOff *= 2) {
        long sent = System.nanoTime();
        c.send(new Publish(false, 1, false, "$iothub/twin/PATCH/properties/reported/?$rid=" + rid, 20 + rid,
            ByteString.fromString("{\"refused\":" + rid + "}")));
        if (rid == 4) c.send(MqttPacket.Empty.PINGREQ_PACKET);
        assertEquals(PacketIdOnly.pubAck(20 + rid), c.receive(), "PUBACK first");
        assertEquals("$iothub/twin/res/429/?$rid=" + rid, c.receivePublish().topic());
        long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent);
        assertTrue(waitedMs >= backOff - 15, "refusal " + rid + " in a row answered after its back-off of "
            + backOff + " ms, not after " + waitedMs + " ms");
      }
      assertEquals(MqttPacket.PINGRESP, c.receive().type(), "the PINGREQ read after the back-off is answered");
    } finally {
      ADMISSION.release(0, false);
    }
    assertEquals(before, reportedVersion(dev), "no refused patch applied");
    // The node has room again: the next patch reaches the session and is applied.
    c.send(new Publish(false, 0, false, "$iothub/twin/PATCH/properties/reported/?$rid=ok", 0,
        ByteString.fromString("{\"accepted\":1}")));
    assertEquals("$iothub/twin/res/204/?$rid=ok&$version=" + (before + 1), c.receivePublish().topic());
    assertEquals(0, ADMISSION.inFlight());
  }

  /** A clock whose first reading takes {@code stall}: MqttSession reads it once between writing CONNACK and acking CONNECT. */
  static final class StallingClock extends java.time.Clock {
    private final java.util.concurrent.atomic.AtomicBoolean first = new java.util.concurrent.atomic.AtomicBoolean(true);
    private final Duration stall;

    StallingClock(Duration stall) {
      this.stall = stall;
    }

    @Override
    public java.time.Instant instant() {
      if (first.getAndSet(false)) {
        try {
          Thread.sleep(stall.toMillis());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return java.time.Instant.now();
    }

    @Override
    public java.time.ZoneId getZone() {
      return java.time.ZoneOffset.UTC;
    }

    @Override
    public java.time.Clock withZone(java.time.ZoneId zone) {
      throw new UnsupportedOperationException();
    }
  }

  /**
   * Session 14, the hand-over made deterministic: when the device has read the answer to a packet,
   * the stage already knows that packet is done. Reproduced by stalling the session for 500 ms after
   * it offered CONNACK and before it acks CONNECT (its clock's first reading sits between the two):
   * a reported patch sent right after CONNACK at the admission limit must be refused by the stage,
   * which leaves the session's rate limit (burst 2) untouched. Before session 14 the answer and the
   * ack reached the stage as two messages, the patch overtook the ack, went to the session, which
   * refused it with one of its two tokens, and the second accepted patch below got 429.
   */
  @Test
  void aPatchSentRightAfterConnAckIsRefusedByTheStageEvenWhenTheSessionIsSlowToAck() throws Exception {
    String dev = hub.createDevice("stage-handover");
    var d = hub.deps;
    var slow = new io.twinhub.mqtt.session.SessionDeps(d.twins(), d.c2d(), d.telemetry(), d.sessions(), d.verifier(),
        d.policies(), d.limits(), d.settings(), new StallingClock(Duration.ofMillis(500)));
    Connection c = new Connection(hub, new SessionStage(hub.testKit.system(), slow, ConcurrentHashMap.newKeySet()));
    long before = reportedVersion(dev);

    assertTrue(ADMISSION.tryAcquire(), "the test holds the node's only write in flight");
    try {
      c.send(SessionHarness.connect(dev, null, SessionHarness.token(dev, null, SessionHarness.KEY1, 3600), 60));
      assertEquals(ConnectReturnCode.ACCEPTED, assertInstanceOf(ConnAck.class, c.receive()).returnCode());
      c.send(new Publish(false, 1, false, "$iothub/twin/PATCH/properties/reported/?$rid=1", 11,
          ByteString.fromString("{\"refused\":1}")));
      assertEquals(PacketIdOnly.pubAck(11), c.receive(), "refused: PUBACK only (no twin-response subscription yet)");
    } finally {
      ADMISSION.release(0, false);
    }
    c.send(new Subscribe(1, List.of(new TopicFilter(DeviceTopics.TWIN_RES_FILTER, 1))));
    assertInstanceOf(SubAck.class, c.receive());
    // Both tokens are left: the session never saw the refused patch.
    for (int i = 1; i <= 2; i++) {
      c.send(new Publish(false, 0, false, "$iothub/twin/PATCH/properties/reported/?$rid=a" + i, 0,
          ByteString.fromString("{\"accepted\":" + i + "}")));
      assertEquals("$iothub/twin/res/204/?$rid=a" + i + "&$version=" + (before + i), c.receivePublish().topic());
    }
    assertEquals(0, ADMISSION.inFlight());
  }

  /** The back-off: throttle-pause doubled per refusal already in a row, capped; 0 turns it off. */
  @Test
  void backOffDoublesPerRefusalInARowUpToTheMaximum() {
    long ms = 1_000_000;
    assertEquals(100 * ms, SessionStage.backOffNanos(100 * ms, 2_000 * ms, 0));
    assertEquals(200 * ms, SessionStage.backOffNanos(100 * ms, 2_000 * ms, 1));
    assertEquals(1_600 * ms, SessionStage.backOffNanos(100 * ms, 2_000 * ms, 4));
    assertEquals(2_000 * ms, SessionStage.backOffNanos(100 * ms, 2_000 * ms, 5));
    assertEquals(2_000 * ms, SessionStage.backOffNanos(100 * ms, 2_000 * ms, Integer.MAX_VALUE));
    assertEquals(100 * ms, SessionStage.backOffNanos(100 * ms, 100 * ms, 3), "max = base: no doubling");
    assertEquals(0, SessionStage.backOffNanos(0, 2_000 * ms, 7), "throttle-pause 0: answered at once");
  }
}
