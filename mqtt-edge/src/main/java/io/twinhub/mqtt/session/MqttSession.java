package io.twinhub.mqtt.session;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractOnMessageBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.util.ByteString;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.mqtt.codec.MqttPacket;
import io.twinhub.mqtt.codec.MqttPacket.*;
import io.twinhub.mqtt.session.DeviceTopics.Subscription;
import io.twinhub.mqtt.telemetry.TelemetryLog;
import io.twinhub.twin.auth.SasOutcome;
import io.twinhub.twin.c2d.CloudToDeviceQueue;
import io.twinhub.twin.auth.SasToken;
import io.twinhub.twin.auth.SasVerifier;
import io.twinhub.twin.auth.SymmetricKeyPair;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.Section;
import io.twinhub.twin.domain.Twin;
import io.twinhub.twin.domain.TwinDelta;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.DirectMethodReply;
import io.twinhub.twin.entity.KeptSession;
import io.twinhub.twin.entity.SessionMessage;
import io.twinhub.twin.entity.TwinCommand;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;
import io.twinhub.twin.error.RejectionErrors;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BiConsumer;

/**
 * One MQTT connection of a device or module: the protocol state machine between the socket
 * (packets in through a back-pressured sink, packets out through a bounded queue) and the
 * device's twin entity.
 *
 * <ul>
 *   <li>Overload ({@code twinhub.mqtt.overload-mode = delay}): a reported patch that finds the
 *       node at its admission limit waits for a slot (the limit hands freed slots to the newest
 *       waiter), unparsed, as the packet in progress, so the socket is not read meanwhile; only
 *       after {@code overload-wait} is it refused (429, never applied). The keep-alive check skips
 *       a session with a packet in progress, and a PINGREQ read behind the patch is answered after
 *       it (within overload-wait plus the write, far below any keep-alive).
 *   <li>Inbound packets are handled one at a time, in order: the next one is requested (acked
 *       to the stream) only when the work of the previous one is durable and answered. A slow
 *       entity or journal therefore back-pressures the socket. What a turn of this actor writes
 *       and its ack leave together at the end of the turn ({@link Outbound#endOfTurn}).
 *   <li>CONNECT: client id, user name and SAS token are checked against the identity's keys in
 *       its twin; then the session attaches to the twin entity (which closes any previous session
 *       of the same identity, on any node) and answers CONNACK. It re-attaches every
 *       heartbeat-interval; the token's expiry closes the connection.
 *   <li>Desired-change notifications are delivered in {@code $version} order without gaps: a gap
 *       (a version skipped, or a heartbeat showing a version never delivered) closes the
 *       connection so that the SDK reconnects and re-reads the twin.
 * </ul>
 */
public final class MqttSession extends AbstractOnMessageBehavior<Object> {

  public interface Command {}

  /** Stream protocol with the connection's {@code SessionStage}: a packet in, its ack asks for the next. */
  public enum Ack { ACK }

  public record StreamInit(ActorRef<Ack> ackTo) implements Command {}

  public record Inbound(MqttPacket packet, ActorRef<Ack> ackTo) implements Command {}

  public record StreamCompleted() implements Command {}

  public record StreamFailed(Throwable cause) implements Command {}

  /** The gateway stops: close the connection, detach, then answer. */
  public record Shutdown(ActorRef<Closed> replyTo) implements Command {}

  public record Closed() {}

  private record Resume(Runnable action) implements Command {}

  /**
   * DUE is the one timer of a connected session: it fires at the earliest of its keep-alive check,
   * heartbeat and token expiry (three timers per idle session cost more heap than the rest of its state).
   */
  private enum Tick implements Command { CONNECT_TIMEOUT, DUE, GAP_CHECK, STOP, READ_ON, ADMISSION_WAIT }

  /** The node's admission limit granted a slot to the reported patch waiting with this number. */
  private record Admitted(long number) implements Command {}

  /** A reported patch waiting for an admission slot (overload-mode = delay); nothing more is read meanwhile. */
  private record Waiting(long number, Publish packet, String rid, io.twinhub.twin.service.AdmissionLimit.Waiter waiter) {}

  private record MethodTimeout(String rid) implements Command {}

  private enum Phase { AWAIT_CONNECT, CONNECTING, CONNECTED, CLOSED }

  private record PendingMethod(String name, ActorRef<DirectMethodReply> replyTo) {}

  static final Set<Integer> SDK_STATUSES = Set.of(200, 204, 400, 401, 403, 404, 412, 413, 429, 500, 503);
  private static final ObjectMapper JSON = new ObjectMapper();
  /**
   * The level check of the per-packet trace lines and the per-connection debug lines: the same
   * logger as the context's, but {@code ctx.getLog()} also sets the actor's MDC on every call, and its
   * first call per actor builds the logging context (the actor's path and the system's address as
   * strings): once per connection otherwise (1.6 % of a resumed connect's node CPU, session 18).
   */
  private static final org.slf4j.Logger TRACE = org.slf4j.LoggerFactory.getLogger(MqttSession.class);
  private static final int MAX_BUFFERED_DESIRED = 256;

  private final ActorContext<Object> ctx;
  private final TimerScheduler<Object> timers;
  private final SessionDeps deps;
  private final Outbound out;
  private final String remote;
  /** This actor as the twin and the C2D queue address it: they send {@link SessionMessage}s straight to it (no adapter). */
  private final ActorRef<SessionMessage> twinAdapter;
  private final String sessionId = UUID.randomUUID().toString();
  /** Newer connections get larger generations: the twin refuses attaches of a connection older than its current one. */
  private final long generation = nextGeneration();

  private Phase phase = Phase.AWAIT_CONNECT;
  private ActorRef<Ack> ackTo;
  private boolean busy;
  private String deviceId;
  private String moduleId;
  private DeviceTopics topics;
  private long keepAliveNanos;
  private long lastInbound = System.nanoTime();
  /** When connected: the keep-alive check's period and the next due times (System.nanoTime) of the DUE timer's duties. */
  private long keepAliveCheckEvery;
  private long nextKeepAliveCheck;
  private long nextHeartbeat;
  private long tokenExpiresAt;
  /** Last PUBLISH from the device (its activity for lastActivityTime); 0 = none on this connection yet. */
  private long lastPublish;
  private final EnumMap<Subscription, Integer> subscriptions = new EnumMap<>(Subscription.class);
  /** The subscribed filters as the device wrote them (what a persistent session stores). */
  private final Map<String, Integer> filters = new LinkedHashMap<>();
  /** CleanSession=0: subscriptions are kept in the {@link SessionStore} across connections. */
  private boolean persistent;
  /**
   * The session store as this connection knows it, left with the twin at the detach: a session is
   * stored ({@code storePresent}) with {@link #filters} (what a persistent session saves), unless a
   * write's outcome is unknown ({@code storeUnsure}). Two flags, no copy: an idle session stays small.
   */
  private boolean storePresent;
  private boolean storeUnsure;
  /**
   * While CONNECTING: the twin attached this connection at its lookup; what it had kept, handed back
   * if the CONNECT is refused after all (the store was not touched). Null otherwise.
   */
  private KeptSession keptAtLookup;
  private boolean attachedDesired;
  private boolean attachedMethods;
  /** Last desired $version the device has (baseline at subscription, then each notification); -1 unknown. */
  private long deliveredDesired = -1;
  private long awaitedDesired = -1;
  private List<SessionMessage.DesiredChanged> bufferedDesired;
  private final Map<String, PendingMethod> pendingMethods = new HashMap<>();
  private int ridCounter;
  private int heartbeatFailures;
  private double tokens;
  private long tokensAt = System.nanoTime();
  private final List<ActorRef<Closed>> closeWaiters = new ArrayList<>(0);
  /** The device identity's generation id (from CONNECT): its cloud-to-device queue drops another generation's messages. */
  private String generationId;
  /** Attached to the device's cloud-to-device queue (devices only; a module's inputs are not C2D). */
  private boolean c2dAttached;
  /** Cloud-to-device messages published at QoS 1 and not yet PUBACKed: packet id → lock token. */
  private final Map<Integer, String> c2dInFlight = new HashMap<>();
  /**
   * Queue sequence numbers of the last {@value #C2D_COMPLETED} messages this connection PUBACKed
   * (a ring, allocated at the first PUBACK): a queue that comes back without their completion
   * (its incarnation changed before the write) gets the completion again instead of a second delivery.
   */
  private long[] c2dCompleted;
  private int c2dCompletedNext;
  private static final int C2D_COMPLETED = 64;
  private int lastPacketId;
  /** The gateway stops: the twin journals Disconnected at once (it may move, and its grace timer with it). */
  private boolean stopping;
  /** The reported patch waiting for an admission slot, if any (the packet in progress). */
  private Waiting waiting;
  private long waits;

