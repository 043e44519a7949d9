package io.twinhub.functions.host;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** How a trigger partition's live path and tag read share a device's messages (issue #18, latency). */
class LiveLedgerTest {
  static final String D = "Telemetry|d1";

  @Test
  void aDevicesFirstLiveMessagesWaitForTheTagReadThenFollowItInOrder() {
    LiveLedger<String> ledger = new LiveLedger<>(100, 100);
    // After a start the partition cannot tell which earlier messages its committed offset covers.
    assertEquals(List.of(), ledger.offer(D, 5, "m5", 0));
    assertEquals(List.of(), ledger.offer(D, 7, "m7", 0));
    assertEquals(List.of(), ledger.offer(D, 6, "m6", 0));
    assertEquals(3, ledger.waiting());
    // The tag read delivers 3 and 4 itself; then 5..7 follow from the live path, in order, and 5 is skipped by the tag read later.
    assertNull(ledger.pass(D, 3));
    assertNull(ledger.pass(D, 4));
    assertEquals(List.of("m5", "m6", "m7"), ledger.released(D, 0));
    assertEquals(0, ledger.waiting());
    assertEquals(List.of("m8"), ledger.offer(D, 8, "m8", 0));
    assertEquals(List.of(), ledger.offer(D, 8, "m8", 0), "a repeated live message is not invoked twice");
    assertEquals(0L, ledger.pass(D, 5));
    assertEquals(0L, ledger.pass(D, 6));
    assertEquals(2, ledger.ahead(), "7 and 8 not passed yet");
  }

  @Test
  void waitingMessagesTheTagReadDeliveredItselfAreDropped() {
    LiveLedger<String> ledger = new LiveLedger<>(100, 100);
    ledger.offer(D, 2, "m2", 0);
    ledger.offer(D, 3, "m3", 0);
    // The tag read got to 2 first (the live message was late): it invokes 2; 3 follows live.
    assertNull(ledger.pass(D, 1));
    assertNull(ledger.pass(D, 2));
    assertEquals(List.of("m3"), ledger.released(D, 0));
  }

  @Test
  void afterAnAppLoadedADeviceWaitsUntilTheTagReadHandedItsEarlierLiveMessagesToTheNewApp() {
    LiveLedger<String> ledger = new LiveLedger<>(100, 100);
    assertNull(ledger.pass(D, 1));
    assertEquals(List.of("m2"), ledger.offer(D, 2, "m2", 4));
    // A new version loaded (generation 5): 3 must not reach it before 2 does (from the tag read).
    assertEquals(List.of(), ledger.offer(D, 3, "m3", 5));
    assertEquals(4L, ledger.pass(D, 2), "the tag read hands 2 to apps loaded after generation 4");
    assertEquals(List.of("m3"), ledger.released(D, 5));
    assertEquals(List.of("m4"), ledger.offer(D, 4, "m4", 5));
  }

  @Test
  void beyondItsBoundsTheLiveMessagesAreLeftToTheTagRead() {
    LiveLedger<String> ledger = new LiveLedger<>(2, 1);
    ledger.offer(D, 10, "m10", 0);
    ledger.offer(D, 11, "m11", 0);
    assertEquals(List.of(), ledger.offer(D, 12, "m12", 0));
    assertEquals(1, ledger.dropped);
    // One may be ahead of the tag read: 10 goes live, 11 waits.
    assertNull(ledger.pass(D, 9));
    assertEquals(List.of("m10"), ledger.released(D, 0));
    assertEquals(0L, ledger.pass(D, 10));
    assertEquals(List.of("m11"), ledger.released(D, 0));
    // 12 was dropped: the tag read invokes it, 13 follows live.
    assertEquals(0L, ledger.pass(D, 11));
    assertNull(ledger.pass(D, 12));
    assertEquals(List.of("m13"), ledger.offer(D, 13, "m13", 0));
  }
}
