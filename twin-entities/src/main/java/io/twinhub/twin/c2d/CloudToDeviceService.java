package io.twinhub.twin.c2d;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.EntityRef;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.entity.SessionMessage;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;
import io.twinhub.twin.error.RejectionErrors;
import io.twinhub.twin.service.TwinService;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The Java API of cloud-to-device messaging for the gateways (AMQP, REST, MQTT): routes to the
 * device's sharded {@link CloudToDeviceQueue}. Sends and purges first read the device identity
 * (it must exist; its generation id keeps a re-created device from receiving the old one's
 * messages). An entity that does not answer in time becomes ServiceUnavailable, never an exception.
 */
public final class CloudToDeviceService {
  private static final java.util.concurrent.Executor INLINE = Runnable::run;

  private final ClusterSharding sharding;
  private final TwinService twins;
  private final Duration askTimeout;

  public CloudToDeviceService(ActorSystem<?> system, TwinService twins, Duration askTimeout) {
    this.sharding = ClusterSharding.get(system);
    this.twins = twins;
    this.askTimeout = askTimeout;
  }

  /** Queues {@code message} for its device: Queued once journaled, or Refused (device not found, queue full, too large). */
  public CompletionStage<CloudToDeviceQueue.SendResult> send(CloudToDeviceMessage message) {
    return identity(message.deviceId()).thenCompose(found -> found instanceof IotHubError e
        ? done(new CloudToDeviceQueue.Refused(e))
        : ask(message.deviceId(), (ActorRef<CloudToDeviceQueue.SendResult> r) ->
            new CloudToDeviceQueue.Send(message, ((Identity) found).generationId(), r))
            .handleAsync((reply, failure) -> failure == null ? reply
                : new CloudToDeviceQueue.Refused(unavailable(message.deviceId())), INLINE));
  }

  /** Purges the device's queue: the number of messages removed, or the error (device not found, unavailable). */
  public CompletionStage<Object> purge(String deviceId) {
    return identity(deviceId).thenCompose(found -> found instanceof IotHubError e ? done(e)
        : ask(deviceId, (ActorRef<CloudToDeviceQueue.Purged> r) -> new CloudToDeviceQueue.Purge(((Identity) found).generationId(), r))
            .handleAsync((reply, failure) -> failure == null ? (Object) reply : unavailable(deviceId), INLINE));
  }

  /** Messages queued for the device (expired ones removed first). */
  public CompletionStage<Integer> depth(String deviceId) {
    return ask(deviceId, CloudToDeviceQueue.GetDepth::new).thenApply(CloudToDeviceQueue.Depth::depth);
  }

  /** Attaches (or re-attaches, as a heartbeat) a device session that subscribed to cloud-to-device messages. */
  public CompletionStage<CloudToDeviceQueue.Depth> attach(String deviceId, ActorRef<SessionMessage> session, String sessionId,
                                                          long generation, String generationId) {
    return ask(deviceId, r -> new CloudToDeviceQueue.AttachReceiver(session, sessionId, generation, generationId, r));
  }

  public void detach(String deviceId, String sessionId) {
    entity(deviceId).tell(new CloudToDeviceQueue.DetachReceiver(sessionId));
  }

  /** The device's answer to a delivery; not acknowledged (a lost one means the message is delivered again). */
  public void settle(String deviceId, String lockToken, CloudToDeviceQueue.Disposition disposition) {
    entity(deviceId).tell(new CloudToDeviceQueue.Settle(lockToken, disposition));
  }

  /** The device identity, or the error to answer with. */
  private CompletionStage<Object> identity(String deviceId) {
    return twins.getTwin(deviceId, null).thenApply(r -> r instanceof TwinReply.Accepted a && a.twin() != null
        ? a.twin().identity()
        : r instanceof TwinReply.Rejected rej ? rej.error()
        : IotHubError.of(IotHubErrorCode.DeviceNotFound, "Device " + deviceId + " not found"));
  }

  private EntityRef<CloudToDeviceQueue.Command> entity(String deviceId) {
    return sharding.entityRefFor(CloudToDeviceQueue.TYPE_KEY, deviceId);
  }

  private <R> CompletionStage<R> ask(String deviceId, akka.japi.function.Function<ActorRef<R>, CloudToDeviceQueue.Command> command) {
    return Identity.checkId(deviceId, "deviceId").<CompletionStage<R>>map(rejection ->
            CompletableFuture.failedFuture(new IllegalArgumentException(RejectionErrors.toError(rejection).message())))
        .orElseGet(() -> entity(deviceId).ask(command, askTimeout));
  }

  private IotHubError unavailable(String deviceId) {
    return IotHubError.of(IotHubErrorCode.ServiceUnavailable,
        "cloud-to-device queue of " + deviceId + " did not answer within " + askTimeout.toMillis() + " ms; retry");
  }

  private static <T> CompletionStage<T> done(T value) {
    return CompletableFuture.completedFuture(value);
  }
}