  public static Behavior<Command> create(SessionDeps deps, Outbound out, String remote) {
    // The behavior takes Object so that the twin's SessionMessages need no message adapter; outside, it takes Commands.
    return Behaviors.<Object>setup(ctx -> Behaviors.withTimers(timers -> new MqttSession(ctx, timers, deps, out, remote))).narrow();
  }

  private MqttSession(ActorContext<Object> ctx, TimerScheduler<Object> timers, SessionDeps deps, Outbound out,
                      String remote) {
    super(ctx);
    this.ctx = ctx;
    this.timers = timers;
    this.deps = deps;
    this.out = out;
    this.remote = remote;
    this.twinAdapter = ctx.getSelf().narrow();
    this.tokens = deps.settings().twinOpsBurst();
    timers.startSingleTimer(Tick.CONNECT_TIMEOUT, Tick.CONNECT_TIMEOUT, deps.settings().connectTimeout());
  }

  @Override
  public Behavior<Object> onMessage(Object m) {
    try {
      return handle(m);
    } catch (RuntimeException e) {
      // A bug in any turn (a packet, a twin's answer, a timer) closes this connection with its reason;
      // thrown on, it would stop this actor and leave the device's socket open with no session behind it.
      ctx.getLog().warn("session {} of {} failed", sessionId, clientId(), e);
      closeByHub("internal error: " + e);
      return this;
    } finally {
      // What this turn wrote and its ack reach the stream as one (SessionStage: the hand-over rule).
      out.endOfTurn();
    }
  }

  private Behavior<Object> handle(Object m) {
    // One dispatch for every session (a ReceiveBuilder's cases would be built per actor).
    if (m instanceof Inbound in) return onInbound(in);
    if (m instanceof Resume r) {
      r.action().run();
      return this;
    }
    if (m instanceof SessionMessage fromTwin) {
      onTwinMessage(fromTwin);
      return this;
    }
    if (m instanceof Tick t) return onTick(t);
    if (m instanceof Admitted a) {
      onAdmitted(a.number());
      return this;
    }
    if (m instanceof StreamInit init) {
      out.done(init.ackTo());
      return this;
    }
    if (m instanceof StreamCompleted) return streamDone("connection closed by the device");
    if (m instanceof StreamFailed f) return streamDone("connection failed: " + f.cause().getMessage());
    if (m instanceof MethodTimeout t) {
      PendingMethod p = pendingMethods.remove(t.rid());
      if (p != null) {
        p.replyTo().tell(new DirectMethodReply.Failed(IotHubError.of(IotHubErrorCode.GatewayTimeout,
            "Timed out waiting for the response from device " + clientId() + " to method " + p.name())));
      }
      return this;
    }
    if (m instanceof Shutdown sd) {
      if (phase == Phase.CLOSED) {
        sd.replyTo().tell(new Closed());
      } else {
        closeWaiters.add(sd.replyTo());
        stopping = true;
        close("server shutting down");
      }
      return this;
    }
    return Behaviors.unhandled();
  }

  // ------------------------------------------------------------------ inbound packets

  private Behavior<Object> onInbound(Inbound m) {
    ackTo = m.ackTo();
    if (phase == Phase.CLOSED) return this; // no more demand: the connection is going away
    lastInbound = System.nanoTime();
    busy = true;
    MqttPacket p = m.packet();
    if (TRACE.isTraceEnabled()) ctx.getLog().trace("{} <- {}", clientId(), p);
    if (p instanceof Malformed bad) {
      close("malformed input: " + bad.reason());
      return this;
    }
    if (phase == Phase.AWAIT_CONNECT) {
      if (p instanceof Connect c) onConnect(c);
      else close("first packet is " + MqttCodec_name(p) + ", not CONNECT");
      return this;
    }
    if (p instanceof Publish pub) {
      lastPublish = lastInbound;
      onPublish(pub);
    }
    else if (p instanceof Subscribe s) onSubscribe(s);
    else if (p instanceof Unsubscribe u) onUnsubscribe(u);
    else if (p.type() == MqttPacket.PINGREQ) {
      send(Empty.PINGRESP_PACKET);
      done();
    } else if (p.type() == MqttPacket.DISCONNECT) close("device disconnected");
    else if (p.type() == MqttPacket.PUBACK) {
      // The device has the cloud-to-device message: complete it (a stray PUBACK is harmless).
      String token = c2dInFlight.remove(((PacketIdOnly) p).packetId());
      if (token != null) {
        deps.c2d().settle(deviceId, token, CloudToDeviceQueue.Disposition.COMPLETE);
        rememberCompleted(token);
      }
      done();
    }
    else close(MqttCodec_name(p) + " is not accepted here" + (p.type() >= MqttPacket.PUBREC && p.type() <= MqttPacket.PUBCOMP ? " (QoS 2 is not supported)" : ""));
    return this;
  }

  private static String MqttCodec_name(MqttPacket p) {
    return io.twinhub.mqtt.codec.MqttCodec.name(p.type());
  }

  /** The current packet is handled: ask the stream for the next one. */
  private void done() {
    busy = false;
    if (phase != Phase.CLOSED && ackTo != null) {
      ActorRef<Ack> a = ackTo;
      ackTo = null;
      out.done(a);
    }
  }

  private <T> void await(CompletionStage<T> stage, BiConsumer<T, Throwable> then) {
    ctx.pipeToSelf(stage, (v, e) -> new Resume(() -> {
      if (phase != Phase.CLOSED) then.accept(v, e);
    }));
  }

  // ------------------------------------------------------------------ CONNECT

