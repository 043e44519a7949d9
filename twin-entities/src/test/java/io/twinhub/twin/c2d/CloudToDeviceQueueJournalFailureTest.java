package io.twinhub.twin.c2d;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import akka.persistence.testkit.javadsl.PersistenceTestKit;
import com.typesafe.config.ConfigFactory;
import io.twinhub.twin.entity.SessionMessage;
import io.twinhub.twin.error.IotHubErrorCode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A queue whose journal write fails (PersistenceTestKit): the send is refused 503 and its message
 * never delivered, the queue restarts after the backoff, answers the send that waited meanwhile
 * and keeps delivering to the attached session.
 */
class CloudToDeviceQueueJournalFailureTest {
  static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.parseString("""
      akka.actor.serialization-bindings { "io.twinhub.twin.TwinhubSerializable" = jackson-json }
      akka.actor.serialize-messages = on
      akka.loglevel = WARNING
      twinhub.persist-failure { min-backoff = 100ms, max-backoff = 1s, random-factor = 0 }
      """).withFallback(EventSourcedBehaviorTestKit.config()));
  static final PersistenceTestKit journal = PersistenceTestKit.create(testKit.system());
  static final Duration WAIT = Duration.ofSeconds(15);
  final CloudToDeviceSettings settings = new CloudToDeviceSettings(10, Duration.ofHours(1), Duration.ofHours(48), 5,
      Duration.ofMinutes(5), 5, 1024);

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  static CloudToDeviceQueue.Send send(String id, ActorRef<CloudToDeviceQueue.SendResult> replyTo) {
    var m = new CloudToDeviceMessage("dev-pf", id, null, null, null, null, Map.of(), DeliveryAck.NONE, null, null, id.getBytes());
    return new CloudToDeviceQueue.Send(m, "g1", replyTo);
  }

  @Test
  void aSendWhoseWriteFailedIsRefused503AndTheQueueServesAgainAfterTheBackoff() {
    ActorRef<CloudToDeviceQueue.Command> queue = testKit.spawn(CloudToDeviceQueue.create("dev-pf", settings, Clock.systemUTC()));
    TestProbe<SessionMessage> session = testKit.createTestProbe(SessionMessage.class);
    TestProbe<CloudToDeviceQueue.Depth> depth = testKit.createTestProbe(CloudToDeviceQueue.Depth.class);
    queue.tell(new CloudToDeviceQueue.AttachReceiver(session.ref(), "s1", 1, "g1", depth.ref()));
    assertEquals(0, depth.expectMessageClass(CloudToDeviceQueue.Depth.class, WAIT).depth());

    TestProbe<CloudToDeviceQueue.SendResult> sender = testKit.createTestProbe(CloudToDeviceQueue.SendResult.class);
    queue.tell(send("a", sender.ref()));
    assertInstanceOf(CloudToDeviceQueue.Queued.class, sender.expectMessageClass(CloudToDeviceQueue.SendResult.class, WAIT));
    var a = session.expectMessageClass(SessionMessage.CloudToDevice.class, WAIT);
    assertEquals("a", a.message().messageId());

    journal.failNextPersisted("CloudToDevice|dev-pf");
    TestProbe<CloudToDeviceQueue.SendResult> failed = testKit.createTestProbe(CloudToDeviceQueue.SendResult.class);
    TestProbe<CloudToDeviceQueue.SendResult> next = testKit.createTestProbe(CloudToDeviceQueue.SendResult.class);
    queue.tell(send("b", failed.ref()));
    queue.tell(send("c", next.ref())); // waits behind the failing write, then for the restart
    var refused = assertInstanceOf(CloudToDeviceQueue.Refused.class, failed.expectMessageClass(CloudToDeviceQueue.SendResult.class, WAIT));
    assertEquals(IotHubErrorCode.ServiceUnavailable, refused.error().code(), refused.toString());
    var queued = assertInstanceOf(CloudToDeviceQueue.Queued.class, next.expectMessageClass(CloudToDeviceQueue.SendResult.class, WAIT));
    assertEquals(2, queued.depth(), "a and c; b was never queued");
    failed.expectNoMessage(Duration.ofMillis(300));

    // The session attached before the failure still gets the queue's messages, b never.
    assertEquals("c", session.expectMessageClass(SessionMessage.CloudToDevice.class, WAIT).message().messageId());
    queue.tell(new CloudToDeviceQueue.Settle(a.lockToken(), CloudToDeviceQueue.Disposition.COMPLETE));
    queue.tell(new CloudToDeviceQueue.GetDepth(depth.ref()));
    assertEquals(1, depth.expectMessageClass(CloudToDeviceQueue.Depth.class, WAIT).depth());
    session.expectNoMessage(Duration.ofMillis(300));
    assertEquals(3, journal.persistedInStorage("CloudToDevice|dev-pf").size(), "Enqueued a, Enqueued c, Settled a");
  }

  @Test
  void aCompletionWhoseWriteFailedLeavesTheMessageQueuedAndTheQueueAnswersAgain() {
    ActorRef<CloudToDeviceQueue.Command> queue = testKit.spawn(CloudToDeviceQueue.create("dev-pf2", settings, Clock.systemUTC()));
    TestProbe<SessionMessage> session = testKit.createTestProbe(SessionMessage.class);
    TestProbe<CloudToDeviceQueue.Depth> depth = testKit.createTestProbe(CloudToDeviceQueue.Depth.class);
    TestProbe<CloudToDeviceQueue.SendResult> sender = testKit.createTestProbe(CloudToDeviceQueue.SendResult.class);
    queue.tell(send("a", sender.ref()));
    sender.expectMessageClass(CloudToDeviceQueue.Queued.class, WAIT);
    queue.tell(new CloudToDeviceQueue.AttachReceiver(session.ref(), "s1", 1, "g1", depth.ref()));
    assertEquals(1, depth.expectMessageClass(CloudToDeviceQueue.Depth.class, WAIT).depth());
    var a = session.expectMessageClass(SessionMessage.CloudToDevice.class, WAIT);

    journal.failNextPersisted("CloudToDevice|dev-pf2");
    queue.tell(new CloudToDeviceQueue.Settle(a.lockToken(), CloudToDeviceQueue.Disposition.COMPLETE));
    queue.tell(new CloudToDeviceQueue.GetDepth(depth.ref()));
    assertEquals(1, depth.expectMessageClass(CloudToDeviceQueue.Depth.class, WAIT).depth(), "not completed: its Settled was not written");
    // The device's completion sent again (MqttSession does so on a redelivery) settles it.
    queue.tell(new CloudToDeviceQueue.Settle(a.lockToken(), CloudToDeviceQueue.Disposition.COMPLETE));
    queue.tell(new CloudToDeviceQueue.GetDepth(depth.ref()));
    assertEquals(0, depth.expectMessageClass(CloudToDeviceQueue.Depth.class, WAIT).depth());
  }
}
