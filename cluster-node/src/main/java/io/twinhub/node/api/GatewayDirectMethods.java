package io.twinhub.node.api;

import akka.actor.typed.ActorSystem;
import akka.pattern.Patterns;
import io.twinhub.twin.entity.DirectMethodReply;
import io.twinhub.twin.error.IotHubErrorCode;
import io.twinhub.twin.service.TwinService;

import java.time.Duration;
import java.util.concurrent.CompletionStage;

/**
 * Direct methods through the device gateway: the twin entity forwards the call to the device's
 * attached MQTT session (on whichever node it is connected), which publishes it on
 * {@code $iothub/methods/POST/<name>/?$rid=} and answers with the device's
 * {@code $iothub/methods/res/<status>/} reply. Not connected and subscribed: 404103 at once, or
 * after {@code connectTimeoutInSeconds} of waiting for the device to come online; no answer in
 * {@code responseTimeoutInSeconds}: 504101.
 */
public final class GatewayDirectMethods implements DirectMethods {
  /** How often a call with a connect timeout looks again whether the device came online. */
  static final Duration CONNECT_POLL = Duration.ofMillis(250);

  private final TwinService twins;
  private final ActorSystem<?> system;

  public GatewayDirectMethods(TwinService twins, ActorSystem<?> system) {
    this.twins = twins;
    this.system = system;
  }

  @Override
  public CompletionStage<Result> invoke(Request r) {
    long connectDeadline = System.nanoTime() + r.connectTimeout().toNanos();
    return attempt(r, connectDeadline);
  }

  private CompletionStage<Result> attempt(Request r, long connectDeadline) {
    return twins.invokeMethod(r.deviceId(), r.moduleId(), r.methodName(), r.payload(), r.responseTimeout())
        .thenCompose(reply -> {
          if (reply instanceof DirectMethodReply.Failed f && f.error().code() == IotHubErrorCode.DeviceNotOnline
              && System.nanoTime() + CONNECT_POLL.toNanos() < connectDeadline) {
            return Patterns.after(CONNECT_POLL, system.classicSystem().scheduler(), system.executionContext(),
                () -> attempt(r, connectDeadline));
          }
          return java.util.concurrent.CompletableFuture.completedFuture(toResult(reply));
        });
  }

  private static Result toResult(DirectMethodReply reply) {
    if (reply instanceof DirectMethodReply.Responded a) return new Answered(a.status(), a.payload());
    return new Failed(((DirectMethodReply.Failed) reply).error());
  }
}