  private void onConnect(Connect c) {
    phase = Phase.CONNECTING;
    if (!c.protocolName().equals("MQTT") || c.protocolLevel() != 4) {
      refuse(ConnectReturnCode.UNACCEPTABLE_PROTOCOL_VERSION, "protocol " + c.protocolName() + " level " + c.protocolLevel());
      return;
    }
    String cid = c.clientId();
    int slash = cid.indexOf('/');
    String dev = slash < 0 ? cid : cid.substring(0, slash);
    String mod = slash < 0 ? null : cid.substring(slash + 1);
    if (Identity.checkId(dev, "deviceId").isPresent() || (mod != null && Identity.checkId(mod, "moduleId").isPresent())) {
      refuse(ConnectReturnCode.IDENTIFIER_REJECTED, "client id is not <deviceId> or <deviceId>/<moduleId>");
      return;
    }
    if (!userNameMatches(c.userName(), cid)) {
      refuse(ConnectReturnCode.BAD_USERNAME_OR_PASSWORD, "user name is not <host>/" + cid + "/?api-version=...");
      return;
    }
    String token = c.passwordText();
    Optional<SasToken> parsed = SasToken.tryParse(token);
    if (parsed.isEmpty()) {
      refuse(ConnectReturnCode.NOT_AUTHORIZED, "password is not a SAS token");
      return;
    }
    deviceId = dev;
    moduleId = mod;
    long ka = c.keepAliveSeconds();
    long max = deps.settings().maxKeepAlive().toSeconds();
    keepAliveNanos = Duration.ofSeconds(ka == 0 || ka > max ? max : ka).toNanos();

    // The keys: the identity's own, and the device's when a module presents a device-scoped token.
    boolean deviceScoped = mod != null && !parsed.get().resourceUri().contains("/modules/");
    // The own twin's lookup also brings the session state the last connection left with it (if the twin is warm),
    // and attaches this connection in the same round trip when the twin can decide that alone: the token then
    // depends on nothing but the identity's own keys, which the twin holds (a reconnect's usual case).
    TwinCommand.ConnectAttach attachAtLookup = !deviceScoped && deps.verifier().needsOnlyOwnKeys(parsed.get(), dev, mod)
        ? new TwinCommand.ConnectAttach(twinAdapter, sessionId, generation, c.cleanSession(), token) : null;
    if (attachAtLookup != null) bufferedDesired = new ArrayList<>(); // the twin's pushes may overtake its answer
    CompletionStage<io.twinhub.twin.entity.ConnectLookup> own = deps.twins().lookupForConnect(dev, mod, attachAtLookup);
    CompletionStage<TwinReply> device = deviceScoped ? deps.twins().getTwin(dev, null) : CompletableFuture.completedFuture(null);
    ctx.pipeToSelf(own.thenCombine(device, Lookups::new), (lookups, failure) -> new Resume(() -> {
      KeptSession attachedWith = lookups != null && lookups.own().attached() ? lookups.own().kept() : null;
      if (phase == Phase.CLOSED) {
        // Closed while looking up (connect timeout, takeover): do not leave the twin Connected.
        if (attachedWith != null) deps.twins().detachSession(dev, mod, sessionId, false, attachedWith);
        return;
      }
      keptAtLookup = attachedWith;
      if (failure != null) {
        refuse(ConnectReturnCode.SERVER_UNAVAILABLE, "twin lookup failed: " + failure);
        return;
      }
      TwinReply[] replies = {lookups.own().twin(), lookups.device()};
      Map<String, SymmetricKeyPair> keys = new HashMap<>();
      for (TwinReply r : replies) {
        if (r == null) continue;
        if (r instanceof TwinReply.Rejected rej) {
          boolean unavailable = rej.error().status() >= 500;
          refuse(unavailable ? ConnectReturnCode.SERVER_UNAVAILABLE : ConnectReturnCode.NOT_AUTHORIZED,
              rej.error().message());
          return;
        }
        Twin t = ((TwinReply.Accepted) r).twin();
        if (r == replies[0]) generationId = t.identity().generationId();
        if (t.identity().status() == DeviceStatus.DISABLED) {
          refuse(ConnectReturnCode.NOT_AUTHORIZED, "identity " + key(t.identity().deviceId(), t.identity().moduleId()) + " is disabled");
          return;
        }
        t.identity().authentication().keyPair().ifPresent(k -> keys.put(key(t.identity().deviceId(), t.identity().moduleId()), k));
      }
      // Attached at the lookup: the twin verified the signature with the identity's keys (the connection
      // had checked the rest, needsOnlyOwnKeys), so the outcome is known without a second HMAC.
      SasOutcome outcome = lookups.own().attached() ? deps.verifier().signedByTwin(parsed.get(), dev, mod)
          : deps.verifier().verifyDevice(parsed.get(), dev, mod, (d, m) -> Optional.ofNullable(keys.get(key(d, m))),
              deps.policies());
      if (!(outcome instanceof SasOutcome.Valid valid)) {
        refuse(ConnectReturnCode.NOT_AUTHORIZED, "SAS token refused: " + outcome);
        return;
      }
      persistent = !c.cleanSession();
      topics = new DeviceTopics(dev, mod);
      Optional<SessionStore.Stored> warm = SessionRestore.fromKept(c.cleanSession(), lookups.own().kept());
      if (warm.isPresent()) {
        completeConnect(valid, warm.get(), keptAtLookup != null ? (TwinReply.Accepted) lookups.own().twin() : null);
        return;
      }
      CompletionStage<SessionStore.Stored> stored = persistent
          ? deps.sessions().load(key(dev, mod))
          : deps.sessions().clear(key(dev, mod)).thenApply(x -> new SessionStore.Stored(false, Map.of()));
      await(stored, (session, loadFailure) -> {
        if (loadFailure != null) {
          refuse(ConnectReturnCode.SERVER_UNAVAILABLE, "session store: " + loadFailure.getMessage());
          return;
        }
        completeConnect(valid, session, null);
      });
    }));
  }

  private record Lookups(io.twinhub.twin.entity.ConnectLookup own, TwinReply device) {}

  /**
   * Restores a persistent session's subscriptions, attaches to the twin (unless it attached this
   * connection at the lookup: {@code attachedAtLookup}, for the same subscriptions), answers CONNACK.
   */
  private void completeConnect(SasOutcome.Valid valid, SessionStore.Stored session, TwinReply.Accepted attachedAtLookup) {
    storePresent = persistent && session.present();
    for (Map.Entry<String, Integer> f : session.subscriptions().entrySet()) {
      topics.subscription(f.getKey()).ifPresent(sub -> {
        filters.put(f.getKey(), f.getValue());
        subscriptions.put(sub, f.getValue());
      });
    }
    boolean desired = subscriptions.containsKey(Subscription.DESIRED);
    boolean methods = subscriptions.containsKey(Subscription.METHODS);
    if (attachedAtLookup != null) {
      // The twin attached for what it kept, which is what was restored here (SessionRestore.toKeep).
      attachedDesired = desired;
      attachedMethods = methods;
      if (!desired) bufferedDesired = null;
      connected(valid, session, desired, attachedAtLookup);
      return;
    }
    bufferedDesired = desired ? new ArrayList<>() : null;
    attach(desired, methods, (reply, err) -> {
      if (reply instanceof TwinReply.Accepted accepted) {
        connected(valid, session, desired, accepted);
      } else {
        IotHubError e = reply instanceof TwinReply.Rejected rej ? rej.error() : null;
        // 409: a newer connection of the same identity holds the twin (this one is already replaced): retryable.
        boolean retryable = e == null || e.status() >= 500 || e.status() == 409;
        refuse(retryable ? ConnectReturnCode.SERVER_UNAVAILABLE : ConnectReturnCode.NOT_AUTHORIZED,
            e == null ? String.valueOf(err) : e.message());
      }
    });
  }

