package io.twinhub.twin.job;

/**
 * IoT Hub's {@code deviceJobStatistics}: every selected device is exactly one of succeeded,
 * failed, running or pending, so the four always add up to {@code deviceCount}.
 */
public record DeviceJobStatistics(long deviceCount, long failedCount, long succeededCount, long runningCount,
                                  long pendingCount) {

  public static final DeviceJobStatistics NONE = new DeviceJobStatistics(0, 0, 0, 0, 0);

  /** From what is known for sure: pending is the rest (never negative, even with a stale running count). */
  public static DeviceJobStatistics of(long deviceCount, long succeeded, long failed, long running) {
    long done = succeeded + failed;
    long run = Math.max(0, Math.min(running, deviceCount - done));
    return new DeviceJobStatistics(deviceCount, failed, succeeded, run, Math.max(0, deviceCount - done - run));
  }

  public DeviceJobStatistics plus(DeviceJobStatistics o) {
    return of(deviceCount + o.deviceCount, succeededCount + o.succeededCount, failedCount + o.failedCount,
        runningCount + o.runningCount);
  }

  /** Share of the devices with an outcome, 0..1 (1 for a job without devices). */
  public double fractionDone() {
    return deviceCount == 0 ? 1.0 : (double) (succeededCount + failedCount) / deviceCount;
  }
}
