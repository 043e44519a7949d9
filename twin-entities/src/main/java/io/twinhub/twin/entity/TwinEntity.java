package io.twinhub.twin.entity;

import akka.actor.typed.ActorRef;
import akka.actor.typed.PostStop;
import akka.actor.typed.PreRestart;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.RecoveryCompleted;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.CommandHandlerWithReplyBuilderByState;
import akka.persistence.typed.javadsl.EffectBuilder;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.ReplyEffect;
import akka.persistence.typed.javadsl.RetentionCriteria;
import akka.persistence.typed.javadsl.SignalHandler;
import io.twinhub.twin.PersistFailures;
import io.twinhub.twin.auth.SasToken;
import io.twinhub.twin.auth.SasVerifier;
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
import java.util.ArrayDeque;
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
  private final Duration disconnectGrace;
  private final TwinEventFeed feed;
  private final String tag;

  /** Desired changes kept for a device that is connected but not attached here (see {@link #undelivered}). */
  static final int MAX_UNDELIVERED = 32;

  // The attached device session: in memory only. A session re-attaches as a heartbeat, so a
  // restarted or moved entity learns it again; one that stops heart-beating expires.
  private ActorRef<SessionMessage> session;
  private String sessionId;
  private boolean desiredSubscribed;
  private boolean methodsSubscribed;
  /** The MQTT session state the last connection left at its detach (in memory only), until the next attach. */
  private KeptSession kept;
  /** Highest connection generation seen by this incarnation: older connections cannot take the twin back. */
  private long generation = Long.MIN_VALUE;
  /** Device traffic newer than the journaled lastActivityTime (in memory; journaled with the next connection-state event). */
  private Instant lastActivity;
  /**
   * Desired notifications journaled while the twin is Connected but no subscribed session is attached
   * here (after a restart or a move, until the session's next heartbeat), also rebuilt by replay
   * since the last snapshot: re-sent in order when the session re-attaches, so that a short absence
   * of the session does not force the device to reconnect. Empty whenever a session is attached.
   */
  private final ArrayDeque<SessionMessage.DesiredChanged> undelivered = new ArrayDeque<>(0);
  /** The caller of the command being journaled: answered 503 if the journal fails it. */
  private final PersistFailures.Pending pending = new PersistFailures.Pending();

  TwinEntity(PersistenceId persistenceId, String deviceId, String moduleId, EntitySettings settings,
             ActorContext<TwinCommand> context, TimerScheduler<TwinCommand> timers) {
    super(persistenceId, PersistFailures.backoff(context.getSystem()));
    this.deviceId = deviceId;
    this.moduleId = moduleId;
    this.limits = settings.limits();
    this.clock = settings.clock();
    this.sessionTimeout = settings.sessionTimeout();
    this.disconnectGrace = settings.disconnectGrace();
    this.context = context;
    this.timers = timers;
    this.feed = TwinEventFeed.get(context.getSystem());
    this.tag = TwinTags.forDevice(deviceId);
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
        .onCommand(LookupForConnect.class, this::onLookupForConnect)
        .onCommand(CreateIdentity.class, this::onCreate)
        .onCommand(UpdateIdentity.class, this::onUpdateIdentity)
        .onCommand(DeleteIdentity.class, this::onDelete)
        .onCommand(UpdateTwin.class, this::onUpdateTwin)
        .onCommand(UpdateTwinForJob.class, this::onUpdateTwinForJob)
        .onCommand(SetConnectionState.class, this::onConnectionState)
        .onCommand(AttachSession.class, this::onAttach)
        .onCommand(DetachSession.class, this::onDetach)
        .onCommand(InvokeMethod.class, this::onInvokeMethod)
        .onCommand(ExpireSession.class, this::onExpireSession)
        .onCommand(DisconnectDue.class, this::onDisconnectDue);
    addCommands(b);
    return b.build();
  }

  @Override
  public EventHandler<TwinRecord, TwinEvent> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent((s, e) -> {
      TwinRecord after = s.apply(e);
      keepUndelivered(e, after);
      return after;
    });
  }

  @Override
  public SignalHandler<TwinRecord> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), this::recovered)
        .onSignal(PreRestart.instance(), s -> journalFailed())
        .onSignal(PostStop.instance(), s -> journalFailed())
        .build();
  }

  /**
   * The journal failed a write (or it was stopped with one in flight): its caller gets 503, and
   * the restart's replay will rebuild what the event handler keeps in memory. Akka cancelled the
   * timers; {@link #recovered} starts the session's expiry again.
   */
  private void journalFailed() {
    pending.failed();
    undelivered.clear();
  }

  /**
   * After recovery: a twin journaled as Connected has a session somewhere that will re-attach
   * within the session timeout, or none any more (its node died): then it expires as usual.
   */
  void recovered(TwinRecord state) {
    if (isConnected(state)) timers.startSingleTimer(ExpireSession.class, new ExpireSession(), sessionTimeout);
  }

  @Override
  public Set<String> tagsFor(TwinEvent event) {
    return Set.of(tag);
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(SNAPSHOT_EVERY, 2);
  }

  private ReplyEffect<TwinEvent, TwinRecord> onGet(TwinRecord s, GetTwin c) {
    return s.exists() ? Effect().reply(c.replyTo(), view(s)) : reject(c.replyTo(), notFound());
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
        identity -> persist(updated(identity, at), c.replyTo())
            .thenRun(after -> {
              if (identity.status() == DeviceStatus.DISABLED) closeSession("identity disabled");
            })
            .thenReply(c.replyTo(), this::view),
        rejection -> reject(c.replyTo(), RejectionErrors.toError(rejection)));
  }

  private ReplyEffect<TwinEvent, TwinRecord> onDelete(TwinRecord s, DeleteIdentity c) {
    if (!s.exists()) {
      return c.idempotent() ? Effect().reply(c.replyTo(), new TwinReply.Accepted(null, null)) : reject(c.replyTo(), notFound());
    }
    return s.twin().identity().checkDelete(c.ifMatch()).fold(
        ok -> persist(deleted(s, clock.instant()), c.replyTo())
            .thenRun(after -> closeSession("identity deleted"))
            .thenRun(this::afterDelete)
            .thenReply(c.replyTo(), after -> new TwinReply.Accepted(s.twin(), s.modules())),
        rejection -> reject(c.replyTo(), RejectionErrors.toError(rejection)));
  }

  /** Hook after a deletion is journaled (device: cascade to its modules). */
  void afterDelete(TwinRecord state) {}

  private ReplyEffect<TwinEvent, TwinRecord> onUpdateTwin(TwinRecord s, UpdateTwin c) {
    // Real time, not the domain clock: the gateway's deadline is wall-clock milliseconds.
    long late = c.notAfter() == 0 ? 0 : System.currentTimeMillis() - c.notAfter();
    if (late > 0) {
      return reject(c.replyTo(), IotHubError.of(IotHubErrorCode.ServiceUnavailable,
          "the twin took " + late + " ms longer than the write's admission deadline to take it; not applied, retry"));
    }
    if (!s.exists()) return reject(c.replyTo(), notFound());
    Instant at = clock.instant();
    long taken = System.nanoTime();
    return s.twin().state().decide(c.update(), c.ifMatch(), at, limits).fold(
        next -> persist(TwinEvent.of(c.update(), versionsOf(next), at, c.by()), c.replyTo())
            .thenRun(after -> {
              notifyDesired(c.update(), after);
            })
            .thenReply(c.replyTo(), after -> journaled(view(after), taken)),
        rejection -> reject(c.replyTo(), RejectionErrors.toError(rejection)));
  }

  private ReplyEffect<TwinEvent, TwinRecord> onUpdateTwinForJob(TwinRecord s, UpdateTwinForJob c) {
    if (!s.exists()) return reject(c.replyTo(), notFound());
    if (s.appliedJob(c.jobId())) return Effect().reply(c.replyTo(), view(s)); // a repeat: already done
    Instant at = clock.instant();
    return s.twin().state().decide(c.update(), null, at, limits).fold(
        next -> persist(new TwinEvent.TwinPatched(c.update().tagsPatch(), c.update().desiredPatch(),
                versionsOf(next), at, c.jobId()), c.replyTo())
            .thenRun(after -> notifyDesired(c.update(), after))
            .thenReply(c.replyTo(), this::view),
        rejection -> reject(c.replyTo(), RejectionErrors.toError(rejection)));
  }

  private ReplyEffect<TwinEvent, TwinRecord> onConnectionState(TwinRecord s, SetConnectionState c) {
    if (!s.exists()) return reject(c.replyTo(), notFound());
    return persistAndReply(new TwinEvent.ConnectionStateChanged(c.state(), clock.instant()), c.replyTo());
  }

  private ReplyEffect<TwinEvent, TwinRecord> onAttach(TwinRecord s, AttachSession c) {
    if (!s.exists()) return reject(c.replyTo(), notFound());
    if (!mayAttach(c.sessionId(), c.generation())) {
      // A late attach or heartbeat of a connection that a newer one has replaced: it must not steal the twin back.
      return reject(c.replyTo(), IotHubError.of(IotHubErrorCode.Conflict,
          "session " + c.sessionId() + " was taken over by a newer connection"));
    }
    attach(c.session(), c.sessionId(), c.generation(), c.desired(), c.methods(), c.deliveredDesired());
    if (c.lastActivity() != null) noteActivity(c.lastActivity());
    return isConnected(s)
        ? Effect().reply(c.replyTo(), view(s))
        : persistAndReply(new TwinEvent.ConnectionStateChanged(ConnectionState.CONNECTED, clock.instant()), c.replyTo());
  }

  /**
   * A connecting device's lookup; with {@link ConnectAttach} also its attach, in the same round
   * trip, when this twin can decide it alone ({@link #attachAtLookup}); otherwise a lookup only.
   */
  private ReplyEffect<TwinEvent, TwinRecord> onLookupForConnect(TwinRecord s, LookupForConnect c) {
    if (!s.exists()) return Effect().reply(c.replyTo(), new ConnectLookup(new TwinReply.Rejected(notFound()), null));
    KeptSession was = kept;
    KeptSession.Attach what = attachAtLookup(s, c.attach());
    if (what == null) return Effect().reply(c.replyTo(), new ConnectLookup(view(s), was));
    ConnectAttach a = c.attach();
    attach(a.session(), a.sessionId(), a.generation(), what.desired(), what.methods(), -1);
    if (isConnected(s)) return Effect().reply(c.replyTo(), new ConnectLookup(view(s), was, true));
    TwinEvent connected = new TwinEvent.ConnectionStateChanged(ConnectionState.CONNECTED, clock.instant());
    return persist(connected, c.replyTo(), () -> new ConnectLookup(new TwinReply.Rejected(PersistFailures.notWritten(
            "ConnectionStateChanged of " + persistenceId().entityId())), null))
        .thenReply(c.replyTo(), after -> new ConnectLookup(view(after), was, true));
  }

  /**
   * What the twin attaches a connecting session for at its lookup, or null (it only looks up): the
   * session asked to be, it may take the twin over (generation), the identity is enabled, the
   * last connection's session says what to attach for, and the token is signed with the
   * identity's own key (the connection checked the rest: {@link ConnectAttach}).
   */
  private KeptSession.Attach attachAtLookup(TwinRecord s, ConnectAttach a) {
    if (a == null || kept == null || !mayAttach(a.sessionId(), a.generation())) return null;
    Identity id = s.twin().identity();
    if (id.status() == DeviceStatus.DISABLED) return null;
    KeptSession.Attach what = kept.attachAtConnect(a.cleanSession()).orElse(null);
    if (what == null) return null;
    var keys = id.authentication().keyPair();
    var token = SasToken.tryParse(a.sasToken());
    return keys.isPresent() && token.isPresent() && SasVerifier.signedByIdentity(token.get(), keys.get()) ? what : null;
  }

  /** The current session, or a newer connection than the current one's (an older one was taken over). */
  private boolean mayAttach(String attachingId, long attachingGeneration) {
    return attachingId.equals(sessionId) || attachingGeneration >= generation;
  }

  /** Makes {@code to} the attached session: the previous one (if another) is told to close. */
  private void attach(ActorRef<SessionMessage> to, String id, long gen, boolean desired, boolean methods,
                      long deliveredDesired) {
    if (session != null && !id.equals(sessionId)) {
      session.tell(new SessionMessage.CloseSession("taken over by session " + id));
    }
    timers.cancel(DisconnectDue.class); // a reconnect within the disconnect grace: still Connected, nothing journaled
    kept = null; // the attaching connection owns the session store now
    session = to;
    sessionId = id;
    generation = Math.max(generation, gen);
    desiredSubscribed = desired;
    methodsSubscribed = methods;
    resendUndelivered(to, desired, deliveredDesired);
    timers.startSingleTimer(ExpireSession.class, new ExpireSession(), sessionTimeout);
  }

  /**
   * Re-sends to a re-attaching session the desired changes it missed, if they follow on from what
   * it has without a hole; otherwise nothing (the session's gap check then closes the connection).
   */
  private void resendUndelivered(ActorRef<SessionMessage> to, boolean desired, long deliveredDesired) {
    if (desired && deliveredDesired >= 0 && !undelivered.isEmpty()) {
      long next = deliveredDesired + 1;
      SessionMessage.DesiredChanged first = undelivered.stream().filter(d -> d.desiredVersion() >= next).findFirst().orElse(null);
      if (first != null && first.desiredVersion() == next) {
        for (SessionMessage.DesiredChanged d : undelivered) if (d.desiredVersion() >= next) to.tell(d);
      }
    }
    undelivered.clear();
  }

  /** Keeps a desired notification that no attached session receives while the twin is Connected. */
  private void keepUndelivered(TwinEvent e, TwinRecord after) {
    if (!isConnected(after)) {
      undelivered.clear(); // disconnected or deleted: the device re-reads its twin when it comes back
      return;
    }
    if (e instanceof TwinEvent.TwinChanged change && session == null) {
      TwinJson.desiredNotification(change.update(), after.twin().state()).ifPresent(body -> {
        if (undelivered.size() >= MAX_UNDELIVERED) undelivered.removeFirst(); // the hole then closes the session
        undelivered.addLast(new SessionMessage.DesiredChanged(after.twin().state().desired().version(), JsonDoc.of(body)));
      });
    }
  }

  private void noteActivity(Instant at) {
    if (lastActivity == null || at.isAfter(lastActivity)) lastActivity = at;
  }

  private static boolean isConnected(TwinRecord s) {
    return s.exists() && s.twin().identity().connectionState() == ConnectionState.CONNECTED;
  }

  /** The reply for {@code s}, with the in-memory lastActivityTime when it is newer than the journaled one. */
  TwinReply view(TwinRecord s) {
    if (lastActivity == null || !s.exists()) return accepted(s);
    Identity id = s.twin().identity();
    if (id.lastActivityTime() != null && !lastActivity.isAfter(id.lastActivityTime())) return accepted(s);
    return new TwinReply.Accepted(s.twin().withIdentity(id.withActivity(lastActivity)), s.modules());
  }

  private ReplyEffect<TwinEvent, TwinRecord> onDetach(TwinRecord s, DetachSession c) {
    if (!c.sessionId().equals(sessionId)) {
      // An older, taken-over session: the twin stays Connected for the current one.
      return Effect().reply(c.replyTo(), new TwinReply.Accepted(s.exists() ? s.twin() : null, s.modules()));
    }
    forgetSession();
    kept = c.kept();
    Instant now = clock.instant();
    if (ConnectionGrace.deferDisconnect(isConnected(s), c.immediate(), disconnectGrace)) {
      timers.startSingleTimer(DisconnectDue.class, new DisconnectDue(now), disconnectGrace);
      return Effect().reply(c.replyTo(), view(s));
    }
    return disconnect(s, c.replyTo(), now);
  }

  /** The disconnect grace is over and no session attached within it: Disconnected, as of the detach. */
  private ReplyEffect<TwinEvent, TwinRecord> onDisconnectDue(TwinRecord s, DisconnectDue c) {
    if (session != null) return Effect().noReply(); // a late tick: a session attached after all
    return disconnect(s, null, c.detachedAt());
  }

  private ReplyEffect<TwinEvent, TwinRecord> onExpireSession(TwinRecord s, ExpireSession c) {
    if (session == null && !isConnected(s)) return Effect().noReply();
    context.getLog().info("session {} of {} stopped heart-beating (or none re-attached after recovery); marking Disconnected",
        sessionId, persistenceId());
    forgetSession();
    return disconnect(s, null, clock.instant());
  }

  private ReplyEffect<TwinEvent, TwinRecord> disconnect(TwinRecord s, ActorRef<TwinReply> replyTo, Instant at) {
    boolean connected = s.exists() && s.twin().identity().connectionState() == ConnectionState.CONNECTED;
    if (!connected) {
      return replyTo == null ? Effect().noReply()
          : Effect().reply(replyTo, new TwinReply.Accepted(s.exists() ? s.twin() : null, s.modules()));
    }
    var persist = persist(new TwinEvent.ConnectionStateChanged(ConnectionState.DISCONNECTED, at), replyTo);
    return replyTo == null ? persist.thenNoReply() : persist.thenReply(replyTo, this::view);
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
    kept = null;
  }

  private void forgetSession() {
    session = null;
    sessionId = null;
    desiredSubscribed = false;
    methodsSubscribed = false;
    timers.cancel(ExpireSession.class);
  }

  /**
   * Journals {@code event}; once acknowledged, also tells the live subscribers ({@link TwinEventFeed})
   * with its sequence number, so query indexes and feeds see it without the tag read-back. If the
   * journal fails it, {@code replyTo} (null: nobody waits) is answered 503 instead.
   */
  protected EffectBuilder<TwinEvent, TwinRecord> persist(TwinEvent event, ActorRef<TwinReply> replyTo) {
    return persist(event, replyTo, () -> new TwinReply.Rejected(PersistFailures.notWritten(event.getClass().getSimpleName()
        + " of " + persistenceId().entityId())));
  }

  /** As above, for a caller that takes another answer than a {@link TwinReply} ({@code refused}: its 503). */
  protected <R> EffectBuilder<TwinEvent, TwinRecord> persist(TwinEvent event, ActorRef<R> replyTo, java.util.function.Supplier<R> refused) {
    pending.await(replyTo, refused);
    return Effect().persist(event).thenRun(after -> {
      pending.written();
      feed.publish(persistenceId().id(), lastSequenceNumber(context), tag, event, System.currentTimeMillis());
    });
  }

  protected ReplyEffect<TwinEvent, TwinRecord> persistAndReply(TwinEvent event, ActorRef<TwinReply> replyTo) {
    return persist(event, replyTo).thenReply(replyTo, this::view);
  }

  protected ReplyEffect<TwinEvent, TwinRecord> reject(ActorRef<TwinReply> replyTo, IotHubError error) {
    return Effect().reply(replyTo, new TwinReply.Rejected(error));
  }

  /**
   * The answer to a write this entity journaled, with the journal's time for it (command taken to
   * the journal's acknowledgement handled): what the node's admission limit adapts to, not the
   * time the write spent queued in the node before and after (TwinReply.Accepted#journalMicros).
   */
  static TwinReply journaled(TwinReply reply, long takenNanos) {
    return reply instanceof TwinReply.Accepted a ? a.withJournalNanos(System.nanoTime() - takenNanos) : reply;
  }

  static TwinReply accepted(TwinRecord s) {
    return new TwinReply.Accepted(s.twin(), s.modules());
  }

  static TwinEvent.Versions versionsOf(TwinState s) {
    return new TwinEvent.Versions(s.version(), s.desired().version(), s.reported().version());
  }
}
