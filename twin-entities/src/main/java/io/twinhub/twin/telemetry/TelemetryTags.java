package io.twinhub.twin.telemetry;

import io.twinhub.twin.entity.TwinTags;

import java.util.List;
import java.util.stream.IntStream;

/**
 * Journal tags of device telemetry: {@code telemetry-<n>}, chosen by device id exactly as
 * {@link TwinTags} chooses {@code twin-<n>}, so a device's telemetry and its twin events sit in
 * tags with the same index. Fixed, like the twin tags: changing the count would re-partition
 * what readers have already read.
 */
public final class TelemetryTags {
  public static final int COUNT = TwinTags.COUNT;
  public static final List<String> ALL = IntStream.range(0, COUNT).mapToObj(i -> "telemetry-" + i).toList();

  private TelemetryTags() {}

  public static int indexOf(String deviceId) {
    return Math.floorMod(deviceId.hashCode(), COUNT);
  }

  public static String forDevice(String deviceId) {
    return ALL.get(indexOf(deviceId));
  }
}
