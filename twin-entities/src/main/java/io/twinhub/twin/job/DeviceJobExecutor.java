package io.twinhub.twin.job;

import java.util.concurrent.CompletionStage;

/**
 * Does a job's work on one device and tells what came of it: the twin update (sent to the twin
 * with the job id, so that a repeat is answered from the twin's state instead of applied again)
 * or the direct method (through the device gateway). Never fails: every problem is a failed
 * {@link DeviceJobRecord}.
 */
@FunctionalInterface
public interface DeviceJobExecutor {
  CompletionStage<DeviceJobRecord> run(JobSpec spec, String deviceId);
}
