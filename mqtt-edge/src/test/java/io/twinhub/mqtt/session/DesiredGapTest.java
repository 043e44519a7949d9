package io.twinhub.mqtt.session;

import io.twinhub.twin.domain.TwinUpdate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
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
  static SessionHarness hub;

  @BeforeAll
  static void start() {
    hub = new SessionHarness("""
        test.session-timeout = 700ms
        twinhub.mqtt.heartbeat-interval = 2s
        twinhub.mqtt.gap-grace = 300ms
        """);
  }

  @AfterAll
  static void stop() {
    hub.shutdown();
  }

  @Test
  void aMissedDesiredVersionClosesTheConnectionAtTheNextHeartbeat() throws Exception {
    String dev = hub.createDevice("gap");
    var c = hub.new Client();
    c.connectOk(dev, null);
    c.subscribe(DeviceTopics.TWIN_DESIRED_FILTER);
    await(hub.twins.updateTwin(dev, null, new TwinUpdate.PatchDesired(hub.doc("{\"a\":1}")), null));
    assertEquals("$iothub/twin/PATCH/properties/desired/?$version=2", c.receivePublish().topic());
    Thread.sleep(1000); // the entity has expired the session by now
    await(hub.twins.updateTwin(dev, null, new TwinUpdate.PatchDesired(hub.doc("{\"a\":2}")), null));
    long t0 = System.nanoTime();
    c.expectClosed(); // heartbeat at ~2 s shows $version 3, never delivered; closed after the grace
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms < 5000, "closed after " + ms + " ms");
  }

  @Test
  void heartbeatsKeepTheSessionAndNothingIsClosedWithoutAGap() {
    String dev = hub.createDevice("nogap");
    var c = hub.new Client();
    c.connectOk(dev, null);
    c.subscribe(DeviceTopics.TWIN_DESIRED_FILTER);
    for (int i = 0; i < 5; i++) {
      await(hub.twins.updateTwin(dev, null, new TwinUpdate.PatchDesired(hub.doc("{\"a\":" + i + "}")), null));
      assertEquals("$iothub/twin/PATCH/properties/desired/?$version=" + (i + 2), c.receivePublish().topic());
    }
    c.expectNothing(Duration.ofMillis(4500)); // two heartbeats, no gap, stays open
  }
}
