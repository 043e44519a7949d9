package io.twinhub.twin.entity;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.error.IotHubErrorCode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static io.twinhub.twin.entity.EntityTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** The disconnect grace: a reconnect within it journals nothing, a real disconnect is journaled after it. */
class TwinConnectionGraceTest {
  static final ActorTestKit testKit = ActorTestKit.create(CONFIG);

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static EventSourcedBehaviorTestKit<TwinCommand, TwinEvent, TwinRecord> twin(String id, Duration grace) {
    var kit = EventSourcedBehaviorTestKit.<TwinCommand, TwinEvent, TwinRecord>create(testKit.system(), DeviceEntity.create(id,
        new EntitySettings(TwinLimits.DEFAULT, Duration.ofMinutes(10), steppingClock(), grace)));
    kit.<TwinReply>runCommand(r -> new TwinCommand.CreateIdentity(sasSpec(), "g", r));
    return kit;
  }

  private static EventSourcedBehaviorTestKit.CommandResultWithReply<TwinCommand, TwinEvent, TwinRecord, TwinReply> attach(
      EventSourcedBehaviorTestKit<TwinCommand, TwinEvent, TwinRecord> kit, TestProbe<SessionMessage> session, String id) {
    return kit.runCommand(r -> new TwinCommand.AttachSession(session.ref(), id, true, true, r));
  }

  private static ConnectionState state(EventSourcedBehaviorTestKit<TwinCommand, TwinEvent, TwinRecord> kit) {
    return ((TwinReply.Accepted) kit.<TwinReply>runCommand(TwinCommand.GetTwin::new).reply()).twin().identity().connectionState();
  }

  @Test
  void aReconnectWithinTheGraceJournalsNeitherDisconnectedNorConnected() {
    var kit = twin("grace1", Duration.ofHours(1));
    TestProbe<SessionMessage> s1 = testKit.createTestProbe();
    TestProbe<SessionMessage> s2 = testKit.createTestProbe();
    assertInstanceOf(TwinEvent.ConnectionStateChanged.class, attach(kit, s1, "s1").event());

    var detach = kit.<TwinReply>runCommand(r -> new TwinCommand.DetachSession("s1", r));
    assertTrue(detach.hasNoEvents(), "Disconnected waits for the grace");
    assertEquals(ConnectionState.CONNECTED, state(kit));
    // No session is attached meanwhile: a direct method finds the device offline.
    TestProbe<DirectMethodReply> caller = testKit.createTestProbe();
    kit.runCommand(new TwinCommand.InvokeMethod("reboot", JsonNodeFactory.instance.objectNode(), Duration.ofSeconds(5), caller.ref()));
    assertEquals(IotHubErrorCode.DeviceNotOnline, caller.expectMessageClass(DirectMethodReply.Failed.class).error().code());

    var again = attach(kit, s2, "s2");
    assertTrue(again.hasNoEvents(), "still Connected: the reconnect journals nothing");
    assertEquals(ConnectionState.CONNECTED, ((TwinReply.Accepted) again.reply()).twin().identity().connectionState());
    // A grace tick that comes anyway (sent before the attach cancelled it) does not disconnect the new session.
    assertTrue(kit.runCommand(new TwinCommand.DisconnectDue(Instant.parse("2026-01-01T00:00:00Z"))).hasNoEvents());
    assertEquals(ConnectionState.CONNECTED, state(kit));
  }

  @Test
  void aRealDisconnectIsJournaledWhenTheGraceIsOverWithTheTimeOfTheDrop() {
    var kit = twin("grace2", Duration.ofHours(1));
    TestProbe<SessionMessage> s1 = testKit.createTestProbe();
    attach(kit, s1, "s1");
    assertTrue(kit.<TwinReply>runCommand(r -> new TwinCommand.DetachSession("s1", r)).hasNoEvents());
    Instant dropped = Instant.parse("2026-03-04T05:06:07.123Z");
    var due = kit.runCommand(new TwinCommand.DisconnectDue(dropped));
    var event = assertInstanceOf(TwinEvent.ConnectionStateChanged.class, due.event());
    assertEquals(ConnectionState.DISCONNECTED, event.state());
    assertEquals(dropped, event.at());
    assertEquals(ConnectionState.DISCONNECTED, state(kit));
    // A second tick finds it Disconnected already.
    assertTrue(kit.runCommand(new TwinCommand.DisconnectDue(dropped)).hasNoEvents());
  }

