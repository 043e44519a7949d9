package io.twinhub.projections.index;

import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.persistence.cassandra.query.javadsl.CassandraReadJournal;
import akka.persistence.query.EventEnvelope;
import akka.persistence.query.NoOffset;
import akka.persistence.query.Offset;
import akka.persistence.query.PersistenceQuery;
import akka.persistence.query.TimeBasedUUID;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.typesafe.config.Config;
import io.twinhub.projections.journal.NewestWriter;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * The projection's view of the Cassandra journal: tag streams from an offset, one twin's events
 * by sequence number (to fill a gap), and a count of a tag's events after an offset read
 * straight from the {@code tag_views} table (for "events behind", without deserializing them).
 */
final class JournalReader {
  private final ActorSystem<?> system;
  private final CassandraReadJournal journal;
  private final String tagViews;
  private final long bucketMillis;
  private final long firstBucket;

  JournalReader(ActorSystem<?> system, String readJournalPluginId) {
    this.system = system;
    this.journal = PersistenceQuery.get(system.classicSystem()).getReadJournalFor(CassandraReadJournal.class, readJournalPluginId);
    Config plugin = system.settings().config().getConfig(readJournalPluginId.replaceAll("\\.query$", ""));
    this.tagViews = plugin.getString("journal.keyspace") + "." + plugin.getString("events-by-tag.table");
    this.bucketMillis = switch (plugin.getString("events-by-tag.bucket-size")) {
      case "Minute" -> 60_000L;
      case "Hour" -> 3_600_000L;
      default -> 86_400_000L;
    };
    this.firstBucket = bucket(firstBucketTime(plugin.getString("events-by-tag.first-time-bucket")).toEpochMilli());
  }

  /** Live events of {@code tag} after {@code offset} (none: from the journal's first bucket). */
  Source<EventEnvelope, NotUsed> eventsByTag(String tag, UUID offset) {
    return journal.eventsByTag(tag, offset == null ? NoOffset.getInstance() : Offset.timeBasedUUID(offset));
  }

  /** The events of {@code tag} after {@code offset} that the journal holds now; completes. */
  Source<EventEnvelope, NotUsed> currentEventsByTag(String tag, UUID offset) {
    return journal.currentEventsByTag(tag, offset == null ? NoOffset.getInstance() : Offset.timeBasedUUID(offset));
  }

  /**
   * One twin's events {@code from..to} (sequence numbers, inclusive), in order, one per sequence
   * number as its entity sees them ({@link NewestWriter}).
   */
  List<EventEnvelope> events(String persistenceId, long from, long to, Duration timeout) {
    try {
      // One past the end: the read stops at the first event numbered `to`, which may be the stale one.
      List<EventEnvelope> read = journal.currentEventsByPersistenceId(persistenceId, from, to == Long.MAX_VALUE ? to : to + 1)
          .runWith(Sink.seq(), system).toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return NewestWriter.resolve(read).stream().filter(e -> e.sequenceNr() <= to).toList();
    } catch (Exception e) {
      throw new IllegalStateException("cannot read events " + from + ".." + to + " of " + persistenceId + ": " + e, e);
    }
  }

  /** The offset just before {@code epochMillis}. */
  UUID offsetAt(long epochMillis) {
    return ((TimeBasedUUID) journal.timeBasedUUIDFrom(epochMillis)).value();
  }

  long timestampOf(UUID offset) {
    return journal.timestampFrom(new TimeBasedUUID(offset));
  }

  /** When the journal's tag reads start (its first time bucket). */
  long firstBucketMillis() {
    return firstBucket;
  }

  /**
   * How many events of {@code tag} the journal holds after {@code offset} (null: all), counted
   * up to {@code cap}.
   */
  CompletionStage<Long> countAfter(String tag, UUID offset, int cap) {
    long now = System.currentTimeMillis();
    long from = offset == null ? firstBucket : bucket(timestampOf(offset));
    long to = bucket(now);
    var session = journal.session();
    Source<Long, NotUsed> counts = Source.range(0, (int) Math.max(0, Math.min(Integer.MAX_VALUE - 1, (to - from) / bucketMillis)))
        .map(i -> from + i * bucketMillis)
        .flatMapConcat(b -> (b == from && offset != null
            ? session.select("SELECT timestamp FROM " + tagViews + " WHERE tag_name = ? AND timebucket = ? AND timestamp > ?",
                tag, b, offset)
            : session.select("SELECT timestamp FROM " + tagViews + " WHERE tag_name = ? AND timebucket = ?", tag, b))
            .map(row -> 1L));
    return counts.take(cap).runWith(Sink.fold(0L, Long::sum), system);
  }

  private long bucket(long millis) {
    return millis - Math.floorMod(millis, bucketMillis);
  }

  private static Instant firstBucketTime(String s) {
    DateTimeFormatter f = s.contains("T") ? DateTimeFormatter.ofPattern("yyyyMMdd'T'HH:mm") : DateTimeFormatter.ofPattern("yyyyMMdd");
    return s.contains("T") ? LocalDateTime.parse(s, f).toInstant(ZoneOffset.UTC)
        : java.time.LocalDate.parse(s, f).atStartOfDay().toInstant(ZoneOffset.UTC);
  }
}
