package io.twinhub.twin.entity;

import akka.actor.testkit.typed.javadsl.TestKitJunitResource;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResultWithReply;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.Twin;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.error.IotHubErrorCode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static io.twinhub.twin.entity.EntityTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

class DeviceEntityTest {
  static final akka.actor.testkit.typed.javadsl.ActorTestKit testKit =
      akka.actor.testkit.typed.javadsl.ActorTestKit.create(CONFIG);

  private EventSourcedBehaviorTestKit<TwinCommand, TwinEvent, TwinRecord> kit;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void setUp() {
    kit = EventSourcedBehaviorTestKit.create(testKit.system(),
        DeviceEntity.create("dev1", EntitySettings.DEFAULT.withClock(steppingClock())));
  }

  private CommandResultWithReply<TwinCommand, TwinEvent, TwinRecord, TwinReply> create() {
    return kit.runCommand(r -> new TwinCommand.CreateIdentity(sasSpec(), "gen-1", r));
  }

  private static Twin twin(TwinReply reply) {
    return assertInstanceOf(TwinReply.Accepted.class, reply, () -> "rejected: " + reply).twin();
  }

  private static IotHubErrorCode error(TwinReply reply) {
    return assertInstanceOf(TwinReply.Rejected.class, reply, () -> "accepted: " + reply).error().code();
  }

