package io.twinhub.twin.entity;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.domain.TwinUpdate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static io.twinhub.twin.entity.EntityTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A twin entity that restarts (crash, rebalance) forgets its attached session until the session's
 * next heartbeat. Desired changes made in between are re-sent on that heartbeat rather than left
 * to the session's gap check, which would make the device reconnect.
 */
class TwinRestartTest {
  static final ActorTestKit testKit = ActorTestKit.create(CONFIG);

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static EventSourcedBehaviorTestKit<TwinCommand, TwinEvent, TwinRecord> entity(String id, Duration sessionTimeout) {
    var kit = EventSourcedBehaviorTestKit.<TwinCommand, TwinEvent, TwinRecord>create(testKit.system(),
        DeviceEntity.create(id, new EntitySettings(TwinLimits.DEFAULT, sessionTimeout, steppingClock())));
    kit.<TwinReply>runCommand(r -> new TwinCommand.CreateIdentity(sasSpec(), "g", r));
    return kit;
  }

  private static TwinReply attach(EventSourcedBehaviorTestKit<TwinCommand, TwinEvent, TwinRecord> kit,
                                  TestProbe<SessionMessage> session, long delivered) {
    return kit.<TwinReply>runCommand(r -> new TwinCommand.AttachSession(session.ref(), "s1", 1, true, false, delivered, null, r)).reply();
  }

  private static void patchDesired(EventSourcedBehaviorTestKit<TwinCommand, TwinEvent, TwinRecord> kit, String json) {
    assertInstanceOf(TwinReply.Accepted.class,
        kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(new TwinUpdate.PatchDesired(doc(json)), null, r)).reply());
  }

  @Test
  void desiredChangesWhileTheRestartedEntityHadNoSessionAreResentOnTheNextHeartbeat() {
    var kit = entity("restart-1", Duration.ofSeconds(30));
    TestProbe<SessionMessage> session = testKit.createTestProbe();
    attach(kit, session, -1);
    patchDesired(kit, "{\"a\":1}");
    assertEquals(2, session.expectMessageClass(SessionMessage.DesiredChanged.class).desiredVersion());

    kit.restart();
    patchDesired(kit, "{\"a\":2}");
    patchDesired(kit, "{\"b\":null}");
    session.expectNoMessage(Duration.ofMillis(100)); // no session known after the restart

    attach(kit, session, 2); // the heartbeat: the device has $version 2
    var v3 = session.expectMessageClass(SessionMessage.DesiredChanged.class);
    var v4 = session.expectMessageClass(SessionMessage.DesiredChanged.class);
    assertEquals(3, v3.desiredVersion());
    assertEquals(2, v3.body().get("a").asInt());
    assertEquals(4, v4.desiredVersion());
    assertTrue(v4.body().get("b").isNull(), "a deletion is re-sent as the patch it was");
    session.expectNoMessage(Duration.ofMillis(100));

    patchDesired(kit, "{\"c\":3}"); // live again
    assertEquals(5, session.expectMessageClass(SessionMessage.DesiredChanged.class).desiredVersion());
  }

  @Test
  void changesJournaledBeforeTheRestartThatTheSessionNeverGotAreRebuiltByReplay() {
    var kit = entity("restart-2", Duration.ofSeconds(30));
    TestProbe<SessionMessage> session = testKit.createTestProbe();
    attach(kit, session, -1);
    patchDesired(kit, "{\"a\":1}"); // $version 2: pushed, but say the message was lost with the old node
    kit.restart();
    assertEquals(2, session.expectMessageClass(SessionMessage.DesiredChanged.class).desiredVersion()); // the lost push
    attach(kit, session, 1);
    assertEquals(2, session.expectMessageClass(SessionMessage.DesiredChanged.class).desiredVersion()); // resent
    session.expectNoMessage(Duration.ofMillis(100));
    attach(kit, session, 2); // already delivered versions are not sent again
    session.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void whenMoreChangesWereMissedThanTheEntityKeepsNothingIsResent() {
    var kit = entity("restart-3", Duration.ofSeconds(30));
    TestProbe<SessionMessage> session = testKit.createTestProbe();
    attach(kit, session, -1);
    kit.restart();
    for (int i = 0; i < TwinEntity.MAX_UNDELIVERED + 2; i++) patchDesired(kit, "{\"n\":" + i + "}");
    var reply = (TwinReply.Accepted) attach(kit, session, 1);
    assertEquals(TwinEntity.MAX_UNDELIVERED + 3, reply.twin().state().desired().version());
    // A hole (versions 2 and 3 are gone): the session sees the newer $version and closes the connection itself.
    session.expectNoMessage(Duration.ofMillis(200));
  }

  @Test
  void aTwinRecoveredAsConnectedWhoseSessionNeverComesBackIsMarkedDisconnected() throws Exception {
    var kit = entity("restart-4", Duration.ofMillis(500));
    attach(kit, testKit.createTestProbe(), -1);
    kit.restart();
    // The 500 ms expiry timer is late on a loaded box: wait for its effect, not for a fixed time.
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (connectionState(kit) != ConnectionState.DISCONNECTED && System.nanoTime() < deadline) Thread.sleep(50);
    assertEquals(ConnectionState.DISCONNECTED, connectionState(kit));
  }

  private static ConnectionState connectionState(EventSourcedBehaviorTestKit<TwinCommand, TwinEvent, TwinRecord> kit) {
    return ((TwinReply.Accepted) kit.<TwinReply>runCommand(TwinCommand.GetTwin::new).reply()).twin().identity().connectionState();
  }
}
