package io.twinhub.functions.host;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.AskPattern;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandler;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehavior;
import io.twinhub.twin.TwinhubSerializable;

import java.time.Duration;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/**
 * The journal's mark of a publication: when an app version is stored, an {@link AppPublished}
 * event is journaled under every trigger partition's tag. A partition reads it in order with the
 * telemetry and twin events of its tag, so it knows exactly which of them came after the
 * publication: before handing those to any function it waits until its worker has loaded that
 * version (or a newer one). Without the mark, a worker that had not yet refreshed (every
 * {@code refresh-interval}) gave those events to the old app set and committed past them, and a
 * new app or function missed them. The order is the journal's own (time-based UUIDs), the same
 * order the partition reads in, so no clock comparison between nodes is involved beyond it.
 */
public final class AppPublications {
  private AppPublications() {}

  /** Journaled under every tag of {@link TelemetryTriggers#TAGS} when {@code version} of {@code app} is stored. */
  public record AppPublished(String app, int version) implements TwinhubSerializable {}

  record Persist(ActorRef<Done> replyTo) {}

  /**
   * Journals the mark of {@code app}'s {@code version}. The persistence id is new each time: an
   * app deleted and published again starts at version 1 again, and its mark must be written anew.
   */
  public static CompletionStage<Done> announce(ActorSystem<?> system, String app, int version, Duration timeout) {
    ActorRef<Persist> marker = system.systemActorOf(new Marker(new AppPublished(app, version)),
        "functions-publication-" + UUID.randomUUID(), Props.empty());
    return AskPattern.ask(marker, Persist::new, timeout, system.scheduler());
  }

  /** Persists its one event and stops. */
  private static final class Marker extends EventSourcedBehavior<Persist, AppPublished, Boolean> {
    private final AppPublished event;

    Marker(AppPublished event) {
      super(PersistenceId.ofUniqueId("FunctionAppPublished|" + event.app() + "|" + event.version() + "|" + UUID.randomUUID()));
      this.event = event;
    }

    @Override
    public Boolean emptyState() {
      return false;
    }

    @Override
    public CommandHandler<Persist, AppPublished, Boolean> commandHandler() {
      return newCommandHandlerBuilder().forAnyState().onCommand(Persist.class, (written, c) -> (written
              ? Effect().<AppPublished, Boolean>none() : Effect().persist(event))
          .thenRun(s -> c.replyTo().tell(Done.getInstance()))
          .thenStop()).build();
    }

    @Override
    public EventHandler<Boolean, AppPublished> eventHandler() {
      return newEventHandlerBuilder().forAnyState().onAnyEvent((s, e) -> true);
    }

    @Override
    public Set<String> tagsFor(AppPublished e) {
      return Set.copyOf(TelemetryTriggers.TAGS);
    }
  }
}