  @Test
  void everyJournaledEventIsToldToTheLiveSubscribersWithItsSequenceNumber() {
    var probe = testKit.<TwinEventFeed.Live>createTestProbe();
    TwinEventFeed.subscribe(testKit.system(), probe.getRef());
    TwinEventFeed feed = TwinEventFeed.get(testKit.system());
    probe.awaitAssert(java.time.Duration.ofSeconds(10), () -> {
      assertTrue(feed.subscriberCount() >= 1);
      return null;
    });
    create();
    kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(new TwinUpdate.PatchDesired(doc("{\"a\":1}")), null, r));
    kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(new TwinUpdate.PatchDesired(doc("{\"a\":1}")), "\"no-such-etag\"", r));
    // The messages went through Jackson (serialize-messages = on), as to a subscriber on another node.
    // First the greeting of a subscriber this node lists now: the number the next message follows.
    var hello = assertInstanceOf(TwinEventFeed.HighWater.class, probe.receiveMessage());
    assertEquals(feed.sender(), hello.sender());
    var first = nextEvent(probe);
    assertEquals(feed.sender(), first.sender());
    assertEquals(hello.number() + 1, first.number());
    assertEquals("Device|dev1", first.persistenceId());
    assertEquals(1, first.sequenceNr());
    assertEquals(TwinTags.forDevice("dev1"), first.tag());
    assertInstanceOf(TwinEvent.DeviceCreated.class, first.event());
    var second = nextEvent(probe);
    assertEquals(2, second.sequenceNr());
    assertEquals(first.number() + 1, second.number());
    assertEquals(2, assertInstanceOf(TwinEvent.DesiredPatched.class, second.event()).versions().desiredVersion());
    // The rejected PATCH journaled nothing; the mark after traffic says what was told.
    TwinEventFeed.HighWater mark;
    do {
      mark = assertInstanceOf(TwinEventFeed.HighWater.class, probe.receiveMessage(java.time.Duration.ofSeconds(10)));
    } while (mark.number() < second.number());
    assertEquals(second.number(), mark.number());
  }

  /** The next event told, past the marks (one may come between two events). */
  private static TwinEventFeed.Journaled nextEvent(akka.actor.testkit.typed.javadsl.TestProbe<TwinEventFeed.Live> probe) {
    while (true) {
      TwinEventFeed.Live m = probe.receiveMessage(java.time.Duration.ofSeconds(10));
      if (m instanceof TwinEventFeed.Journaled j) return j;
    }
  }

  @Test
  void createsDeviceWithEmptyTwinAtVersionOne() {
    var result = create();
    Twin t = twin(result.reply());
    assertEquals("dev1", t.identity().deviceId());
    assertEquals(1, t.state().version());
    assertEquals(1, t.state().desired().version());
    assertEquals(1, t.state().reported().version());
    var created = assertInstanceOf(TwinEvent.DeviceCreated.class, result.event());
    assertEquals(new TwinEvent.Versions(1, 1, 1), created.versions());
  }

  @Test
  void aJobsTwinUpdateIsAppliedOnceEvenWhenSentAgainAfterARestart() {
    create();
    var update = new TwinUpdate.UpdateTwin(doc("{\"fw\":\"2.0\"}"), doc("{\"rate\":5}"));
    var first = kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwinForJob("job-1", update, r));
    assertEquals(2, twin(first.reply()).state().version());
    var event = assertInstanceOf(TwinEvent.TwinPatched.class, first.event());
    assertEquals("job-1", event.jobId());

    // The job's slice lost its outcome and runs the device again: answered from state, no new version.
    kit.restart();
    var repeat = kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwinForJob("job-1", update, r));
    assertTrue(repeat.hasNoEvents());
    assertEquals(2, twin(repeat.reply()).state().version());
    assertEquals(2, twin(repeat.reply()).state().desired().version());

    // Another job, or a plain PATCH, is a new write as always.
    var other = kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwinForJob("job-2", update, r));
    assertEquals(3, twin(other.reply()).state().version());
    var plain = kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(update, null, r));
    assertNull(assertInstanceOf(TwinEvent.TwinPatched.class, plain.event()).jobId());
    assertEquals(java.util.List.of("job-1", "job-2"), kit.getState().jobIds());
  }

  @Test
  void aWritePastItsAdmissionDeadlineIsRefusedAndNotApplied() {
    create();
    var update = new TwinUpdate.PatchReported(doc("{\"t\":1}"));
    long past = System.currentTimeMillis() - 1;
    var late = kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(update, null, null, past, r));
    assertEquals(IotHubErrorCode.ServiceUnavailable, error(late.reply()));
    assertTrue(late.hasNoEvents(), "a refused write is not journaled");
    assertEquals(1, kit.getState().twin().state().reported().version());

    long future = System.currentTimeMillis() + 600_000;
    var inTime = kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(update, null, null, future, r));
    assertEquals(2, twin(inTime.reply()).state().reported().version());
  }

  @Test
  void anAcceptedWriteCarriesTheJournalsTimeForItAndAReadNone() {
    create();
    var patch = kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(new TwinUpdate.PatchReported(doc("{\"t\":1}")), null, r));
    // The reply went through Jackson (serialize-messages = on), as to a gateway on another node.
    var accepted = assertInstanceOf(TwinReply.Accepted.class, patch.reply());
    assertTrue(accepted.journalMicros() > 0, "the admission adapts to it: " + accepted.journalMicros());
    assertEquals(2, accepted.twin().state().reported().version());
    var get = kit.<TwinReply>runCommand(TwinCommand.GetTwin::new);
    assertEquals(0, assertInstanceOf(TwinReply.Accepted.class, get.reply()).journalMicros(), "a read journals nothing");
  }

  @Test
  void anAnswerWithoutTheJournalTimeFromAnOlderNodeReadsAsUnknownAndOursWithoutOneLooksAsBefore() throws Exception {
    var serialization = akka.serialization.SerializationExtension.get(testKit.system());
    create();
    Twin twin = twin(kit.<TwinReply>runCommand(TwinCommand.GetTwin::new).reply());
    var withTime = new TwinReply.Accepted(twin, java.util.List.of("m1"), 1234);
    var serializer = (akka.serialization.SerializerWithStringManifest) serialization.findSerializerFor(withTime);
    String manifest = serializer.manifest(withTime);
    String json = new String(serializer.toBinary(withTime), java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(json.contains("\"journalMicros\":1234"), json);
    // An older node's answer: the same JSON without the field (what it sends, and what it reads from us when 0).
    String old = json.replace(",\"journalMicros\":1234", "");
    assertFalse(old.contains("journalMicros"), old);
    var read = assertInstanceOf(TwinReply.Accepted.class,
        serializer.fromBinary(old.getBytes(java.nio.charset.StandardCharsets.UTF_8), manifest));
    assertEquals(0, read.journalMicros());
    assertEquals(java.util.List.of("m1"), read.moduleIds());
    String none = new String(serializer.toBinary(new TwinReply.Accepted(twin, java.util.List.of("m1"))), java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(old, none, "an answer without a journal time has the shape older nodes know");
  }

  @Test
  void aJobsUpdateOfAMissingDeviceIsRejected() {
    var r = kit.<TwinReply>runCommand(c -> new TwinCommand.UpdateTwinForJob("job-1",
        new TwinUpdate.UpdateTwin(null, doc("{\"a\":1}")), c));
    assertEquals(IotHubErrorCode.DeviceNotFound, error(r.reply()));
    assertTrue(r.hasNoEvents());
  }

  @Test
  void secondCreateIsRejectedWithoutEvent() {
    create();
    var again = create();
    assertEquals(IotHubErrorCode.DeviceAlreadyExists, error(again.reply()));
    assertTrue(again.hasNoEvents());
  }

  @Test
  void commandsToUnknownDeviceFailWithoutCreatingAnything() {
    var get = kit.<TwinReply>runCommand(TwinCommand.GetTwin::new);
    assertEquals(IotHubErrorCode.DeviceNotFound, error(get.reply()));
    var patch = kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(
        new TwinUpdate.PatchDesired(doc("{\"a\":1}")), null, r));
    assertEquals(IotHubErrorCode.DeviceNotFound, error(patch.reply()));
    var add = kit.<TwinReply>runCommand(r -> new TwinCommand.AddModule("m1", r));
    assertEquals(IotHubErrorCode.DeviceNotFound, error(add.reply()));
    assertTrue(get.hasNoEvents() && patch.hasNoEvents() && add.hasNoEvents());
    kit.restart();
    assertEquals(TwinRecord.EMPTY, kit.getState(), "nothing was journaled");
  }

  @Test
  void desiredPatchPersistsEventWithResultingVersions() {
    create();
    var result = kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(
        new TwinUpdate.PatchDesired(doc("{\"telemetry\":{\"interval\":30}}")), null, r));
    Twin t = twin(result.reply());
    assertEquals(2, t.state().version());
    assertEquals(2, t.state().desired().version());
    assertEquals(1, t.state().reported().version());
    var event = assertInstanceOf(TwinEvent.DesiredPatched.class, result.event());
    assertEquals(new TwinEvent.Versions(2, 2, 1), event.versions());
    assertEquals(30, t.state().desired().values().get("telemetry").get("interval").asInt());
  }

  @Test
  void wrongEtagIsPreconditionFailedAndChangesNothing() {
    Twin created = twin(create().reply());
    var stale = kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(
        new TwinUpdate.PatchTags(doc("{\"site\":\"a\"}")), "\"AAAAAAAAAAk=\"", r));
    assertEquals(IotHubErrorCode.PreconditionFailed, error(stale.reply()));
    assertTrue(stale.hasNoEvents());
    var ok = kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(
        new TwinUpdate.PatchTags(doc("{\"site\":\"a\"}")), "\"" + created.etag() + "\"", r));
    assertEquals("a", twin(ok.reply()).state().tags().get("site").asText());
  }

  @Test
  void invalidPatchIsRejectedAndNothingIsApplied() {
    create();
    var bad = kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(
        new TwinUpdate.UpdateTwin(doc("{\"ok\":1}"), doc("{\"a\":{\"$version\":3}}")), null, r));
    assertEquals(IotHubErrorCode.ArgumentInvalid, error(bad.reply()));
    assertTrue(bad.hasNoEvents());
    assertTrue(kit.getState().twin().state().tags().isEmpty(), "tags part not applied either");
  }

  @Test
  void recoveryAndSnapshotsReproduceTheSameTwin() {
    create();
    for (int i = 0; i < 2 * TwinEntity.SNAPSHOT_EVERY + 7; i++) {
      int n = i;
      var update = n % 3 == 0 ? new TwinUpdate.PatchDesired(doc("{\"n\":" + n + "}"))
          : n % 3 == 1 ? new TwinUpdate.PatchReported(doc("{\"r\":{\"n\":" + n + "}}"))
          : new TwinUpdate.PatchTags(doc("{\"t\":" + n + "}"));
      twin(kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(update, null, r)).reply());
    }
    kit.<TwinReply>runCommand(r -> new TwinCommand.SetConnectionState(io.twinhub.twin.domain.ConnectionState.CONNECTED, r));
    TwinRecord before = kit.getState();
    kit.restart();
    assertEquals(before, kit.getState());
    assertEquals(2 * TwinEntity.SNAPSHOT_EVERY + 8, before.twin().state().version());
  }

  @Test
  void recreatedDeviceContinuesVersionsAndGetsNewEtags() {
    Twin first = twin(create().reply());
    twin(kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(
        new TwinUpdate.PatchDesired(doc("{\"a\":1}")), null, r)).reply());
    var deleted = kit.<TwinReply>runCommand(r -> new TwinCommand.DeleteIdentity("*", false, r));
    assertInstanceOf(TwinEvent.DeviceDeleted.class, deleted.event());
    assertEquals(IotHubErrorCode.DeviceNotFound, error(kit.<TwinReply>runCommand(TwinCommand.GetTwin::new).reply()));

    var again = kit.<TwinReply>runCommand(r -> new TwinCommand.CreateIdentity(sasSpec(), "gen-2", r));
    Twin second = twin(again.reply());
    assertEquals("gen-2", second.identity().generationId());
    assertEquals(3, second.state().version(), "twin version continues after the deleted twin's 2");
    assertEquals(3, second.state().desired().version());
    assertEquals(2, second.state().reported().version());
    assertTrue(second.state().desired().values().isEmpty(), "the new twin starts empty");
    assertNotEquals(first.etag(), second.etag());
    assertNotEquals(first.deviceEtag(), second.deviceEtag());
  }

  @Test
  void deleteWithWrongEtagIsRejected() {
    create();
    var r1 = kit.<TwinReply>runCommand(r -> new TwinCommand.DeleteIdentity("\"nope\"", false, r));
    assertEquals(IotHubErrorCode.PreconditionFailed, error(r1.reply()));
    assertTrue(r1.hasNoEvents());
  }

  @Test
  void identityUpdateChecksDeviceEtagAndKeepsTwin() {
    Twin t = twin(create().reply());
    var disabled = new IdentitySpec(DeviceStatus.DISABLED, "maintenance", t.identity().authentication(), false);
    var bad = kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateIdentity(disabled, "\"x\"", r));
    assertEquals(IotHubErrorCode.PreconditionFailed, error(bad.reply()));
    var ok = kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateIdentity(disabled, t.deviceEtag(), r));
    Twin after = twin(ok.reply());
    assertEquals(DeviceStatus.DISABLED, after.identity().status());
    assertEquals(t.state(), after.state());
    assertInstanceOf(TwinEvent.DeviceUpdated.class, ok.event());
  }

  @Test
  void moduleRegistrationIsIdempotentAndLimited() {
    create();
    TwinLimits limits = TwinLimits.DEFAULT;
    for (int i = 0; i < limits.maxModulesPerDevice(); i++) {
      String m = "m" + i;
      twin(kit.<TwinReply>runCommand(r -> new TwinCommand.AddModule(m, r)).reply());
    }
    var again = kit.<TwinReply>runCommand(r -> new TwinCommand.AddModule("m0", r));
    assertTrue(again.hasNoEvents(), "registering a registered module is a no-op");
    var over = kit.<TwinReply>runCommand(r -> new TwinCommand.AddModule("one-too-many", r));
    assertEquals(IotHubErrorCode.TooManyModulesOnDevice, error(over.reply()));
    var removed = kit.<TwinReply>runCommand(r -> new TwinCommand.RemoveModule("m3", r));
    assertFalse(((TwinReply.Accepted) removed.reply()).moduleIds().contains("m3"));
    assertTrue(kit.<TwinReply>runCommand(r -> new TwinCommand.RemoveModule("m3", r)).hasNoEvents());
  }
}