  @Test
  void theGraceTimerJournalsDisconnected() throws Exception {
    var kit = twin("grace3", Duration.ofMillis(200));
    attach(kit, testKit.createTestProbe(), "s1");
    assertTrue(kit.<TwinReply>runCommand(r -> new TwinCommand.DetachSession("s1", r)).hasNoEvents());
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (state(kit) != ConnectionState.DISCONNECTED && System.nanoTime() < deadline) Thread.sleep(50);
    assertEquals(ConnectionState.DISCONNECTED, state(kit));
  }

  @Test
  void anImmediateDetachOrNoGraceJournalsDisconnectedAtOnce() {
    var kit = twin("grace4", Duration.ofHours(1));
    attach(kit, testKit.createTestProbe(), "s1");
    var stopping = kit.<TwinReply>runCommand(r -> new TwinCommand.DetachSession("s1", true, r));
    assertEquals(ConnectionState.DISCONNECTED, assertInstanceOf(TwinEvent.ConnectionStateChanged.class, stopping.event()).state());

    var none = twin("grace5", Duration.ZERO);
    attach(none, testKit.createTestProbe(), "s1");
    var detach = none.<TwinReply>runCommand(r -> new TwinCommand.DetachSession("s1", r));
    assertEquals(ConnectionState.DISCONNECTED, assertInstanceOf(TwinEvent.ConnectionStateChanged.class, detach.event()).state());
  }

  @Test
  void theTwinKeepsTheSessionStateOfItsLastConnectionUntilTheNextAttaches() {
    var kit = twin("kept1", Duration.ofHours(1));
    TestProbe<ConnectLookup> lookup = testKit.createTestProbe();
    kit.runCommand(new TwinCommand.LookupForConnect(lookup.ref()));
    var first = lookup.receiveMessage();
    assertInstanceOf(TwinReply.Accepted.class, first.twin());
    assertNull(first.kept(), "nothing known before a connection closed");

    attach(kit, testKit.createTestProbe(), "s1");
    var session = new KeptSession(true, java.util.Map.of("$iothub/twin/res/#", 0));
    assertTrue(kit.<TwinReply>runCommand(r -> new TwinCommand.DetachSession("s1", false, session, r)).hasNoEvents());
    kit.runCommand(new TwinCommand.LookupForConnect(lookup.ref()));
    assertEquals(session, lookup.receiveMessage().kept());

    // The attaching connection owns the store from now on: nothing kept until it closes.
    attach(kit, testKit.createTestProbe(), "s2");
    kit.runCommand(new TwinCommand.LookupForConnect(lookup.ref()));
    assertNull(lookup.receiveMessage().kept());
    // A late detach of a taken-over connection leaves nothing either.
    kit.<TwinReply>runCommand(r -> new TwinCommand.DetachSession("s1", false, session, r));
    kit.runCommand(new TwinCommand.LookupForConnect(lookup.ref()));
    assertNull(lookup.receiveMessage().kept());
  }

  @Test
  void aLookupOfAnUnknownDeviceIsNotFound() {
    var kit = EventSourcedBehaviorTestKit.<TwinCommand, TwinEvent, TwinRecord>create(testKit.system(),
        DeviceEntity.create("nobody", EntitySettings.DEFAULT));
    TestProbe<ConnectLookup> lookup = testKit.createTestProbe();
    kit.runCommand(new TwinCommand.LookupForConnect(lookup.ref()));
    var answer = lookup.receiveMessage();
    assertEquals(IotHubErrorCode.DeviceNotFound, assertInstanceOf(TwinReply.Rejected.class, answer.twin()).error().code());
    assertNull(answer.kept());
  }

