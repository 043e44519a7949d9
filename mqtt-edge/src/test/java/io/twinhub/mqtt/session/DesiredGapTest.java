package io.twinhub.mqtt.session;

import io.twinhub.mqtt.codec.MqttPacket;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.TwinReply;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static io.twinhub.mqtt.session.SessionHarness.await;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A desired change the session never got (here: the entity expired the session because its
 * heartbeat came too late, so the change was not pushed) is detected by the next heartbeat and
 * closes the connection instead of leaving a silent gap.
 */
class DesiredGapTest {

  @Test
  void aMissedDesiredVersionClosesTheConnectionAtTheNextHeartbeat() {
    // The entity expires a session 700 ms after an attach; the session re-attaches only every 3 s.
    var hub = new SessionHarness("""
        test.session-timeout = 700ms
        twinhub.mqtt.heartbeat-interval = 3s
        twinhub.mqtt.gap-grace = 300ms
        """);
    try {
      String dev = hub.createDevice("gap");
      var c = hub.new Client();
      c.connectOk(dev, null);
      c.subscribe(DeviceTopics.TWIN_DESIRED_FILTER);
      await(hub.twins.updateTwin(dev, null, new TwinUpdate.PatchDesired(hub.doc("{\"a\":1}")), null));
      assertEquals("$iothub/twin/PATCH/properties/desired/?$version=2", c.receivePublish().topic());
      // The entity's expiry and the session's heartbeat are both timers, late by seconds on a loaded
      // box: a heartbeat can re-attach between the expiry seen here and the next patch, and then that
      // patch is pushed to a live session (no gap, nothing to close). Each round waits for the expiry
      // (not for a fixed time) and patches; a push means the heartbeat won that round, so go again.
      for (int round = 0; round < 10; round++) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (connectionState(hub, dev) != ConnectionState.DISCONNECTED && System.nanoTime() < deadline) sleep(20);
        assertEquals(ConnectionState.DISCONNECTED, connectionState(hub, dev));
        long version = 3 + round;
        await(hub.twins.updateTwin(dev, null, new TwinUpdate.PatchDesired(hub.doc("{\"a\":" + version + "}")), null));
        // This version went to no session; the heartbeat shows it, never delivered, and the grace
        // closes. Nothing else closes it this soon (keep-alive 60 s, token 1 h).
        Object next = c.receiveOrClosed();
        if (next == SessionHarness.CLOSED) return;
        assertEquals("$iothub/twin/PATCH/properties/desired/?$version=" + version,
            assertInstanceOf(MqttPacket.Publish.class, next).topic());
      }
      fail("a heartbeat re-attached before the patch in every round");
    } finally {
      hub.shutdown();
    }
  }

  @Test
  void heartbeatsKeepTheSessionAndNothingIsClosedWithoutAGap() {
    // The default session timeout (90 s): the heartbeats, not a race with the entity's expiry, are under test.
    var hub = new SessionHarness("""
        twinhub.mqtt.heartbeat-interval = 1s
        twinhub.mqtt.gap-grace = 300ms
        """);
    try {
      String dev = hub.createDevice("nogap");
      var c = hub.new Client();
      c.connectOk(dev, null);
      c.subscribe(DeviceTopics.TWIN_DESIRED_FILTER);
      for (int i = 0; i < 5; i++) {
        await(hub.twins.updateTwin(dev, null, new TwinUpdate.PatchDesired(hub.doc("{\"a\":" + i + "}")), null));
        assertEquals("$iothub/twin/PATCH/properties/desired/?$version=" + (i + 2), c.receivePublish().topic());
      }
      c.expectNothing(Duration.ofMillis(2500)); // two heartbeats, no gap, stays open
      assertEquals(ConnectionState.CONNECTED, connectionState(hub, dev));
    } finally {
      hub.shutdown();
    }
  }

  private static ConnectionState connectionState(SessionHarness hub, String dev) {
    return ((TwinReply.Accepted) await(hub.twins.getTwin(dev, null))).twin().identity().connectionState();
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }
}
