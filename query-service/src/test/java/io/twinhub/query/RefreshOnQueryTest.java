package io.twinhub.query;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.twin.domain.TwinJson;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Refresh on demand: a query makes pending writes visible first (not when there are none, not more than once per gap). */
class RefreshOnQueryTest {
  private static final String SQL = "SELECT deviceId FROM devices WHERE tags.region = 'on-demand'";
  private Fleet.Indexed fleet;
  private TwinIndex index;
  private QueryEngine engine;

  @BeforeEach
  void setUp() {
    fleet = Fleet.indexed();
    index = fleet.index;
    engine = fleet.engine;
  }

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
    assertEquals(0, engine.query(SQL, 10, null).json().size());
    index.refresh();
    assertEquals(1, engine.query(SQL, 10, null).json().size());
  }

  @Test
  void aQueryMakesPendingWritesVisibleFirst() {
    engine.refreshOnQuery(Duration.ofNanos(1));
    tag(1);
    assertEquals(1, engine.query(SQL, 10, null).json().size());
    tag(2);
    assertEquals(2, engine.query(SQL, 10, null).json().size());
  }

  @Test
  void refreshesOnlyWithPendingWritesAndAtMostOncePerGap() {
    index.refresh();
    assertFalse(index.refreshIfStale(1), "nothing written since the last refresh");
    tag(1);
    assertFalse(index.refreshIfStale(Duration.ofHours(1).toNanos()), "the last refresh is younger than the gap");
    assertTrue(index.refreshIfStale(1));
    assertFalse(index.refreshIfStale(1), "visible now");
  }
}
