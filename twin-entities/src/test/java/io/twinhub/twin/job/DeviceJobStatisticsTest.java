package io.twinhub.twin.job;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class DeviceJobStatisticsTest {

  @Test
  void everyDeviceIsInExactlyOneCount() {
    DeviceJobStatistics s = DeviceJobStatistics.of(10, 4, 1, 2);
    assertEquals(new DeviceJobStatistics(10, 1, 4, 2, 3), s);
    assertEquals(s.deviceCount(), s.succeededCount() + s.failedCount() + s.runningCount() + s.pendingCount());
    assertEquals(0.5, s.fractionDone());
  }

  @Test
  void aStaleRunningCountNeverMakesPendingNegative() {
    assertEquals(new DeviceJobStatistics(3, 0, 2, 1, 0), DeviceJobStatistics.of(3, 2, 0, 5));
    assertEquals(new DeviceJobStatistics(0, 0, 0, 0, 0), DeviceJobStatistics.of(0, 0, 0, 3));
    assertEquals(1.0, DeviceJobStatistics.NONE.fractionDone(), "no devices: nothing left to do");
  }

  @Test
  void statisticsAdd() {
    assertEquals(DeviceJobStatistics.of(7, 3, 1, 1),
        DeviceJobStatistics.of(4, 2, 1, 0).plus(DeviceJobStatistics.of(3, 1, 0, 1)));
  }
}
