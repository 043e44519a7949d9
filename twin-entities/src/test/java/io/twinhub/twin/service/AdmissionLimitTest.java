package io.twinhub.twin.service;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;

class AdmissionLimitTest {
  static final long FAST = Duration.ofMillis(10).toNanos();
  static final long SLOW = Duration.ofMillis(500).toNanos();

  /** A frozen clock: no completion-rate window ever ends, only the AIMD limit is in force. */
  private static AdmissionLimit limit(int initial, int min, int max) {
    return new AdmissionLimit(new AdmissionLimit.Settings(initial, min, max, Duration.ofMillis(100), 0.5), () -> 0L);
  }

  /** A limit on a clock the test moves. */
  private static AdmissionLimit limit(int initial, int min, int max, long[] now) {
    return new AdmissionLimit(new AdmissionLimit.Settings(initial, min, max, Duration.ofMillis(100), 0.5), () -> now[0]);
  }

  static final long SECOND = Duration.ofSeconds(1).toNanos();

  /** {@code n} answers spread over one second (one write in flight at a time, far below the AIMD limit). */
  private static void answersInOneSecond(AdmissionLimit a, long[] now, int n, long latency) {
    for (int i = 0; i < n; i++) {
      assertTrue(a.tryAcquire());
      now[0] += SECOND / n;
      a.release(latency, false);
    }
  }

  @Test
  void theLimitIsAtLeastTheCompletionRateTimesTheTargetLatency() {
    long[] now = {0};
    AdmissionLimit a = limit(4, 1, 1000, now);
    answersInOneSecond(a, now, 2000, FAST);
    // 2,000 answers/s × 100 ms: a burst of 200 is admitted although the AIMD limit never grew (unused).
    assertEquals(200, a.limit(), 2);
    assertEquals(2000, a.completionRate(), 20);
    int admitted = fill(a);
    assertEquals(a.limit(), admitted, "admitted up to the rate-based limit, then refused");
  }

  @Test
  void theRateBasedLimitNeverExceedsTheMaximum() {
    long[] now = {0};
    AdmissionLimit a = limit(4, 1, 50, now);
    answersInOneSecond(a, now, 2000, FAST);
    assertEquals(50, a.limit());
  }

  @Test
  void theRateBasedLimitFollowsAFallingCompletionRate() {
    long[] now = {0};
    AdmissionLimit a = limit(4, 1, 1000, now);
    answersInOneSecond(a, now, 2000, FAST);
    assertEquals(200, a.limit(), 2);
    // The node now completes 100/s (a slower journal): the peak decays (×0.75 per second) down to that rate.
    for (int s = 0; s < 12; s++) answersInOneSecond(a, now, 100, FAST);
    assertEquals(10, a.limit(), 2);
  }

  @Test
  void aStallOfASecondKeepsMostOfTheRate() {
    long[] now = {0};
    AdmissionLimit a = limit(4, 1, 1000, now);
    answersInOneSecond(a, now, 2000, FAST);
    now[0] += SECOND; // nothing answered for a second
    answersInOneSecond(a, now, 10, FAST);
    assertTrue(a.limit() >= 100, "2,000/s × 0.75^1.1 × 100 ms ≈ 145: " + a.limit());
  }

  @Test
  void anIdleNodeKeepsItsAimdLimit() {
    long[] now = {0};
    AdmissionLimit a = limit(20, 1, 1000, now);
    answersInOneSecond(a, now, 2000, FAST);
    now[0] += 60 * SECOND;
    assertTrue(a.tryAcquire());
    a.release(FAST, false);
    assertEquals(20, a.limit(), "a minute idle: the rate is gone, the AIMD limit remains");
  }

  /** Admits until the limit is reached; the rest is refused (and counted). */
  private static int fill(AdmissionLimit a) {
    int admitted = 0;
    while (a.tryAcquire()) admitted++;
    return admitted;
  }

  @Test
  void admitsUpToTheLimitAndRefusesBeyondIt() {
    AdmissionLimit a = limit(4, 1, 10);
    assertEquals(4, fill(a));
    assertFalse(a.tryAcquire());
    assertEquals(4, a.inFlight());
    assertEquals(2, a.refused(), "both refusals counted (the one ending fill and the one after)");
    a.release(FAST, false);
    assertTrue(a.tryAcquire(), "a released slot is free again");
  }

