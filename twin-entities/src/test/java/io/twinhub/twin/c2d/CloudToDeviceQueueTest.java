package io.twinhub.twin.c2d;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.typesafe.config.ConfigFactory;
import io.twinhub.twin.entity.SessionMessage;
import io.twinhub.twin.error.IotHubErrorCode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/** The queue entity on the in-memory journal: sequencing, delivery to a session, redelivery, outcomes, recovery. */
class CloudToDeviceQueueTest {
  static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.parseString("""
      akka.actor.serialization-bindings { "io.twinhub.twin.TwinhubSerializable" = jackson-json }
      akka.actor.serialize-messages = on
      akka.loglevel = WARNING
      """).withFallback(EventSourcedBehaviorTestKit.config()));

  final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-12-06T04:00:00Z"));
  final CloudToDeviceSettings settings = new CloudToDeviceSettings(3, Duration.ofHours(1), Duration.ofHours(48), 2,
      Duration.ofSeconds(30), 2, 1024);
  EventSourcedBehaviorTestKit<CloudToDeviceQueue.Command, CloudToDeviceQueue.Event, CloudToDeviceQueue.State> kit;
  TestProbe<SessionMessage> session;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void setUp() {
    Clock clock = new Clock() {
      public ZoneOffset getZone() {
        return ZoneOffset.UTC;
      }

      public Clock withZone(java.time.ZoneId zone) {
        return this;
      }

      public Instant instant() {
        return now.get();
      }
    };
    kit = EventSourcedBehaviorTestKit.create(testKit.system(), CloudToDeviceQueue.create("dev1", settings, clock));
    session = testKit.createTestProbe();
  }

  CloudToDeviceQueue.SendResult send(String id, DeliveryAck ack) {
    var m = new CloudToDeviceMessage("dev1", id, null, null, null, null, Map.of("p", "1"), ack, null, null, id.getBytes());
    return kit.<CloudToDeviceQueue.SendResult>runCommand(r -> new CloudToDeviceQueue.Send(m, "g1", r)).reply();
  }

  SessionMessage.CloudToDevice received() {
    return session.expectMessageClass(SessionMessage.CloudToDevice.class);
  }

  @Test
  void queuedBeforeAttachDeliveredInOrderAndCompleted() {
    assertEquals(1, ((CloudToDeviceQueue.Queued) send("a", DeliveryAck.FULL)).depth());
    send("b", DeliveryAck.NONE);
    send("c", DeliveryAck.POSITIVE);
    var full = send("d", DeliveryAck.NONE);
    assertEquals(IotHubErrorCode.DeviceMaximumQueueDepthExceeded, ((CloudToDeviceQueue.Refused) full).error().code());

    var attached = kit.<CloudToDeviceQueue.Depth>runCommand(r -> new CloudToDeviceQueue.AttachReceiver(session.getRef(), "s1", 1, "g1", r));
    assertEquals(3, attached.reply().depth());
    var first = received();
    var second = received();
    assertEquals("a", first.message().messageId());
    assertEquals("b", second.message().messageId());
    session.expectNoMessage(Duration.ofMillis(100)); // in-flight limit 2

    var done = kit.runCommand(new CloudToDeviceQueue.Settle(first.lockToken(), CloudToDeviceQueue.Disposition.COMPLETE));
    var settled = done.eventOfType(CloudToDeviceQueue.Settled.class);
    assertEquals(FeedbackStatus.Success, settled.status());
    assertTrue(settled.wantsFeedback());
    assertEquals("c", received().message().messageId(), "the next one follows the completion");

    // A second completion of the same delivery changes nothing.
    assertTrue(kit.runCommand(new CloudToDeviceQueue.Settle(first.lockToken(), CloudToDeviceQueue.Disposition.COMPLETE)).hasNoEvents());
    assertEquals(2, kit.getState().depth());
  }

  @Test
  void lockExpiryRedeliversThenDeadLetters() {
    send("a", DeliveryAck.NEGATIVE);
    kit.<CloudToDeviceQueue.Depth>runCommand(r -> new CloudToDeviceQueue.AttachReceiver(session.getRef(), "s1", 1, "g1", r));
    var d1 = received();
    assertEquals(1, d1.deliveryCount());
    now.set(now.get().plusSeconds(31));
    kit.runCommand(new CloudToDeviceQueue.LockTick());
    var d2 = received();
    assertEquals(2, d2.deliveryCount());
    assertNotEquals(d1.lockToken(), d2.lockToken());
    now.set(now.get().plusSeconds(31));
    var tick = kit.runCommand(new CloudToDeviceQueue.LockTick());
    var dead = tick.eventOfType(CloudToDeviceQueue.Settled.class);
    assertEquals(FeedbackStatus.DeliveryCountExceeded, dead.status());
    assertTrue(dead.wantsFeedback());
    assertEquals(0, kit.getState().depth());
  }

  @Test
  void rejectAbandonExpireAndPurge() {
    send("a", DeliveryAck.FULL);
    send("b", DeliveryAck.FULL);
    kit.<CloudToDeviceQueue.Depth>runCommand(r -> new CloudToDeviceQueue.AttachReceiver(session.getRef(), "s1", 1, "g1", r));
    var a = received();
    var b = received();
    var rejected = kit.runCommand(new CloudToDeviceQueue.Settle(a.lockToken(), CloudToDeviceQueue.Disposition.REJECT));
    assertEquals(FeedbackStatus.Rejected, rejected.eventOfType(CloudToDeviceQueue.Settled.class).status());
    kit.runCommand(new CloudToDeviceQueue.Settle(b.lockToken(), CloudToDeviceQueue.Disposition.ABANDON));
    assertEquals(2, received().deliveryCount(), "abandoned: delivered again at once");

    send("c", DeliveryAck.FULL);
    now.set(now.get().plus(Duration.ofHours(1)));
    var depth = kit.<CloudToDeviceQueue.Depth>runCommand(CloudToDeviceQueue.GetDepth::new);
    assertEquals(0, depth.reply().depth(), "both expired");
    assertTrue(depth.events().stream().allMatch(e -> ((CloudToDeviceQueue.Settled) e).status() == FeedbackStatus.Expired));

    send("d", DeliveryAck.NONE);
    send("e", DeliveryAck.NONE);
    var purged = kit.<CloudToDeviceQueue.Purged>runCommand(r -> new CloudToDeviceQueue.Purge("g1", r));
    assertEquals(2, purged.reply().count());
    assertEquals(0, kit.getState().depth());
  }

  @Test
  void recoveryKeepsQueuedMessagesAndForgetsLocks() {
    send("a", DeliveryAck.NONE);
    send("b", DeliveryAck.NONE);
    kit.<CloudToDeviceQueue.Depth>runCommand(r -> new CloudToDeviceQueue.AttachReceiver(session.getRef(), "s1", 1, "g1", r));
    var a = received();
    received();
    kit.runCommand(new CloudToDeviceQueue.Settle(a.lockToken(), CloudToDeviceQueue.Disposition.COMPLETE));
    kit.restart();
    assertEquals(1, kit.getState().depth());
    assertEquals("b", kit.getState().queued().get(0).message().messageId());
    TestProbe<SessionMessage> next = testKit.createTestProbe();
    kit.<CloudToDeviceQueue.Depth>runCommand(r -> new CloudToDeviceQueue.AttachReceiver(next.getRef(), "s2", 2, "g1", r));
    assertEquals("b", next.expectMessageClass(SessionMessage.CloudToDevice.class).message().messageId());
  }

  @Test
  void takeoverAndRecreatedDevice() {
    send("a", DeliveryAck.NONE);
    kit.<CloudToDeviceQueue.Depth>runCommand(r -> new CloudToDeviceQueue.AttachReceiver(session.getRef(), "s1", 5, "g1", r));
    received();
    TestProbe<SessionMessage> newer = testKit.createTestProbe();
    kit.<CloudToDeviceQueue.Depth>runCommand(r -> new CloudToDeviceQueue.AttachReceiver(newer.getRef(), "s2", 6, "g1", r));
    assertEquals("a", newer.expectMessageClass(SessionMessage.CloudToDevice.class).message().messageId(),
        "what the replaced connection never completed goes to the new one");
    TestProbe<SessionMessage> older = testKit.createTestProbe();
    kit.<CloudToDeviceQueue.Depth>runCommand(r -> new CloudToDeviceQueue.AttachReceiver(older.getRef(), "s0", 4, "g1", r));
    older.expectNoMessage(Duration.ofMillis(100));

    var m = new CloudToDeviceMessage("dev1", "new", null, null, null, null, Map.of(), DeliveryAck.NONE, null, null, new byte[0]);
    var r = kit.<CloudToDeviceQueue.SendResult>runCommand(ref -> new CloudToDeviceQueue.Send(m, "g2", ref));
    assertInstanceOf(CloudToDeviceQueue.Reset.class, r.events().get(0));
    assertEquals(1, kit.getState().depth());
    assertEquals("new", kit.getState().queued().get(0).message().messageId());
  }
}
