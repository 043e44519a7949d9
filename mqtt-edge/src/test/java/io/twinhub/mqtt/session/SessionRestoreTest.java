package io.twinhub.mqtt.session;

import io.twinhub.twin.entity.KeptSession;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class SessionRestoreTest {
  private static final Map<String, Integer> SUBS = Map.of("$iothub/twin/res/#", 0, "$iothub/methods/POST/#", 0);

  @Test
  void aPersistentSessionComesFromWhatTheTwinKeptOrFromTheStore() {
    var stored = SessionRestore.fromKept(false, new KeptSession(true, SUBS)).orElseThrow();
    assertTrue(stored.present());
    assertEquals(SUBS, stored.subscriptions());
    assertFalse(SessionRestore.fromKept(false, new KeptSession(false, Map.of())).orElseThrow().present());
    assertTrue(SessionRestore.fromKept(false, null).isEmpty(), "nothing kept: read the store");
  }

  @Test
  void aCleanSessionClearsTheStoreUnlessTheTwinKnowsItHoldsNothing() {
    assertTrue(SessionRestore.fromKept(true, new KeptSession(true, SUBS)).isEmpty(), "a stored session to forget");
    assertTrue(SessionRestore.fromKept(true, null).isEmpty());
    var none = SessionRestore.fromKept(true, new KeptSession(false, Map.of())).orElseThrow();
    assertFalse(none.present());
    assertTrue(none.subscriptions().isEmpty());
  }

  @Test
  void aClosingConnectionLeavesTheStoreAsItKnowsItUnlessAWriteIsUnsure() {
    assertEquals(new KeptSession(true, SUBS), SessionRestore.toKeep(true, true, SUBS, false));
    assertEquals(new KeptSession(false, Map.of()), SessionRestore.toKeep(true, false, Map.of(), false));
    assertNull(SessionRestore.toKeep(true, true, SUBS, true), "a save in flight or failed: the store may differ");
    assertEquals(new KeptSession(false, Map.of()), SessionRestore.toKeep(false, false, SUBS, false),
        "a clean session's subscriptions are not stored");
  }
}
