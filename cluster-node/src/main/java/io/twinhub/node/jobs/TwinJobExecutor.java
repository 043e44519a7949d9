package io.twinhub.node.jobs;

import io.twinhub.node.api.DirectMethods;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.job.DeviceJobExecutor;
import io.twinhub.twin.job.DeviceJobRecord;
import io.twinhub.twin.job.JobSpec;
import io.twinhub.twin.job.JobType;
import io.twinhub.twin.service.TwinService;

import akka.actor.typed.ActorSystem;
import akka.pattern.Patterns;
import io.twinhub.twin.error.IotHubErrorCode;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A job's work on one device, through the paths the REST API uses: the twin entity (with the job
 * id, so a repeat is not applied twice) and the device gateway's direct methods (a device not
 * connected within the connect timeout fails with DeviceNotOnline, 404103).
 */
final class TwinJobExecutor implements DeviceJobExecutor {
  /**
   * How long a twin update is retried while its twin is unavailable (503: its shard is moving after
   * a node died, the journal is unreachable). Safe: the twin applies a job's update once.
   */
  static final Duration RETRY_UNAVAILABLE_FOR = Duration.ofMinutes(2);
  static final Duration FIRST_RETRY = Duration.ofMillis(500);
  static final Duration MAX_RETRY = Duration.ofSeconds(5);

  private final TwinService twins;
  private final DirectMethods methods;
  private final Clock clock;
  private final ActorSystem<?> system;

  TwinJobExecutor(TwinService twins, DirectMethods methods, Clock clock, ActorSystem<?> system) {
    this.twins = twins;
    this.methods = methods;
    this.clock = clock;
    this.system = system;
  }

  @Override
  public CompletionStage<DeviceJobRecord> run(JobSpec spec, String deviceId) {
    Instant start = clock.instant();
    if (spec.type() == JobType.scheduleUpdateTwin) {
      return updateTwin(spec, deviceId, start, System.nanoTime() + RETRY_UNAVAILABLE_FOR.toNanos(), FIRST_RETRY);
    }
    // A method call is not retried: the device may have run it.
    JobSpec.MethodCall m = spec.method();
    return methods.invoke(new DirectMethods.Request(deviceId, null, m.methodName(), m.payload(), m.responseTimeout(),
            m.connectTimeout()))
        .thenApply(result -> result instanceof DirectMethods.Answered a
            ? DeviceJobRecord.methodAnswered(deviceId, start, clock.instant(), a.status(), a.payload())
            : DeviceJobRecord.failed(deviceId, start, clock.instant(), ((DirectMethods.Failed) result).error()));
  }

  private CompletionStage<DeviceJobRecord> updateTwin(JobSpec spec, String deviceId, Instant start, long retryUntil,
                                                      Duration backoff) {
    return twins.updateTwinForJob(deviceId, spec.jobId(), spec.twinUpdate()).thenCompose(reply -> {
      if (reply instanceof TwinReply.Rejected r) {
        if (r.error().code() == IotHubErrorCode.ServiceUnavailable && System.nanoTime() + backoff.toNanos() < retryUntil) {
          Duration next = backoff.multipliedBy(2).compareTo(MAX_RETRY) > 0 ? MAX_RETRY : backoff.multipliedBy(2);
          return Patterns.after(backoff, system.classicSystem().scheduler(), system.executionContext(),
              () -> updateTwin(spec, deviceId, start, retryUntil, next));
        }
        return CompletableFuture.completedFuture(DeviceJobRecord.failed(deviceId, start, clock.instant(), r.error()));
      }
      return CompletableFuture.completedFuture(DeviceJobRecord.twinUpdated(deviceId, start, clock.instant()));
    });
  }
}
