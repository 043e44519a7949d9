package io.twinhub.twin.c2d;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.PostStop;
import akka.actor.typed.PreRestart;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.RecoveryCompleted;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.ReplyEffect;
import akka.persistence.typed.javadsl.RetentionCriteria;
import akka.persistence.typed.javadsl.SignalHandler;
import io.twinhub.twin.PersistFailures;
import io.twinhub.twin.TwinhubSerializable;
import io.twinhub.twin.entity.SessionMessage;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One device's cloud-to-device queue, a sharded event-sourced entity (id = device id).
 *
 * <p>Journaled: each accepted message ({@link Enqueued}) and each final outcome ({@link Settled}:
 * completed, rejected, expired, dead-lettered, purged). A send is answered only after its
 * {@code Enqueued} is written, so an acknowledged message survives any crash. Outcomes the sender
 * asked feedback for ({@code iothub-ack}) are tagged {@value #FEEDBACK_TAG}: the feedback endpoint
 * reads them from the journal.
 *
 * <p>In memory only: the attached device session (as with the twin entity's desired
 * notifications, the session attaches and re-attaches as a heartbeat, so a restarted or moved
 * queue learns it again) and the delivery locks and counts ({@link Deliveries}).
 */
public final class CloudToDeviceQueue
    extends EventSourcedBehaviorWithEnforcedReplies<CloudToDeviceQueue.Command, CloudToDeviceQueue.Event, CloudToDeviceQueue.State> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "CloudToDevice");
  /** The journal tag of outcomes that a sender asked feedback for. */
  public static final String FEEDBACK_TAG = "c2d-feedback";
  static final int SNAPSHOT_EVERY = 100;

  // ------------------------------------------------------------------ commands and replies

  public sealed interface Command extends TwinhubSerializable {}

  /** A message for the device, not yet accepted (enqueued time and expiry are set here); {@code generationId}: the device identity's. */
  public record Send(CloudToDeviceMessage message, String generationId, ActorRef<SendResult> replyTo) implements Command {}

  /** Removes every queued message (each settles as Purged); answered with how many. */
  public record Purge(String generationId, ActorRef<Purged> replyTo) implements Command {}

  public record GetDepth(ActorRef<Depth> replyTo) implements Command {}

  /**
   * A device session that subscribed to cloud-to-device messages attaches, or re-attaches as a
   * heartbeat. A newer {@code generation} takes over; an older one is ignored (a late heartbeat
   * of a replaced connection). Answered with the queue depth.
   */
  public record AttachReceiver(ActorRef<SessionMessage> session, String sessionId, long generation, String generationId,
                               ActorRef<Depth> replyTo) implements Command {}

  public record DetachReceiver(String sessionId) implements Command {}

  /** The device's answer to one delivery, named by its lock token. */
  public record Settle(String lockToken, Disposition disposition) implements Command {}

  public enum Disposition { COMPLETE, ABANDON, REJECT }

  /** Internal: a lock may have run out. */
  record LockTick() implements Command {}

  /** Internal: the attached session's actor stopped. */
  record ReceiverStopped(String sessionId) implements Command {}

  public sealed interface SendResult extends TwinhubSerializable {}

  public record Queued(String messageId, int depth) implements SendResult {}

  public record Refused(IotHubError error) implements SendResult {}

  public record Depth(int depth) implements TwinhubSerializable {}

  public record Purged(int count) implements TwinhubSerializable {}

  // ------------------------------------------------------------------ events

  public sealed interface Event extends TwinhubSerializable {}

  public record Enqueued(long seq, String generationId, CloudToDeviceMessage message) implements Event {}

  /**
   * A message's final outcome; self-contained, since it is also the feedback record
   * ({@code originalMessageId}, {@code deviceId}, {@code statusCode}, {@code enqueuedTimeUtc} = {@code at}).
   */
  public record Settled(long seq, FeedbackStatus status, Instant at, String deviceId, String messageId,
                        String generationId, DeliveryAck ack) implements Event {
    public boolean wantsFeedback() {
      return ack != null && ack.wants(status);
    }
  }

  /** The device identity was re-created (another generation id): the old incarnation's messages are dropped. */
  public record Reset(String generationId, Instant at) implements Event {}

  // ------------------------------------------------------------------ state (pure)

  public record Queue(long seq, CloudToDeviceMessage message) implements TwinhubSerializable {}

  /** The queued messages in order, the device generation they belong to, the next sequence number. */
  public record State(String generationId, long nextSeq, List<Queue> queued) implements TwinhubSerializable {
    public static final State EMPTY = new State(null, 1, List.of());

    public State {
      queued = List.copyOf(queued);
    }

    public int depth() {
      return queued.size();
    }

    public Optional<Queue> find(long seq) {
      for (Queue q : queued) if (q.seq() == seq) return Optional.of(q);
      return Optional.empty();
    }

    /** Why {@code m} may not be queued now, if it may not. */
    public Optional<IotHubError> refusal(CloudToDeviceMessage m, CloudToDeviceSettings s) {
      int size = m.body().length;
      for (Map.Entry<String, String> p : m.properties().entrySet()) size += p.getKey().length() + p.getValue().length();
      if (size > s.maxMessageBytes()) {
        return Optional.of(IotHubError.of(IotHubErrorCode.MessageTooLarge,
            "message of " + size + " bytes exceeds the maximum of " + s.maxMessageBytes()));
      }
      if (depth() >= s.maxQueueDepth()) {
        return Optional.of(IotHubError.of(IotHubErrorCode.DeviceMaximumQueueDepthExceeded,
            "Device Queue depth cannot exceed " + s.maxQueueDepth() + " messages"));
      }
      return Optional.empty();
    }

    /** Whether a device generation other than this queue's asks: the queue then starts over. */
    public boolean otherGeneration(String gen) {
      return gen != null && generationId != null && !gen.equals(generationId) && !queued.isEmpty();
    }

    /** The outcome {@code status} for queued message {@code q} at {@code at}. */
    public Settled settle(Queue q, FeedbackStatus status, Instant at) {
      CloudToDeviceMessage m = q.message();
      return new Settled(q.seq(), status, at, m.deviceId(), m.messageId(), generationId, m.ack());
    }

    /** Messages whose expiry time passed at {@code now}, settled as Expired. */
    public List<Settled> expire(Instant now) {
      List<Settled> out = new ArrayList<>();
      for (Queue q : queued) if (q.message().expiredAt(now)) out.add(settle(q, FeedbackStatus.Expired, now));
      return out;
    }

    public List<Settled> purge(Instant now) {
      return queued.stream().map(q -> settle(q, FeedbackStatus.Purged, now)).toList();
    }

    public State apply(Event e) {
      if (e instanceof Enqueued en) {
        List<Queue> next = new ArrayList<>(queued);
        next.add(new Queue(en.seq(), en.message()));
        return new State(en.generationId(), en.seq() + 1, next);
      }
      if (e instanceof Settled s) {
        return new State(generationId, nextSeq, queued.stream().filter(q -> q.seq() != s.seq()).toList());
      }
      if (e instanceof Reset r) return new State(r.generationId(), nextSeq, List.of());
      throw new IllegalArgumentException("unknown event " + e);
    }
  }

  // ------------------------------------------------------------------ the entity: sequencing only

  private final String deviceId;
  private final CloudToDeviceSettings settings;
  private final Clock clock;
  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final Deliveries deliveries = new Deliveries();
  /** The sender of the message being journaled: answered 503 if the journal fails it. */
  private final PersistFailures.Pending pending = new PersistFailures.Pending();
  private ActorRef<SessionMessage> receiver;
  private String receiverId;
  private long receiverGeneration = Long.MIN_VALUE;

  private CloudToDeviceQueue(String deviceId, CloudToDeviceSettings settings, Clock clock, ActorContext<Command> context,
                             TimerScheduler<Command> timers) {
    super(PersistenceId.of(TYPE_KEY.name(), deviceId), PersistFailures.backoff(context.getSystem()));
    this.deviceId = deviceId;
    this.settings = settings;
    this.clock = clock;
    this.context = context;
    this.timers = timers;
  }

  /** Hosted only on cluster members with {@code role} (null: on every member), like the twins; others proxy. */
  public static void init(ActorSystem<?> system, CloudToDeviceSettings settings, String role) {
    var entity = Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId(), settings, Clock.systemUTC()));
    ClusterSharding.get(system).init(role == null ? entity : entity.withRole(role));
  }

  public static Behavior<Command> create(String deviceId, CloudToDeviceSettings settings, Clock clock) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new CloudToDeviceQueue(deviceId, settings, clock, ctx, timers)));
  }

  @Override
  public State emptyState() {
    return State.EMPTY;
  }

  /**
   * A failed journal write restarts the queue (Akka cancels its timers): the send it was writing
   * is refused 503; after the replay the attached session gets what is visible and the lock
   * timer runs again.
   */
  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), this::deliver)
        .onSignal(PreRestart.instance(), s -> pending.failed())
        .onSignal(PostStop.instance(), s -> pending.failed())
        .build();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(Send.class, this::onSend)
        .onCommand(Purge.class, this::onPurge)
        .onCommand(GetDepth.class, (s, c) -> persistThen(s, sweep(s), c.replyTo(), after -> new Depth(after.depth())))
        .onCommand(AttachReceiver.class, this::onAttach)
        .onCommand(DetachReceiver.class, (s, c) -> {
          if (c.sessionId().equals(receiverId)) forgetReceiver();
          return Effect().noReply();
        })
        .onCommand(ReceiverStopped.class, (s, c) -> {
          if (c.sessionId().equals(receiverId)) forgetReceiver();
          return Effect().noReply();
        })
        .onCommand(Settle.class, this::onSettle)
        .onCommand(LockTick.class, (s, c) -> {
          deliveries.expireLocks(clock.instant());
          return persistThen(s, sweep(s), null, after -> null);
        })
        .build();
  }

  private ReplyEffect<Event, State> onSend(State s, Send c) {
    Instant now = clock.instant();
    List<Event> events = new ArrayList<>();
    State current = s;
    if (s.otherGeneration(c.generationId())) {
      events.add(new Reset(c.generationId(), now));
      current = current.apply(events.get(0));
    }
    for (Settled e : sweep(current)) {
      events.add(e);
      current = current.apply(e);
    }
    Optional<IotHubError> refused = current.refusal(c.message(), settings);
    if (refused.isPresent()) {
      if (!events.isEmpty()) pending.await(c.replyTo(), () -> new Refused(PersistFailures.notWritten("the expiries before message "
          + c.message().messageId() + " for " + deviceId)));
      return persistThen(s, events, c.replyTo(), after -> new Refused(refused.get()));
    }
    CloudToDeviceMessage accepted = c.message().accepted(now, settings.defaultTtl(), settings.maxTtl());
    events.add(new Enqueued(current.nextSeq(), c.generationId() != null ? c.generationId() : current.generationId(), accepted));
    pending.await(c.replyTo(), () -> new Refused(PersistFailures.notWritten("message " + accepted.messageId() + " for " + deviceId)));
    return persistThen(s, events, c.replyTo(), after -> new Queued(accepted.messageId(), after.depth()));
  }

  private ReplyEffect<Event, State> onPurge(State s, Purge c) {
    Instant now = clock.instant();
    List<Event> events = new ArrayList<>(s.purge(now));
    int n = events.size();
    return persistThen(s, events, c.replyTo(), after -> new Purged(n));
  }

  private ReplyEffect<Event, State> onAttach(State s, AttachReceiver c) {
    boolean current = c.sessionId().equals(receiverId);
    if (!current && c.generation() < receiverGeneration) {
      return Effect().reply(c.replyTo(), new Depth(s.depth())); // a replaced connection: it gets nothing
    }
    if (!current) {
      // A new connection: what the old one held but never completed becomes visible again.
      if (receiver != null) context.unwatch(receiver);
      deliveries.unlockAll();
      receiver = c.session();
      receiverId = c.sessionId();
      receiverGeneration = c.generation();
      context.watchWith(receiver, new ReceiverStopped(c.sessionId()));
    }
    List<Event> events = new ArrayList<>();
    State state = s;
    if (s.otherGeneration(c.generationId())) {
      events.add(new Reset(c.generationId(), clock.instant()));
      state = state.apply(events.get(0));
    }
    events.addAll(sweep(state));
    return persistThen(s, events, c.replyTo(), after -> new Depth(after.depth()));
  }

  private ReplyEffect<Event, State> onSettle(State s, Settle c) {
    Instant now = clock.instant();
    if (c.disposition() == Disposition.COMPLETE) {
      // A completion is good news even if its lock ran out meanwhile: the device has the message.
      Optional<Queue> q = seqIn(c.lockToken()).flatMap(s::find);
      if (q.isEmpty()) return Effect().noReply();
      return persistThen(s, List.of(s.settle(q.get(), FeedbackStatus.Success, now)), null, after -> null);
    }
    Optional<Queue> q = deliveries.seqOf(c.lockToken()).flatMap(s::find);
    if (q.isEmpty()) return Effect().noReply();
    if (c.disposition() == Disposition.REJECT) {
      return persistThen(s, List.of(s.settle(q.get(), FeedbackStatus.Rejected, now)), null, after -> null);
    }
    deliveries.unlock(q.get().seq());
    return persistThen(s, sweep(s), null, after -> null);
  }

  /** The queue sequence number a lock token ({@code <seq>.<delivery>}) names; -1 if it names none. */
  public static long sequenceOf(String lockToken) {
    return seqIn(lockToken).orElse(-1L);
  }

  private static Optional<Long> seqIn(String token) {
    int dot = token == null ? -1 : token.indexOf('.');
    try {
      return dot <= 0 ? Optional.empty() : Optional.of(Long.parseLong(token.substring(0, dot)));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** Outcomes due now without any command: expired messages, and ones delivered the maximum number of times. */
  private List<Settled> sweep(State s) {
    Instant now = clock.instant();
    List<Settled> out = new ArrayList<>(s.expire(now));
    for (long seq : deliveries.exhausted(settings.maxDeliveryCount())) {
      s.find(seq).filter(q -> !q.message().expiredAt(now))
          .ifPresent(q -> out.add(s.settle(q, FeedbackStatus.DeliveryCountExceeded, now)));
    }
    return out;
  }

  /** Persists {@code events} (if any), then delivers what can be delivered, then replies ({@code replyTo} null: no reply). */
  private <R> ReplyEffect<Event, State> persistThen(State s, List<? extends Event> events, ActorRef<R> replyTo,
                                                    java.util.function.Function<State, R> reply) {
    if (events.isEmpty()) {
      deliver(s);
      return replyTo == null ? Effect().noReply() : Effect().reply(replyTo, reply.apply(s));
    }
    var persist = Effect().persist(List.<Event>copyOf(events)).thenRun(after -> {
      pending.written();
      deliver(after);
    });
    return replyTo == null ? persist.thenNoReply() : persist.thenReply(replyTo, reply::apply);
  }

  /** Hands visible messages to the attached session, up to the in-flight limit, in order. */
  private void deliver(State s) {
    if (receiver == null) return;
    Instant now = clock.instant();
    for (Queue q : s.queued()) {
      if (deliveries.lockedCount() >= settings.maxInFlight()) break;
      if (deliveries.isLocked(q.seq()) || q.message().expiredAt(now)
          || deliveries.deliveries(q.seq()) >= settings.maxDeliveryCount()) continue;
      int previous = deliveries.deliveries(q.seq());
      String token = deliveries.lock(q.seq(), now, settings.lockTimeout());
      receiver.tell(new SessionMessage.CloudToDevice(token, q.message(), previous + 1));
    }
    deliveries.nextLockExpiry().ifPresent(at ->
        timers.startSingleTimer(LockTick.class, new LockTick(), Duration.between(now, at).plusMillis(10)));
  }

  private void forgetReceiver() {
    if (receiver != null) context.unwatch(receiver);
    receiver = null;
    receiverId = null;
    deliveries.unlockAll();
    timers.cancel(LockTick.class);
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent((s, e) -> {
      if (e instanceof Settled settled) deliveries.forget(settled.seq());
      if (e instanceof Reset) deliveries.clear();
      return s.apply(e);
    });
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return event instanceof Settled s && s.wantsFeedback() ? Set.of(FEEDBACK_TAG) : Set.of();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(SNAPSHOT_EVERY, 2);
  }
}