  /** Attached to the twin ({@code twin}: as it answered the attach): CONNACK, then the session's duties start. */
  private void connected(SasOutcome.Valid valid, SessionStore.Stored session, boolean desired, TwinReply.Accepted twin) {
    timers.cancel(Tick.CONNECT_TIMEOUT);
    phase = Phase.CONNECTED;
    keptAtLookup = null;
    send(new ConnAck(session.present(), ConnectReturnCode.ACCEPTED));
    refuseEarlyIfOverloaded();
    if (desired) {
      // Notifications continue from the twin's version now; the device re-reads the twin after a reconnect.
      deliveredDesired = twin.twin().state().desired().version();
      List<SessionMessage.DesiredChanged> early = bufferedDesired;
      bufferedDesired = null;
      if (early != null) for (SessionMessage.DesiredChanged d : early) deliverDesired(d);
    }
    long now = System.nanoTime();
    keepAliveCheckEvery = Math.max(Duration.ofSeconds(1).toNanos(), keepAliveNanos / 2);
    nextKeepAliveCheck = now + keepAliveCheckEvery;
    nextHeartbeat = now + deps.settings().heartbeatInterval().toNanos();
    long secondsLeft = valid.expiryEpochSeconds() - deps.clock().instant().getEpochSecond();
    tokenExpiresAt = now + Duration.ofSeconds(Math.max(0, Math.min(secondsLeft, 365L * 24 * 3600))).toNanos();
    armDue(now);
    // Checked first: ctx.getLog() builds the actor's logging context at its first call (path, address), once per connection.
    if (TRACE.isDebugEnabled()) ctx.getLog().debug("{} connected from {} (session {})", clientId(), remote, sessionId);
    if (receivesCloudToDevice()) attachCloudToDevice();
    if (subscriptions.containsKey(Subscription.DELTA)) pushDelta(); // a persistent session's delta on connect
    done();
  }

  private boolean userNameMatches(String userName, String clientId) {
    if (userName == null) return false;
    int slash = userName.indexOf('/');
    if (slash <= 0) return false;
    String host = userName.substring(0, slash);
    Optional<String> normalized = SasVerifier.normalizeHostName(host);
    if (normalized.isEmpty() || !deps.verifier().hostNames().contains(normalized.get())) return false;
    String rest = userName.substring(slash + 1);
    if (!rest.startsWith(clientId)) return false;
    String tail = rest.substring(clientId.length());
    return tail.isEmpty() || tail.equals("/") || tail.startsWith("/?");
  }

  private static String key(String d, String m) {
    return m == null ? d : d + "/" + m;
  }

  private void refuse(ConnectReturnCode code, String why) {
    if (TRACE.isDebugEnabled()) ctx.getLog().debug("CONNECT from {} refused ({}): {}", remote, code, why);
    send(new ConnAck(false, code));
    close("CONNECT refused: " + why);
  }

  private void attach(boolean desired, boolean methods, BiConsumer<TwinReply, Throwable> then) {
    ctx.pipeToSelf(deps.twins().attachSession(deviceId, moduleId, twinAdapter, sessionId, generation, desired, methods,
            -1, null),
        (reply, err) -> new Resume(() -> {
          if (phase == Phase.CLOSED) {
            // Closed while attaching (connect timeout, takeover): do not leave the twin Connected.
            if (reply instanceof TwinReply.Accepted) deps.twins().detachSession(deviceId, moduleId, sessionId);
            return;
          }
          if (reply instanceof TwinReply.Accepted) {
            attachedDesired = desired;
            attachedMethods = methods;
          }
          then.accept(reply, err);
        }));
  }

  // ------------------------------------------------------------------ PUBLISH

  private void onPublish(Publish p) {
    if (p.qos() == 2) {
      close("QoS 2 is not supported");
      return;
    }
    DeviceTopics.Inbound what = topics.classify(p.topic());
    if (what instanceof DeviceTopics.Refused r) {
      close("PUBLISH to " + p.topic() + " refused: " + r.reason());
    } else if (what instanceof DeviceTopics.TwinGet g) {
      if (!takeToken()) {
        twinResult(p, 429, g.rid(), null, IotHubError.of(IotHubErrorCode.ThrottlingException, "too many twin operations"));
        return;
      }
      await(deps.twins().getTwin(deviceId, moduleId), (reply, err) -> {
        if (reply instanceof TwinReply.Accepted a) {
          twinResult(p, 200, g.rid(), ByteString.fromArrayUnsafe(TwinJson.toBytes(TwinJson.deviceView(a.twin().state()))), null);
        } else {
          IotHubError e = errorOf(reply, err);
          twinResult(p, mqttStatus(e), g.rid(), null, e);
        }
      });
    } else if (what instanceof DeviceTopics.TwinPatchReported patch) {
      if (!takeToken()) {
        twinResult(p, 429, patch.rid(), null, IotHubError.of(IotHubErrorCode.ThrottlingException, "too many twin operations"));
        return;
      }
      if (deps.settings().overloadDelays()) {
        // Delayed, not refused, while the node is at its admission limit: this packet stays in
        // progress (nothing more is read from the socket) until a slot is granted or overload-wait passed.
        io.twinhub.twin.service.AdmissionLimit.Waiter[] waiter = new io.twinhub.twin.service.AdmissionLimit.Waiter[1];
        long wait = ++waits;
        ActorRef<Object> self = ctx.getSelf();
        if (deps.twins().admitOrWait(() -> self.tell(new Admitted(wait)), waiter)) {
          patchReported(p, patch.rid(), true);
        } else {
          waiting = new Waiting(wait, p, patch.rid(), waiter[0]);
          timers.startSingleTimer(Tick.ADMISSION_WAIT, Tick.ADMISSION_WAIT, deps.settings().overloadWait());
        }
        return;
      }
      var atLimit = deps.twins().refusedAtLimit(TwinUpdate.PatchReported.class);
      if (atLimit.isPresent()) {
        // Refused before the body is parsed: under overload a refusal costs only its answer.
        overloaded(p, patch.rid(), errorOf(atLimit.get(), null));
        return;
      }
      patchReported(p, patch.rid(), false);
    } else if (what instanceof DeviceTopics.MethodResponse mr) {
      PendingMethod pending = pendingMethods.remove(mr.rid());
      if (pending != null) {
        timers.cancel(new MethodTimeout(mr.rid()));
        pending.replyTo().tell(new DirectMethodReply.Responded(mr.status(), methodPayload(p.payload())));
      }
      pubAckAndDone(p);
    } else if (what instanceof DeviceTopics.Telemetry t) {
      if (p.payload().size() > deps.settings().maxTelemetrySize()) {
        close("device-to-cloud message of " + p.payload().size() + " bytes exceeds " + deps.settings().maxTelemetrySize());
        return;
      }
      Instant now = deps.clock().instant();
      Map<String, String> sys = new LinkedHashMap<>(t.systemProperties());
      sys.put("iothub-connection-device-id", deviceId);
      if (moduleId != null) sys.put("iothub-connection-module-id", moduleId);
      sys.put("iothub-connection-auth-method", "{\"scope\":\"" + (moduleId == null ? "device" : "module")
          + "\",\"type\":\"sas\",\"issuer\":\"iothub\"}");
      sys.put("iothub-enqueuedtime", TwinJson.timestamp(now));
      var message = new TelemetryLog.TelemetryReceived(deviceId, moduleId, t.properties(), sys, p.payload().toArray(), now);
      await(deps.telemetry().append(message), (appended, err) -> {
        if (err != null) {
          // Not durable: no PUBACK. Closing makes the SDK reconnect and send the message again.
          closeByHub("telemetry not stored: " + err.getMessage());
          return;
        }
        pubAckAndDone(p);
      });
    }
  }

