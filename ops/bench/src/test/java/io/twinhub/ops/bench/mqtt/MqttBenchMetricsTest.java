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
}
