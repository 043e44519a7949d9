package io.twinhub.mqtt;

import akka.util.ByteString;
import io.twinhub.mqtt.codec.MqttPacket;
import io.twinhub.mqtt.codec.MqttPacket.ConnAck;
import io.twinhub.mqtt.codec.MqttPacket.ConnectReturnCode;
import io.twinhub.mqtt.codec.MqttPacket.PacketIdOnly;
import io.twinhub.mqtt.codec.MqttPacket.Publish;
import io.twinhub.mqtt.codec.MqttPacket.SubAck;
import io.twinhub.mqtt.codec.MqttPacket.Subscribe;
import io.twinhub.mqtt.codec.MqttPacket.TopicFilter;
import io.twinhub.mqtt.session.DeviceTopics;
import io.twinhub.mqtt.session.SessionHarness;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.service.AdmissionLimit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Reported patches delayed at the node's admission limit ({@code overload-mode = delay}), through a
 * real {@link SessionStage} and session, by mechanism: the limit is 1 and the test holds that write
 * itself. The patch waits for a slot with nothing more read from the connection (a PINGREQ and a
 * twin GET sent behind it are answered after it, in order), and is applied once the test frees the
 * slot; a connection that ends while its patch waits gives the wait up, nothing applied, no slot
 * kept. overload-wait is far longer than the test needs, so that no refusal can happen here.
 */
class SessionStageDelayTest {
  static final AdmissionLimit ADMISSION = new AdmissionLimit(AdmissionLimit.Settings.fixed(1));
  static SessionHarness hub;

  @BeforeAll
  static void start() {
    hub = new SessionHarness("""
        twinhub.mqtt.overload-mode = delay
        twinhub.mqtt.ask-timeout = 120s
        twinhub.mqtt.overload-wait = 100s
        """, Duration.ofSeconds(30), ADMISSION);
  }

  @AfterAll
  static void stop() {
    hub.shutdown();
  }

  private static long reportedVersion(String dev) {
    return ((TwinReply.Accepted) SessionHarness.await(hub.twins.getTwin(dev, null))).twin().state().reported().version();
  }

  private static void awaitCondition(String what, BooleanSupplier condition) throws InterruptedException {
    long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < until, what + " within 60 s");
      Thread.sleep(10);
    }
  }

  private static SessionStageAdmissionTest.Connection connected(String dev) throws InterruptedException {
    var c = new SessionStageAdmissionTest.Connection(hub);
    c.send(SessionHarness.connect(dev, null, SessionHarness.token(dev, null, SessionHarness.KEY1, 3600), 60));
    assertEquals(ConnectReturnCode.ACCEPTED, assertInstanceOf(ConnAck.class, c.receive()).returnCode());
    c.send(new Subscribe(1, List.of(new TopicFilter(DeviceTopics.TWIN_RES_FILTER, 1))));
    assertInstanceOf(SubAck.class, c.receive());
    return c;
  }

  @Test
  void aPatchAtTheLimitWaitsWithItsConnectionUnreadAndIsAppliedWhenASlotFrees() throws Exception {
    String dev = hub.createDevice("stage-delay");
    var c = connected(dev);
    long before = reportedVersion(dev);
    long refusedBefore = ADMISSION.refused();

    assertTrue(ADMISSION.tryAcquire(), "the test holds the node's only write in flight");
    boolean held = true;
    try {
      c.send(new Publish(false, 1, false, "$iothub/twin/PATCH/properties/reported/?$rid=1", 11,
          ByteString.fromString("{\"delayed\":true}")));
      c.send(MqttPacket.Empty.PINGREQ_PACKET);
      c.send(new Publish(false, 0, false, "$iothub/twin/GET/?$rid=2", 0, ByteString.emptyByteString()));
      awaitCondition("the patch waiting for a slot", () -> ADMISSION.waiting() == 1);
      assertTrue(c.written.isEmpty() && c.received.isEmpty(),
          "nothing answered while the patch waits: the packets behind it are not handed to the session");
      assertEquals(before, reportedVersion(dev));

      ADMISSION.release(0, false);
      held = false;
      assertEquals(PacketIdOnly.pubAck(11), c.receive(), "PUBACK first");
      assertEquals("$iothub/twin/res/204/?$rid=1&$version=" + (before + 1), c.receivePublish().topic(),
          "applied once granted the freed slot");
      assertEquals(MqttPacket.PINGRESP, c.receive().type(), "the PINGREQ read behind it is answered after it");
      Publish got = c.receivePublish();
      assertEquals("$iothub/twin/res/200/?$rid=2", got.topic());
    } finally {
      if (held) ADMISSION.release(0, false);
    }
    assertEquals(refusedBefore, ADMISSION.refused(), "delayed, not refused");
    awaitCondition("the slot released with the answer", () -> ADMISSION.inFlight() == 0);
    assertEquals(before + 1, reportedVersion(dev));
  }

  @Test
  void aConnectionThatEndsWhileItsPatchWaitsGivesUpTheWaitAndNothingIsApplied() throws Exception {
    String dev = hub.createDevice("stage-delay-gone");
    var c = connected(dev);
    long before = reportedVersion(dev);

    assertTrue(ADMISSION.tryAcquire(), "the test holds the node's only write in flight");
    try {
      c.send(new Publish(false, 1, false, "$iothub/twin/PATCH/properties/reported/?$rid=1", 11,
          ByteString.fromString("{\"gone\":true}")));
      awaitCondition("the patch waiting for a slot", () -> ADMISSION.waiting() == 1);
      c.in.complete(); // the device's end of the connection closes
      awaitCondition("the wait given up", () -> ADMISSION.waiting() == 0);
    } finally {
      ADMISSION.release(0, false);
    }
    assertEquals(0, ADMISSION.inFlight(), "the waiter never took the freed slot");
    assertTrue(ADMISSION.tryAcquire(), "the slot is free for the next write");
    ADMISSION.release(0, false);
    var twin = ((TwinReply.Accepted) SessionHarness.await(hub.twins.getTwin(dev, null))).twin();
    assertEquals(before, twin.state().reported().version());
    assertNull(twin.state().reported().values().get("gone"), "the abandoned patch was never applied");
  }
}