  /**
   * Parses and applies a reported patch; {@code holdsSlot}: it was admitted by {@link #onAdmitted}
   * (or at once) and holds its admission slot, else it goes through the admission now.
   */
  private void patchReported(Publish p, String rid, boolean holdsSlot) {
    var parsed = TwinJson.parseSectionPatch(p.payload().toArrayUnsafe(), Section.REPORTED, deps.limits());
    if (!parsed.isAccepted()) {
      if (holdsSlot) deps.twins().returnSlot();
      IotHubError e = RejectionErrors.toError(parsed.optionalRejection().orElseThrow());
      twinResult(p, mqttStatus(e), rid, null, e);
      return;
    }
    TwinUpdate update = parsed.optionalValue().orElseThrow();
    io.twinhub.twin.domain.Author by = io.twinhub.twin.domain.Author.device(deviceId, moduleId);
    await(holdsSlot ? deps.twins().updateTwinAdmitted(deviceId, moduleId, update, null, by)
        : deps.twins().admitUpdateTwin(deviceId, moduleId, update, null, by), (reply, err) -> {
      if (reply instanceof TwinReply.Accepted a) {
        long v = a.twin().state().reported().version();
        // PUBACK first, as IoT Hub does: the device SDK only correlates a response with a request it saw acknowledged.
        answer(p, DeviceTopics.twinPatchResponse(204, rid, v), ByteString.emptyByteString());
        done();
      } else {
        IotHubError e = errorOf(reply, err);
        if (e.status() == 429 || e.status() == 503) {
          overloaded(p, rid, e);
        } else {
          twinResult(p, mqttStatus(e), rid, null, e);
        }
      }
    });
  }

  /** The admission granted the waiting patch a slot (a grant that lost to the wait's end or the close is stale). */
  private void onAdmitted(long wait) {
    if (waiting == null || waiting.number() != wait || phase == Phase.CLOSED) return;
    Waiting w = waiting;
    waiting = null;
    timers.cancel(Tick.ADMISSION_WAIT);
    patchReported(w.packet(), w.rid(), true);
  }

  /** overload-wait passed: refused (429, never applied), unless the slot was granted meanwhile. */
  private void onWaitedTooLong() {
    if (waiting == null || phase == Phase.CLOSED) return;
    Waiting w = waiting;
    waiting = null;
    Optional<TwinReply> refused = deps.twins().stopWaiting(w.waiter(), TwinUpdate.PatchReported.class);
    if (refused.isPresent()) overloaded(w.packet(), w.rid(), errorOf(refused.get(), null));
    else patchReported(w.packet(), w.rid(), true); // granted just now: its Admitted message is stale
  }

  /**
   * With {@code overload-mode = refuse}: lets the connection's stream stage refuse reported patches
   * at the node's admission limit itself ({@link #refusalAtAdmission}), without a turn of this
   * actor, once connected; with the twin responses' subscription as it is now (the refusal is
   * answered on it, as here). With {@code delay} the stage never refuses: the session delays.
   */
  private void refuseEarlyIfOverloaded() {
    out.refuseAtAdmission(phase == Phase.CONNECTED && !deps.settings().overloadDelays(),
        subscriptions.containsKey(Subscription.TWIN_RESPONSES));
  }

  /**
   * The encoded answer (PUBACK, then {@code $iothub/twin/res/429/?$rid=…} if {@code respond}) to a
   * reported patch refused because the node is at its admission limit now; null when {@code p} is
   * no such patch (or one the session must see: QoS 2, no valid $rid) or the node admits writes.
   * Called by the connection's stream stage for a connected session with no packet in progress, so
   * the answers stay in the order of the packets and a refusal costs no session-actor turn; the
   * patch's body is never parsed, and it is never applied. The per-connection rate limit is not
   * consulted: the refusal is the same 429 either way.
   */
  public static ByteString refusalAtAdmission(MqttPacket p, boolean respond, io.twinhub.twin.service.TwinService twins) {
    if (!(p instanceof Publish pub) || pub.qos() > 1) return null;
    Optional<String> rid = DeviceTopics.reportedPatchRid(pub.topic());
    if (rid.isEmpty()) return null;
    Optional<TwinReply> refused = twins.refusedAtLimit(TwinUpdate.PatchReported.class);
    if (refused.isEmpty()) return null;
    IotHubError e = errorOf(refused.get(), null);
    int status = mqttStatus(e);
    ByteString response = respond
        ? io.twinhub.mqtt.codec.MqttCodec.encode(Publish.qos0(DeviceTopics.twinResponse(status, rid.get()),
            refused.get() == io.twinhub.twin.service.TwinService.THROTTLED ? THROTTLED_BODY : errorBody(status, e)))
        : ByteString.emptyByteString();
    return pub.qos() == 1 ? io.twinhub.mqtt.codec.MqttCodec.encode(PacketIdOnly.pubAck(pub.packetId())).concat(response) : response;
  }

  /** Not applied because the hub is overloaded: answered now, the next packet read after a pause. */
  private void overloaded(Publish p, String rid, IotHubError e) {
    answer(p, DeviceTopics.twinResponse(mqttStatus(e), rid), errorBody(mqttStatus(e), e));
    pauseReading();
  }

  private void twinResult(Publish p, int status, String rid, ByteString body, IotHubError error) {
    answer(p, DeviceTopics.twinResponse(status, rid), body == null ? errorBody(status, error) : body);
    done();
  }

  /** The body of the admission limit's refusal, encoded once: under overload most answers are this. */
  private static final ByteString THROTTLED_BODY =
      errorBody(mqttStatus(io.twinhub.twin.service.TwinService.THROTTLED.error()), io.twinhub.twin.service.TwinService.THROTTLED.error());

  private static ByteString errorBody(int status, IotHubError error) {
    ObjectNode e = JsonNodeFactory.instance.objectNode();
    e.put("errorCode", error == null ? status * 1000 : error.errorCode());
    e.put("message", error == null ? "" : error.message());
    return ByteString.fromString(e.toString());
  }

  /**
   * Back-pressure for an overloaded hub: the next packet is read only after {@code throttle-pause}
   * (TCP holds the device's further packets meanwhile), so a device that keeps sending slows down
   * instead of costing a refusal per packet.
   */
  private void pauseReading() {
    Duration pause = deps.settings().throttlePause();
    if (pause.isZero() || pause.isNegative()) done();
    else timers.startSingleTimer(Tick.READ_ON, Tick.READ_ON, pause);
  }

  private void pubAckAndDone(Publish p) {
    if (p.qos() == 1) send(PacketIdOnly.pubAck(p.packetId()));
    done();
  }

