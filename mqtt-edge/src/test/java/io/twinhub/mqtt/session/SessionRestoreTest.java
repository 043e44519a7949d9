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
    var methodsOnly = new KeptSession.Attach(false, true);
    assertEquals(new KeptSession(true, SUBS, methodsOnly), SessionRestore.toKeep(true, true, SUBS, false));
    assertEquals(new KeptSession(false, Map.of(), KeptSession.Attach.NONE), SessionRestore.toKeep(true, false, Map.of(), false));
    assertNull(SessionRestore.toKeep(true, true, SUBS, true), "a save in flight or failed: the store may differ");
    assertEquals(new KeptSession(false, Map.of(), KeptSession.Attach.NONE), SessionRestore.toKeep(false, false, SUBS, false),
        "a clean session's subscriptions are not stored");
  }

  @Test
  void whatTheTwinAttachesAtTheLookupIsWhatTheConnectionRestores() {
    // The twin attaches a reconnect for KeptSession.attachAtConnect; the connection then restores fromKept and
    // must find the same pushes subscribed, or it would hold subscriptions the twin does not serve.
    var all = Map.of(DeviceTopics.TWIN_DESIRED_FILTER, 1, DeviceTopics.METHODS_FILTER, 0, "$iothub/twin/res/#", 0);
    for (boolean persistent : new boolean[] {true, false}) {
      for (boolean present : new boolean[] {true, false}) {
        for (Map<String, Integer> subs : java.util.List.of(all, SUBS, Map.of(DeviceTopics.TWIN_DESIRED_FILTER, 0), Map.<String, Integer>of())) {
          KeptSession kept = SessionRestore.toKeep(persistent, present, subs, false);
          for (boolean clean : new boolean[] {true, false}) {
            var attach = kept.attachAtConnect(clean);
            if (attach.isEmpty()) continue;
            var restored = SessionRestore.fromKept(clean, kept).orElseThrow(() -> new AssertionError("attached but no session to restore"));
            assertEquals(SessionRestore.attachFor(restored.subscriptions()), attach.get(), kept + " clean " + clean);
          }
        }
      }
    }
    assertEquals(new KeptSession.Attach(true, true), SessionRestore.attachFor(all));
    assertEquals(KeptSession.Attach.NONE, SessionRestore.attachFor(Map.of("$iothub/twin/res/#", 0)));
  }
}
