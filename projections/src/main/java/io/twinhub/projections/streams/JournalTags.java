package io.twinhub.projections.streams;

import io.twinhub.twin.entity.TwinTags;
import io.twinhub.twin.telemetry.TelemetryTags;

import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * The journal tags a change stream reads, numbered as slots of a {@link JournalPosition}:
 * {@code twin-0..7} are slots 0–7 (twin changes, lifecycle, connection state), then
 * {@code telemetry-0..7} are slots 8–15 (device messages). A stream reads only the slots its
 * sources and device filter need, so a single-device or single-source consumer costs one or
 * eight tag queries, not sixteen.
 */
final class JournalTags {
  static final int TWIN = TwinTags.COUNT;
  static final int COUNT = TwinTags.COUNT + TelemetryTags.COUNT;

  private JournalTags() {}

  static String name(int slot) {
    return slot < TWIN ? TwinTags.ALL.get(slot) : TelemetryTags.ALL.get(slot - TWIN);
  }

  /** Slots holding events of {@code sources}, narrowed to one device's tags when {@code deviceId} is set. */
  static List<Integer> slotsFor(Set<MessageSource> sources, String deviceId) {
    boolean twin = sources.stream().anyMatch(s -> s != MessageSource.DEVICE_MESSAGES);
    boolean telemetry = sources.contains(MessageSource.DEVICE_MESSAGES);
    return IntStream.range(0, COUNT)
        .filter(slot -> slot < TWIN ? twin : telemetry)
        .filter(slot -> deviceId == null || slot % TWIN == Math.floorMod(deviceId.hashCode(), TWIN))
        .boxed().toList();
  }
}
