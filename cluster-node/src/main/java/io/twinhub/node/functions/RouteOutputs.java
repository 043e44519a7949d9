package io.twinhub.node.functions;

import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import io.twinhub.functions.host.AppHost;
import io.twinhub.mqtt.telemetry.TelemetryLog;
import io.twinhub.mqtt.telemetry.TelemetryService;
import io.twinhub.projections.streams.HubMessages;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * {@code @EventHubOutput} to a twinhub route: each value is journaled like a device message (the
 * telemetry log of the pseudo device {@link HubMessages#FUNCTIONS_DEVICE}, module = the app), with
 * the system property {@code twinhub-route} naming its route. The journal is the one source every
 * consumer reads, so the message is on the route's stream ({@code /routes/{name}/stream}), its
 * Kafka topic and its functions' triggers like the route's other messages, and on nothing else
 * (no source stream, no other route, not {@code messages/events}). In order per app; the
 * invocation succeeds only once all its messages are journaled.
 */
final class RouteOutputs implements AppHost.RouteSender {
  private final ClusterSharding sharding;
  private final Duration askTimeout;

  RouteOutputs(ActorSystem<?> system, Duration askTimeout) {
    this.sharding = ClusterSharding.get(system);
    this.askTimeout = askTimeout;
  }

  @Override
  public CompletionStage<Optional<String>> send(String app, String function, String route, List<byte[]> bodies) {
    var log = sharding.entityRefFor(TelemetryLog.TYPE_KEY, TelemetryLog.entityId(HubMessages.FUNCTIONS_DEVICE, app));
    CompletionStage<Optional<String>> chain = CompletableFuture.completedFuture(Optional.empty());
    for (byte[] body : bodies) {
      chain = chain.thenCompose(err -> err.isPresent() ? CompletableFuture.completedFuture(err)
          : TelemetryService.append(log, message(app, function, route, body), askTimeout)
              .handle((ok, e) -> e == null ? Optional.<String>empty()
                  : Optional.of("@EventHubOutput to route '" + route + "': not journaled (" + e.getMessage() + ")")));
    }
    return chain;
  }

  static TelemetryLog.TelemetryReceived message(String app, String function, String route, byte[] body) {
    Map<String, String> system = new LinkedHashMap<>();
    system.put("message-id", UUID.randomUUID().toString());
    if (looksLikeJson(body)) {
      system.put("content-type", "application/json");
      system.put("content-encoding", "utf-8");
    }
    system.put(HubMessages.ROUTE_PROPERTY, route);
    system.put("twinhub-function", app + "/" + function);
    return new TelemetryLog.TelemetryReceived(HubMessages.FUNCTIONS_DEVICE, app, Map.of(), system, body, Instant.now());
  }

  private static boolean looksLikeJson(byte[] body) {
    try {
      new com.fasterxml.jackson.databind.ObjectMapper().readTree(body);
      return body.length > 0;
    } catch (java.io.IOException | RuntimeException e) {
      return false;
    }
  }
}
