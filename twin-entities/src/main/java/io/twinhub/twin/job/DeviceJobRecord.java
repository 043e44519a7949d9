package io.twinhub.twin.job;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.twin.error.IotHubError;

import java.time.Instant;
import java.util.Objects;

/**
 * The outcome of a job on one device, as journaled by the job's slice before it counts.
 *
 * @param methodStatus  the device's answer to a method job (null for twin jobs and failures)
 * @param methodPayload the payload of that answer
 * @param errorCode     IoT Hub's error name when the device failed (e.g. DeviceNotOnline), else null
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record DeviceJobRecord(String deviceId, boolean succeeded, Instant startTime, Instant endTime,
                              Integer methodStatus, JsonNode methodPayload, String errorCode, Integer errorNumber,
                              String errorDescription) {
  public DeviceJobRecord {
    Objects.requireNonNull(deviceId, "deviceId");
  }

  public static DeviceJobRecord twinUpdated(String deviceId, Instant start, Instant end) {
    return new DeviceJobRecord(deviceId, true, start, end, null, null, null, null, null);
  }

  public static DeviceJobRecord methodAnswered(String deviceId, Instant start, Instant end, int status, JsonNode payload) {
    return new DeviceJobRecord(deviceId, true, start, end, status, payload, null, null, null);
  }

  public static DeviceJobRecord failed(String deviceId, Instant start, Instant end, IotHubError error) {
    return new DeviceJobRecord(deviceId, false, start, end, null, null, error.code().name(), error.code().code(),
        error.message());
  }
}
