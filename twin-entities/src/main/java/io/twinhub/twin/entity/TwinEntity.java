package io.twinhub.twin.entity;

import akka.actor.typed.ActorRef;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.CommandHandlerWithReplyBuilderByState;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.ReplyEffect;
import akka.persistence.typed.javadsl.RetentionCriteria;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.domain.TwinState;
import io.twinhub.twin.entity.TwinCommand.*;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;
import io.twinhub.twin.error.RejectionErrors;

import java.time.Clock;
import java.time.Duration;
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
  protected final ActorContext<TwinCommand> context;
  protected final TimerScheduler<TwinCommand> timers;
  private final Duration sessionTimeout;

  // The attached device session: in memory only. A session re-attaches as a heartbeat, so a
  // restarted or moved entity learns it again; one that stops heart-beating expires.
  private ActorRef<SessionMessage> session;
  private String sessionId;
  private boolean desiredSubscribed;
  private boolean methodsSubscribed;

  TwinEntity(PersistenceId persistenceId, String deviceId, String moduleId, EntitySettings settings,
             ActorContext<TwinCommand> context, TimerScheduler<TwinCommand> timers) {
    super(persistenceId);
    this.deviceId = deviceId;
    this.moduleId = moduleId;
    this.limits = settings.limits();
    this.clock = settings.clock();
    this.sessionTimeout = settings.sessionTimeout();
    this.context = context;
    this.timers = timers;
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
        .onCommand(SetConnectionState.class, this::onConnectionState)
        .onCommand(AttachSession.class, this::onAttach)
        .onCommand(DetachSession.class, this::onDetach)
        .onCommand(InvokeMethod.class, this::onInvokeMethod)
        .onCommand(ExpireSession.class, this::onExpireSession);
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
        identity -> Effect().persist(updated(identity, at))
            .thenRun(after -> {
              if (identity.status() == DeviceStatus.DISABLED) closeSession("identity disabled");
            })
            .thenReply(c.replyTo(), TwinEntity::accepted),
        rejection -> reject(c.replyTo(), RejectionErrors.toError(rejection)));
  }

  private ReplyEffect<TwinEvent, TwinRecord> onDelete(TwinRecord s, DeleteIdentity c) {
    if (!s.exists()) {
      return c.idempotent() ? Effect().reply(c.replyTo(), new TwinReply.Accepted(null, null)) : reject(c.replyTo(), notFound());
    }
    return s.twin().identity().checkDelete(c.ifMatch()).fold(
        ok -> Effect().persist(deleted(s, clock.instant()))
            .thenRun(after -> closeSession("identity deleted"))
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
        next -> Effect().persist(TwinEvent.of(c.update(), versionsOf(next), at))
            .thenRun(after -> notifyDesired(c.update(), after))
            .thenReply(c.replyTo(), TwinEntity::accepted),
        rejection -> reject(c.replyTo(), RejectionErrors.toError(rejection)));
  }

  private ReplyEffect<TwinEvent, TwinRecord> onConnectionState(TwinRecord s, SetConnectionState c) {
    if (!s.exists()) return reject(c.replyTo(), notFound());
    return persistAndReply(new TwinEvent.ConnectionStateChanged(c.state(), clock.instant()), c.replyTo());
  }

  private ReplyEffect<TwinEvent, TwinRecord> onAttach(TwinRecord s, AttachSession c) {
    if (!s.exists()) return reject(c.replyTo(), notFound());
    if (session != null && !session.equals(c.session())) {
      session.tell(new SessionMessage.CloseSession("taken over by session " + c.sessionId()));
    }
    session = c.session();
    sessionId = c.sessionId();
    desiredSubscribed = c.desired();
    methodsSubscribed = c.methods();
    timers.startSingleTimer(ExpireSession.class, new ExpireSession(), sessionTimeout);
    return s.twin().identity().connectionState() == ConnectionState.CONNECTED
        ? Effect().reply(c.replyTo(), accepted(s))
        : persistAndReply(new TwinEvent.ConnectionStateChanged(ConnectionState.CONNECTED, clock.instant()), c.replyTo());
  }

  private ReplyEffect<TwinEvent, TwinRecord> onDetach(TwinRecord s, DetachSession c) {
    if (!c.sessionId().equals(sessionId)) {
      // An older, taken-over session: the twin stays Connected for the current one.
      return Effect().reply(c.replyTo(), new TwinReply.Accepted(s.exists() ? s.twin() : null, s.modules()));
    }
    forgetSession();
    return disconnect(s, c.replyTo());
  }

  private ReplyEffect<TwinEvent, TwinRecord> onExpireSession(TwinRecord s, ExpireSession c) {
    if (session == null) return Effect().noReply();
    context.getLog().info("session {} of {} stopped heart-beating; marking Disconnected", sessionId, persistenceId());
    forgetSession();
    return disconnect(s, null);
  }

  private ReplyEffect<TwinEvent, TwinRecord> disconnect(TwinRecord s, ActorRef<TwinReply> replyTo) {
    boolean connected = s.exists() && s.twin().identity().connectionState() == ConnectionState.CONNECTED;
    if (!connected) {
      return replyTo == null ? Effect().noReply()
          : Effect().reply(replyTo, new TwinReply.Accepted(s.exists() ? s.twin() : null, s.modules()));
    }
    var persist = Effect().persist(new TwinEvent.ConnectionStateChanged(ConnectionState.DISCONNECTED, clock.instant()));
    return replyTo == null ? persist.thenNoReply() : persist.thenReply(replyTo, TwinEntity::accepted);
  }

  private ReplyEffect<TwinEvent, TwinRecord> onInvokeMethod(TwinRecord s, InvokeMethod c) {
    if (!s.exists()) {
      c.replyTo().tell(new DirectMethodReply.Failed(notFound()));
    } else if (session == null || !methodsSubscribed) {
      c.replyTo().tell(new DirectMethodReply.Failed(IotHubError.of(IotHubErrorCode.DeviceNotOnline,
          "Timed out waiting for device to connect: " + persistenceId().entityId() + " is not connected and subscribed to methods")));
    } else {
      session.tell(new SessionMessage.MethodRequest(c.methodName(), c.payload(), c.responseTimeout(), c.replyTo()));
    }
    return Effect().noReply();
  }

  /** Pushes a journaled desired change to the attached session, in $version order. */
  private void notifyDesired(TwinUpdate update, TwinRecord after) {
    if (session == null || !desiredSubscribed) return;
    TwinJson.desiredNotification(update, after.twin().state()).ifPresent(body ->
        session.tell(new SessionMessage.DesiredChanged(after.twin().state().desired().version(), JsonDoc.of(body))));
  }

  private void closeSession(String reason) {
    if (session != null) session.tell(new SessionMessage.CloseSession(reason));
    forgetSession();
  }

  private void forgetSession() {
    session = null;
    sessionId = null;
    desiredSubscribed = false;
    methodsSubscribed = false;
    timers.cancel(ExpireSession.class);
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
