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
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code max-node-lag} (session 16), by mechanism: the node's admission has slots free, but the test
 * says the node is behind in its own work ({@link AdmissionLimit#refuseWhileBehind}, what the
 * dispatcher-lag probe says in a node). The stream stage then refuses a reported patch as at the
 * limit (PUBACK + {@code $iothub/twin/res/429}), never applied; once the node has caught up, the
 * next patch is applied with the next {@code $version}. Without the check the patch would be admitted.
 */
class SessionStageBehindTest {
  static final AdmissionLimit ADMISSION = new AdmissionLimit(AdmissionLimit.Settings.fixed(64));
  static final AtomicBoolean BEHIND = new AtomicBoolean();
  static SessionHarness hub;

  @BeforeAll
  static void start() {
    ADMISSION.refuseWhileBehind(BEHIND::get);
    hub = new SessionHarness("""
        twinhub.mqtt.overload-mode = refuse
        twinhub.mqtt.throttle-pause = 0
        """, Duration.ofSeconds(30), ADMISSION);
  }

  @AfterAll
  static void stop() {
    hub.shutdown();
  }

  private static Publish patch(String rid, int packetId, String body) {
    return new Publish(false, 1, false, "$iothub/twin/PATCH/properties/reported/?$rid=" + rid, packetId, ByteString.fromString(body));
  }

  @Test
  void whileTheNodeIsBehindAReportedPatchIsRefusedWithSlotsFreeAndNeverApplied() throws Exception {
    String dev = hub.createDevice("stage-behind");
    Connection c = SessionStageAdmissionTest.connectedToTwinResponses(hub, dev);
    long before = SessionStageAdmissionTest.reportedVersion(hub, dev);
    long refusedBefore = ADMISSION.refusedBehind();

    BEHIND.set(true);
    try {
      c.send(patch("1", 11, "{\"refused\":1}"));
      assertEquals(PacketIdOnly.pubAck(11), c.receive(), "PUBACK first");
      assertEquals("$iothub/twin/res/429/?$rid=1", c.receivePublish().topic(), "refused although " + ADMISSION.inFlight()
          + " of " + ADMISSION.limit() + " slots are in use");
    } finally {
      BEHIND.set(false);
    }
    assertEquals(refusedBefore + 1, ADMISSION.refusedBehind(), "counted as refused because the node was behind");

    // Caught up: the next patch is admitted and applied; the refused one never was.
    c.send(patch("2", 12, "{\"accepted\":2}"));
    assertEquals(PacketIdOnly.pubAck(12), c.receive());
    assertEquals("$iothub/twin/res/204/?$rid=2&$version=" + (before + 1), c.receivePublish().topic());
    var twin = ((TwinReply.Accepted) SessionHarness.await(hub.twins.getTwin(dev, null))).twin();
    assertNull(twin.state().reported().values().get("refused"), "the refused patch was not applied");
    assertEquals(0, ADMISSION.inFlight());
  }
}
