package io.twinhub.ops.bench.mqtt;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class MqttBenchMetricsTest {
  @Test
  void aCounterIsSummedOverItsLabelSetsAndOtherMetricsAreIgnored() {
    String body = """
        # HELP twinhub_cassandra_requests_total CQL requests
        # TYPE twinhub_cassandra_requests_total counter
        twinhub_cassandra_requests_total 1234.0
        twinhub_cassandra_requests_total_other 99.0
        twinhub_twin_requests_seconds_count{operation="getTwin",outcome="accepted"} 7.0
        """;
    assertEquals(1234, MqttBench.prometheusTotal(body, "twinhub_cassandra_requests_total"));
    assertEquals(7, MqttBench.prometheusTotal(body, "twinhub_twin_requests_seconds_count"));
    assertEquals(-1, MqttBench.prometheusTotal(body, "absent_total"));
  }

  @Test
  void thePhasesAdmissionLineHasTheJournalsPartAndTheLagsRefusalsWhenTheNodeReportsThem() {
    // answered, answered seconds, slow, journaled, journal seconds, refused behind
    double[] before = {100, 10, 1, 100, 5, 0};
    double[] after = {300, 110, 51, 300, 25, 40};
    assertEquals("200 answered, mean 500 ms from admission to answer, 50 slower than target-latency; journal mean 100 ms (200 writes); "
        + "40 refused with slots free, the node behind (max-node-lag)", MqttBench.admissionDelta(before, after));
    // An older node: no journal counters.
    double[] old0 = {100, 10, 1, Double.NaN, Double.NaN, Double.NaN};
    double[] old1 = {300, 110, 51, Double.NaN, Double.NaN, Double.NaN};
    assertEquals("200 answered, mean 500 ms from admission to answer, 50 slower than target-latency", MqttBench.admissionDelta(old0, old1));
  }

  @Test
  void thePhasesAdmissionLineSaysInHowManyWindowsTheJournalTargetCappedTheLimit() {
    // answered, answered seconds, slow, journaled, journal seconds, refused behind, capped windows
    double[] before = {100, 10, 1, 100, 5, 0, 3};
    double[] after = {300, 110, 51, 300, 25, 0, 21};
    assertEquals("200 answered, mean 500 ms from admission to answer, 50 slower than target-latency; journal mean 100 ms (200 writes); "
        + "limit capped by journal-target in 18 one-second windows", MqttBench.admissionDelta(before, after));
  }

  @Test
  void aConnectsCpuNetOfIdleTakesTheIdleShareOfTheCoreOffBeforeDividing() {
    // 60 % of a core for 20 s over 2,000 connects = 6 ms each; 10 % of it idle: 5 ms each net.
    long twentySeconds = 20_000_000_000L;
    assertEquals(6.0, MqttBench.netOfIdleMillis(60, 0, twentySeconds, 2000), 1e-9);
    assertEquals(5.0, MqttBench.netOfIdleMillis(60, 10, twentySeconds, 2000), 1e-9);
    // The idle share weighs less per connect at a higher rate: the same 10 % over 2 s for 2,000 connects.
    assertEquals(0.5, MqttBench.netOfIdleMillis(60, 10, twentySeconds / 10, 2000), 1e-9);
    // Never negative (an idle window busier than the phase, e.g. a GC in it).
    assertEquals(0.0, MqttBench.netOfIdleMillis(5, 10, twentySeconds, 2000), 1e-9);
  }
}
