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
 * The same rules admit the events of the live path ({@link #decideLive}), which reach the publisher
 * ahead of their tag rows: whichever of the two paths brings an event first publishes it, the other
 * skips it.
 */
final class PublishedMarks {
  /** What to do with an event read from a tag. */
  sealed interface Decision {}

  record Skip() implements Decision {}

  record Publish() implements Decision {}

  /** Publish the events {@code from..to} of the persistence id (from its journal), then this one. */
  record Fill(long from, long to) implements Decision {}

  /** Not now: the tag read brings it (a live event of a persistence id without a mark, when marks began after the journal's start). */
  record Leave() implements Decision {}

  private static final Decision SKIP = new Skip();
  private static final Decision LEAVE = new Leave();
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

  /**
   * An event from the live path ({@code TwinEventFeed}, {@code TelemetryFeed}): told once the journal
   * acknowledged it, so it and all its predecessors are in the journal. As {@link #decide}, except
   * for a persistence id without a mark, which the tag read would publish from wherever its first
   * tag row is: its first event is published; a later one when the marks cover the whole journal
   * ({@code fromStart}: the floor is the journal's start, so no mark means nothing of it was
   * published) after its predecessors from the journal; otherwise (marks began at a later floor,
   * and its earlier events may lie before it) it is left to the tag read.
   */
  Decision decideLive(String persistenceId, long sequenceNr, boolean fromStart) {
    if (marks.containsKey(persistenceId) || sequenceNr == 1) return decide(persistenceId, sequenceNr);
    return fromStart ? new Fill(1, sequenceNr - 1) : LEAVE;
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