  @Test
  void deferDisconnectOnlyForAConnectedTwinWithAGraceAndNotWhenStopping() {
    assertTrue(ConnectionGrace.deferDisconnect(true, false, Duration.ofSeconds(10)));
    assertFalse(ConnectionGrace.deferDisconnect(false, false, Duration.ofSeconds(10)));
    assertFalse(ConnectionGrace.deferDisconnect(true, true, Duration.ofSeconds(10)));
    assertFalse(ConnectionGrace.deferDisconnect(true, false, Duration.ZERO));
    assertFalse(ConnectionGrace.deferDisconnect(true, false, null));
  }

  // ------------------------------------------------------------------ attach at the lookup (one round trip per CONNECT)

  private static final java.util.Map<String, Integer> DESIRED_SUBS = java.util.Map.of("$iothub/twin/PATCH/properties/desired/#", 0);
  private static final KeptSession KEPT_DESIRED = new KeptSession(true, DESIRED_SUBS, new KeptSession.Attach(true, false));

  private static String tokenFor(String id, String key) {
    return io.twinhub.twin.auth.SasToken.signForDevice("hub.example", id, null, key, Instant.parse("2100-01-01T00:00:00Z").getEpochSecond());
  }

  private static EventSourcedBehaviorTestKit.CommandResultWithReply<TwinCommand, TwinEvent, TwinRecord, ConnectLookup> lookup(
      EventSourcedBehaviorTestKit<TwinCommand, TwinEvent, TwinRecord> kit, TwinCommand.ConnectAttach attach) {
    return kit.runCommand(r -> new TwinCommand.LookupForConnect(attach, r));
  }

  /** A connection s1 that attached and closed, leaving {@code kept} with the twin. */
  private static TestProbe<SessionMessage> connectedAndClosed(EventSourcedBehaviorTestKit<TwinCommand, TwinEvent, TwinRecord> kit,
                                                              KeptSession kept) {
    TestProbe<SessionMessage> s1 = testKit.createTestProbe();
    attach(kit, s1, "s1");
    kit.<TwinReply>runCommand(r -> new TwinCommand.DetachSession("s1", false, kept, r));
    return s1;
  }

