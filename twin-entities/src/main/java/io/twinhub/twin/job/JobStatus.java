package io.twinhub.twin.job;

/**
 * A job's {@code status} as IoT Hub names it: {@code queued} (accepted, start time reached, not
 * yet running), {@code scheduled} (start time in the future), {@code running}, and the terminal
 * {@code completed}, {@code failed} (e.g. {@code maxExecutionTimeInSeconds} ran out),
 * {@code cancelled}.
 */
public enum JobStatus {
  queued, scheduled, running, completed, failed, cancelled;

  public boolean terminal() {
    return this == completed || this == failed || this == cancelled;
  }
}
