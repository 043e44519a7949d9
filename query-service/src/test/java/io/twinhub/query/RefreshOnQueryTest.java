package io.twinhub.query;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.domain.TwinJson;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Refresh on demand: a query makes pending writes visible first (not when there are none, not more than once per gap). */
class RefreshOnQueryTest {
  private static final String SQL = "SELECT deviceId FROM devices WHERE tags.region = 'on-demand'";
  private final Fleet.Indexed fleet = Fleet.indexed();

  @AfterEach
  void tearDown() {
    fleet.close();
  }

  private void tag(int i) {
    ObjectNode t = TwinJson.serviceView(Fleet.device(i));
    ((ObjectNode) t.get("tags")).put("region", "on-demand");
    fleet.put(t);
  }

  @Test
  void withoutItAQuerySeesOnlyWhatTheWriterRefreshed() {
    tag(1);
    assertEquals(0, fleet.engine.query(SQL, 10, null).json().size());
    fleet.index.refresh();
    assertEquals(1, fleet.engine.query(SQL, 10, null).json().size());
  }

  @Test
  void aQueryMakesPendingWritesVisibleFirst() {
    fleet.engine.refreshOnQuery(Duration.ofNanos(1));
    tag(1);
    assertEquals(1, fleet.engine.query(SQL, 10, null).json().size());
    tag(2);
    assertEquals(2, fleet.engine.query(SQL, 10, null).json().size());
  }

  @Test
  void refreshesOnlyWithPendingWritesAndAtMostOncePerGap() {
    fleet.index.refresh();
    assertFalse(fleet.index.refreshIfStale(1), "nothing written since the last refresh");
    tag(1);
    assertFalse(fleet.index.refreshIfStale(Duration.ofHours(1).toNanos()), "the last refresh is younger than the gap");
    assertTrue(fleet.index.refreshIfStale(1));
    assertFalse(fleet.index.refreshIfStale(1), "visible now");
  }
}