  private static JsonNode methodPayload(ByteString bytes) {
    if (bytes.isEmpty()) return JsonNodeFactory.instance.nullNode();
    try {
      return JSON.readTree(bytes.toArrayUnsafe());
    } catch (Exception e) {
      // Not JSON: hand it to the caller as a string rather than lose it.
      return JsonNodeFactory.instance.textNode(bytes.utf8String());
    }
  }

  private static IotHubError errorOf(TwinReply reply, Throwable err) {
    if (reply instanceof TwinReply.Rejected r) return r.error();
    return IotHubError.of(IotHubErrorCode.ServiceUnavailable, err == null ? "no answer" : err.getMessage());
  }

  /** The status in a result topic: one the device SDKs know (they fail on others, e.g. 409 or 504). */
  static int mqttStatus(IotHubError e) {
    int s = e.status();
    if (SDK_STATUSES.contains(s)) return s;
    return s >= 500 ? 500 : 400;
  }

  /** Token bucket for twin operations of this connection. */
  private boolean takeToken() {
    long now = System.nanoTime();
    tokens = Math.min(deps.settings().twinOpsBurst(), tokens + (now - tokensAt) / 1e9 * deps.settings().twinOpsPerSecond());
    tokensAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }

  // ------------------------------------------------------------------ SUBSCRIBE / UNSUBSCRIBE

  private void onSubscribe(Subscribe s) {
    List<Integer> granted = new ArrayList<>();
    EnumMap<Subscription, Integer> next = new EnumMap<>(subscriptions);
    Map<String, Integer> nextFilters = new LinkedHashMap<>(filters);
    for (TopicFilter f : s.filters()) {
      Optional<Subscription> sub = topics.subscription(f.filter());
      if (sub.isEmpty()) {
        close("SUBSCRIBE to " + f.filter() + " refused: not a topic of " + clientId());
        return;
      }
      int qos = Math.min(f.qos(), 1); // IoT Hub grants at most QoS 1
      next.put(sub.get(), qos);
      nextFilters.put(f.filter(), qos);
      granted.add(qos);
    }
    boolean newDesired = next.containsKey(Subscription.DESIRED) && !subscriptions.containsKey(Subscription.DESIRED);
    boolean newDelta = next.containsKey(Subscription.DELTA) && !subscriptions.containsKey(Subscription.DELTA);
    changeSubscriptions(next, nextFilters, newDesired, () -> {
      send(new SubAck(s.packetId(), granted));
      if (newDelta) pushDelta();
      done();
    });
  }

  private void onUnsubscribe(Unsubscribe u) {
    EnumMap<Subscription, Integer> next = new EnumMap<>(subscriptions);
    Map<String, Integer> nextFilters = new LinkedHashMap<>(filters);
    for (String f : u.filters()) {
      nextFilters.remove(f);
      topics.subscription(f).ifPresent(next::remove);
    }
    changeSubscriptions(next, nextFilters, false, () -> {
      send(PacketIdOnly.unsubAck(u.packetId()));
      done();
    });
  }

  /**
   * Applies the new subscriptions; when the entity must learn about them (desired, methods), the
   * acknowledgement waits for its answer, so that a twin GET after SUBACK sees at least the
   * desired version from which notifications are delivered.
   */
  private void changeSubscriptions(EnumMap<Subscription, Integer> next, Map<String, Integer> nextFilters,
                                   boolean newDesired, Runnable acknowledge) {
    boolean desired = next.containsKey(Subscription.DESIRED);
    boolean methods = next.containsKey(Subscription.METHODS);
    boolean filtersChanged = !filters.equals(nextFilters);
    subscriptions.clear();
    subscriptions.putAll(next);
    refuseEarlyIfOverloaded();
    filters.clear();
    filters.putAll(nextFilters);
    // A persistent session's subscriptions are stored before they are acknowledged.
    Map<String, Integer> toStore = Map.copyOf(filters);
    Runnable ack = !persistent || !filtersChanged ? acknowledge : () -> {
      storeUnsure = true;
      await(deps.sessions().save(key(deviceId, moduleId), toStore), (saved, err) -> {
        if (err != null) {
          closeByHub("session store: " + err.getMessage());
          return;
        }
        storePresent = true;
        storeUnsure = false;
        acknowledge.run();
      });
    };
    if (!desired) {
      deliveredDesired = -1;
      bufferedDesired = null;
    }
    // Cloud-to-device messages flow once subscribed (queued ones too); they may follow the SUBACK or precede it.
    if (receivesCloudToDevice() && !c2dAttached) attachCloudToDevice();
    else if (!receivesCloudToDevice() && c2dAttached) detachCloudToDevice();
    if (desired == attachedDesired && methods == attachedMethods && !newDesired) {
      ack.run();
      return;
    }
    if (newDesired) {
      deliveredDesired = -1;
      bufferedDesired = new ArrayList<>();
    }
    attach(desired, methods, (reply, err) -> {
      if (!(reply instanceof TwinReply.Accepted a)) {
        closeByHub("could not attach to the twin: " + errorOf(reply, err).message());
        return;
      }
      if (newDesired) {
        deliveredDesired = a.twin().state().desired().version();
        List<SessionMessage.DesiredChanged> early = bufferedDesired;
        bufferedDesired = null;
        ack.run();
        if (early != null) for (SessionMessage.DesiredChanged d : early) deliverDesired(d);
      } else {
        ack.run();
      }
    });
  }

  // ------------------------------------------------------------------ from the twin entity

  private void onTwinMessage(SessionMessage m) {
    if (phase == Phase.CLOSED) {
      if (m instanceof SessionMessage.MethodRequest r) {
        r.replyTo().tell(new DirectMethodReply.Failed(notOnline()));
      }
      return;
    }
    if (m instanceof SessionMessage.DesiredChanged d) {
      // Connecting: a twin that attached at the lookup pushes before its answer (or the restored subscriptions) arrives.
      if (!subscriptions.containsKey(Subscription.DESIRED) && !(phase == Phase.CONNECTING && bufferedDesired != null)) return;
      if (deliveredDesired < 0) {
        if (bufferedDesired != null && bufferedDesired.size() < MAX_BUFFERED_DESIRED) bufferedDesired.add(d);
        else if (bufferedDesired != null) closeByHub("too many desired changes before the subscription completed");
        return;
      }
      deliverDesired(d);
    } else if (m instanceof SessionMessage.CloseSession c) {
      closeByHub("closed by the twin: " + c.reason());
    } else if (m instanceof SessionMessage.MethodRequest r) {
      onMethodRequest(r);
    } else if (m instanceof SessionMessage.CloudToDevice c) {
      deliverCloudToDevice(c);
    }
  }

  // ------------------------------------------------------------------ cloud-to-device

  private boolean receivesCloudToDevice() {
    return moduleId == null && subscriptions.containsKey(Subscription.CLOUD_TO_DEVICE);
  }

  /** Attaches to the device's queue (also as the heartbeat): it pushes queued messages to this session. */
  private void attachCloudToDevice() {
    c2dAttached = true;
    deps.c2d().attach(deviceId, twinAdapter, sessionId, generation, generationId);
  }

  private void detachCloudToDevice() {
    c2dAttached = false;
    deps.c2d().detach(deviceId, sessionId);
    c2dInFlight.clear(); // the queue makes them visible again
  }

