package io.twinhub.projections.journal;

import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.persistence.cassandra.query.javadsl.CassandraReadJournal;
import akka.persistence.query.EventEnvelope;
import akka.persistence.query.PersistenceQuery;
import akka.stream.javadsl.Source;

/**
 * One twin's journal as its entity sees it (twin history, as-of reads): every event of a device or
 * module in sequence-number order, one per number ({@link NewestWriter}: an unacknowledged write of
 * an old incarnation is dropped as the entity's replay drops it). Streams, so a long journal is
 * never held whole.
 */
public final class TwinEventLog {
  private final CassandraReadJournal journal;

  /** @param readJournalPluginId e.g. {@code twinhub.streams.read-journal}'s value */
  public TwinEventLog(ActorSystem<?> system, String readJournalPluginId) {
    this.journal = PersistenceQuery.get(system.classicSystem()).getReadJournalFor(CassandraReadJournal.class, readJournalPluginId);
  }

  /** The events of {@code persistenceId} ("Device|id", "Module|id/mid") the journal holds now; completes. */
  public Source<EventEnvelope, NotUsed> events(String persistenceId) {
    return journal.currentEventsByPersistenceId(persistenceId, 0L, Long.MAX_VALUE).via(NewestWriter.flow());
  }
}
