package io.twinhub.twin.service;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;

class AdmissionLimitTest {
  static final long FAST = Duration.ofMillis(10).toNanos();
  static final long SLOW = Duration.ofMillis(500).toNanos();

  private static AdmissionLimit limit(int initial, int min, int max) {
    return new AdmissionLimit(new AdmissionLimit.Settings(initial, min, max, Duration.ofMillis(100), 0.5));
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
}
