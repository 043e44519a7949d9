package io.twinhub.ops.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchRunTest {

  @Test
  void unlabelledMetricFromPrometheusText() {
    String text = """
        # HELP twinhub_cassandra_requests_total CQL requests of the journal's session
        # TYPE twinhub_cassandra_requests_total counter
        twinhub_cassandra_requests_total 123456.0
        twinhub_cassandra_requests_total_other 1.0
        """;
    assertEquals(123456.0, BenchRun.metric(text, "twinhub_cassandra_requests_total"));
    assertTrue(Double.isNaN(BenchRun.metric(text, "twinhub_nothing")));
  }

  @Test
  void medianOfPairRatios() {
    assertEquals(3.67, BenchRun.median(java.util.List.of(2.87, 5.76, 3.67)));
    assertEquals(2.5, BenchRun.median(java.util.List.of(3.0, 2.0)));
    assertTrue(Double.isNaN(BenchRun.median(java.util.List.of())));
  }
}
