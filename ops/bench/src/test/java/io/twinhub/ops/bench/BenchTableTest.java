package io.twinhub.ops.bench;

import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchTableTest {

  static BenchResult result(String workload, long ops, long errors, double seconds) {
    Histogram h = new Histogram(3_600_000_000L, 3);
    for (int i = 1; i <= 1000; i++) h.recordValue(i * 10L);   // 10 µs .. 10 ms, uniform
    return BenchResult.of(workload, ops, errors, Duration.ofMillis((long) (seconds * 1000)), h);
  }

  @Test
  void resultFromHistogramAndCounts() {
    BenchResult r = result("twin-get", 10_100, 100, 10);
    assertEquals(1000.0, r.rate(), 1e-9);              // successful operations per second
    assertEquals(10.0, r.seconds(), 1e-9);
    assertEquals(5000, r.p50Micros(), 5);
    assertEquals(9900, r.p99Micros(), 10);
    assertEquals(9990, r.p999Micros(), 10);
    assertTrue(Double.isNaN(r.nodeCpuPercent()));
    assertEquals(-1, r.nodeHeapBytes());
    BenchResult withNode = r.withNode(150, 64 << 20).withNote("10k twins");
    assertEquals(150, withNode.nodeCpuPercent());
    assertEquals(64 << 20, withNode.nodeHeapBytes());
    assertEquals("10k twins", withNode.note());
    assertEquals(5000, withNode.p50Micros(), 5);
  }

  @Test
  void emptyHistogramGivesZeroLatenciesNotAnError() {
    BenchResult r = BenchResult.of("twin-get", 0, 0, Duration.ofSeconds(1), new Histogram(3));
    assertEquals(0, r.rate());
    assertEquals(0, r.p99Micros());
  }

  @Test
  void ratioToTheBaselineOfTheSameRun() {
    BenchTable t = new BenchTable();
    BenchResult patch = result("twin-patch", 3000, 0, 10);      // 300/s
    assertEquals(Optional.empty(), t.add(patch).ratio(patch));  // no baseline measured yet
    t.add(result("http-cassandra", 10_000, 0, 10));             // 1000/s
    assertEquals(0.3, t.ratio(patch).orElseThrow(), 1e-9);
    BenchResult get = result("twin-get", 8000, 0, 10);
    t.add(result("http-bare", 10_000, 0, 10)).add(get);
    assertEquals(0.8, t.ratio(get).orElseThrow(), 1e-9);
    assertEquals(Optional.empty(), t.ratio(result("query-mix", 10, 0, 1)));
  }

  @Test
  void eachStormPhaseIsComparedWithTheSamePhaseOfItsFloor() {
    BenchTable t = new BenchTable()
        .add(result("mqtt-bare", 2000, 0, 4).withNode(100, -1))            // 500/s, 2 ms CPU per connect
        .add(result("mqtt-bare/resumed", 2000, 0, 2).withNode(100, -1))    // 1000/s, 1 ms
        .add(result("mqtt-storm", 2000, 0, 8).withNode(100, -1))           // 250/s, 4 ms
        .add(result("mqtt-storm/resumed", 2000, 0, 5).withNode(80, -1));   // 400/s, 2 ms
    BenchResult resumed = t.rows().get(3);
    assertEquals(0.4, t.ratio(resumed).orElseThrow(), 1e-9);
    assertEquals(0.5, t.cpuRatio(resumed).orElseThrow(), 1e-9);   // the floor's CPU per connect over the node's
    assertEquals(0.5, t.ratio(t.rows().get(2)).orElseThrow(), 1e-9);
    assertEquals(Optional.empty(), t.ratio(result("mqtt-storm/full", 2000, 0, 5)));   // its floor's phase is not in the table
    assertTrue(t.markdown().contains("| mqtt-storm/resumed | 2,000 | 0 | 400 | mqtt-bare/resumed | **0.40**; by CPU/op 0.50 |"),
        t.markdown());
  }

  @Test
  void markdownRowsSayWhetherTheGoalIsMet() {
    BenchTable t = new BenchTable()
        .add(result("http-cassandra", 10_000, 0, 10).withNode(95.4, 100 << 20))
        .add(result("twin-patch", 3000, 2, 10).withNode(180, 300 << 20).withNote("a|b"))
        .add(result("http-bare", 10_000, 0, 10))
        .add(result("twin-get", 8000, 0, 10))
        .add(result("query-mix", 500, 0, 10));
    String md = t.markdown();
    String[] lines = md.split("\n");
    assertEquals(2 + 5, lines.length);
    assertEquals(BenchTable.HEADER, lines[0] + "\n" + lines[1]);
    // 95.4 % of a core for 10 s = 9.54 CPU-seconds over 10,000 inserts = 954 µs each
    assertEquals("| http-cassandra | 10,000 | 0 | 1,000 | cassandra-insert | n/a | 5.00 | 9.90 | 9.99 | 95 | 954 | 100 |  |", lines[2]);
    assertEquals("| twin-patch | 3,000 | 2 | 300 | http-cassandra | **0.30** (≥ 1.3, not met); by CPU/op 0.16 | 5.00 | 9.90 | 9.99 | 180 | 6,004 | 300 | a/b |", lines[3]);
    assertEquals("| twin-get | 8,000 | 0 | 800 | http-bare | **0.80** (≥ 0.7, met) | 5.00 | 9.90 | 9.99 | n/a | n/a | n/a |  |", lines[5]);
    assertEquals("| query-mix | 500 | 0 | 50 |  |  | 5.00 | 9.90 | 9.99 | n/a | n/a | n/a |  |", lines[6]);
  }

  @Test
  void missingBaselineIsNotAGuess() {
    BenchTable t = new BenchTable().add(result("twin-get", 100, 0, 1));
    assertTrue(t.markdown().contains("| http-bare | n/a (≥ 0.7) |"));
  }

  @Test
  void serverCpuPerOperation() {
    // 150 % of a core for 10 s = 15 CPU-seconds over 5,000 operations = 3,000 µs each
    assertEquals(3000.0, BenchTable.cpuPerOperation(result("twin-patch", 5000, 0, 10).withNode(150, 1)).orElseThrow(), 1e-6);
    assertEquals(Optional.empty(), BenchTable.cpuPerOperation(result("twin-patch", 5000, 0, 10)));
    // Per successful operation, like the rate: 150 % of a core for 10 s over 5,000 answers of which 1,000 refused.
    assertEquals(3750.0, BenchTable.cpuPerOperation(result("mqtt-reported", 5000, 1000, 10).withNode(150, 1)).orElseThrow(), 1e-6);
    assertEquals(Optional.empty(), BenchTable.cpuPerOperation(result("twin-patch", 0, 0, 10).withNode(150, 1)));
    BenchTable t = new BenchTable().add(result("http-bare", 10_000, 0, 10).withNode(50, 1));   // 500 µs/op
    BenchResult get = result("twin-get", 5000, 0, 10).withNode(100, 1);                       // 2,000 µs/op
    assertEquals(Optional.empty(), t.cpuRatio(get.withNode(Double.NaN, 1)));
    assertEquals(0.25, t.add(get).cpuRatio(get).orElseThrow(), 1e-9);
  }

  @Test
  void millisecondsKeepTwoDecimalsBelowTen() {
    assertEquals("0.25", BenchTable.millis(250));
    assertEquals("9.99", BenchTable.millis(9990));
    assertEquals("148", BenchTable.millis(148_400));
    assertEquals("1,463", BenchTable.millis(1_463_000));
  }
}
