package io.twinhub.mqtt;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Adapter;
import akka.stream.Attributes;
import akka.stream.FlowShape;
import akka.stream.Inlet;
import akka.stream.Outlet;
import akka.stream.stage.AbstractInHandler;
import akka.stream.stage.AbstractOutHandler;
import akka.stream.stage.AsyncCallback;
import akka.stream.stage.GraphStage;
import akka.stream.stage.GraphStageLogic;
import akka.stream.stage.TimerGraphStageLogic;
import akka.util.ByteString;
import io.twinhub.mqtt.codec.MqttCodec;
import io.twinhub.mqtt.codec.MqttPacket;
import io.twinhub.mqtt.session.MqttSession;
import io.twinhub.mqtt.session.Outbound;
import io.twinhub.mqtt.session.SessionDeps;

import java.util.ArrayDeque;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The session's end of a connection's stream: decoded packets in, encoded packets out. One
 * instance serves every connection of a gateway (the stream's blueprint is built once, not per
 * connection, so a running connection keeps no blueprint of its own alive); each
 * materialization starts its {@link MqttSession} actor, hands it the packets one at a time
 * (the next after the session's ack, with up to {@code max-inflight} read ahead) and writes what
 * the session offers, at most {@code max-outbound-queue} packets pending. This one stage replaces
 * what a connection had before (a read-ahead buffer, an actor sink, a source queue the session
 * waited for, coupled termination and a termination watch): fewer stages, interpreter
 * connections and attributes per connection.
 *
 * <p>Termination is coupled: the device's end (upstream finished or failed, downstream cancelled)
 * ends the session ({@link MqttSession.StreamCompleted} or {@link MqttSession.StreamFailed} once
 * the packets read before it were handed over), and the session's close completes the
 * connection once what it wrote has been written.
 *
 * <p>Back-pressure: the stage hands the session one packet at a time and reads at most
 * {@code max-inflight} ahead, so while the session holds a packet (e.g. a reported patch waiting
 * for an admission slot, {@code twinhub.mqtt.overload-mode = delay}, the default) nothing more is
 * read from the socket once those are in, and TCP flow control slows the device.
 *
 * <p>The hand-over rule (session 14): what one turn of the session actor writes and its ack of the
 * packet in progress reach this stage as <em>one</em> callback ({@link Turn}, sent at
 * {@link Outbound#endOfTurn}), applied in one interpreter event: the writes, then "packet done". So
 * when the device has read the answer to packet N, the stage already knows N is done, and its next
 * packet is decided as such (handed to the session, or refused here). Before, the write and the ack
 * were two messages from the session's thread, and a device quick to answer (or a session thread
 * descheduled between the two) could get its next packet into the stage between them: the stage
 * still saw N in progress and queued it for the session (SessionStageAdmissionTest).
 *
 * <p>Admission at the edge ({@code overload-mode = refuse} only, session 11's path, measured worse
 * under overload than delaying): while the node is at its admission limit of twin writes, a reported
 * patch that arrives when the session has no packet in progress is refused here
 * ({@link MqttSession#refusalAtAdmission}: PUBACK and {@code $iothub/twin/res/429}), without a
 * session-actor turn. Under overload refusals are most of the packets: each one skipped the
 * session's mailbox, its turn and the ack back, which queued ahead of the admitted writes' answers.
 *
 * <p>After such a refusal ({@code refused-hold}, session 15): the 429 is answered at once, then this
 * connection waits among the admission's waiters with its socket unread (delay mode's grant path:
 * each slot freed by an answer wakes the newest waiter, {@code AdmissionLimit.wakeWhenFree}), or
 * until the hold runs out; then it reads on and its next patch is decided as any other. Waking
 * takes no slot (session 15's first version kept the granted slot for the woken connection's next
 * patch: connections with nothing to send then passed the slots among themselves, and every fresh
 * patch was refused). Under sustained overload a device's next patch waits unread in its socket
 * (no TLS, decode or refusal spent on it) until the node has room.
 *
 * <p>With {@code throttle-pause-max} set (off by default: measured worse at 1x and 2x on the
 * shared box, docs/BENCHMARKS.md "session 13"), the refusal is answered after a back-off, not at
 * once (IoT Hub throttles by delaying): {@code throttle-pause}, doubled for each further refusal in a row on this connection,
 * at most {@code throttle-pause-max}, and the socket is not read meanwhile. A device awaiting its
 * answer (the SDKs await a twin operation's) sends nothing more until then, so under sustained
 * overload a connection costs at most one refusal (TLS in and out, decode, encode) per back-off
 * instead of one per offered patch, and the patch it sends next is fresh: an admitted patch never
 * waited behind a pause in the socket. The decision is taken at once (counted, never applied); only
 * its answer waits, one per connection, so nothing grows. The streak ends when a publish of this
 * connection reaches the session (the node had room).
 */
final class SessionStage extends GraphStage<FlowShape<MqttPacket, ByteString>> {

  /** The device's address (host:port), given per connection as an attribute of the shared blueprint. */
  record Remote(String address) implements Attributes.Attribute {}

  private final ActorSystem<?> system;
  private final SessionDeps deps;
  private final Set<ActorRef<MqttSession.Command>> sessions;
  /** Names the session actors: one counter for every stage in the JVM, so that two gateways (or test stages) on one system never collide. */
  private static final AtomicLong COUNTER = new AtomicLong();
  private final Inlet<MqttPacket> in = Inlet.create("SessionStage.in");
  private final Outlet<ByteString> out = Outlet.create("SessionStage.out");
  private final FlowShape<MqttPacket, ByteString> shape = FlowShape.of(in, out);

  SessionStage(ActorSystem<?> system, SessionDeps deps, Set<ActorRef<MqttSession.Command>> sessions) {
    this.system = system;
    this.deps = deps;
    this.sessions = sessions;
  }

  @Override
  public FlowShape<MqttPacket, ByteString> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes attributes) {
    return new Logic(attributes.getAttribute(Remote.class).map(Remote::address).orElse("?"));
  }

  /**
   * The back-off before answering the {@code (refusedBefore + 1)}-th refusal in a row and reading on:
   * {@code base} doubled per refusal before it, at most {@code max}; 0 when {@code base} is 0.
   */
  static long backOffNanos(long base, long max, int refusedBefore) {
    if (base <= 0) return 0;
    int shift = Math.min(refusedBefore, 30);
    long b = base << shift;
    return b <= 0 || (b >> shift) != base ? Math.max(base, max) : Math.max(base, Math.min(b, max));
  }

  /** One turn of the session actor: the encoded packets it wrote (in order) and whether it acked. */
  private record Turn(ByteString first, java.util.List<ByteString> more, boolean ack) {}

  private final class Logic extends TimerGraphStageLogic implements Outbound {
    private final String remote;
    private final int maxInflight = deps.settings().maxInflight();
    private final int maxOutbound = deps.settings().maxOutboundQueue();
    /** Packets read ahead while the session works on one (allocated at the first such packet). */
    private ArrayDeque<MqttPacket> inbound;
    /** Encoded packets waiting for the socket's demand (allocated when the socket lags). */
    private ArrayDeque<ByteString> outbound;
    /** Offered and not yet pushed, counted on the session's thread (the bound of {@link #offer}). */
    private final AtomicInteger pending = new AtomicInteger();
    private final AsyncCallback<Turn> turn = createAsyncCallback(this::onTurn);
    private final AsyncCallback<Boolean> closeCallback = createAsyncCallback(x -> onSessionClose());
    private ActorRef<MqttSession.Command> session;
    private ActorRef<MqttSession.Ack> ackTo;
    /** The session asked for a packet and has none. */
    private boolean sessionWaits;
    private boolean upstreamDone;
    /** Why the connection ended when not by the device closing its end normally (either direction failed, or the stream stopped). */
    private Throwable streamFailure;
    private boolean sessionClosing;
    private boolean told;
    private volatile boolean stopped;
    /** Set by the session (its thread): connected, so reported patches may be refused here; answered on res/ too. */
    private volatile boolean refuseAtAdmission;
    private volatile boolean respond;
    private volatile long lastAnsweredByStage;
    /** Not reading the socket after a refusal here, until the back-off timer. */
    private boolean paused;
    /** The answer to the refusal whose back-off runs (written when it ends). */
    private ByteString heldRefusal;
    /** Reported patches refused here in a row (the back-off doubles with each). */
    private int refusedInARow;
    private final long throttlePauseNanos = deps.settings().throttlePause().toNanos();
    private final long throttlePauseMaxNanos = deps.settings().throttlePauseMax().toNanos();
    /** refused-hold: after a refusal here, read on only when the admission has room again, or after this. */
    private final long refusedHoldNanos = deps.settings().refusedHold().toNanos();
    /** This connection's place among the admission's waiters while it is held after a refusal. */
    private io.twinhub.twin.service.AdmissionLimit.Waiter holdWaiter;
    private final AsyncCallback<Boolean> woken = createAsyncCallback(x -> onWoken());

    Logic(String remote) {
      super(shape);
      this.remote = remote;
      setHandler(in, new AbstractInHandler() {
        @Override
        public void onPush() {
          MqttPacket p = grab(in);
          if (sessionWaits && refuseAtAdmission && refusedHere(p)) return;
          if (p instanceof MqttPacket.Publish) refusedInARow = 0;
          if (sessionWaits) {
            sessionWaits = false;
            session.tell(new MqttSession.Inbound(p, ackTo));
          } else {
            if (inbound == null) inbound = new ArrayDeque<>(4);
            inbound.add(p);
          }
          readAhead();
        }

        @Override
        public void onUpstreamFinish() {
          upstreamDone = true;
          if (inbound == null || inbound.isEmpty()) endSession();
        }

        @Override
        public void onUpstreamFailure(Throwable ex) {
          upstreamDone = true;
          streamFailure = ex;
          if (inbound == null || inbound.isEmpty()) endSession();
        }
      });
      setHandler(out, new AbstractOutHandler() {
        @Override
        public void onPull() {
          if (outbound != null && !outbound.isEmpty()) {
            pending.decrementAndGet();
            push(out, outbound.poll());
          }
          if (sessionClosing && (outbound == null || outbound.isEmpty())) completeStage();
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          // The socket's side went away: a plain cancel is the device's end, anything else a failure the session logs.
          if (!(cause instanceof akka.stream.SubscriptionWithCancelException.NonFailureCancellation)) streamFailure = cause;
          endSession();
        }
      });
    }

    @Override
    public void preStart() {
      ackTo = Adapter.toTyped(getStageActor(m -> {
        onAck();
        return scala.runtime.BoxedUnit.UNIT;
      }).ref());
      session = system.systemActorOf(MqttSession.create(deps, this, remote),
          "mqtt-session-" + COUNTER.incrementAndGet(), Props.empty());
      sessions.add(session);
      // The session takes its first packet at once (each Inbound carries the ack's address): no
      // StreamInit round trip (a message to the session and a callback back into this stage per connection).
      sessionWaits = true;
      pull(in);
    }

    /** One turn of the session: its writes in order, then its ack (the hand-over rule). */
    private void onTurn(Turn t) {
      if (t.first() != null) onWrite(t.first());
      if (t.more() != null) for (ByteString b : t.more()) onWrite(b);
      if (t.ack()) onAck();
    }

    private void onAck() {
      if (inbound != null && !inbound.isEmpty()) {
        session.tell(new MqttSession.Inbound(inbound.poll(), ackTo));
        readAhead();
      } else if (upstreamDone) {
        endSession();
      } else {
        sessionWaits = true;
      }
    }

    private void readAhead() {
      int held = inbound == null ? 0 : inbound.size();
      if (held < maxInflight && !paused && !upstreamDone && !isClosed(in) && !hasBeenPulled(in)) pull(in);
    }

    /** A reported patch refused at the node's admission limit, answered here; then reading pauses. */
    private boolean refusedHere(MqttPacket p) {
      ByteString answer = MqttSession.refusalAtAdmission(p, respond, deps.twins());
      if (answer == null) return false;
      if (pending.incrementAndGet() > maxOutbound) {
        // The device does not read its answers: the session decides (it closes such a connection).
        pending.decrementAndGet();
        return false;
      }
      lastAnsweredByStage = System.nanoTime();
      if (refusedHoldNanos > 0 && throttlePauseMaxNanos == 0) {
        // Answered at once; the socket stays unread until the node has a slot for this connection.
        onWrite(answer);
        holdForRoom();
      } else if (throttlePauseMaxNanos > 0 && throttlePauseNanos > 0) {
        // Session 13's back-off (throttle-pause-max set): the answer waits with the reading.
        heldRefusal = answer;
        paused = true;
        scheduleOnce("read-on", java.time.Duration.ofNanos(backOffNanos(throttlePauseNanos, throttlePauseMaxNanos, refusedInARow++)));
      } else if (throttlePauseNanos > 0) {
        // The default (session 11): answered at once, then the socket unread for throttle-pause.
        onWrite(answer);
        paused = true;
        scheduleOnce("read-on", java.time.Duration.ofNanos(throttlePauseNanos));
      } else {
        onWrite(answer);
        readAhead();
      }
      return true;
    }

    /**
     * After a refusal here: this connection waits among the admission's waiters (a freed slot wakes
     * the newest) with its socket unread, for at most {@code refused-hold}. Waking takes no slot:
     * the next patch read is decided as any other, so a woken device with nothing to send wastes none.
     */
    private void holdForRoom() {
      io.twinhub.twin.service.AdmissionLimit.Waiter[] w = new io.twinhub.twin.service.AdmissionLimit.Waiter[1];
      if (deps.twins().wakeWhenFree(this::wokenElsewhere, w)) {
        readAhead(); // room again already
        return;
      }
      holdWaiter = w[0];
      paused = true;
      scheduleOnce(HOLD_OVER, java.time.Duration.ofNanos(refusedHoldNanos));
    }

    /** A freed slot woke this connection (on the thread of the answer that freed it). */
    private void wokenElsewhere() {
      if (!stopped) woken.invoke(Boolean.TRUE);
    }

    private void onWoken() {
      holdWaiter = null;
      cancelTimer(HOLD_OVER);
      paused = false;
      readAhead();
    }

    private static final String HOLD_OVER = "hold-over";

    @Override
    public void onTimer(Object key) {
      if (HOLD_OVER.equals(key)) {
        // The hold ran out: read on, the next patch is decided as any other.
        if (holdWaiter != null) deps.twins().withdraw(holdWaiter);
        holdWaiter = null;
        paused = false;
        readAhead();
        return;
      }
      if (heldRefusal != null) {
        lastAnsweredByStage = System.nanoTime();
        onWrite(heldRefusal);
        heldRefusal = null;
      }
      paused = false;
      readAhead();
    }

    /** The device's end is gone and the session has what was read before it: end the session and the stream. */
    private void endSession() {
      tellEnd();
      completeStage();
    }

    private void tellEnd() {
      if (told || session == null) return;
      told = true;
      session.tell(streamFailure == null ? new MqttSession.StreamCompleted() : new MqttSession.StreamFailed(streamFailure));
    }

    private void onWrite(ByteString bytes) {
      if (isClosed(out)) return;
      if (isAvailable(out) && (outbound == null || outbound.isEmpty())) {
        pending.decrementAndGet();
        push(out, bytes);
      } else {
        if (outbound == null) outbound = new ArrayDeque<>(4);
        outbound.add(bytes);
      }
    }

    private void onSessionClose() {
      sessionClosing = true;
      if (outbound == null || outbound.isEmpty()) completeStage();
    }

    @Override
    public void postStop() {
      stopped = true;
      // A held connection leaves the waiters (waking holds no slot, so a wake racing with this stop leaks nothing).
      if (holdWaiter != null) deps.twins().withdraw(holdWaiter);
      holdWaiter = null;
      if (session != null) {
        sessions.remove(session);
        if (!told && !sessionClosing && streamFailure == null) {
          // Neither end decided (the materializer shut down, or this stage failed): not the device's doing.
          streamFailure = new IllegalStateException("the connection's stream stopped");
        }
        tellEnd(); // the session stops (after logging why, unless it closed first)
      }
    }

    // ---------------------------------------------------------------- Outbound (the session's thread)

    // The current turn of the session (its thread only): what it offered, and whether it acked.
    private ByteString turnFirst;
    private java.util.ArrayList<ByteString> turnMore;
    private boolean turnAck;

    private boolean offerBytes(ByteString bytes) {
      if (stopped) return false;
      if (pending.incrementAndGet() > maxOutbound) {
        pending.decrementAndGet();
        return false;
      }
      if (turnFirst == null) {
        turnFirst = bytes;
      } else {
        if (turnMore == null) turnMore = new java.util.ArrayList<>(2);
        turnMore.add(bytes);
      }
      return true;
    }

    @Override
    public void done(ActorRef<MqttSession.Ack> a) {
      if (a == ackTo) turnAck = true;
      else a.tell(MqttSession.Ack.ACK);
    }

    @Override
    public void endOfTurn() {
      if (turnFirst == null && !turnAck) return;
      Turn t = new Turn(turnFirst, turnMore, turnAck);
      turnFirst = null;
      turnMore = null;
      turnAck = false;
      if (!stopped) turn.invoke(t);
    }

    @Override
    public boolean offer(MqttPacket packet) {
      return offerBytes(MqttCodec.encode(packet));
    }

    @Override
    public boolean offer(MqttPacket first, MqttPacket second) {
      return offerBytes(MqttCodec.encode(first).concat(MqttCodec.encode(second)));
    }

    @Override
    public void close() {
      endOfTurn(); // what the session wrote before closing goes first
      if (!stopped) closeCallback.invoke(Boolean.TRUE);
    }

    @Override
    public void refuseAtAdmission(boolean on, boolean respond) {
      this.respond = respond;
      this.refuseAtAdmission = on;
    }

    @Override
    public long lastAnsweredByStage() {
      return lastAnsweredByStage;
    }
  }
}