  @Test
  void aFullLimitRefusesBeforeAnythingIsAdmitted() {
    AdmissionLimit a = limit(2, 1, 10);
    assertFalse(a.refuseIfFull(), "room left: not refused");
    assertEquals(0, a.inFlight(), "the check admits nothing");
    assertEquals(2, fill(a));
    long refused = a.refused();
    assertTrue(a.refuseIfFull());
    assertEquals(refused + 1, a.refused(), "counted as refused");
    a.release(FAST, false);
    assertFalse(a.refuseIfFull());
  }

  @Test
  void aSlowAnswerHalvesTheLimitOncePerRoundOfWritesInFlight() {
    AdmissionLimit a = limit(8, 1, 10);
    assertEquals(8, fill(a));
    a.release(SLOW, false);
    assertEquals(4, a.limit(), "multiplicative decrease");
    // The other 7 were admitted under the old limit: their slow answers do not shrink it again.
    for (int i = 0; i < 7; i++) a.release(SLOW, false);
    assertEquals(4, a.limit());
    assertEquals(0, a.inFlight());
    // A new round under the new limit, slow again: shrinks again.
    assertEquals(4, fill(a));
    a.release(SLOW, false);
    assertEquals(2, a.limit());
  }

  /** The AIMD judges the journal's time for a write when its answer carries one (adapt-to = journal). */
  private static AdmissionLimit adaptingToJournal(int initial, int min, int max) {
    return new AdmissionLimit(new AdmissionLimit.Settings(initial, min, max, Duration.ofMillis(100), 0.5, true), () -> 0L);
  }

  @Test
  void adaptingToTheJournalASlowAnswerWithAFastJournalDoesNotShrinkTheLimit() {
    AdmissionLimit a = adaptingToJournal(8, 1, 10);
    assertEquals(8, fill(a));
    // Slow in the node (its CPU queue), fast in the journal: not the journal's overload.
    for (int i = 0; i < 8; i++) a.release(SLOW, FAST, false);
    assertEquals(8, a.limit(), "the node's own queue does not shrink the limit");
    // The journal itself slow: shrinks as before.
    assertEquals(8, fill(a));
    a.release(SLOW, SLOW, false);
    assertEquals(4, a.limit());
  }

  @Test
  void adaptingToTheJournalAnAnswerWithoutAJournalTimeIsJudgedByItsWholeTime() {
    // An answer from a node that does not report the journal's time (a rolling upgrade), or a rejection.
    AdmissionLimit a = adaptingToJournal(8, 1, 10);
    assertEquals(8, fill(a));
    a.release(SLOW, 0, false);
    assertEquals(4, a.limit());
  }

  @Test
  void adaptingToTheJournalOverloadStillShrinks() {
    AdmissionLimit a = adaptingToJournal(8, 1, 10);
    a.tryAcquire();
    a.release(FAST, FAST, true);
    assertEquals(4, a.limit(), "a 503 (deadline, no answer in time) is overload whatever the journal's time");
  }

  @Test
  void byDefaultTheWholeTimeIsJudgedEvenWithAFastJournal() {
    AdmissionLimit a = limit(8, 1, 10);
    assertEquals(8, fill(a));
    a.release(SLOW, FAST, false);
    assertEquals(4, a.limit(), "adapt-to = answer (the default): admission to answer, as before");
    assertEquals(1, a.journaled());
    assertEquals(FAST / 1e9, a.journalSeconds(), 1e-9);
  }

  @Test
  void whileTheNodeIsBehindTheCheapCheckRefusesWithSlotsFreeButAdmittedWritesAreUnaffected() {
    AdmissionLimit a = limit(8, 1, 10);
    boolean[] behind = {false};
    a.refuseWhileBehind(() -> behind[0]);
    assertFalse(a.refuseIfFull());
    behind[0] = true;
    assertTrue(a.refuseIfFull(), "slots free, the node behind: refused");
    assertEquals(1, a.refusedBehind());
    assertEquals(1, a.refused());
    assertTrue(a.tryAcquire(), "a write past the check is admitted: the lag is the gateway's cheap check only");
    a.release(FAST, false);
    behind[0] = false;
    assertFalse(a.refuseIfFull());
    assertEquals(8, fill(a));
    assertTrue(a.refuseIfFull(), "at the limit, refused as before");
    assertEquals(1, a.refusedBehind(), "a refusal at the limit is not the lag's");
  }

  @Test
  void overloadShrinksEvenWhenTheAnswerWasFast() {
    AdmissionLimit a = limit(8, 1, 10);
    a.tryAcquire();
    a.release(FAST, true);
    assertEquals(4, a.limit());
  }

