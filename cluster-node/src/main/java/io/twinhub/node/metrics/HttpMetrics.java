package io.twinhub.node.metrics;

import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.japi.function.Function;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Timer;

import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * REST request rate and latency: {@code twinhub_http_requests_seconds} by method and status
 * class (2xx, 4xx, 5xx), time to the response head (a stream's body keeps flowing after it).
 * Paths are not tags: device ids in them would make one series per device.
 */
public final class HttpMetrics {
  /**
   * The timers by method and status class, looked up once: registering (building the id, finding
   * the meter) on every request cost more than recording. Global-registry meters follow registries
   * added later, so holding them is safe.
   */
  private static final ConcurrentHashMap<String, Timer> TIMERS = new ConcurrentHashMap<>();

  /** Callbacks run where the answer completes: Scala-converted stages otherwise hop to the common pool. */
  private static final java.util.concurrent.Executor INLINE = Runnable::run;

  private HttpMetrics() {}

  /** {@code handler} with every answer recorded. */
  public static Function<HttpRequest, CompletionStage<HttpResponse>> timed(
      Function<HttpRequest, CompletionStage<HttpResponse>> handler) {
    return request -> {
      long t0 = System.nanoTime();
      String method = request.method().name();
      return handler.apply(request).thenApplyAsync(response -> {
        timer(method, response.status().intValue() / 100).record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
        return response;
      }, INLINE);
    };
  }

  static Timer timer(String method, int statusClass) {
    return TIMERS.computeIfAbsent(method + ' ' + statusClass, k -> Timer.builder("twinhub.http.requests")
        .description("REST requests answered, by method and status class")
        .tag("method", method)
        .tag("status", statusClass + "xx")
        .register(Metrics.globalRegistry));
  }
}
