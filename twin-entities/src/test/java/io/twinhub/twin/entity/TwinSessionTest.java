package io.twinhub.twin.entity;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.error.IotHubErrorCode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static io.twinhub.twin.entity.EntityTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** The in-memory device session of a twin entity: notifications, takeover, methods, expiry. */
class TwinSessionTest {
  static final ActorTestKit testKit = ActorTestKit.create(CONFIG);
  private EventSourcedBehaviorTestKit<TwinCommand, TwinEvent, TwinRecord> kit;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void setUp() {
    // A session timeout far beyond any test's run: only the expiry test (its own entity) races a timer.
    kit = deviceWithSessionTimeout(Duration.ofMinutes(5));
  }

  private static EventSourcedBehaviorTestKit<TwinCommand, TwinEvent, TwinRecord> deviceWithSessionTimeout(Duration timeout) {
    EventSourcedBehaviorTestKit<TwinCommand, TwinEvent, TwinRecord> k = EventSourcedBehaviorTestKit.create(testKit.system(),
        DeviceEntity.create("dev1", new EntitySettings(TwinLimits.DEFAULT, timeout, steppingClock())));
    k.<TwinReply>runCommand(r -> new TwinCommand.CreateIdentity(sasSpec(), "g", r));
    return k;
  }

  private TwinReply attach(TestProbe<SessionMessage> session, String id) {
    return kit.<TwinReply>runCommand(r -> new TwinCommand.AttachSession(session.ref(), id, true, true, r)).reply();
  }

