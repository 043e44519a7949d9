package io.twinhub.twin.entity;

import java.util.List;
import java.util.stream.IntStream;

/**
 * Journal tags for projections. A device and its modules share one tag (by device id), so a
 * projection per tag sees each device's events in order. The count is fixed: changing it
 * would re-partition events that projections have already read.
 */
public final class TwinTags {
  public static final int COUNT = 8;
  public static final List<String> ALL = IntStream.range(0, COUNT).mapToObj(i -> "twin-" + i).toList();

  private TwinTags() {}

  public static String forDevice(String deviceId) {
    return ALL.get(Math.floorMod(deviceId.hashCode(), COUNT));
  }
}
