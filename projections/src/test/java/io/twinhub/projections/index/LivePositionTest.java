package io.twinhub.projections.index;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LivePositionTest {
  private static final long START = 1_000_000;
  private static final long SETTLE = 5_000;
  private static final long MARGIN = 10_000;

  private final LivePosition p = new LivePosition(2, true, SETTLE, MARGIN, START);

  @Test
  void atStartEveryTagCatchesUpUntilItsReadCoversStartPlusSettle() {
    assertTrue(p.catchingUp(0));
    assertTrue(p.catchingUp(1));
    assertEquals(-1, p.liveOffsetAt(0, START + 1, Long.MAX_VALUE, Long.MAX_VALUE), "no live position while catching up");
    assertFalse(p.readReached(0, START + SETTLE - 1), "an event before start + settle does not cover it");
    assertTrue(p.catchingUp(0));
    assertTrue(p.readReached(0, START + SETTLE));
    assertFalse(p.catchingUp(0));
    assertTrue(p.catchingUp(1), "each tag on its own");
  }

  @Test
  void anEmptyJournalAfterThePositionCoversItOnlyWhenCountedLateEnough() {
    assertFalse(p.counted(0, 0, START + SETTLE - 1), "counted before start + settle: later events may still be missed live");
    assertFalse(p.counted(0, 3, START + SETTLE), "events behind");
    assertTrue(p.catchingUp(0));
    assertTrue(p.counted(0, 0, START + SETTLE));
    assertFalse(p.catchingUp(0));
    assertFalse(p.counted(0, 0, START + SETTLE + 1), "reports the finish once");
  }

  @Test
  void whileStoppedTheOffsetFollowsTheLivePathByTheMarginAndTheOldestWaitingEvent() {
    p.readReached(0, START + SETTLE);
    long now = START + 60_000;
    assertEquals(now - MARGIN, p.liveOffsetAt(0, now, Long.MAX_VALUE, Long.MAX_VALUE));
    assertEquals(now - 30_000 - MARGIN, p.liveOffsetAt(0, now, now - 30_000, Long.MAX_VALUE), "a live event waiting since 30 s holds it back");
    assertEquals(-1, p.liveOffsetAt(1, now, Long.MAX_VALUE, Long.MAX_VALUE));
    assertEquals(now - 8_000 - MARGIN, p.liveOffsetAt(0, now, Long.MAX_VALUE, now - 8_000),
        "a sender last heard 8 s ago holds it back: a loss its next mark shows must lie after the offset");
  }

  @Test
  void aLossMakesEveryTagReadAgainUntilItCoversTheLossPlusSettle() {
    p.readReached(0, START + SETTLE);
    p.readReached(1, START + SETTLE);
    long loss = START + 100_000;
    p.lossAt(loss);
    assertEquals(1, p.losses());
    assertTrue(p.catchingUp(0));
    assertTrue(p.catchingUp(1));
    assertEquals(-1, p.liveOffsetAt(0, loss + 1, Long.MAX_VALUE, Long.MAX_VALUE), "the offset stays where it was until the read has covered the loss");
    assertFalse(p.readReached(0, loss + SETTLE - 1));
    assertFalse(p.counted(0, 0, loss + SETTLE - 1));
    assertTrue(p.readReached(0, loss + SETTLE));
    assertTrue(p.catchingUp(1));
  }

  @Test
  void aLaterLossWhileCatchingUpExtendsWhatTheReadMustCover() {
    p.lossAt(START + 1_000);
    p.lossAt(START + 500); // earlier than what is already needed: no change
    assertFalse(p.readReached(0, START + SETTLE));
    assertTrue(p.readReached(0, START + 1_000 + SETTLE));
  }

  @Test
  void withoutTheLiveFeedTheReadsNeverStop() {
    LivePosition off = new LivePosition(1, false, SETTLE, MARGIN, START);
    assertFalse(off.readReached(0, Long.MAX_VALUE));
    assertFalse(off.counted(0, 0, Long.MAX_VALUE));
    assertTrue(off.catchingUp(0));
    assertEquals(-1, off.liveOffsetAt(0, START + 60_000, Long.MAX_VALUE, Long.MAX_VALUE));
  }
}
