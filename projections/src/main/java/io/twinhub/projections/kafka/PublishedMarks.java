package io.twinhub.projections.kafka;

import java.util.HashMap;
import java.util.Map;

/**
 * What the Kafka publisher has published, per journal persistence id: the highest sequence number
 * (its high-water mark). Every event of a twin or telemetry log is in one journal tag, in
 * sequence-number order, so "published" is a prefix 1..mark of each persistence id's events.
 * The marks travel in the same Kafka transaction as the records (docs/KAFKA.md, "Exactly once"),
 * so a restarted publisher that re-reads the journal from before its stored offset knows, event
 * by event, what is already in Kafka:
 * <ul>
 *   <li>at or below the mark: published already (a re-read of the rewind window): skip;</li>
 *   <li>the mark + 1, or a persistence id without a mark: new, publish;</li>
 *   <li>beyond the mark + 1: the events in between were not published (their tag rows became
 *       visible only after the publisher had passed them): read them from the persistence id's
 *       own journal and publish them first.</li>
 * </ul>
 */
final class PublishedMarks {
  /** What to do with an event read from a tag. */
  sealed interface Decision {}

  record Skip() implements Decision {}

  record Publish() implements Decision {}

  /** Publish the events {@code from..to} of the persistence id (from its journal), then this one. */
  record Fill(long from, long to) implements Decision {}

  private static final Decision SKIP = new Skip();
  private static final Decision PUBLISH = new Publish();

  private final Map<String, Long> marks;

  PublishedMarks(Map<String, Long> committed) {
    this.marks = new HashMap<>(committed);
  }

  Decision decide(String persistenceId, long sequenceNr) {
    Long mark = marks.get(persistenceId);
    if (mark == null || sequenceNr == mark + 1) return PUBLISH;
    if (sequenceNr <= mark) return SKIP;
    return new Fill(mark + 1, sequenceNr - 1);
  }

  /** The event was passed on to be published (or deliberately not: filtered out). */
  void passed(String persistenceId, long sequenceNr) {
    marks.merge(persistenceId, sequenceNr, Math::max);
  }

  long mark(String persistenceId) {
    return marks.getOrDefault(persistenceId, 0L);
  }

  int size() {
    return marks.size();
  }
}
