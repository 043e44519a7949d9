package io.twinhub.query;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.domain.TwinJson;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

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

  @Test
  void queriesThatWaitForARunningRefreshShareOneReopenStartedAfterTheyAsked() throws Exception {
    fleet.engine.refreshOnQuery(Duration.ofNanos(1));
    int waiting = 4;
    AtomicInteger reopens = new AtomicInteger();
    AtomicInteger next = new AtomicInteger(100);
    CountDownLatch held = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    // Writes keep coming (one during each reopen), and the first reopen is held until the queries wait for it.
    fleet.index.addRefreshListener(() -> {
      int n = reopens.incrementAndGet();
      tag(next.getAndIncrement());
      if (n == 1) {
        held.countDown();
        try {
          release.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    });
    tag(1);
    Thread first = new Thread(() -> fleet.index.refresh());
    first.start();
    assertTrue(held.await(60, TimeUnit.SECONDS));
    // tag(1) and the write during the first reopen (device 100) are in the index before the queries ask.
    ExecutorService pool = Executors.newFixedThreadPool(waiting);
    try {
      List<Future<Integer>> queries = new ArrayList<>();
      for (int i = 0; i < waiting; i++) queries.add(pool.submit(() -> fleet.engine.query(SQL, 100, null).json().size()));
      // A bound against a hang, not a timing: until every query waits for the held reopen.
      for (int i = 0; i < 6000 && fleet.index.refreshesWaiting() < waiting; i++) Thread.sleep(10);
      assertEquals(waiting, fleet.index.refreshesWaiting());
      release.countDown();
      for (Future<Integer> q : queries) {
        assertTrue(q.get(60, TimeUnit.SECONDS) >= 2, "each query sees what was written before it asked");
      }
      first.join(60_000);
      // Each waiting query reopening in turn would have flushed one more segment each (the write
      // that came during the reopen before it): 1 + waiting reopens.
      assertEquals(2, reopens.get(), "the waiting queries shared one reopen");
    } finally {
      release.countDown();
      pool.shutdownNow();
    }
  }
}
