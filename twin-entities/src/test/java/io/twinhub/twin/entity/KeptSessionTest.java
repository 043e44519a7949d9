package io.twinhub.twin.entity;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.*;

class KeptSessionTest {
  private static final Map<String, Integer> SUBS = Map.of("$iothub/twin/PATCH/properties/desired/#", 0);
  private static final KeptSession.Attach DESIRED = new KeptSession.Attach(true, false);

  @Test
  void aPersistentReconnectAttachesForTheKeptSubscriptionsWhenTheirPushesAreKnown() {
    assertEquals(Optional.of(DESIRED), new KeptSession(true, SUBS, DESIRED).attachAtConnect(false));
    assertEquals(Optional.of(KeptSession.Attach.NONE), new KeptSession(false, Map.of(), KeptSession.Attach.NONE).attachAtConnect(false));
    assertTrue(new KeptSession(true, SUBS).attachAtConnect(false).isEmpty(), "left by a node that did not say: the connection attaches");
  }

  @Test
  void aCleanSessionAttachesForNothingUnlessAStoredSessionMustBeClearedFirst() {
    assertEquals(Optional.of(KeptSession.Attach.NONE), new KeptSession(false, Map.of(), KeptSession.Attach.NONE).attachAtConnect(true));
    assertEquals(Optional.of(KeptSession.Attach.NONE), new KeptSession(false, Map.of()).attachAtConnect(true));
    assertTrue(new KeptSession(true, SUBS, DESIRED).attachAtConnect(true).isEmpty(), "the store holds a session to clear");
  }
}
