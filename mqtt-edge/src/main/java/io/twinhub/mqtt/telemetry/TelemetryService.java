package io.twinhub.mqtt.telemetry;

import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;

import java.time.Duration;
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

  /** Completes with the message's sequence number in the device's log once journaled; fails on timeout. */
  public CompletionStage<TelemetryLog.Appended> append(TelemetryLog.TelemetryReceived message) {
    return sharding.entityRefFor(TelemetryLog.TYPE_KEY, TelemetryLog.entityId(message.deviceId(), message.moduleId()))
        .ask(r -> new TelemetryLog.Append(message, r), askTimeout);
  }
}
