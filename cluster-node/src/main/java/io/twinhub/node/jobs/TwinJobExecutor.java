package io.twinhub.node.jobs;

import io.twinhub.node.api.DirectMethods;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.job.DeviceJobExecutor;
import io.twinhub.twin.job.DeviceJobRecord;
import io.twinhub.twin.job.JobSpec;
import io.twinhub.twin.job.JobType;
import io.twinhub.twin.service.TwinService;

import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.CompletionStage;

/**
 * A job's work on one device, through the paths the REST API uses: the twin entity (with the job
 * id, so a repeat is not applied twice) and the device gateway's direct methods (a device not
 * connected within the connect timeout fails with DeviceNotOnline, 404103).
 */
final class TwinJobExecutor implements DeviceJobExecutor {
  private final TwinService twins;
  private final DirectMethods methods;
  private final Clock clock;

  TwinJobExecutor(TwinService twins, DirectMethods methods, Clock clock) {
    this.twins = twins;
    this.methods = methods;
    this.clock = clock;
  }

  @Override
  public CompletionStage<DeviceJobRecord> run(JobSpec spec, String deviceId) {
    Instant start = clock.instant();
    if (spec.type() == JobType.scheduleUpdateTwin) {
      return twins.updateTwinForJob(deviceId, spec.jobId(), spec.twinUpdate())
          .thenApply(reply -> reply instanceof TwinReply.Rejected r
              ? DeviceJobRecord.failed(deviceId, start, clock.instant(), r.error())
              : DeviceJobRecord.twinUpdated(deviceId, start, clock.instant()));
    }
    JobSpec.MethodCall m = spec.method();
    return methods.invoke(new DirectMethods.Request(deviceId, null, m.methodName(), m.payload(), m.responseTimeout(),
            m.connectTimeout()))
        .thenApply(result -> result instanceof DirectMethods.Answered a
            ? DeviceJobRecord.methodAnswered(deviceId, start, clock.instant(), a.status(), a.payload())
            : DeviceJobRecord.failed(deviceId, start, clock.instant(), ((DirectMethods.Failed) result).error()));
  }
}
