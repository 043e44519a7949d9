package io.twinhub.projections.streams;

import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.persistence.cassandra.query.javadsl.CassandraReadJournal;
import akka.persistence.query.EventEnvelope;
import akka.persistence.query.NoOffset;
import akka.persistence.query.Offset;
import akka.persistence.query.PersistenceQuery;
import akka.persistence.query.TimeBasedUUID;
import akka.stream.javadsl.Source;
import io.twinhub.twin.entity.TwinEvent;
import io.twinhub.twin.entity.TwinTags;

import java.time.Instant;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.IntStream;

/**
 * The journal as one live stream of {@link HubMessage}s: eventsByTag over every tag,
 * merged. Per-device order holds because a device and its modules share a tag. Each
 * message carries the position right after it, so a consumer that stores it resumes with
 * nothing lost and nothing repeated.
 */
public final class ChangeFeed {
  private final CassandraReadJournal journal;
  private final String hubName;

  public ChangeFeed(ActorSystem<?> system, String hubName) {
    this(system, hubName, CassandraReadJournal.Identifier());
  }

  /**
   * @param readJournalPluginId config path of the Cassandra read journal to use; the node
   *                            passes one tuned for low lag (short eventual-consistency delay,
   *                            pub-sub notifications)
   */
  public ChangeFeed(ActorSystem<?> system, String hubName, String readJournalPluginId) {
    this.journal = PersistenceQuery.get(system.classicSystem())
        .getReadJournalFor(CassandraReadJournal.class, readJournalPluginId);
    this.hubName = hubName;
  }

  /** The position of "now": only events written from here on. */
  public JournalPosition latest() {
    return JournalPosition.uniform(journal.offsetUuid(System.currentTimeMillis()));
  }

  /** The position just before {@code time}. */
  public JournalPosition at(Instant time) {
    return JournalPosition.uniform(journal.offsetUuid(time.toEpochMilli()));
  }

  /** Messages after {@code from}, live (never completes), filtered by {@code filter}. */
  public Source<HubMessage, NotUsed> messages(JournalPosition from, Predicate<HubMessage> filter) {
    return messages(from, filter, false);
  }

  /**
   * Messages after {@code from} that the journal holds now, up to {@code until}; completes.
   * For exports: a finite, resumable copy of history.
   */
  public Source<HubMessage, NotUsed> history(JournalPosition from, Instant until, Predicate<HubMessage> filter) {
    return messages(from, filter.and(m -> !m.enqueuedTime().isAfter(until)), true);
  }

  private Source<HubMessage, NotUsed> messages(JournalPosition from, Predicate<HubMessage> filter, boolean current) {
    return Source.from(IntStream.range(0, TwinTags.COUNT).boxed().toList())
        .flatMapMerge(TwinTags.COUNT, tag -> (current
                ? journal.currentEventsByTag(TwinTags.ALL.get(tag), offset(from, tag))
                : journal.eventsByTag(TwinTags.ALL.get(tag), offset(from, tag)))
            .map(env -> new Tagged(tag, env)))
        // The merged position of this materialization: every message carries it with its own
        // tag's offset advanced, also the ones the filter drops (they are passed, not lost).
        .statefulMapConcat(() -> {
          JournalPosition[] position = {from};
          return t -> {
            position[0] = position[0].with(t.tag, ((TimeBasedUUID) t.envelope.offset()).value());
            String token = position[0].token();
            return toMessage(t.envelope).map(m -> m.withOffset(token)).filter(filter).stream().toList();
          };
        });
  }

  private Optional<HubMessage> toMessage(EventEnvelope env) {
    return env.event() instanceof TwinEvent e
        ? HubMessages.of(hubName, env.persistenceId(), env.sequenceNr(), e)
        : Optional.empty();
  }

  private static Offset offset(JournalPosition from, int tag) {
    return from.offset(tag).<Offset>map(Offset::timeBasedUUID).orElse(NoOffset.getInstance());
  }

  private record Tagged(int tag, EventEnvelope envelope) {}
}
