package io.twinhub.ops.bench;

import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class JournalBatchBenchTest {

  @Test
  void sameRowsInFlightWhateverTheBatchSize() {
    assertEquals(64, JournalBatchBench.requestsInFlight(64, 1));
    assertEquals(16, JournalBatchBench.requestsInFlight(64, 4));
    assertEquals(2, JournalBatchBench.requestsInFlight(64, 64), "at least two, so a batch is written while the next fills");
    assertEquals(2, JournalBatchBench.requestsInFlight(8, 16));
  }

  @Test
  void rowsNotRequestsAreTheOperations() {
    Histogram h = new Histogram(3);
    h.recordValue(1_000);
    BenchResult r = JournalBatchBench.rows("cassandra-batch-16", 16, new LoadLoop.Outcome(100, 2, Duration.ofSeconds(10), h));
    assertEquals(1_600, r.operations());
    assertEquals(32, r.errors());
    assertEquals(156.8, r.rate(), 1e-9); // (100 - 2) requests / 10 s × 16 rows
    assertEquals(List.of(1, 4, 16, 64), JournalBatchBench.SIZES);
    assertEquals(List.of(4, 16), JournalBatchBench.sizes(" 4, 16"));
  }
}
