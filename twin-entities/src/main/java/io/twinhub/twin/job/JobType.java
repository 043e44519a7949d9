package io.twinhub.twin.job;

/** IoT Hub's job types (the {@code type} of {@code PUT /jobs/v2/{id}}), spelled as on the wire. */
public enum JobType {
  scheduleUpdateTwin,
  scheduleDeviceMethod
}