  /** Publishes at QoS 1 on {@code devices/<id>/messages/devicebound/<property bag>}; the PUBACK completes it. */
  private void deliverCloudToDevice(SessionMessage.CloudToDevice c) {
    if (phase == Phase.CLOSED) return; // the queue learns of the close through the detach (or the session's stop)
    if (!receivesCloudToDevice()) {
      deps.c2d().settle(deviceId, c.lockToken(), CloudToDeviceQueue.Disposition.ABANDON);
      return;
    }
    // The queue delivers a message again when its lock ran out or when it lost its locks (a new
    // incarnation: shard moved, node died, journal write failed). On this connection that is
    // never a second PUBLISH (MQTT 3.1.1 resends only on a new connection):
    long seq = CloudToDeviceQueue.sequenceOf(c.lockToken());
    if (completedHere(seq)) {
      // PUBACKed here, the completion never written: complete it again.
      deps.c2d().settle(deviceId, c.lockToken(), CloudToDeviceQueue.Disposition.COMPLETE);
      return;
    }
    for (Map.Entry<Integer, String> e : c2dInFlight.entrySet()) {
      if (CloudToDeviceQueue.sequenceOf(e.getValue()) == seq) {
        // The device has it and its PUBACK is to come: that PUBACK settles the new delivery.
        e.setValue(c.lockToken());
        return;
      }
    }
    if (c2dInFlight.size() >= 0xFFFF / 2) {
      closeByHub("too many unacknowledged cloud-to-device messages");
      return;
    }
    int id = nextPacketId();
    c2dInFlight.put(id, c.lockToken());
    send(new Publish(c.deliveryCount() > 1, 1, false, DeviceTopics.cloudToDevice(c.message()), id,
        ByteString.fromArrayUnsafe(c.message().body())));
  }

  private void rememberCompleted(String token) {
    if (c2dCompleted == null) {
      c2dCompleted = new long[C2D_COMPLETED];
      java.util.Arrays.fill(c2dCompleted, -1);
    }
    c2dCompleted[c2dCompletedNext] = CloudToDeviceQueue.sequenceOf(token);
    c2dCompletedNext = (c2dCompletedNext + 1) % C2D_COMPLETED;
  }

  private boolean completedHere(long seq) {
    if (c2dCompleted == null || seq < 0) return false;
    for (long s : c2dCompleted) if (s == seq) return true;
    return false;
  }

  private int nextPacketId() {
    do {
      lastPacketId = lastPacketId >= 0xFFFF ? 1 : lastPacketId + 1;
    } while (c2dInFlight.containsKey(lastPacketId));
    return lastPacketId;
  }

  private void deliverDesired(SessionMessage.DesiredChanged d) {
    if (phase == Phase.CLOSED) return;
    long v = d.desiredVersion();
    if (v <= deliveredDesired) return; // already covered by the baseline or delivered
    if (v != deliveredDesired + 1) {
      closeByHub("desired $version " + v + " arrived after " + deliveredDesired + ": versions in between were missed");
      return;
    }
    deliveredDesired = v;
    publishIfSubscribed(Subscription.DESIRED, DeviceTopics.desiredNotification(v),
        ByteString.fromArrayUnsafe(TwinJson.toBytes(d.body().toObjectNode())));
  }

  private void onMethodRequest(SessionMessage.MethodRequest r) {
    if (!subscriptions.containsKey(Subscription.METHODS)) {
      r.replyTo().tell(new DirectMethodReply.Failed(notOnline()));
      return;
    }
    if (!r.methodName().matches("[^/#+\\x00-\\x1f]{1,128}")) {
      r.replyTo().tell(new DirectMethodReply.Failed(IotHubError.of(IotHubErrorCode.ArgumentInvalid,
          "method name must be 1..128 characters without '/', '#', '+' or control characters")));
      return;
    }
    if (pendingMethods.size() >= deps.settings().maxPendingMethods()) {
      r.replyTo().tell(new DirectMethodReply.Failed(IotHubError.of(IotHubErrorCode.ThrottlingException,
          "too many direct methods waiting for " + clientId())));
      return;
    }
    String rid = Integer.toHexString(++ridCounter);
    pendingMethods.put(rid, new PendingMethod(r.methodName(), r.replyTo()));
    timers.startSingleTimer(new MethodTimeout(rid), new MethodTimeout(rid), r.responseTimeout());
    ByteString payload = r.payload() == null ? ByteString.fromString("null") : ByteString.fromArrayUnsafe(TwinJson.toBytes(r.payload()));
    publishIfSubscribed(Subscription.METHODS, DeviceTopics.methodRequest(r.methodName(), rid), payload);
  }

  private IotHubError notOnline() {
    return IotHubError.of(IotHubErrorCode.DeviceNotOnline, "Timed out waiting for device to connect: " + clientId()
        + " is not connected and subscribed to methods");
  }

  // ------------------------------------------------------------------ timers

  private Behavior<Object> onTick(Tick t) {
    switch (t) {
      case CONNECT_TIMEOUT -> {
        if (phase == Phase.AWAIT_CONNECT) close("no CONNECT within " + deps.settings().connectTimeout());
        // The CONNECT came, the hub did not answer it in time (twin lookup, session store or attach too slow).
        else if (phase == Phase.CONNECTING) closeByHub("CONNECT not answered within " + deps.settings().connectTimeout());
      }
      case DUE -> onDue();
      case GAP_CHECK -> {
        if (phase == Phase.CONNECTED && deliveredDesired >= 0 && deliveredDesired < awaitedDesired) {
          closeByHub("desired $version " + awaitedDesired + " exists but only " + deliveredDesired + " was delivered");
        }
      }
      case READ_ON -> done();
      case ADMISSION_WAIT -> onWaitedTooLong();
      case STOP -> {
        return Behaviors.stopped();
      }
    }
    return this;
  }

  /** The DUE timer: token expiry, keep-alive check and heartbeat, whichever are due; then re-armed for the next. */
  private void onDue() {
    if (phase != Phase.CONNECTED) return;
    long now = System.nanoTime();
    if (now - tokenExpiresAt >= 0) {
      closeByHub("SAS token expired");
      return;
    }
    if (now - nextKeepAliveCheck >= 0) {
      nextKeepAliveCheck = now + keepAliveCheckEvery;
      // A packet the stream stage answered itself (a refusal at admission) is the device's activity too.
      if (!busy && now - Math.max(lastInbound, out.lastAnsweredByStage()) > keepAliveNanos * 3 / 2) {
        closeByHub("keep-alive expired");
        return;
      }
    }
    if (now - nextHeartbeat >= 0) {
      nextHeartbeat = now + deps.settings().heartbeatInterval().toNanos();
      heartbeat();
    }
    armDue(now);
  }

  private void armDue(long now) {
    long delay = Math.min(tokenExpiresAt - now, Math.min(nextKeepAliveCheck - now, nextHeartbeat - now));
    timers.startSingleTimer(Tick.DUE, Tick.DUE, Duration.ofNanos(Math.max(0, delay)));
  }

