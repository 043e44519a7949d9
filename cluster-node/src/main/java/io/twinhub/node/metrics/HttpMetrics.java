package io.twinhub.node.metrics;

import akka.http.javadsl.server.Directives;
import akka.http.javadsl.server.Route;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Timer;

import java.util.concurrent.TimeUnit;

/**
 * REST request rate and latency: {@code twinhub_http_requests_seconds} by method and status
 * class (2xx, 4xx, 5xx), time to the response head (a stream's body keeps flowing after it).
 * Paths are not tags: device ids in them would make one series per device.
 */
public final class HttpMetrics {
  private HttpMetrics() {}

  public static Route timed(Route inner) {
    return Directives.extractRequest(request -> {
      long t0 = System.nanoTime();
      return Directives.mapResponse(response -> {
        Timer.builder("twinhub.http.requests")
            .description("REST requests answered, by method and status class")
            .tag("method", request.method().name())
            .tag("status", (response.status().intValue() / 100) + "xx")
            .register(Metrics.globalRegistry)
            .record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
        return response;
      }, () -> inner);
    });
  }
}
