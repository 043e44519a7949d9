package io.twinhub.node.api;

/**
 * The counts behind {@code GET /statistics/devices} and {@code GET /statistics/service}. Today
 * {@link JournalRegistryView} keeps them from the journal; the query index can take over by
 * implementing this interface.
 */
public interface RegistryStatistics {

  /** {@code {"totalDeviceCount":n,"enabledDeviceCount":n,"disabledDeviceCount":n}}. */
  record DeviceCounts(long total, long enabled, long disabled) {}

  DeviceCounts deviceCounts();

  /** Devices whose connection state is Connected ({@code connectedDeviceCount}). */
  long connectedDeviceCount();
}
