package io.twinhub.twin.job;

import io.twinhub.twin.job.JobEntity.*;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The job's pure rules: status transitions, slicing bookkeeping, statistics. No actors. */
class JobStateTest {
  static final Instant T0 = Instant.parse("2026-12-06T10:00:00Z");

  static JobSpec spec(Instant start) {
    return new JobSpec("j1", JobType.scheduleUpdateTwin, "tags.a = 1", start, 0, null,
        io.twinhub.twin.domain.JsonDoc.empty(), null);
  }

  static State apply(State s, Event... events) {
    for (Event e : events) s = s.apply(e);
    return s;
  }

  @Test
  void aJobIsScheduledUntilItsStartTimeElseQueued() {
    assertEquals(JobStatus.scheduled, State.EMPTY.apply(new Created(spec(T0.plusSeconds(60)), T0)).status());
    assertEquals(JobStatus.queued, State.EMPTY.apply(new Created(spec(T0), T0)).status());
    assertEquals(JobStatus.queued, State.EMPTY.apply(new Created(spec(T0.minusSeconds(5)), T0)).status());
  }

  @Test
  void slicesAreHandedOutAtMostNAtATimeAndForgetTheirDevicesOnceAssigned() {
    State s = apply(State.EMPTY, new Created(spec(T0), T0), new Started(T0),
        new SliceSelected(0, List.of("a", "b"), T0), new SliceSelected(1, List.of("c"), T0),
        new SliceSelected(2, List.of("d", "e"), T0));
    assertEquals("e", s.lastSelected(), "selection goes on after the last journaled id");
    assertEquals(5, s.deviceCount());
    assertEquals(List.of(0, 1), s.toAssign(2).stream().map(Slice::sliceNo).toList());
    s = s.apply(new SliceAssigned(0));
    assertNull(s.slices().get(0).deviceIds());
    assertEquals(List.of(1), s.toAssign(2).stream().map(Slice::sliceNo).toList(), "one runs, one more may");
    s = apply(s, new SliceAssigned(1));
    assertTrue(s.toAssign(2).isEmpty());
    s = s.apply(new SliceFinished(0, 2, 0));
    assertEquals(List.of(2), s.toAssign(2).stream().map(Slice::sliceNo).toList());
    assertFalse(s.allDone(), "selection not complete");
    s = apply(s, new SelectionCompleted(T0), new SliceAssigned(2), new SliceFinished(1, 0, 1), new SliceFinished(2, 2, 0));
    assertTrue(s.allDone());
    s = s.apply(new Completed(T0.plusSeconds(3)));
    assertEquals(JobStatus.completed, s.status());
    assertTrue(s.quiescent());
    assertEquals(new DeviceJobStatistics(5, 1, 4, 0, 0), s.statistics(Map.of()));
  }

  @Test
  void statisticsAddTheLatestProgressOfRunningSlicesToTheJournaledOnes() {
    State s = apply(State.EMPTY, new Created(spec(T0), T0), new Started(T0),
        new SliceSelected(0, List.of("a", "b", "c"), T0), new SliceSelected(1, List.of("d", "e", "f"), T0),
        new SliceAssigned(0), new SliceAssigned(1), new SliceFinished(0, 3, 0));
    var live = Map.of(1, new Report(1, 1, 1, 1, false), 0, new Report(0, 1, 0, 2, false));
    // Slice 0 counts from the journal (its stale report is ignored); slice 1 from its report.
    assertEquals(new DeviceJobStatistics(6, 1, 4, 1, 0), s.statistics(live));
    JobView view = s.view(live);
    assertEquals(List.of(0, 1), view.assignedSlices());
    assertEquals(s.statistics(live), view.statistics());
    assertEquals(new DeviceJobStatistics(6, 0, 3, 0, 3), s.statistics(Map.of()));
  }

  @Test
  void aCancelledJobIsQuiescentOnlyWhenNoSliceRunsAnyMore() {
    State s = apply(State.EMPTY, new Created(spec(T0), T0), new Started(T0),
        new SliceSelected(0, List.of("a"), T0), new SliceSelected(1, List.of("b"), T0), new SliceAssigned(0),
        new Cancelled(T0.plusSeconds(1)));
    assertEquals(JobStatus.cancelled, s.status());
    assertEquals(T0.plusSeconds(1), s.endTime());
    assertFalse(s.quiescent(), "slice 0 still has to confirm");
    s = s.apply(new SliceFinished(0, 0, 0));
    assertTrue(s.quiescent(), "slice 1 was never handed out");
    assertEquals(new DeviceJobStatistics(2, 0, 0, 0, 2), s.statistics(Map.of()));
  }

  @Test
  void aFailedJobKeepsItsReason() {
    State s = apply(State.EMPTY, new Created(spec(T0), T0), new Started(T0), new Failed("too slow", T0.plusSeconds(9)));
    assertEquals(JobStatus.failed, s.status());
    assertEquals("too slow", s.failureReason());
    assertTrue(s.status().terminal());
  }
}
