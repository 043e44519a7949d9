package io.twinhub.mqtt;

import akka.util.ByteString;
import io.twinhub.mqtt.SessionStageAdmissionTest.Connection;
import io.twinhub.mqtt.codec.MqttPacket.PacketIdOnly;
import io.twinhub.mqtt.codec.MqttPacket.Publish;
import io.twinhub.mqtt.session.SessionHarness;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.service.AdmissionLimit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code refused-hold} (session 15), by mechanism: the node's limit is 1 and the test holds that
 * write itself. A reported patch refused by the stream stage is answered at once (PUBACK + 429),
 * then the connection waits among the admission's waiters with its socket unread; the device's next
 * patch is neither read nor refused meanwhile (with session 11's path it would be read after
 * {@code throttle-pause}, 100 ms, and refused), and when the test frees the slot the admission
 * wakes this connection, whose held patch is then read and admitted. The hold here (100 s) is
 * far longer than the test, so it cannot run out.
 */
class SessionStageHoldTest {
  static final AdmissionLimit ADMISSION = new AdmissionLimit(AdmissionLimit.Settings.fixed(1));
  static SessionHarness hub;

  @BeforeAll
  static void start() {
    hub = new SessionHarness("""
        twinhub.mqtt.overload-mode = refuse
        twinhub.mqtt.throttle-pause = 100ms
        twinhub.mqtt.throttle-pause-max = 0
        twinhub.mqtt.refused-hold = 100s
        """, Duration.ofSeconds(30), ADMISSION);
  }

  @AfterAll
  static void stop() {
    hub.shutdown();
  }

  private static Connection connectedToTwinResponses(String dev) throws InterruptedException {
    return SessionStageAdmissionTest.connectedToTwinResponses(hub, dev);
  }

  private static Publish patch(String rid, int packetId, String body) {
    return new Publish(false, 1, false, "$iothub/twin/PATCH/properties/reported/?$rid=" + rid, packetId, ByteString.fromString(body));
  }

  private static long reportedVersion(String dev) {
    return SessionStageAdmissionTest.reportedVersion(hub, dev);
  }

  @Test
  void aRefusedConnectionIsHeldUnreadAndItsNextPatchGetsTheNextFreeSlot() throws Exception {
    String dev = hub.createDevice("stage-hold");
    Connection c = connectedToTwinResponses(dev);
    long before = reportedVersion(dev);
    long refusedBefore = ADMISSION.refused();

    assertTrue(ADMISSION.tryAcquire(), "the test holds the node's only write in flight");
    boolean released = false;
    try {
      c.send(patch("1", 11, "{\"refused\":1}"));
      assertEquals(PacketIdOnly.pubAck(11), c.receive(), "PUBACK first");
      assertEquals("$iothub/twin/res/429/?$rid=1", c.receivePublish().topic(), "refused at once, not after the hold");
      assertEquals(1, ADMISSION.waiting(), "the refused connection waits for a slot (delay mode's grant path)");

      c.send(patch("2", 12, "{\"held\":2}"));
      // Longer than throttle-pause (100 ms): without the hold the stage reads patch 2 by now and refuses it.
      Thread.sleep(500);
      assertEquals(refusedBefore + 1, ADMISSION.refused(), "the held patch is neither read nor refused while the node is full");
      assertEquals(before, reportedVersion(dev));

      ADMISSION.release(0, false); // the answer that frees the slot wakes the held connection
      released = true;
      assertEquals(PacketIdOnly.pubAck(12), c.receive());
      assertEquals("$iothub/twin/res/204/?$rid=2&$version=" + (before + 1), c.receivePublish().topic(),
          "the held patch is read once the node has room, and admitted");
    } finally {
      if (!released) ADMISSION.release(0, false);
    }
    var twin = ((TwinReply.Accepted) SessionHarness.await(hub.twins.getTwin(dev, null))).twin();
    assertEquals(before + 1, twin.state().reported().version());
    assertNull(twin.state().reported().values().get("refused"), "the refused patch was never applied");
    assertEquals(refusedBefore + 1, ADMISSION.refused());
    assertEquals(0, ADMISSION.inFlight(), "the slot was released with its answer");
    assertEquals(0, ADMISSION.waiting());

    // Not held any more: the next patch is admitted as any other.
    c.send(patch("3", 13, "{\"after\":3}"));
    assertEquals(PacketIdOnly.pubAck(13), c.receive());
    assertEquals("$iothub/twin/res/204/?$rid=3&$version=" + (before + 2), c.receivePublish().topic());
  }

  @Test
  void aConnectionThatEndsWhileHeldKeepsNoWaiterAndNoSlot() throws Exception {
    String dev = hub.createDevice("stage-hold-close");
    Connection c = connectedToTwinResponses(dev);
    long before = reportedVersion(dev);

    assertTrue(ADMISSION.tryAcquire(), "the test holds the node's only write in flight");
    try {
      c.send(patch("1", 21, "{\"refused\":1}"));
      assertEquals(PacketIdOnly.pubAck(21), c.receive());
      assertEquals("$iothub/twin/res/429/?$rid=1", c.receivePublish().topic());
      assertEquals(1, ADMISSION.waiting());
      c.send(patch("2", 22, "{\"held\":2}"));
      c.in.fail(new RuntimeException("connection reset")); // the device's end goes away while its connection is held
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (ADMISSION.waiting() > 0 && System.nanoTime() < deadline) Thread.sleep(10);
      assertEquals(0, ADMISSION.waiting(), "the ended connection left the waiters");
    } finally {
      ADMISSION.release(0, false);
    }
    assertEquals(0, ADMISSION.inFlight(), "nothing of the ended connection holds a slot");
    assertEquals(before, reportedVersion(dev), "nothing of the ended connection applied");
  }
}
