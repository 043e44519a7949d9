package io.twinhub.mqtt.session;

import io.twinhub.mqtt.codec.MqttPacket.PacketIdOnly;
import io.twinhub.mqtt.codec.MqttPacket.Publish;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.service.AdmissionLimit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static io.twinhub.mqtt.session.SessionHarness.await;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A reported patch at the node's admission limit, by mechanism: the limit is 1 and the test holds
 * that one write in flight itself, so the device's patch waits (overload-mode = delay) until
 * overload-wait has passed and is then refused (PUBACK, then
 * {@code $iothub/twin/res/429} with ThrottlingException 429001 for its {@code $rid}) and never
 * applied; once the write is answered the device's next patch is applied with the next version.
 */
class AdmissionSessionTest {
  static final AdmissionLimit ADMISSION = new AdmissionLimit(AdmissionLimit.Settings.fixed(1));
  static SessionHarness hub;

  @BeforeAll
  static void start() {
    hub = new SessionHarness("""
        twinhub.mqtt.overload-mode = delay
        twinhub.mqtt.overload-wait = 200ms
        twinhub.mqtt.throttle-pause = 100ms
        """, Duration.ofSeconds(30), ADMISSION);
  }

  @AfterAll
  static void stop() {
    hub.shutdown();
  }

  private long reportedVersion(String dev) {
    return ((TwinReply.Accepted) await(hub.twins.getTwin(dev, null))).twin().state().reported().version();
  }

  @Test
  void aReportedPatchRefusedAtTheLimitGets429AndIsNeverApplied() throws Exception {
    String dev = hub.createDevice("admission");
    var c = hub.new Client();
    c.connectOk(dev, null);
    c.subscribe(DeviceTopics.TWIN_RES_FILTER);
    long before = reportedVersion(dev);

    assertTrue(ADMISSION.tryAcquire(), "the test holds the node's only write in flight");
    try {
      int id = c.publish(1, "$iothub/twin/PATCH/properties/reported/?$rid=1", "{\"refused\":true}");
      assertEquals(PacketIdOnly.pubAck(id), c.receive(), "PUBACK first, as for every answered QoS 1 twin request");
      Publish refused = c.receivePublish();
      assertEquals("$iothub/twin/res/429/?$rid=1", refused.topic());
      assertEquals(429001, c.json(refused).get("errorCode").asInt());
      // The session reads the device's next packet only after its throttle pause (TCP back-pressure).
      c.acks.expectMessage(Duration.ofSeconds(30), MqttSession.Ack.ACK);
      // A read is not a write: the twin can still be read at the limit.
      c.publish(0, "$iothub/twin/GET/?$rid=2", "");
      Publish got = c.receivePublish();
      assertEquals("$iothub/twin/res/200/?$rid=2", got.topic());
      assertFalse(c.json(got).get("reported").has("refused"), "the refused patch is not in the twin");
      c.acks.expectMessage(Duration.ofSeconds(30), MqttSession.Ack.ACK);
    } finally {
      ADMISSION.release(0, false);
    }
    assertEquals(before, reportedVersion(dev), "nothing was applied while the limit was held");

    c.publish(0, "$iothub/twin/PATCH/properties/reported/?$rid=3", "{\"accepted\":true}");
    assertEquals("$iothub/twin/res/204/?$rid=3&$version=" + (before + 1), c.receivePublish().topic(),
        "the next patch is applied with the next version: the refused one took none");
    c.acks.expectMessage(Duration.ofSeconds(30), MqttSession.Ack.ACK);
    var twin = ((TwinReply.Accepted) await(hub.twins.getTwin(dev, null))).twin();
    assertEquals(before + 1, twin.state().reported().version());
    assertNull(twin.state().reported().values().get("refused"), "the refused patch was never applied");
    assertEquals(0, ADMISSION.inFlight(), "the accepted write was released");
  }
}
