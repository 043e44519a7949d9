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
import io.twinhub.twin.telemetry.TelemetryMessage;

import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The journal as one live stream of {@link HubMessage}s: eventsByTag over the twin tags and
 * the telemetry tags ({@link JournalTags}), merged. Per-device order holds within each source
 * family because a device and its modules share a tag (a device's twin events and its telemetry
 * are two tags, so their relative order is by journal time only). Each
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
    return messages(from, Scope.ALL, filter);
  }

  /** Live messages of the tags {@code scope} needs, filtered by {@code filter}. */
  public Source<HubMessage, NotUsed> messages(JournalPosition from, Scope scope, Predicate<HubMessage> filter) {
    return messages(from, scope, filter, false);
  }

  /**
   * Messages after {@code from} that the journal holds now, up to {@code until}; completes.
   * For exports: a finite, resumable copy of history.
   */
  public Source<HubMessage, NotUsed> history(JournalPosition from, Instant until, Predicate<HubMessage> filter) {
    return history(from, until, Scope.ALL, filter);
  }

  public Source<HubMessage, NotUsed> history(JournalPosition from, Instant until, Scope scope,
                                             Predicate<HubMessage> filter) {
    return messages(from, scope, filter.and(m -> !m.enqueuedTime().isAfter(until)), true);
  }

  /**
   * Which journal tags a stream reads: those of its message sources, narrowed to one device's
   * tags when it follows one device. Reading fewer tags is cheaper (each is its own polled
   * Cassandra query); the stream's filter still decides what is delivered.
   */
  public record Scope(Set<MessageSource> sources, String deviceId, boolean functionOutputs) {
    public static final Scope ALL = new Scope(EnumSet.allOf(MessageSource.class), null, true);

    public Scope(Set<MessageSource> sources, String deviceId) {
      this(sources, deviceId, false);
    }

    /** This scope, also reading the tag of the functions' route outputs (a named route's stream). */
    public Scope withFunctionOutputs() {
      return new Scope(sources, deviceId, true);
    }

    List<Integer> slots() {
      List<Integer> slots = JournalTags.slotsFor(sources, deviceId);
      int outputs = JournalTags.TWIN + io.twinhub.twin.telemetry.TelemetryTags.indexOf(HubMessages.FUNCTIONS_DEVICE);
      if (!functionOutputs || slots.contains(outputs)) return slots;
      List<Integer> more = new java.util.ArrayList<>(slots);
      more.add(outputs);
      return more;
    }
  }

  private Source<HubMessage, NotUsed> messages(JournalPosition from, Scope scope, Predicate<HubMessage> filter,
                                               boolean current) {
    List<Integer> slots = scope.slots();
    return Source.from(slots)
        .flatMapMerge(Math.max(1, slots.size()), slot -> (current
                ? journal.currentEventsByTag(JournalTags.name(slot), offset(from, slot))
                : journal.eventsByTag(JournalTags.name(slot), offset(from, slot)))
            .map(env -> new Tagged(slot, env)))
        // The merged position of this materialization: every message carries it with its own
        // tag's offset advanced, also the ones the filter drops (they are passed, not lost).
        .statefulMapConcat(() -> {
          JournalPosition[] position = {from};
          return t -> {
            position[0] = position[0].with(t.slot, ((TimeBasedUUID) t.envelope.offset()).value());
            Optional<HubMessage> message = toMessage(t.envelope).filter(filter);
            return message.isEmpty() ? List.of() : List.of(message.get().withOffset(position[0].token()));
          };
        });
  }

  private Optional<HubMessage> toMessage(EventEnvelope env) {
    if (env.event() instanceof TwinEvent e) {
      return HubMessages.of(hubName, env.persistenceId(), env.sequenceNr(), e);
    }
    if (env.event() instanceof TelemetryMessage t) {
      return Optional.of(HubMessages.ofTelemetry(env.persistenceId(), env.sequenceNr(), t));
    }
    return Optional.empty();
  }

  private static Offset offset(JournalPosition from, int slot) {
    return from.offset(slot).<Offset>map(Offset::timeBasedUUID).orElse(NoOffset.getInstance());
  }

  private record Tagged(int slot, EventEnvelope envelope) {}
}