  @Test
  void neverBelowTheMinimumNorAboveTheMaximum() {
    AdmissionLimit a = limit(4, 3, 6);
    for (int round = 0; round < 10; round++) {
      fill(a);
      while (a.inFlight() > 0) a.release(SLOW, true);
    }
    assertEquals(3, a.limit());
    for (int round = 0; round < 200; round++) {
      fill(a);
      while (a.inFlight() > 0) a.release(FAST, false);
    }
    assertEquals(6, a.limit());
  }

  @Test
  void fastAnswersWhileTheLimitIsInUseGrowItByAboutOnePerRound() {
    AdmissionLimit a = limit(4, 1, 100);
    fill(a);
    // Sustained load: every answer's slot is taken again at once. +1/limit per answer: 4 → ~9.8 after 40.
    for (int i = 0; i < 40; i++) {
      a.release(FAST, false);
      fill(a);
    }
    assertEquals(9, a.limit());
    assertEquals(9, a.inFlight());
  }

  @Test
  void anUnusedLimitDoesNotGrow() {
    AdmissionLimit a = limit(20, 1, 100);
    for (int i = 0; i < 1000; i++) {
      assertTrue(a.tryAcquire());
      a.release(FAST, false); // one in flight at a time: far below half the limit
    }
    assertEquals(20, a.limit());
  }

  @Test
  void aFixedLimitNeverMoves() {
    AdmissionLimit a = new AdmissionLimit(AdmissionLimit.Settings.fixed(2));
    assertEquals(2, fill(a));
    a.release(SLOW, true);
    a.release(FAST, false);
    assertEquals(2, a.limit());
  }

  @Test
  void releaseWithoutAcquireIsABug() {
    assertThrows(IllegalStateException.class, () -> limit(2, 1, 2).release(FAST, false));
  }

