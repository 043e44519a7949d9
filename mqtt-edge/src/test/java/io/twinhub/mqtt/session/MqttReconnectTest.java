package io.twinhub.mqtt.session;

import akka.persistence.testkit.javadsl.PersistenceTestKit;
import io.twinhub.mqtt.codec.MqttPacket.*;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.KeptSession;
import io.twinhub.twin.entity.TwinReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static io.twinhub.mqtt.session.SessionHarness.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A reconnect of a known device with a persistent session, its twin warm, within the disconnect
 * grace: the session comes back from what the twin kept and nothing is journaled.
 */
class MqttReconnectTest {
  static SessionHarness hub;

  /** Counts the twin round trips (TwinService's timers); the global registry has none unless one is added. */
  static final io.micrometer.core.instrument.simple.SimpleMeterRegistry meters = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();

  @BeforeAll
  static void start() {
    io.micrometer.core.instrument.Metrics.addRegistry(meters);
    hub = new SessionHarness("""
        test.disconnect-grace = 1h
        """, Duration.ofSeconds(30));
  }

  @AfterAll
  static void stop() {
    hub.shutdown();
    io.micrometer.core.instrument.Metrics.removeRegistry(meters);
  }

  private static long twinRequests(String operation) {
    return meters.find("twinhub.twin.requests").tag("operation", operation).timers().stream()
        .mapToLong(io.micrometer.core.instrument.Timer::count).sum();
  }

  private static KeptSession kept(String dev) {
    return await(hub.twins.lookupForConnect(dev, null)).kept();
  }

  @Test
  void aQuickReconnectRestoresThePersistentSessionFromTheTwinAndJournalsNothing() throws Exception {
    String dev = hub.createDevice("quick");
    PersistenceTestKit journal = PersistenceTestKit.create(hub.testKit.system());
    var first = hub.new Client();
    assertFalse(first.connect(connect(dev, null, token(dev, null, KEY1, 3600), 60)).sessionPresent()); // CleanSession=0
    first.acks.expectMessage(MqttSession.Ack.ACK);
    first.subscribe(DeviceTopics.TWIN_DESIRED_FILTER, DeviceTopics.METHODS_FILTER);
    first.send(Empty.DISCONNECT_PACKET);
    first.expectClosed();
    // The detach leaves the session's subscriptions with the twin (it is asynchronous: wait for it).
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (kept(dev) == null && System.nanoTime() < deadline) Thread.sleep(20);
    KeptSession k = kept(dev);
    assertNotNull(k, "the closing connection left its session with the twin");
    assertTrue(k.present());
    assertEquals(java.util.Set.of(DeviceTopics.TWIN_DESIRED_FILTER, DeviceTopics.METHODS_FILTER), k.subscriptions().keySet());

    String twinId = "Device|" + dev;
    String storeId = SessionStore.TYPE_KEY.name() + "|" + dev;
    int twinEvents = journal.persistedInStorage(twinId).size();
    int storeEvents = journal.persistedInStorage(storeId).size();
    assertEquals(1, storeEvents, "the subscriptions were stored once");

    long lookups = twinRequests("getTwin");
    long attaches = twinRequests("attachSession");
    var second = hub.new Client();
    assertTrue(second.connect(connect(dev, null, token(dev, null, KEY1, 3600), 60)).sessionPresent());
    second.acks.expectMessage(MqttSession.Ack.ACK);
    assertEquals(lookups + 1, twinRequests("getTwin"), "the CONNECT's one round trip to the twin");
    assertEquals(attaches, twinRequests("attachSession"), "attached by the twin at the lookup: no second round trip");
    assertEquals(twinEvents, journal.persistedInStorage(twinId).size(), "no Disconnected/Connected pair for a reconnect within the grace");
    assertEquals(ConnectionState.CONNECTED,
        ((TwinReply.Accepted) await(hub.twins.getTwin(dev, null))).twin().identity().connectionState());
    assertNull(kept(dev), "the new connection owns the session now");
    await(hub.twins.updateTwin(dev, null, new TwinUpdate.PatchDesired(hub.doc("{\"x\":1}")), null));
    assertEquals("$iothub/twin/PATCH/properties/desired/?$version=2", second.receivePublish().topic(),
        "delivered without subscribing again");
    assertEquals(storeEvents, journal.persistedInStorage(storeId).size());
  }
}
