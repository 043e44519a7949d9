package io.twinhub.twin.c2d;

import io.twinhub.twin.PersistFailures;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.RetentionCriteria;
import io.twinhub.twin.TwinhubSerializable;

import java.util.UUID;

/**
 * How far back ends have completed the hub's feedback queue: the journal offset (a time-based
 * UUID of the {@value CloudToDeviceQueue#FEEDBACK_TAG} tag) of the last feedback record whose batch
 * a receiver completed. One entity for the hub ({@link #HUB}); it only moves forward, so a
 * completion that arrives late (another receiver's, or a retry) never re-delivers what was done.
 */
public final class FeedbackCursor
    extends EventSourcedBehaviorWithEnforcedReplies<FeedbackCursor.Command, FeedbackCursor.Completed, FeedbackCursor.State> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "C2dFeedbackCursor");
  public static final String HUB = "hub";

  public sealed interface Command extends TwinhubSerializable {}

  public record Get(ActorRef<State> replyTo) implements Command {}

  /** Records up to and including {@code offset} are completed. */
  public record Complete(UUID offset, ActorRef<State> replyTo) implements Command {}

  public record Completed(UUID offset) implements TwinhubSerializable {}

  /** {@code offset} null: nothing completed yet (read from the tag's beginning). */
  public record State(UUID offset) implements TwinhubSerializable {
    /** Time-based UUIDs order by their timestamp, then by the rest (as Cassandra orders timeuuids). */
    public boolean isAfter(UUID other) {
      if (offset == null) return false;
      if (other == null) return true;
      int byTime = Long.compare(offset.timestamp(), other.timestamp());
      return byTime != 0 ? byTime > 0 : offset.compareTo(other) > 0;
    }
  }

  private FeedbackCursor(String id, akka.actor.typed.BackoffSupervisorStrategy onPersistFailure) {
    super(PersistenceId.of(TYPE_KEY.name(), id), onPersistFailure);
  }

  public static void init(ActorSystem<?> system, String role) {
    var entity = Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId()));
    ClusterSharding.get(system).init(role == null ? entity : entity.withRole(role));
  }

  public static Behavior<Command> create(String id) {
    return akka.actor.typed.javadsl.Behaviors.setup(ctx -> new FeedbackCursor(id, PersistFailures.backoff(ctx.getSystem())));
  }

  @Override
  public State emptyState() {
    return new State(null);
  }

  @Override
  public CommandHandlerWithReply<Command, Completed, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(Get.class, (s, c) -> Effect().reply(c.replyTo(), s))
        .onCommand(Complete.class, (s, c) -> new State(c.offset()).isAfter(s.offset())
            ? Effect().persist(new Completed(c.offset())).thenReply(c.replyTo(), after -> after)
            : Effect().reply(c.replyTo(), s))
        .build();
  }

  @Override
  public EventHandler<State, Completed> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent((s, e) -> new State(e.offset()));
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 1);
  }
}