  @Test
  void aReconnectSignedWithTheOwnKeyIsAttachedAtItsLookupForWhatTheTwinKept() {
    var kit = twin("one1", Duration.ofHours(1));
    connectedAndClosed(kit, KEPT_DESIRED);
    TestProbe<SessionMessage> s2 = testKit.createTestProbe();
    var result = lookup(kit, new TwinCommand.ConnectAttach(s2.ref(), "s2", 1, false, tokenFor("one1", KEY2)));
    ConnectLookup answer = result.reply();
    assertTrue(answer.attached(), "one round trip: looked up and attached");
    assertEquals(KEPT_DESIRED, answer.kept(), "what the connection restores its session from");
    assertEquals(ConnectionState.CONNECTED, ((TwinReply.Accepted) answer.twin()).twin().identity().connectionState());
    assertTrue(result.hasNoEvents(), "within the grace: still Connected, nothing journaled");
    // Attached as AttachSession would have: desired changes reach it, the store is the connection's now.
    kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(new io.twinhub.twin.domain.TwinUpdate.PatchDesired(
        doc("{\"x\":1}")), null, r));
    assertInstanceOf(SessionMessage.DesiredChanged.class, s2.receiveMessage());
    assertNull(lookup(kit, null).reply().kept());
    // Its detach is the current session's.
    assertTrue(kit.<TwinReply>runCommand(r -> new TwinCommand.DetachSession("s2", false, KEPT_DESIRED, r)).hasNoEvents());
    assertEquals(KEPT_DESIRED, lookup(kit, null).reply().kept());
  }

  @Test
  void aReconnectAfterTheGraceIsAttachedAtItsLookupAndJournalsConnected() {
    var kit = twin("one2", Duration.ZERO);
    connectedAndClosed(kit, new KeptSession(false, java.util.Map.of(), KeptSession.Attach.NONE));
    assertEquals(ConnectionState.DISCONNECTED, state(kit));
    TestProbe<SessionMessage> s2 = testKit.createTestProbe();
    var result = lookup(kit, new TwinCommand.ConnectAttach(s2.ref(), "s2", 1, true, tokenFor("one2", KEY1)));
    assertTrue(result.reply().attached());
    assertEquals(ConnectionState.CONNECTED, assertInstanceOf(TwinEvent.ConnectionStateChanged.class, result.event()).state());
    assertEquals(ConnectionState.CONNECTED, ((TwinReply.Accepted) result.reply().twin()).twin().identity().connectionState());
  }

  @Test
  void aLookupThatTheTwinCannotDecideAloneOnlyLooksUpAndTakesNothingOver() {
    var kit = twin("one3", Duration.ofHours(1));
    TestProbe<SessionMessage> s1 = connectedAndClosed(kit, KEPT_DESIRED);
    TestProbe<SessionMessage> s2 = testKit.createTestProbe();
    String good = tokenFor("one3", KEY1);
    var forged = lookup(kit, new TwinCommand.ConnectAttach(s2.ref(), "s2", 1, false, tokenFor("one3", io.twinhub.twin.auth.SymmetricKeyPair.generate().primaryKey())));
    assertFalse(forged.reply().attached(), "not signed with the identity's keys");
    assertEquals(KEPT_DESIRED, forged.reply().kept(), "nothing taken: the kept session stays for the next connection");
    assertFalse(lookup(kit, new TwinCommand.ConnectAttach(s2.ref(), "s2", 1, true, good)).reply().attached(),
        "a clean session with a stored session to clear first");
    assertFalse(lookup(kit, new TwinCommand.ConnectAttach(s2.ref(), "s2", 1, false, "not a token")).reply().attached());
    assertFalse(lookup(kit, new TwinCommand.ConnectAttach(s2.ref(), "s2", 1, false,
        tokenFor("one3", KEY1) + "x")).reply().attached());
    // Nothing kept (e.g. the twin restarted, or a connection holds it): the connection reads its store and attaches.
    var fresh = twin("one4", Duration.ofHours(1));
    assertFalse(lookup(fresh, new TwinCommand.ConnectAttach(s2.ref(), "s2", 1, false, tokenFor("one4", KEY1))).reply().attached());
    var unknown = twin("one5", Duration.ofHours(1));
    connectedAndClosed(unknown, new KeptSession(true, DESIRED_SUBS));
    assertFalse(lookup(unknown, new TwinCommand.ConnectAttach(s2.ref(), "s2", 1, false, tokenFor("one5", KEY1))).reply().attached(),
        "what the subscriptions attach for is not known");
    // A connection older than the twin's current one (generation) is not attached: AttachSession would refuse it (409).
    var newer = twin("one6", Duration.ofHours(1));
    newer.<TwinReply>runCommand(r -> new TwinCommand.AttachSession(s1.ref(), "s1", 5, true, false, -1, null, r));
    newer.<TwinReply>runCommand(r -> new TwinCommand.DetachSession("s1", false, KEPT_DESIRED, r));
    assertFalse(lookup(newer, new TwinCommand.ConnectAttach(s2.ref(), "s2", 4, false, tokenFor("one6", KEY1))).reply().attached());
    assertTrue(lookup(newer, new TwinCommand.ConnectAttach(s2.ref(), "s2", 6, false, tokenFor("one6", KEY1))).reply().attached());
    s2.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void aLiveSessionIsTakenOverByTheAttachThatFollowsTheLookupNotAtTheLookup() {
    var kit = twin("one7", Duration.ofHours(1));
    TestProbe<SessionMessage> s1 = testKit.createTestProbe();
    attach(kit, s1, "s1");
    // A connection still attached owns the store: the twin keeps nothing, so it only looks up...
    TestProbe<SessionMessage> s2 = testKit.createTestProbe();
    ConnectLookup answer = lookup(kit, new TwinCommand.ConnectAttach(s2.ref(), "s2", 1, false, tokenFor("one7", KEY1))).reply();
    assertFalse(answer.attached());
    assertNull(answer.kept());
    s1.expectNoMessage(Duration.ofMillis(100));
    // ...and the new connection's own attach, after it read its store, takes the twin over.
    kit.<TwinReply>runCommand(r -> new TwinCommand.AttachSession(s2.ref(), "s2", 1, false, false, -1, null, r));
    assertInstanceOf(SessionMessage.CloseSession.class, s1.receiveMessage());
  }
}
