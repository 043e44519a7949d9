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
    kit = EventSourcedBehaviorTestKit.create(testKit.system(), DeviceEntity.create("dev1",
        new EntitySettings(TwinLimits.DEFAULT, Duration.ofMillis(500), steppingClock())));
    kit.<TwinReply>runCommand(r -> new TwinCommand.CreateIdentity(sasSpec(), "g", r));
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
  void sessionThatStopsHeartBeatingExpiresAndTwinIsDisconnected() throws Exception {
    TestProbe<SessionMessage> session = testKit.createTestProbe();
    attach(session, "s1");
    Thread.sleep(900);
    var twin = ((TwinReply.Accepted) kit.<TwinReply>runCommand(TwinCommand.GetTwin::new).reply()).twin();
    assertEquals(ConnectionState.DISCONNECTED, twin.identity().connectionState());
    patchDesired("{\"a\":1}");
    session.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void deletingTheDeviceClosesItsSession() {
    TestProbe<SessionMessage> session = testKit.createTestProbe();
    attach(session, "s1");
    kit.<TwinReply>runCommand(r -> new TwinCommand.DeleteIdentity("*", false, r));
    assertInstanceOf(SessionMessage.CloseSession.class, session.receiveMessage());
  }
}