  /** Re-attach: keeps the entity's in-memory session alive (also after it moved) and checks for gaps. */
  private void heartbeat() {
    if (phase != Phase.CONNECTED) return;
    boolean desired = subscriptions.containsKey(Subscription.DESIRED);
    boolean methods = subscriptions.containsKey(Subscription.METHODS);
    // What the device has (the twin re-sends newer desired changes it still holds) and when it last sent something.
    long delivered = desired ? deliveredDesired : -1;
    Instant activity = lastPublish == 0 ? null
        : deps.clock().instant().minusNanos(System.nanoTime() - lastPublish);
    ctx.pipeToSelf(deps.twins().attachSession(deviceId, moduleId, twinAdapter, sessionId, generation, desired, methods,
            delivered, activity),
        (reply, err) -> new Resume(() -> onHeartbeatReply(reply, err)));
    if (c2dAttached) attachCloudToDevice();
  }

  private void onHeartbeatReply(TwinReply reply, Throwable err) {
    if (phase != Phase.CONNECTED) return;
    if (reply instanceof TwinReply.Accepted a) {
      heartbeatFailures = 0;
      long current = a.twin().state().desired().version();
      if (subscriptions.containsKey(Subscription.DESIRED) && deliveredDesired >= 0) {
        if (current < deliveredDesired) {
          closeByHub("twin desired $version " + current + " is behind the delivered " + deliveredDesired);
        } else if (current > deliveredDesired) {
          awaitedDesired = Math.max(awaitedDesired, current);
          timers.startSingleTimer(Tick.GAP_CHECK, Tick.GAP_CHECK, deps.settings().gapGrace());
        }
      }
    } else if (reply instanceof TwinReply.Rejected r && r.error().status() < 500) {
      closeByHub("twin refused the session: " + r.error().message());
    } else if (++heartbeatFailures >= 3) {
      closeByHub("twin unreachable for " + heartbeatFailures + " heartbeats");
    }
  }

  // ------------------------------------------------------------------ output and closing

  /**
   * PUBACK (QoS 1) and the twin response on {@code $iothub/twin/res/} (if subscribed), in this
   * order and in one write.
   */
  private void answer(Publish request, String topic, ByteString payload) {
    boolean ack = request.qos() == 1;
    boolean respond = subscriptions.containsKey(Subscription.TWIN_RESPONSES);
    if (ack && respond) {
      send(PacketIdOnly.pubAck(request.packetId()), Publish.qos0(topic, payload));
    } else if (ack) {
      send(PacketIdOnly.pubAck(request.packetId()));
    } else if (respond) {
      send(Publish.qos0(topic, payload));
    }
  }

  /**
   * twinhub extension, like AWS IoT's shadow delta: the desired properties the device has not
   * reported ({@link TwinDelta}, the body of {@code GET /twins/{id}/delta}), pushed when there are
   * any. A later change is the device's to follow through desired notifications.
   */
  private void pushDelta() {
    await(deps.twins().getTwin(deviceId, moduleId), (reply, err) -> {
      if (!(reply instanceof TwinReply.Accepted a)) return; // the device can still GET its twin
      TwinDelta delta = TwinDelta.of(a.twin().state());
      if (delta.isEmpty()) return;
      publishIfSubscribed(Subscription.DELTA, DeviceTopics.deltaNotification(a.twin().state().desired().version()),
          ByteString.fromArrayUnsafe(TwinJson.toBytes(TwinJson.delta(a.twin(), delta))));
    });
  }

  private void publishIfSubscribed(Subscription s, String topic, ByteString payload) {
    if (subscriptions.containsKey(s)) send(Publish.qos0(topic, payload));
  }

  private void send(MqttPacket p) {
    if (phase == Phase.CLOSED) return;
    if (TRACE.isTraceEnabled()) ctx.getLog().trace("{} -> {}", clientId(), p);
    if (!out.offer(p)) closeByHub("device does not read its packets (outbound queue full)");
  }

  private void send(MqttPacket first, MqttPacket second) {
    if (phase == Phase.CLOSED) return;
    if (TRACE.isTraceEnabled()) ctx.getLog().trace("{} -> {}, {}", clientId(), first, second);
    if (!out.offer(first, second)) closeByHub("device does not read its packets (outbound queue full)");
  }

  /**
   * Closes for the device's own doing: its DISCONNECT or the end of its socket, a refused CONNECT,
   * a protocol violation. Logged at DEBUG: broken or hostile clients would flood the log at INFO.
   */
  private void close(String reason) {
    close(reason, false);
  }

  /**
   * Closes for a reason of the hub's own (keep-alive, token expiry, telemetry not stored, taken over,
   * twin unreachable, a desired gap, a device that does not read, an internal error): logged at
   * INFO, so that an operator sees why a device was disconnected without turning on DEBUG.
   */
  private void closeByHub(String reason) {
    close(reason, true);
  }

  private void close(String reason, boolean byHub) {
    if (phase == Phase.CLOSED) return;
    boolean attached = phase == Phase.CONNECTED;
    phase = Phase.CLOSED;
    if (byHub) ctx.getLog().info("closing {} from {} (session {}): {}", clientId(), remote, sessionId, reason);
    else if (TRACE.isDebugEnabled()) ctx.getLog().debug("closing {} from {} (session {}): {}", clientId(), remote, sessionId, reason);
    for (Tick t : Tick.values()) timers.cancel(t);
    for (Map.Entry<String, PendingMethod> e : pendingMethods.entrySet()) {
      timers.cancel(new MethodTimeout(e.getKey()));
      e.getValue().replyTo().tell(new DirectMethodReply.Failed(IotHubError.of(IotHubErrorCode.GatewayTimeout,
          clientId() + " disconnected before answering method " + e.getValue().name())));
    }
    pendingMethods.clear();
    if (waiting != null) {
      // Never applied; a slot granted meanwhile goes back at once.
      if (deps.twins().stopWaiting(waiting.waiter(), TwinUpdate.PatchReported.class).isEmpty()) deps.twins().returnSlot();
      waiting = null;
    }
    if (c2dAttached) detachCloudToDevice();
    out.refuseAtAdmission(false, false);
    out.close();
    List<ActorRef<Closed>> waiters = List.copyOf(closeWaiters);
    if (attached || keptAtLookup != null) {
      KeptSession keep = attached ? SessionRestore.toKeep(persistent, storePresent, filters, storeUnsure) : keptAtLookup;
      keptAtLookup = null;
      // The detach completes on another thread: it only tells the waiters, never touches state.
      deps.twins().detachSession(deviceId, moduleId, sessionId, stopping, keep)
          .whenComplete((r, e) -> waiters.forEach(w -> w.tell(new Closed())));
    } else {
      waiters.forEach(w -> w.tell(new Closed()));
    }
    // The stream ends once the queue is drained; stop then, or after a grace period at the latest.
    timers.startSingleTimer(Tick.STOP, Tick.STOP, Duration.ofSeconds(10));
  }

  private Behavior<Object> streamDone(String reason) {
    close(reason);
    return Behaviors.stopped();
  }

  private String clientId() {
    return deviceId == null ? "(not connected)" : key(deviceId, moduleId);
  }

  private static final java.util.concurrent.atomic.AtomicLong GENERATIONS = new java.util.concurrent.atomic.AtomicLong();

  /**
   * Microseconds of wall-clock time, strictly increasing on this node: across nodes, a connection
   * made later has the larger generation as long as the nodes' clocks agree within the time between
   * the two connections.
   */
  static long nextGeneration() {
    long now = System.currentTimeMillis() * 1000;
    return GENERATIONS.updateAndGet(prev -> Math.max(prev + 1, now));
  }
}