  private void patchDesired(String json) {
    kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(new TwinUpdate.PatchDesired(doc(json)), null, r));
  }

  @Test
  void attachedSessionGetsDesiredChangesInVersionOrderAndTwinIsConnected() {
    TestProbe<SessionMessage> session = testKit.createTestProbe();
    var attached = kit.<TwinReply>runCommand(r -> new TwinCommand.AttachSession(session.ref(), "s1", true, false, r));
    assertEquals(ConnectionState.CONNECTED, ((TwinReply.Accepted) attached.reply()).twin().identity().connectionState());
    assertInstanceOf(TwinEvent.ConnectionStateChanged.class, attached.event());

    patchDesired("{\"a\":1}");
    patchDesired("{\"b\":{\"c\":2}}");
    kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(new TwinUpdate.PatchReported(doc("{\"x\":1}")), null, r));
    var first = session.expectMessageClass(SessionMessage.DesiredChanged.class);
    var second = session.expectMessageClass(SessionMessage.DesiredChanged.class);
    assertEquals(2, first.desiredVersion());
    assertEquals(1, first.body().get("a").asInt());
    assertEquals(2, first.body().get("$version").asInt());
    assertEquals(3, second.desiredVersion());
    session.expectNoMessage(Duration.ofMillis(100));

    // A heartbeat re-attach persists nothing.
    var again = kit.<TwinReply>runCommand(r -> new TwinCommand.AttachSession(session.ref(), "s1", true, false, r));
    assertTrue(again.hasNoEvents());
  }

  @Test
  void secondSessionTakesOverAndFirstIsToldToClose() {
    TestProbe<SessionMessage> s1 = testKit.createTestProbe();
    TestProbe<SessionMessage> s2 = testKit.createTestProbe();
    attach(s1, "s1");
    attach(s2, "s2");
    assertInstanceOf(SessionMessage.CloseSession.class, s1.receiveMessage());
    patchDesired("{\"a\":1}");
    s2.expectMessageClass(SessionMessage.DesiredChanged.class);
    s1.expectNoMessage(Duration.ofMillis(100));
    // The old session's late detach leaves the twin Connected for the new one.
    var late = kit.<TwinReply>runCommand(r -> new TwinCommand.DetachSession("s1", r));
    assertTrue(late.hasNoEvents());
    var detach = kit.<TwinReply>runCommand(r -> new TwinCommand.DetachSession("s2", r));
    var event = assertInstanceOf(TwinEvent.ConnectionStateChanged.class, detach.event());
    assertEquals(ConnectionState.DISCONNECTED, event.state());
  }

  @Test
  void directMethodsGoToTheSessionOrFailAsNotOnline() {
    TestProbe<DirectMethodReply> caller = testKit.createTestProbe();
    var payload = JsonNodeFactory.instance.objectNode().put("level", 3);
    kit.runCommand(new TwinCommand.InvokeMethod("reboot", payload, Duration.ofSeconds(5), caller.ref()));
    var offline = caller.expectMessageClass(DirectMethodReply.Failed.class);
    assertEquals(IotHubErrorCode.DeviceNotOnline, offline.error().code());

    TestProbe<SessionMessage> session = testKit.createTestProbe();
    attach(session, "s1");
    kit.runCommand(new TwinCommand.InvokeMethod("reboot", payload, Duration.ofSeconds(5), caller.ref()));
    var request = session.expectMessageClass(SessionMessage.MethodRequest.class);
    assertEquals("reboot", request.methodName());
    assertEquals(3, request.payload().get("level").asInt());
    request.replyTo().tell(new DirectMethodReply.Responded(200, JsonNodeFactory.instance.textNode("ok")));
    assertEquals(200, caller.expectMessageClass(DirectMethodReply.Responded.class).status());
  }

  @Test
  void sessionThatStopsHeartBeatingExpiresAndTwinIsDisconnected() {
    kit = deviceWithSessionTimeout(Duration.ofMillis(500));
    TestProbe<SessionMessage> session = testKit.createTestProbe();
    assertEquals(ConnectionState.CONNECTED,
        ((TwinReply.Accepted) attach(session, "s1")).twin().identity().connectionState());
    // The expiry timer fires after 500 ms, later on a loaded box: wait for its effect, not for a fixed time.
    session.awaitAssert(Duration.ofSeconds(20), Duration.ofMillis(100), () -> {
      var twin = ((TwinReply.Accepted) kit.<TwinReply>runCommand(TwinCommand.GetTwin::new).reply()).twin();
      assertEquals(ConnectionState.DISCONNECTED, twin.identity().connectionState());
      return null;
    });
    patchDesired("{\"a\":1}");
    session.expectNoMessage(Duration.ofMillis(100));
  }

  private TwinReply heartbeat(TestProbe<SessionMessage> session, String id, long generation, long delivered, Instant activity) {
    return kit.<TwinReply>runCommand(r -> new TwinCommand.AttachSession(session.ref(), id, generation, true, true, delivered,
        activity, r)).reply();
  }

  @Test
  void aLateHeartbeatOfATakenOverConnectionIsRefusedAndDoesNotStealTheTwin() {
    TestProbe<SessionMessage> s1 = testKit.createTestProbe();
    TestProbe<SessionMessage> s2 = testKit.createTestProbe();
    assertInstanceOf(TwinReply.Accepted.class, heartbeat(s1, "s1", 10, -1, null));
    assertInstanceOf(TwinReply.Accepted.class, heartbeat(s2, "s2", 20, -1, null));
    assertInstanceOf(SessionMessage.CloseSession.class, s1.receiveMessage());

    // s1's heartbeat was already on its way when it was taken over.
    var stale = assertInstanceOf(TwinReply.Rejected.class, heartbeat(s1, "s1", 10, 1, null));
    assertEquals(409, stale.error().status());
    // An older connection's first attach arriving late is refused too.
    TestProbe<SessionMessage> s0 = testKit.createTestProbe();
    assertInstanceOf(TwinReply.Rejected.class, heartbeat(s0, "s0", 5, -1, null));
    s2.expectNoMessage(Duration.ofMillis(100)); // s2 was not told to close

    patchDesired("{\"a\":1}");
    assertEquals(2, s2.expectMessageClass(SessionMessage.DesiredChanged.class).desiredVersion());
    s1.expectNoMessage(Duration.ofMillis(100));
    s0.expectNoMessage(Duration.ofMillis(10));
    // A newer connection still takes over.
    TestProbe<SessionMessage> s3 = testKit.createTestProbe();
    assertInstanceOf(TwinReply.Accepted.class, heartbeat(s3, "s3", 30, -1, null));
    assertInstanceOf(SessionMessage.CloseSession.class, s2.receiveMessage());
  }

  @Test
  void deviceActivityIsShownAsLastActivityTimeWithoutJournalingIt() {
    TestProbe<SessionMessage> session = testKit.createTestProbe();
    var connected = ((TwinReply.Accepted) heartbeat(session, "s1", 1, -1, null)).twin().identity();
    Instant later = connected.lastActivityTime().plusSeconds(30);
    var beat = kit.<TwinReply>runCommand(r -> new TwinCommand.AttachSession(session.ref(), "s1", 1, true, true, -1, later, r));
    assertTrue(beat.hasNoEvents(), "activity is not journaled on its own");
    assertEquals(later, ((TwinReply.Accepted) beat.reply()).twin().identity().lastActivityTime());
    var get = kit.<TwinReply>runCommand(TwinCommand.GetTwin::new);
    assertEquals(later, ((TwinReply.Accepted) get.reply()).twin().identity().lastActivityTime());
    assertEquals(connected.connectionStateUpdatedTime(), ((TwinReply.Accepted) get.reply()).twin().identity().connectionStateUpdatedTime());
    // An older report does not move it back.
    heartbeat(session, "s1", 1, -1, later.minusSeconds(10));
    assertEquals(later, ((TwinReply.Accepted) kit.<TwinReply>runCommand(TwinCommand.GetTwin::new).reply()).twin().identity().lastActivityTime());
  }

  @Test
  void aReportedPatchIsDeviceActivity() {
    TestProbe<SessionMessage> session = testKit.createTestProbe();
    heartbeat(session, "s1", 1, -1, null);
    var patched = kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(new TwinUpdate.PatchReported(doc("{\"t\":1}")), null, r));
    Instant at = patched.event().at();
    assertEquals(at, ((TwinReply.Accepted) patched.reply()).twin().identity().lastActivityTime());
    // A desired write by a back end is not device activity.
    var desired = kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(new TwinUpdate.PatchDesired(doc("{\"t\":1}")), null, r));
    assertEquals(at, ((TwinReply.Accepted) desired.reply()).twin().identity().lastActivityTime());
  }

  @Test
  void deletingTheDeviceClosesItsSession() {
    TestProbe<SessionMessage> session = testKit.createTestProbe();
    attach(session, "s1");
    kit.<TwinReply>runCommand(r -> new TwinCommand.DeleteIdentity("*", false, r));
    assertInstanceOf(SessionMessage.CloseSession.class, session.receiveMessage());
  }
}
