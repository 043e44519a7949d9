package io.twinhub.node.api;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A request the node cannot answer in time gets IoT Hub's 503 ServiceUnavailable with Retry-After,
 * not a hang or a 500: here a bulk create of 100 devices, one entity at a time, against a 20 ms
 * request timeout (100 journal writes take far longer).
 */
class ServiceUnavailableIT {

  @TempDir
  Path dataDir;

  @Test
  void slowRequestsAnswer503WithRetryAfter() throws Exception {
    try (ApiTestNode hub = ApiTestNode.start(dataDir, Map.of(
        "twinhub.api.request-timeout", "20ms", "twinhub.api.fan-out", "1", "twinhub.api.retry-after", "3s"))) {
      String body = IntStream.range(0, 100).mapToObj(i -> "{\"id\":\"slow-" + i + "\",\"importMode\":\"create\"}")
          .collect(Collectors.joining(",", "[", "]"));
      ApiClient.Reply r = hub.client.post("/devices", body);
      assertEquals(503, r.status(), r::toString);
      assertEquals(503001, r.errorCode());
      assertEquals("3", r.header("retry-after").orElseThrow());
      assertEquals("ServiceUnavailable", r.header("iothub-errorcode").orElseThrow());
      assertTrue(r.errorMessage().contains("retry"), r::toString);
    }
  }
}
