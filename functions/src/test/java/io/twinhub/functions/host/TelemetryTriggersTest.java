package io.twinhub.functions.host;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Where a trigger partition without a committed offset starts reading (fix df7d6a8). */
class TelemetryTriggersTest {
  static final long NOW = Instant.parse("2026-12-06T10:00:00Z").toEpochMilli();

  @Test
  void aPartitionStartingAfterAPublicationReadsFromTheFirstPublicationLessTheClockSkew() {
    // A partition that starts a minute after the app was published (a busy or new worker) still
    // reads the telemetry journaled in that minute: it starts 10 s before the publication, not now.
    Instant published = Instant.ofEpochMilli(NOW).minusSeconds(60);
    assertEquals(published.minusSeconds(10).toEpochMilli(), TelemetryTriggers.firstReadMillis(Optional.of(published), NOW));
  }

  @Test
  void withoutAnyPublishedAppAPartitionStartsNow() {
    assertEquals(NOW, TelemetryTriggers.firstReadMillis(Optional.empty(), NOW));
  }

  @Test
  void aPublicationStampedInTheFutureByASkewedClockStartsNoLaterThanNow() {
    assertEquals(NOW, TelemetryTriggers.firstReadMillis(Optional.of(Instant.ofEpochMilli(NOW).plusSeconds(30)), NOW));
    // within the skew: 5 s ahead of this clock is still 5 s before now
    assertEquals(NOW - 5_000, TelemetryTriggers.firstReadMillis(Optional.of(Instant.ofEpochMilli(NOW).plusSeconds(5)), NOW));
  }

  @Test
  void telemetryPartitionsReadWithTheTelemetryReadJournalTwinPartitionsWithTheStreamsOne() {
    for (String tag : io.twinhub.twin.telemetry.TelemetryTags.ALL) {
      assertEquals("telemetry-rj", TelemetryTriggers.readJournalFor(tag, "streams-rj", "telemetry-rj"));
    }
    for (String tag : io.twinhub.twin.entity.TwinTags.ALL) {
      assertEquals("streams-rj", TelemetryTriggers.readJournalFor(tag, "streams-rj", "telemetry-rj"));
    }
  }
}
