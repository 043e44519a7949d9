package io.twinhub.twin.job;

import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;
import io.twinhub.twin.job.JobSliceEntity.*;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** A slice's pure rules: what runs next, what counts, when it is finished. No actors. */
class JobSliceStateTest {
  static final Instant T0 = Instant.parse("2026-12-06T10:00:00Z");

  static State assigned(JobType type, String... ids) {
    JobSpec spec = type == JobType.scheduleUpdateTwin
        ? new JobSpec("j1", type, "", T0, 0, null, io.twinhub.twin.domain.JsonDoc.empty(), null)
        : new JobSpec("j1", type, "", T0, 0, null, null,
            new JobSpec.MethodCall("reboot", com.fasterxml.jackson.databind.node.NullNode.getInstance(), 30, 0));
    return State.EMPTY.apply(new Assigned(spec, 0, List.of(ids), T0));
  }

  static DeviceJobRecord ok(String d) {
    return DeviceJobRecord.twinUpdated(d, T0, T0);
  }

  @Test
  void pendingDevicesAreThoseWithoutOutcomeNotInFlightInOrderUpToTheCapacity() {
    State s = assigned(JobType.scheduleUpdateTwin, "a", "b", "c", "d");
    assertEquals(List.of("a", "b"), s.pending(Set.of(), 2));
    s = s.apply(new DevicesDone(List.of(ok("a"))));
    assertEquals(List.of("c", "d"), s.pending(Set.of("b"), 5));
    assertFalse(s.finished(Set.of("b")));
  }

  @Test
  void theFirstJournaledOutcomeOfADeviceCounts() {
    State s = assigned(JobType.scheduleUpdateTwin, "a", "b");
    s = s.apply(new DevicesDone(List.of(ok("a"))));
    s = s.apply(new DevicesDone(List.of(DeviceJobRecord.failed("a", T0, T0,
        IotHubError.of(IotHubErrorCode.ServiceUnavailable, "late")), ok("b"))));
    assertEquals(2, s.succeeded());
    assertEquals(0, s.failed());
    assertTrue(s.finished(Set.of()));
  }

  @Test
  void methodCallsStartedButWithoutOutcomeAreNeverStartedAgain() {
    State s = assigned(JobType.scheduleDeviceMethod, "a", "b", "c");
    s = s.apply(new MethodsStarted(List.of("a", "b"), T0));
    s = s.apply(new DevicesDone(List.of(DeviceJobRecord.methodAnswered("a", T0, T0, 200, null))));
    // After a restart nothing is in flight: b's call may have run, so it is not pending, but unknown.
    assertEquals(List.of("c"), s.pending(Set.of(), 10));
    assertEquals(List.of("b"), s.startedWithoutOutcome(Set.of()));
    assertEquals(List.of(), s.startedWithoutOutcome(Set.of("b")), "still in flight in this incarnation");
  }

  @Test
  void aCancelledSliceStartsNothingAndFinishesWhenNothingIsInFlight() {
    State s = assigned(JobType.scheduleUpdateTwin, "a", "b", "c").apply(new Cancelled(T0));
    assertTrue(s.pending(Set.of(), 10).isEmpty());
    assertFalse(s.finished(Set.of("a")));
    assertTrue(s.finished(Set.of()));
    assertFalse(State.EMPTY.finished(Set.of()), "an unassigned slice is not finished");
  }

  @Test
  void recordsComeAPageAtATime() {
    State s = assigned(JobType.scheduleUpdateTwin, "a", "b", "c").apply(new DevicesDone(List.of(ok("b"))));
    Records r = s.records(1, 5, Set.of("c"));
    assertEquals(List.of("b", "c"), r.deviceIds());
    assertEquals(Set.of("b"), r.outcomes().keySet());
    assertEquals(Set.of("c"), r.running());
    assertEquals(3, r.total());
    assertTrue(s.records(3, 5, Set.of()).deviceIds().isEmpty(), "past the end");
    assertEquals(0, State.EMPTY.records(0, 5, Set.of()).total(), "never assigned");
  }
}
