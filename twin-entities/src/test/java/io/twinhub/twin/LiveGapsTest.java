package io.twinhub.twin;

import io.twinhub.twin.LiveGaps.Heard;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class LiveGapsTest {
  static final long A = 0x1234_5678_9abcL, B = -42L;

  @Test
  void theFirstWordOfASenderIsALossThenConsecutiveNumbersAreNot() {
    LiveGaps g = new LiveGaps(60_000);
    assertEquals(Heard.NEW_SENDER, g.received(A, 17, 0), "it may have told others 1..16 before it listed us");
    assertEquals(Heard.IN_ORDER, g.received(A, 18, 1));
    assertEquals(Heard.IN_ORDER, g.received(A, 19, 2));
    assertEquals(Heard.IN_ORDER, g.marked(A, 19, 3), "a mark of what came: nothing missing");
    assertEquals(Heard.IN_ORDER, g.marked(A, 19, 4), "the idle mark repeats it");
    assertFalse(Heard.IN_ORDER.loss());
    assertTrue(Heard.NEW_SENDER.loss());
    assertTrue(Heard.GAP.loss());
  }

  @Test
  void aLostMessageShowsAtTheNextMessage() {
    LiveGaps g = new LiveGaps(60_000);
    g.received(A, 1, 0);
    assertEquals(Heard.GAP, g.received(A, 3, 1), "2 was lost");
    assertEquals(Heard.IN_ORDER, g.received(A, 4, 2), "counted once, then back in step");
  }

  @Test
  void aLostLastMessageShowsAtTheMark() {
    LiveGaps g = new LiveGaps(60_000);
    g.received(A, 1, 0);
    g.received(A, 2, 0);
    assertEquals(Heard.GAP, g.marked(A, 3, 1000), "3 was told, never came");
    assertEquals(Heard.IN_ORDER, g.marked(A, 3, 2000));
    assertEquals(Heard.IN_ORDER, g.received(A, 4, 2001));
  }

  @Test
  void aMarkIsTheFirstWordOfASenderThatListsUsNow() {
    LiveGaps g = new LiveGaps(60_000);
    assertEquals(Heard.NEW_SENDER, g.marked(A, 500, 0), "the hello of a sender that lists this subscriber only now");
    assertEquals(Heard.IN_ORDER, g.received(A, 501, 1));
    assertEquals(Heard.GAP, g.received(A, 503, 2));
  }

  @Test
  void sendersAreCountedApartAndAnEarlierNumberIsNoLoss() {
    LiveGaps g = new LiveGaps(60_000);
    g.received(A, 1, 0);
    g.received(B, 1, 0);
    assertEquals(Heard.IN_ORDER, g.received(A, 2, 1));
    assertEquals(Heard.IN_ORDER, g.received(B, 2, 1));
    assertEquals(Heard.IN_ORDER, g.received(A, 2, 2), "a repeat is not a loss");
    assertEquals(Heard.IN_ORDER, g.marked(A, 1, 3), "an older mark is not a loss");
    assertEquals(Heard.IN_ORDER, g.received(A, 3, 4), "and does not move the expectation back");
    assertEquals(2, g.senders());
  }

  @Test
  void aRestartedSenderIsANewIncarnationAndSilentOnesAreForgotten() {
    LiveGaps g = new LiveGaps(10_000);
    g.received(A, 1, 0);
    for (int i = 0; i < 20; i++) assertEquals(Heard.NEW_SENDER, g.received(100 + i, 1, 20_000 + i));
    assertEquals(20, g.senders(), "A, silent for 20 s, was forgotten; the 20 new ones kept");
    assertEquals(Heard.NEW_SENDER, g.received(A, 2, 20_100), "forgotten: its next word is a loss (safe)");
    assertEquals(Heard.IN_ORDER, g.received(105, 2, 20_100));
  }

  @Test
  void heardUntilIsTheOldestLastWordOfTheLiveSenders() {
    LiveGaps g = new LiveGaps(30_000);
    assertEquals(Long.MAX_VALUE, g.heardUntil(0), "nobody to wait for");
    g.received(A, 1, 1000);
    g.marked(B, 0, 2000);
    assertEquals(1000, g.heardUntil(2500));
    g.marked(A, 1, 3000);
    assertEquals(2000, g.heardUntil(3500), "A's mark accounts for what it told before it");
    g.received(A, 3, 4000); // a gap: reported as a loss, so accounted for too
    assertEquals(2000, g.heardUntil(4500));
    assertEquals(4000, g.heardUntil(32_500), "B silent for 30 s (a crashed node): no longer waited for");
  }
}
