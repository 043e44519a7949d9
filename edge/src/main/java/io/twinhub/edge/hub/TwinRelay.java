package io.twinhub.edge.hub;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.edge.mqtt.HubClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * A module's or leaf device's twin request relayed to the hub, with a deadline: the device SDKs
 * wait for the answer (the Java SDK up to its own operation timeout, minutes), so a request the
 * hub never answers must not leave them hanging. When the hub has not answered within the
 * timeout, a GET (safe to repeat) is sent once more; a reported patch is not (it may have been
 * applied: a second one would be a second version), and the device gets status 500 — what IoT
 * Edge's edgeHub answers a twin operation that failed upstream — so its SDK fails the operation
 * at once and the application can retry.
 */
final class TwinRelay {
  private static final Logger log = LoggerFactory.getLogger(TwinRelay.class);
  /** The answer to a twin request the hub did not answer in time (IoT Edge: InternalServerError). */
  static final int TIMED_OUT = 500;
  /** How long edgeHub waits for the hub's answer to a relayed twin request (system property, seconds). */
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(Long.getLong("twinhub.edge.twin-request-timeout-seconds", 30));

  private TwinRelay() {}

  /**
   * The hub's answer to {@code operation} ({@code GET} or {@code PATCH/properties/reported}), each
   * attempt made by {@code send}; completes with a {@value #TIMED_OUT} answer when the hub does not
   * answer in time, exceptionally when the connection to the hub failed (the caller's offline path).
   *
   * @param what the request in log lines, e.g. {@code "twin GET of gw/mod (rid 4)"}
   */
  static CompletableFuture<HubClient.TwinResponse> relay(String operation, Supplier<CompletableFuture<HubClient.TwinResponse>> send,
                                                         Duration timeout, String what) {
    boolean repeatable = operation.equals("GET");
    return attempt(send, timeout).exceptionallyCompose(first -> {
      if (!timedOut(first)) return CompletableFuture.failedFuture(first);
      if (!repeatable) return CompletableFuture.completedFuture(timedOutAnswer(what, timeout, false));
      log.warn("edgeHub: no answer from the hub within {} to {}; sending it once more", timeout, what);
      return attempt(send, timeout).exceptionallyCompose(second -> timedOut(second)
          ? CompletableFuture.completedFuture(timedOutAnswer(what, timeout, true))
          : CompletableFuture.failedFuture(second));
    });
  }

  private static CompletableFuture<HubClient.TwinResponse> attempt(Supplier<CompletableFuture<HubClient.TwinResponse>> send,
                                                                   Duration timeout) {
    CompletableFuture<HubClient.TwinResponse> f;
    try {
      f = send.get();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    // Completing the attempt exceptionally also ends the upstream client's wait for that rid.
    return f.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static boolean timedOut(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) t = t.getCause();
    return t instanceof TimeoutException;
  }

  private static HubClient.TwinResponse timedOutAnswer(String what, Duration timeout, boolean repeated) {
    log.warn("edgeHub: no answer from the hub within {} to {}{}; answered {}", timeout, what, repeated ? " (sent twice)" : "",
        TIMED_OUT);
    ObjectNode body = JsonNodeFactory.instance.objectNode();
    body.put("errorCode", TIMED_OUT * 1000);
    body.put("message", "edgeHub: no answer from the hub within " + timeout.toSeconds() + " s"
        + (repeated ? "" : "; the request may or may not have been applied") + "; retry later");
    return new HubClient.TwinResponse(TIMED_OUT, body, -1);
  }
}
