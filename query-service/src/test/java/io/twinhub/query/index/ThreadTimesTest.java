package io.twinhub.query.index;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The kernel's per-thread times ({@link ThreadTimes}) and the reopen split the index reports with them. */
class ThreadTimesTest {
  @Test
  void parsesTheSchedstatLine() {
    assertEquals(new ThreadTimes(1333918, 3116546), ThreadTimes.parse("1333918 3116546 2\n"));
    assertEquals(new ThreadTimes(5, 7), ThreadTimes.parse("12 10 3").since(new ThreadTimes(7, 3)));
    assertThrows(IllegalArgumentException.class, () -> ThreadTimes.parse("12"));
  }

  @Test
  void aThreadsCpuTimeGrowsWhileItWorks() {
    ThreadTimes before = ThreadTimes.now();
    assumeTrue(before != null, "no /proc/thread-self/schedstat here");
    long x = 0;
    for (int i = 0; i < 50_000_000; i++) x += i ^ (x >>> 3);
    ThreadTimes spent = ThreadTimes.now().since(before);
    assertTrue(spent.cpuNanos() > 0, "cpu " + spent + x);
    assertTrue(spent.runQueueNanos() >= 0);
  }

  record Split(long lockNanos, long reopenNanos, ThreadTimes spent, boolean onQuery) {}

  @Test
  void everyReopenReportsWhereItsTimeWent() throws Exception {
    assumeTrue(ThreadTimes.now() != null, "no /proc/thread-self/schedstat here");
    List<Split> splits = new ArrayList<>();
    try (TwinIndex index = TwinIndex.inMemory()) {
      index.observe(new TwinIndex.Observer() {
        @Override
        public void reopenTimes(long lockNanos, long reopenNanos, ThreadTimes spent, boolean onQuery) {
          splits.add(new Split(lockNanos, reopenNanos, spent, onQuery));
        }
      });
      index.put(TwinKey.device("d1"), new ObjectMapper().readTree("{\"deviceId\":\"d1\",\"version\":1}"), 1, null);
      index.refresh();
      index.put(TwinKey.device("d2"), new ObjectMapper().readTree("{\"deviceId\":\"d2\",\"version\":1}"), 1, null);
      assertTrue(index.refreshIfStale(1));
    }
    assertEquals(2, splits.size(), splits.toString());
    assertFalse(splits.get(0).onQuery());
    assertTrue(splits.get(1).onQuery());
    for (Split s : splits) {
      assertNotNull(s.spent());
      assertTrue(s.lockNanos() >= 0 && s.reopenNanos() > 0 && s.spent().cpuNanos() > 0, s.toString());
    }
  }
}
