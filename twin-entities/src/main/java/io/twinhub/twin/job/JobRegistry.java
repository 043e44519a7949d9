package io.twinhub.twin.job;

import io.twinhub.twin.PersistFailures;
import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.sharding.typed.ShardedDaemonProcessSettings;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.cluster.sharding.typed.javadsl.ShardedDaemonProcess;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.RetentionCriteria;
import io.twinhub.twin.TwinhubSerializable;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The hub's list of jobs (one entity, id {@value #ID}): every job id in the order they were
 * created (for {@code GET /jobs/v2/query} and {@code devices.jobs}), and which are still active.
 * A sharded daemon (the keeper, always running on some node) tells it to wake every active job
 * each {@code wakeInterval}: that is what resumes jobs and their slices on the surviving nodes
 * after one died, and what starts scheduled jobs after a restart.
 */
public final class JobRegistry
    extends EventSourcedBehaviorWithEnforcedReplies<JobRegistry.Command, JobRegistry.Event, JobRegistry.State> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "JobRegistry");
  public static final String ID = "jobs";

  public sealed interface Command extends TwinhubSerializable {}

  /** Idempotent: a known id is answered Done without a new event. */
  public record Register(String jobId, ActorRef<Done> replyTo) implements Command {}

  /** The job ended and nothing of it runs any more. */
  public record Retire(String jobId) implements Command {}

  public record WakeActive() implements Command {}

  public record ListJobs(ActorRef<JobIds> replyTo) implements Command {}

  public record JobIds(List<String> all, List<String> active) implements TwinhubSerializable {}

  public sealed interface Event extends TwinhubSerializable {}

  public record Registered(String jobId, Instant at) implements Event {}

  public record Retired(String jobId) implements Event {}

  /** Job ids in creation order, and the active ones. */
  public record State(List<String> all, Set<String> active) implements TwinhubSerializable {
    public static final State EMPTY = new State(List.of(), Set.of());

    public State {
      all = all == null ? List.of() : List.copyOf(all);
      active = active == null ? Set.of() : java.util.Collections.unmodifiableSet(new LinkedHashSet<>(active));
    }

    public boolean knows(String jobId) {
      return active.contains(jobId) || all.contains(jobId);
    }

    public State apply(Event e) {
      if (e instanceof Registered r) {
        List<String> a = new ArrayList<>(all);
        if (!a.contains(r.jobId())) a.add(r.jobId());
        Set<String> act = new LinkedHashSet<>(active);
        act.add(r.jobId());
        return new State(a, act);
      } else if (e instanceof Retired r) {
        Set<String> act = new LinkedHashSet<>(active);
        act.remove(r.jobId());
        return new State(all, act);
      }
      throw new IllegalArgumentException("unknown event " + e);
    }
  }

  /** The registry entity and the keeper daemon, on members with {@code role} (null: every member). */
  public static void init(ActorSystem<?> system, JobSettings settings, Clock clock, String role) {
    var entity = Entity.of(TYPE_KEY, ctx -> new JobRegistry(system, clock));
    ClusterSharding.get(system).init(role == null ? entity : entity.withRole(role));
    ShardedDaemonProcessSettings daemon = ShardedDaemonProcessSettings.create(system);
    ShardedDaemonProcess.get(system).init(KeeperMessage.class, "job-keeper", 1, i -> keeper(settings.wakeInterval()),
        role == null ? daemon : daemon.withRole(role), Optional.of(new StopKeeper()));
  }

  /** The keeper's own messages: its timer's tick, and the stop its shard sends at a hand-off or shutdown. */
  sealed interface KeeperMessage extends TwinhubSerializable {}

  record KeeperTick() implements KeeperMessage {}

  /**
   * Stops the keeper. A stop message it does not stop on (it was WakeActive) held every hand-off
   * and node shutdown until sharding's timeouts (about 10 s per stop).
   */
  record StopKeeper() implements KeeperMessage {}

  static Behavior<KeeperMessage> keeper(Duration interval) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(new KeeperTick(), Duration.ofMillis(200), interval);
      return Behaviors.receive(KeeperMessage.class)
          .onMessage(KeeperTick.class, t -> {
            ClusterSharding.get(ctx.getSystem()).entityRefFor(TYPE_KEY, ID).tell(new WakeActive());
            return Behaviors.same();
          })
          .onMessage(StopKeeper.class, s -> Behaviors.stopped())
          .build();
    }));
  }

  private final ActorSystem<?> system;
  private final Clock clock;

  private JobRegistry(ActorSystem<?> system, Clock clock) {
    super(PersistenceId.of(TYPE_KEY.name(), ID), PersistFailures.backoff(system));
    this.system = system;
    this.clock = clock;
  }

  @Override
  public State emptyState() {
    return State.EMPTY;
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2);
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(Register.class, (s, c) -> s.knows(c.jobId())
            ? Effect().reply(c.replyTo(), Done.getInstance())
            : Effect().persist(new Registered(c.jobId(), clock.instant())).thenReply(c.replyTo(), a -> Done.getInstance()))
        .onCommand(Retire.class, (s, c) -> s.active().contains(c.jobId())
            ? Effect().persist(new Retired(c.jobId())).thenNoReply()
            : Effect().noReply())
        .onCommand(WakeActive.class, (s, c) -> {
          ClusterSharding sharding = ClusterSharding.get(system);
          for (String jobId : s.active()) sharding.entityRefFor(JobEntity.TYPE_KEY, jobId).tell(new JobEntity.Wake());
          return Effect().noReply();
        })
        .onCommand(ListJobs.class, (s, c) -> Effect().reply(c.replyTo(), new JobIds(s.all(), List.copyOf(s.active()))))
        .build();
  }
}
