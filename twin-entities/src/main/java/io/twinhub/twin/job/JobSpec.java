package io.twinhub.twin.job;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.TwinUpdate;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * What a client asked for with {@code PUT /jobs/v2/{id}}, validated: the twin patch of a
 * {@code scheduleUpdateTwin} job or the method call of a {@code scheduleDeviceMethod} job, the
 * devices ({@code queryCondition}, empty = every device), when to start and how long it may run.
 *
 * @param maxExecutionTimeInSeconds 0 = no limit
 * @param tagsPatch                 twin jobs: merge patch of tags, or null
 * @param desiredPatch              twin jobs: merge patch of desired properties, or null
 * @param method                    method jobs: the call, else null
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record JobSpec(String jobId, JobType type, String queryCondition, Instant startTime, long maxExecutionTimeInSeconds,
                      JsonDoc tagsPatch, JsonDoc desiredPatch, MethodCall method) {

  public JobSpec {
    Objects.requireNonNull(jobId, "jobId");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(startTime, "startTime");
    queryCondition = queryCondition == null ? "" : queryCondition;
    if (type == JobType.scheduleDeviceMethod) Objects.requireNonNull(method, "method");
  }

  /** {@code cloudToDeviceMethod}: IoT Hub's direct-method call. */
  public record MethodCall(String methodName, JsonNode payload, int responseTimeoutInSeconds, int connectTimeoutInSeconds) {
    public Duration responseTimeout() {
      return Duration.ofSeconds(responseTimeoutInSeconds);
    }

    public Duration connectTimeout() {
      return Duration.ofSeconds(connectTimeoutInSeconds);
    }
  }

  /** The twin write of a twin job: one version per device, tags and desired together. */
  public TwinUpdate.UpdateTwin twinUpdate() {
    return new TwinUpdate.UpdateTwin(tagsPatch, desiredPatch);
  }

  /** When a job that started at {@code started} runs out of time, or null without a limit. */
  public Instant deadline(Instant started) {
    return maxExecutionTimeInSeconds <= 0 ? null : started.plusSeconds(maxExecutionTimeInSeconds);
  }
}