  @Test
  void inconsistentSettingsAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> new AdmissionLimit.Settings(2, 3, 4, Duration.ofMillis(1), 0.5));
    assertThrows(IllegalArgumentException.class, () -> new AdmissionLimit.Settings(2, 1, 4, Duration.ofMillis(1), 1.0));
    assertThrows(IllegalArgumentException.class, () -> new AdmissionLimit.Settings(2, 1, 4, Duration.ZERO, 0.5));
  }

  // ---------------------------------------------------------------- waiting instead of refusing

  @Test
  void aWriteWithAFreeSlotIsAdmittedAtOnceWithoutWaiting() {
    AdmissionLimit a = limit(2, 1, 2);
    AdmissionLimit.Waiter[] w = new AdmissionLimit.Waiter[1];
    assertTrue(a.acquireOrWait(() -> fail("not queued"), w));
    assertNull(w[0]);
    assertEquals(1, a.inFlight());
    assertEquals(0, a.waiting());
  }

  @Test
  void anAnswerHandsItsSlotToTheNewestWaiter() {
    AdmissionLimit a = limit(1, 1, 1);
    assertTrue(a.tryAcquire());
    java.util.List<String> granted = new java.util.ArrayList<>();
    AdmissionLimit.Waiter[] older = new AdmissionLimit.Waiter[1];
    AdmissionLimit.Waiter[] newer = new AdmissionLimit.Waiter[1];
    assertFalse(a.acquireOrWait(() -> granted.add("older"), older));
    assertFalse(a.acquireOrWait(() -> granted.add("newer"), newer));
    assertEquals(2, a.waiting());
    assertEquals(0, a.refused(), "waiting is not refused");

    a.release(FAST, false);
    assertEquals(java.util.List.of("newer"), granted, "LIFO: the newest waiter, the one that waited least");
    assertEquals(1, a.inFlight(), "the slot went over to the waiter, not back to the pool");
    assertFalse(a.cancel(newer[0]), "a granted waiter cannot be cancelled: the slot is its gateway's");

    a.releaseUnused();
    assertEquals(java.util.List.of("newer", "older"), granted);
    assertEquals(1, a.inFlight());
    a.release(FAST, false);
    assertEquals(0, a.inFlight());
    assertEquals(0, a.waiting());
  }

  @Test
  void aCancelledWaiterIsRefusedAndNeverGranted() {
    AdmissionLimit a = limit(1, 1, 1);
    assertTrue(a.tryAcquire());
    AdmissionLimit.Waiter[] w = new AdmissionLimit.Waiter[1];
    assertFalse(a.acquireOrWait(() -> fail("cancelled before any slot was free"), w));
    assertTrue(a.cancel(w[0]));
    assertFalse(a.cancel(w[0]), "once");
    assertEquals(1, a.refused());
    assertEquals(0, a.waiting());
    a.release(FAST, false);
    assertEquals(0, a.inFlight(), "the freed slot stays free");
  }

  @Test
  void aFreedSlotWakesTheNewestHeldWaiterWithoutTakingTheSlot() {
    AdmissionLimit a = limit(1, 1, 1);
    assertTrue(a.wakeWhenFree(() -> fail("room now: nothing queued"), new AdmissionLimit.Waiter[1]));
    assertTrue(a.tryAcquire());
    java.util.List<String> woken = new java.util.ArrayList<>();
    AdmissionLimit.Waiter[] older = new AdmissionLimit.Waiter[1];
    AdmissionLimit.Waiter[] newer = new AdmissionLimit.Waiter[1];
    assertFalse(a.wakeWhenFree(() -> woken.add("older"), older));
    assertFalse(a.wakeWhenFree(() -> woken.add("newer"), newer));
    assertEquals(2, a.waiting());

    a.release(FAST, false);
    assertEquals(java.util.List.of("newer"), woken, "one waiter per freed slot, the newest");
    assertEquals(0, a.inFlight(), "woken, not granted: the slot stays free");
    assertTrue(a.tryAcquire(), "for the first write that asks (the woken connection's, or any other)");
    assertEquals(0, a.refused());

    a.release(FAST, false);
    assertEquals(java.util.List.of("newer", "older"), woken);
    assertEquals(0, a.waiting());
  }

  @Test
  void aWithdrawnWaiterIsNeitherRefusedNorGranted() {
    AdmissionLimit a = limit(1, 1, 1);
    assertTrue(a.tryAcquire());
    AdmissionLimit.Waiter[] w = new AdmissionLimit.Waiter[1];
    assertFalse(a.acquireOrWait(() -> fail("withdrawn before any slot was free"), w));
    assertTrue(a.withdraw(w[0]));
    assertFalse(a.withdraw(w[0]), "once");
    assertFalse(a.cancel(w[0]), "nor cancelled after");
    assertEquals(0, a.refused(), "a hold that ran out refuses nothing: the refusal was answered before it");
    assertEquals(0, a.waiting());
    a.release(FAST, false);
    assertEquals(0, a.inFlight(), "the freed slot stays free");
  }

  @Test
  void aWaiterGrantedFirstCannotBeWithdrawnItsSlotIsTheGatewaysToGiveBack() {
    AdmissionLimit a = limit(1, 1, 1);
    assertTrue(a.tryAcquire());
    int[] granted = {0};
    AdmissionLimit.Waiter[] w = new AdmissionLimit.Waiter[1];
    assertFalse(a.acquireOrWait(() -> granted[0]++, w));
    a.release(FAST, false);
    assertEquals(1, granted[0]);
    assertFalse(a.withdraw(w[0]), "granted first");
    assertEquals(1, a.inFlight(), "the slot is the gateway's");
    a.releaseUnused();
    assertEquals(0, a.inFlight());
    assertEquals(0, a.refused());
  }

  @Test
  void aWaiterDoesNotLetANewcomerOvertakeItOnAFreedSlot() {
    AdmissionLimit a = limit(1, 1, 1);
    assertTrue(a.tryAcquire());
    int[] granted = {0};
    assertFalse(a.acquireOrWait(() -> granted[0]++, new AdmissionLimit.Waiter[1]));
    a.release(FAST, false);
    assertEquals(1, granted[0]);
    assertFalse(a.tryAcquire(), "the freed slot is the waiter's");
    assertFalse(a.acquireOrWait(() -> granted[0]++, new AdmissionLimit.Waiter[1]));
  }

  @Test
  void answeredWritesTheirTimeInTheNodeAndTheSlowOnesAreCounted() {
    AdmissionLimit a = limit(4, 1, 4);
    assertTrue(a.tryAcquire());
    assertTrue(a.tryAcquire());
    assertTrue(a.tryAcquire());
    a.release(FAST, false);
    a.release(SLOW, false);
    a.releaseUnused(); // not an answer: neither counted nor timed
    assertEquals(2, a.answered());
    assertEquals((FAST + SLOW) / 1e9, a.answeredLatencySeconds(), 1e-9);
    assertEquals(1, a.answeredSlow(), "only the answer slower than target-latency (100 ms)");
    assertFalse(a.refuseIfFull());
    assertEquals(0, a.refused(), "answers are not refusals");
  }

  // ---------------------------------------------------------------- journal-target (session 18)

  static final long JOURNAL_FAST = Duration.ofMillis(10).toNanos();
  static final long JOURNAL_QUEUED = Duration.ofMillis(300).toNanos();

  /** target-latency 500 ms (the default), journal-target as given (0 = off), on a clock the test moves. */
  private static AdmissionLimit withJournalTarget(Duration journalTarget, long[] now) {
    return new AdmissionLimit(new AdmissionLimit.Settings(4, 1, 100_000, Duration.ofMillis(500), 0.9, false, journalTarget),
        () -> now[0]);
  }

  /** {@code n} answers over one second, each with the given journal time (write time = journal time). */
  private static void journaledInOneSecond(AdmissionLimit a, long[] now, int n, long journal) {
    for (int i = 0; i < n; i++) {
      assertTrue(a.tryAcquire());
      now[0] += SECOND / n;
      a.release(journal, journal, false);
    }
  }

  @Test
  void aStandingQueueInTheJournalCapsTheLimitAtTheRateTimesTheJournalTarget() {
    long[] now = {0};
    AdmissionLimit a = withJournalTarget(Duration.ofMillis(100), now);
    journaledInOneSecond(a, now, 2000, JOURNAL_FAST);
    assertEquals(1000, a.limit(), 10, "2,000/s × target-latency 500 ms, no standing queue");
    assertFalse(a.standingQueue());
    // A second in which even the fastest write waited 300 ms in the journal: a standing queue.
    journaledInOneSecond(a, now, 2000, JOURNAL_QUEUED);
    assertTrue(a.standingQueue());
    assertEquals(200, a.limit(), 10, "capped at 2,000/s × journal-target 100 ms");
    assertEquals(1, a.standingWindows());
    int admitted = fill(a);
    assertEquals(a.limit(), admitted, "admitted up to the cap, then refused");
  }

  @Test
  void withoutAJournalTargetTheStandingQueueKeepsTheRateTimesTheTargetLatency() {
    long[] now = {0};
    AdmissionLimit a = withJournalTarget(Duration.ZERO, now);
    journaledInOneSecond(a, now, 2000, JOURNAL_FAST);
    journaledInOneSecond(a, now, 2000, JOURNAL_QUEUED);
    assertFalse(a.standingQueue());
    assertEquals(1000, a.limit(), 10, "0 = off: as before session 18");
    var defaults = new AdmissionLimit.Settings(4, 1, 10, Duration.ofMillis(500), 0.9, true);
    assertEquals(Duration.ZERO, defaults.journalTarget(), "off unless set");
  }

  @Test
  void aBurstWithSomeFastJournalWritesIsNotAStandingQueue() {
    long[] now = {0};
    AdmissionLimit a = withJournalTarget(Duration.ofMillis(100), now);
    journaledInOneSecond(a, now, 2000, JOURNAL_FAST);
    // Most writes of the second queued, but not all: a burst the limit absorbs, not a standing queue.
    for (int i = 0; i < 2000; i++) {
      assertTrue(a.tryAcquire());
      now[0] += SECOND / 2000;
      long journal = i % 100 == 0 ? JOURNAL_FAST : JOURNAL_QUEUED;
      a.release(journal, journal, false);
    }
    assertFalse(a.standingQueue());
    assertEquals(1000, a.limit(), 10);
  }

  @Test
  void theCapIsLiftedOnceTheJournalHasRoomAgain() {
    long[] now = {0};
    AdmissionLimit a = withJournalTarget(Duration.ofMillis(100), now);
    journaledInOneSecond(a, now, 2000, JOURNAL_FAST);
    journaledInOneSecond(a, now, 2000, JOURNAL_QUEUED);
    assertTrue(a.standingQueue());
    // Under the cap the journal holds ~100 ms of work: mean 60 ms is not yet "room" (below 50 ms is).
    journaledInOneSecond(a, now, 2000, Duration.ofMillis(60).toNanos());
    assertTrue(a.standingQueue(), "the cap stays while the journal is about as busy as the cap allows");
    journaledInOneSecond(a, now, 2000, JOURNAL_FAST);
    assertFalse(a.standingQueue());
    assertEquals(1000, a.limit(), 10, "back to the rate × target-latency");
  }

  @Test
  void aJournalSlowByItselfIsNotSqueezedBelowWhatItNeeds() {
    long[] now = {0};
    AdmissionLimit a = withJournalTarget(Duration.ofMillis(100), now);
    // A starved box: no write is faster than 300 ms in the journal, queue or not.
    journaledInOneSecond(a, now, 2000, JOURNAL_QUEUED);
    journaledInOneSecond(a, now, 2000, JOURNAL_QUEUED);
    assertTrue(a.standingQueue());
    // Twice its fastest write (600 ms) × 2,000/s is above rate × target-latency: the cap leaves it as it was.
    assertEquals(1000, a.limit(), 10);
  }
}
