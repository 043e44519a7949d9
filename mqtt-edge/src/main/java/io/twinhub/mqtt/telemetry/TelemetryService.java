package io.twinhub.mqtt.telemetry;

import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.EntityRef;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** Appends device-to-cloud messages to their device's {@link TelemetryLog}, wherever it lives. */
public final class TelemetryService {
  private final ClusterSharding sharding;
  private final Duration askTimeout;

  public TelemetryService(ActorSystem<?> system, Duration askTimeout) {
    TelemetryLog.init(system);
    this.sharding = ClusterSharding.get(system);
    this.askTimeout = askTimeout;
  }

  /** Completes with the message's sequence number in the device's log once journaled; fails on timeout or a failed write. */
  public CompletionStage<TelemetryLog.Appended> append(TelemetryLog.TelemetryReceived message) {
    return append(sharding.entityRefFor(TelemetryLog.TYPE_KEY, TelemetryLog.entityId(message.deviceId(), message.moduleId())),
        message, askTimeout);
  }

  /** {@link #append(TelemetryLog.TelemetryReceived)} to a given log (e.g. a function app's). */
  public static CompletionStage<TelemetryLog.Appended> append(EntityRef<TelemetryLog.Command> log,
                                                              TelemetryLog.TelemetryReceived message, Duration askTimeout) {
    // Completed directly (not thenCompose) so callers see NotStored itself, not a CompletionException around it.
    CompletableFuture<TelemetryLog.Appended> appended = new CompletableFuture<>();
    log.<TelemetryLog.AppendResult>ask(r -> new TelemetryLog.Append(message, r), askTimeout).whenComplete((result, failure) -> {
      if (failure != null) appended.completeExceptionally(failure);
      else if (result instanceof TelemetryLog.Appended a) appended.complete(a);
      else appended.completeExceptionally(new NotStored(((TelemetryLog.NotAppended) result).reason()));
    });
    return appended;
  }

  /** The log answered that the journal did not confirm the message. */
  public static final class NotStored extends RuntimeException {
    NotStored(String reason) {
      super(reason, null, false, false);
    }
  }
}
