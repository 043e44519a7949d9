package io.twinhub.twin.entity;

import akka.actor.typed.ActorRef;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.CommandHandlerWithReplyBuilderByState;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.ReplyEffect;
import akka.persistence.typed.javadsl.RetentionCriteria;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.domain.TwinState;
import io.twinhub.twin.entity.TwinCommand.*;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.RejectionErrors;

import java.time.Clock;
import java.time.Instant;
import java.util.Set;

/**
 * What device and module entities share: the identity with its twin, one event per accepted
 * command, replies only after the event is journaled. Business rules are the pure domain's
 * ({@link TwinState#decide}, {@link Identity#update}); this class only sequences.
 */
abstract class TwinEntity extends EventSourcedBehaviorWithEnforcedReplies<TwinCommand, TwinEvent, TwinRecord> {
  static final int SNAPSHOT_EVERY = 100;

  protected final String deviceId;
  protected final String moduleId;
  protected final TwinLimits limits;
  protected final Clock clock;

  TwinEntity(PersistenceId persistenceId, String deviceId, String moduleId, TwinLimits limits, Clock clock) {
    super(persistenceId);
    this.deviceId = deviceId;
    this.moduleId = moduleId;
    this.limits = limits;
    this.clock = clock;
  }

  // What differs between a device and a module.
  abstract TwinEvent created(Identity identity, TwinEvent.Versions versions, Instant at);

  abstract TwinEvent updated(Identity identity, Instant at);

  abstract TwinEvent deleted(TwinRecord state, Instant at);

  abstract IotHubError notFound();

  abstract IotHubError alreadyExists();

  /** Extra commands of the entity kind (device: module registration). */
  abstract void addCommands(CommandHandlerWithReplyBuilderByState<TwinCommand, TwinEvent, TwinRecord, TwinRecord> b);

  @Override
  public TwinRecord emptyState() {
    return TwinRecord.EMPTY;
  }

  @Override
  public CommandHandlerWithReply<TwinCommand, TwinEvent, TwinRecord> commandHandler() {
    var b = newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(GetTwin.class, this::onGet)
        .onCommand(CreateIdentity.class, this::onCreate)
        .onCommand(UpdateIdentity.class, this::onUpdateIdentity)
        .onCommand(DeleteIdentity.class, this::onDelete)
        .onCommand(UpdateTwin.class, this::onUpdateTwin)
        .onCommand(SetConnectionState.class, this::onConnectionState);
    addCommands(b);
    return b.build();
  }

  @Override
  public EventHandler<TwinRecord, TwinEvent> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(TwinRecord::apply);
  }

  @Override
  public Set<String> tagsFor(TwinEvent event) {
    return Set.of(TwinTags.forDevice(deviceId));
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(SNAPSHOT_EVERY, 2);
  }

  private ReplyEffect<TwinEvent, TwinRecord> onGet(TwinRecord s, GetTwin c) {
    return s.exists() ? Effect().reply(c.replyTo(), accepted(s)) : reject(c.replyTo(), notFound());
  }

  private ReplyEffect<TwinEvent, TwinRecord> onCreate(TwinRecord s, CreateIdentity c) {
    if (s.exists()) return reject(c.replyTo(), alreadyExists());
    Instant at = clock.instant();
    return Identity.create(deviceId, moduleId, c.spec(), c.generationId()).fold(
        identity -> persistAndReply(created(s.continuing(identity), s.versionsOnCreate(), at), c.replyTo()),
        rejection -> reject(c.replyTo(), RejectionErrors.toError(rejection)));
  }

  private ReplyEffect<TwinEvent, TwinRecord> onUpdateIdentity(TwinRecord s, UpdateIdentity c) {
    if (!s.exists()) return reject(c.replyTo(), notFound());
    Instant at = clock.instant();
    return s.twin().identity().update(c.spec(), c.ifMatch(), at).fold(
        identity -> persistAndReply(updated(identity, at), c.replyTo()),
        rejection -> reject(c.replyTo(), RejectionErrors.toError(rejection)));
  }

  private ReplyEffect<TwinEvent, TwinRecord> onDelete(TwinRecord s, DeleteIdentity c) {
    if (!s.exists()) {
      return c.idempotent() ? Effect().reply(c.replyTo(), new TwinReply.Accepted(null, null)) : reject(c.replyTo(), notFound());
    }
    return s.twin().identity().checkDelete(c.ifMatch()).fold(
        ok -> Effect().persist(deleted(s, clock.instant()))
            .thenRun(this::afterDelete)
            .thenReply(c.replyTo(), after -> new TwinReply.Accepted(s.twin(), s.modules())),
        rejection -> reject(c.replyTo(), RejectionErrors.toError(rejection)));
  }

  /** Hook after a deletion is journaled (device: cascade to its modules). */
  void afterDelete(TwinRecord state) {}

  private ReplyEffect<TwinEvent, TwinRecord> onUpdateTwin(TwinRecord s, UpdateTwin c) {
    if (!s.exists()) return reject(c.replyTo(), notFound());
    Instant at = clock.instant();
    return s.twin().state().decide(c.update(), c.ifMatch(), at, limits).fold(
        next -> persistAndReply(TwinEvent.of(c.update(), versionsOf(next), at), c.replyTo()),
        rejection -> reject(c.replyTo(), RejectionErrors.toError(rejection)));
  }

  private ReplyEffect<TwinEvent, TwinRecord> onConnectionState(TwinRecord s, SetConnectionState c) {
    if (!s.exists()) return reject(c.replyTo(), notFound());
    return persistAndReply(new TwinEvent.ConnectionStateChanged(c.state(), clock.instant()), c.replyTo());
  }

  protected ReplyEffect<TwinEvent, TwinRecord> persistAndReply(TwinEvent event, ActorRef<TwinReply> replyTo) {
    return Effect().persist(event).thenReply(replyTo, TwinEntity::accepted);
  }

  protected ReplyEffect<TwinEvent, TwinRecord> reject(ActorRef<TwinReply> replyTo, IotHubError error) {
    return Effect().reply(replyTo, new TwinReply.Rejected(error));
  }

  static TwinReply accepted(TwinRecord s) {
    return new TwinReply.Accepted(s.twin(), s.modules());
  }

  static TwinEvent.Versions versionsOf(TwinState s) {
    return new TwinEvent.Versions(s.version(), s.desired().version(), s.reported().version());
  }
}
