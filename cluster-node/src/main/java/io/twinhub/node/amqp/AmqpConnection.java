package io.twinhub.node.amqp;

import akka.NotUsed;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.stream.BoundedSourceQueue;
import akka.stream.KillSwitches;
import akka.stream.Materializer;
import akka.stream.QueueOfferResult;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Keep;
import akka.stream.typed.javadsl.ActorSink;
import akka.util.ByteString;
import io.twinhub.twin.auth.AccessRight;
import io.twinhub.twin.auth.SasOutcome;
import io.twinhub.twin.c2d.CloudToDeviceQueue;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;
import org.apache.qpid.proton.Proton;
import org.apache.qpid.proton.amqp.Binary;
import org.apache.qpid.proton.amqp.Symbol;
import org.apache.qpid.proton.amqp.UnsignedLong;
import org.apache.qpid.proton.amqp.messaging.Accepted;
import org.apache.qpid.proton.amqp.messaging.AmqpValue;
import org.apache.qpid.proton.amqp.messaging.Rejected;
import org.apache.qpid.proton.amqp.messaging.Source;
import org.apache.qpid.proton.amqp.messaging.Target;
import org.apache.qpid.proton.amqp.transport.DeliveryState;
import org.apache.qpid.proton.amqp.transport.ErrorCondition;
import org.apache.qpid.proton.engine.Collector;
import org.apache.qpid.proton.engine.Connection;
import org.apache.qpid.proton.engine.Delivery;
import org.apache.qpid.proton.engine.EndpointState;
import org.apache.qpid.proton.engine.Event;
import org.apache.qpid.proton.engine.Link;
import org.apache.qpid.proton.engine.Receiver;
import org.apache.qpid.proton.engine.Sasl;
import org.apache.qpid.proton.engine.SaslListener;
import org.apache.qpid.proton.engine.Sender;
import org.apache.qpid.proton.engine.Session;
import org.apache.qpid.proton.engine.Transport;
import org.apache.qpid.proton.engine.TransportException;
import org.apache.qpid.proton.message.Message;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One AMQP connection of a back end: a Proton-J engine (framing, SASL, sessions, links, flow
 * control) driven by this actor, between the TLS stream's bytes in (back-pressured: the next
 * chunk is requested once the previous one is processed) and a bounded queue of bytes out.
 *
 * <p>IoT Hub's service endpoint as the SDKs use it: SASL ANONYMOUS (or PLAIN with a SAS token as
 * password), then a {@code $cbs} put-token with a service SAS token, verified as REST tokens are
 * (same policies and host names; right ServiceConnect); then the {@code /messages/devicebound}
 * link (each message queued for its device before it is accepted) and the
 * {@code /messages/servicebound/feedback} link (feedback batches; accepting one completes it).
 * Anything else gets an AMQP error on the link, or on the connection, which is then closed; other
 * connections are not affected.
 */
final class AmqpConnection extends AbstractBehavior<AmqpConnection.Command> {
  interface Command {}

  enum Ack { ACK }

  record StreamInit(ActorRef<Ack> ackTo) implements Command {}

  record Inbound(ByteString bytes, ActorRef<Ack> ackTo) implements Command {}

  record StreamCompleted() implements Command {}

  record StreamFailed(Throwable cause) implements Command {}

  record OutputReady(BoundedSourceQueue<ByteString> queue) implements Command {}

  /** The server stops: close the connection (with an AMQP close frame) and stop. */
  record Shutdown() implements Command {}

  private record Sent(Delivery delivery, CloudToDeviceQueue.SendResult result, Throwable failure) implements Command {}

  private record FeedbackStarted(akka.stream.javadsl.Source<FeedbackFeed.Batch, NotUsed> batches, Throwable failure)
      implements Command {}

  private record FeedbackBatch(FeedbackFeed.Batch batch, ActorRef<Ack> ackTo) implements Command {}

  private record FeedbackInit(ActorRef<Ack> ackTo) implements Command {}

  private record FeedbackEnded(Throwable failure) implements Command {}

  private record FeedbackCompleted(Throwable failure) implements Command {}

  private enum Tick implements Command { IDLE, AUTH_TIMEOUT, TOKEN_EXPIRED, RESEND_FEEDBACK, STOP }

  private static final String CBS = "$cbs";
  private static final String DEVICEBOUND = "/messages/devicebound";
  private static final String FEEDBACK = "/messages/servicebound/feedback";
  private static final int RECEIVE_CREDIT = 100;

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final AmqpServer.Deps deps;
  private final String remote;
  private final Connection connection = Proton.connection();
  private final Transport transport = Proton.transport();
  private final Collector collector = Proton.collector();

  private BoundedSourceQueue<ByteString> out;
  private ActorRef<Ack> ackTo;
  private boolean closing;
  private boolean outputClosed;
  private boolean saslDone;
  /** Until when the put-token's SAS token is valid (epoch seconds); 0: not authenticated. */
  private long authorizedUntil;
  private Sender cbsReplies;
  private Sender feedbackLink;
  private UniqueKillSwitch feedbackStream;
  private FeedbackBatch pendingBatch;
  private Delivery feedbackDelivery;
  private int deliveryTags;

  static Behavior<Command> create(AmqpServer.Deps deps, String remote) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new AmqpConnection(ctx, timers, deps, remote)));
  }

  private AmqpConnection(ActorContext<Command> ctx, TimerScheduler<Command> timers, AmqpServer.Deps deps, String remote) {
    super(ctx);
    this.ctx = ctx;
    this.timers = timers;
    this.deps = deps;
    this.remote = remote;
    transport.setMaxFrameSize(deps.settings().maxFrameSize());
    // Idle timeout we announce: the SDKs send empty frames within it; we close a silent connection after it.
    transport.setIdleTimeout(240_000);
    Sasl sasl = transport.sasl();
    sasl.server();
    sasl.setMechanisms("ANONYMOUS", "PLAIN");
    sasl.setListener(new SaslServer());
    connection.collect(collector);
    transport.bind(connection);
    timers.startTimerWithFixedDelay(Tick.IDLE, Tick.IDLE, Duration.ofSeconds(5));
    timers.startSingleTimer(Tick.AUTH_TIMEOUT, Tick.AUTH_TIMEOUT, deps.settings().authTimeout());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(StreamInit.class, m -> {
          m.ackTo().tell(Ack.ACK);
          return this;
        })
        .onMessage(OutputReady.class, m -> {
          out = m.queue();
          return afterWork();
        })
        .onMessage(Inbound.class, this::onInbound)
        .onMessage(StreamCompleted.class, m -> stop("connection closed by the client"))
        .onMessage(StreamFailed.class, m -> stop("connection failed: " + m.cause().getMessage()))
        .onMessage(Sent.class, this::onSent)
        .onMessage(FeedbackStarted.class, this::onFeedbackStarted)
        .onMessage(FeedbackInit.class, m -> {
          m.ackTo().tell(Ack.ACK);
          return this;
        })
        .onMessage(FeedbackBatch.class, m -> {
          pendingBatch = m;
          sendFeedback();
          return afterWork();
        })
        .onMessage(FeedbackEnded.class, m -> {
          if (m.failure() != null && feedbackLink != null) {
            closeLink(feedbackLink, new ErrorCondition(Symbol.valueOf("amqp:internal-error"), "feedback unavailable; reattach"));
          }
          return afterWork();
        })
        .onMessage(FeedbackCompleted.class, this::onFeedbackCompleted)
        .onMessage(Shutdown.class, m -> {
          closeConnection(new ErrorCondition(Symbol.valueOf("amqp:connection:forced"), "server shutting down"));
          return afterWork();
        })
        .onMessage(Tick.class, this::onTick)
        .build();
  }

  // ------------------------------------------------------------------ bytes in, events, bytes out

  private Behavior<Command> onInbound(Inbound m) {
    ackTo = m.ackTo();
    if (!closing) {
      ByteBuffer bytes = m.bytes().asByteBuffer();
      try {
        while (bytes.hasRemaining() && !closing) {
          int capacity = transport.capacity();
          if (capacity <= 0) break; // input closed (after a close or an error): the rest is ignored
          ByteBuffer tail = transport.tail();
          int n = Math.min(capacity, bytes.remaining());
          ByteBuffer slice = bytes.slice();
          slice.limit(n);
          tail.put(slice);
          bytes.position(bytes.position() + n);
          transport.process();
          processEvents();
        }
      } catch (TransportException e) {
        // Not AMQP, or a frame Proton could not decode: Proton has queued what it still writes
        // (its protocol header) and closed its output. After our open, the peer also gets a close
        // naming the error; broken framing Proton answers itself, with a framing-error close.
        ctx.getLog().debug("AMQP connection from {}: {}", remote, e.getMessage());
        flush();
        if (connection.getLocalState() == EndpointState.ACTIVE && out != null && !outputClosed) {
          out.offer(ByteString.fromArrayUnsafe(AmqpMessages.closeFrame(new ErrorCondition(AmqpMessages.DECODE_ERROR,
              AmqpMessages.clip(String.valueOf(e.getMessage()))))));
        }
        closing = true;
      } catch (RuntimeException e) {
        ctx.getLog().warn("AMQP connection from {} failed: {}", remote, e.toString());
        closeConnection(new ErrorCondition(Symbol.valueOf("amqp:internal-error"), "internal error"));
      }
    }
    return afterWork();
  }

  /** Writes what Proton produced, asks the socket for more, and ends the connection once closed. */
  private Behavior<Command> afterWork() {
    processEvents();
    flush();
    if (ackTo != null && !closing) {
      ActorRef<Ack> a = ackTo;
      ackTo = null;
      a.tell(Ack.ACK);
    }
    if ((closing || transport.isClosed()) && out != null && !outputClosed) {
      // What Proton wrote last (close frame, SASL outcome) is flushed above; then TLS closes.
      outputClosed = true;
      out.complete();
      timers.startSingleTimer(Tick.STOP, Tick.STOP, Duration.ofSeconds(5));
    }
    return this;
  }

  private void flush() {
    if (out == null || outputClosed) return;
    while (true) {
      int pending = transport.pending();
      if (pending <= 0) return;
      ByteBuffer head = transport.head();
      byte[] chunk = new byte[pending];
      head.get(chunk);
      transport.pop(pending);
      QueueOfferResult offered = out.offer(ByteString.fromArrayUnsafe(chunk));
      if (offered != QueueOfferResult.enqueued()) {
        // Dropped: the client does not read, so drop it. Otherwise the stream already ended (the
        // client went away while its last bytes were processed): failing it again would throw.
        if (offered == QueueOfferResult.dropped()) out.fail(new IllegalStateException("AMQP client does not read"));
        outputClosed = true;
        closing = true;
        return;
      }
    }
  }

  private void processEvents() {
    Event e;
    while ((e = collector.peek()) != null) {
      try {
        handle(e);
      } finally {
        collector.pop();
      }
    }
  }

  private void handle(Event e) {
    switch (e.getType()) {
      case CONNECTION_REMOTE_OPEN -> {
        connection.setContainer("twinhub");
        connection.open();
      }
      case CONNECTION_REMOTE_CLOSE -> {
        connection.close();
        closing = true;
      }
      case SESSION_REMOTE_OPEN -> {
        Session s = e.getSession();
        s.setIncomingCapacity(Integer.MAX_VALUE);
        s.open();
      }
      case SESSION_REMOTE_CLOSE -> e.getSession().close();
      case LINK_REMOTE_OPEN -> onLinkOpen(e.getLink());
      case LINK_REMOTE_CLOSE -> {
        Link l = e.getLink();
        if (l == feedbackLink) stopFeedback();
        if (l == cbsReplies) cbsReplies = null;
        l.close();
      }
      case LINK_FLOW -> {
        if (e.getLink() == feedbackLink) sendFeedback();
      }
      case DELIVERY -> onDelivery(e.getDelivery());
      case TRANSPORT_ERROR -> {
        ErrorCondition c = e.getTransport().getCondition();
        ctx.getLog().debug("AMQP transport error from {}: {}", remote, c);
        closing = true;
      }
      case TRANSPORT_CLOSED -> closing = true;
      default -> {
      }
    }
  }

  // ------------------------------------------------------------------ SASL

  /** ANONYMOUS (claims follow through CBS, as the SDKs do it) or PLAIN with a service SAS token as password. */
  private final class SaslServer implements SaslListener {
    @Override
    public void onSaslInit(Sasl sasl, Transport t) {
      String[] mech = sasl.getRemoteMechanisms();
      String chosen = mech.length == 0 ? "" : mech[0];
      byte[] initial = new byte[Math.max(0, sasl.pending())];
      if (initial.length > 0) sasl.recv(initial, 0, initial.length);
      if (chosen.equals("ANONYMOUS")) {
        sasl.done(Sasl.SaslOutcome.PN_SASL_OK);
      } else if (chosen.equals("PLAIN")) {
        // authzid \0 authcid \0 password: the password is the SAS token.
        String[] parts = new String(initial, StandardCharsets.UTF_8).split("\0", -1);
        String token = parts.length == 3 ? parts[2] : "";
        if (authorize(token).isEmpty()) {
          sasl.done(Sasl.SaslOutcome.PN_SASL_OK);
        } else {
          sasl.done(Sasl.SaslOutcome.PN_SASL_AUTH);
          closing = true;
        }
      } else {
        ctx.getLog().debug("AMQP connection from {}: SASL mechanism '{}' refused", remote, AmqpMessages.clip(chosen));
        sasl.done(Sasl.SaslOutcome.PN_SASL_AUTH);
        closing = true;
      }
      saslDone = true;
    }

    @Override
    public void onSaslResponse(Sasl sasl, Transport t) {}

    @Override
    public void onSaslMechanisms(Sasl sasl, Transport t) {}

    @Override
    public void onSaslChallenge(Sasl sasl, Transport t) {}

    @Override
    public void onSaslOutcome(Sasl sasl, Transport t) {}
  }

  /** Verifies a service SAS token (ServiceConnect); empty when it authorizes, else why not. */
  private Optional<String> authorize(String token) {
    SasOutcome outcome = deps.verifier().verifyService(token, AccessRight.ServiceConnect, deps.policies());
    if (outcome instanceof SasOutcome.Valid v) {
      authorizedUntil = Math.max(authorizedUntil, v.expiryEpochSeconds());
      timers.cancel(Tick.AUTH_TIMEOUT);
      long seconds = Math.max(0, authorizedUntil - deps.clock().instant().getEpochSecond());
      timers.startSingleTimer(Tick.TOKEN_EXPIRED, Tick.TOKEN_EXPIRED, Duration.ofSeconds(Math.min(seconds, 365L * 24 * 3600)));
      return Optional.empty();
    }
    SasOutcome.Invalid invalid = (SasOutcome.Invalid) outcome;
    deps.metrics().authFailed();
    return Optional.of(invalid.reason() + ": " + invalid.detail());
  }

  private boolean authorized() {
    return authorizedUntil > deps.clock().instant().getEpochSecond();
  }

  // ------------------------------------------------------------------ links

  private void onLinkOpen(Link link) {
    String address = link instanceof Receiver
        ? (link.getRemoteTarget() instanceof Target t ? t.getAddress() : null)
        : (link.getRemoteSource() instanceof Source s ? s.getAddress() : null);
    link.setSource(link.getRemoteSource());
    link.setTarget(link.getRemoteTarget());
    if (address == null) {
      refuseLink(link, new ErrorCondition(AmqpMessages.NOT_FOUND, "link without an address"));
    } else if (address.equals(CBS)) {
      link.open();
      if (link instanceof Receiver r) r.flow(RECEIVE_CREDIT);
      else cbsReplies = (Sender) link;
    } else if (!authorized()) {
      refuseLink(link, new ErrorCondition(AmqpMessages.UNAUTHORIZED, "put a service SAS token on $cbs first"));
    } else if (link instanceof Receiver r && address.equalsIgnoreCase(DEVICEBOUND)) {
      r.setMaxMessageSize(UnsignedLong.valueOf(deps.c2dSettings().maxMessageBytes() + 16 * 1024L));
      r.open();
      r.flow(RECEIVE_CREDIT);
    } else if (link instanceof Sender s && address.toLowerCase(Locale.ROOT).equals(FEEDBACK)) {
      if (feedbackLink != null) {
        refuseLink(link, new ErrorCondition(Symbol.valueOf("amqp:resource-locked"), "one feedback receiver per connection"));
        return;
      }
      s.open();
      feedbackLink = s;
      ctx.pipeToSelf(deps.feedback().batches(), FeedbackStarted::new);
    } else {
      refuseLink(link, new ErrorCondition(AmqpMessages.NOT_FOUND, "no such node: " + AmqpMessages.clip(address)));
    }
  }

  /** AMQP's way to refuse an attach: open it, then detach at once with the error. */
  private void refuseLink(Link link, ErrorCondition why) {
    if (link instanceof Receiver) link.setTarget(null);
    else link.setSource(null);
    link.open();
    closeLink(link, why);
  }

  private void closeLink(Link link, ErrorCondition why) {
    link.setCondition(why);
    link.close();
  }

  private void onDelivery(Delivery d) {
    Link link = d.getLink();
    if (link instanceof Receiver r) {
      onIncoming(r, d);
    } else if (link == feedbackLink && d == feedbackDelivery && d.remotelySettled()) {
      onFeedbackOutcome(d);
    } else if (d.remotelySettled()) {
      d.settle(); // CBS replies: nothing to track
    }
  }

  private void onIncoming(Receiver r, Delivery d) {
    int limit = deps.c2dSettings().maxMessageBytes() + 16 * 1024;
    if (d.isPartial()) {
      // Proton collects a message's frames; stop a sender that goes far beyond the limit.
      if (d.pending() > 4 * limit) {
        closeLink(r, new ErrorCondition(AmqpMessages.MESSAGE_SIZE_EXCEEDED, "message larger than " + limit + " bytes"));
      }
      return;
    }
    if (!d.isReadable()) return;
    byte[] bytes = new byte[d.pending()];
    int read = r.recv(bytes, 0, bytes.length);
    r.advance();
    String address = ((Target) r.getRemoteTarget()).getAddress();
    if (read > limit) {
      reject(d, new ErrorCondition(AmqpMessages.MESSAGE_SIZE_EXCEEDED, "message of " + read + " bytes exceeds " + limit));
      r.flow(1);
      return;
    }
    Message m = Message.Factory.create();
    try {
      m.decode(bytes, 0, read);
    } catch (RuntimeException e) {
      reject(d, new ErrorCondition(AmqpMessages.DECODE_ERROR, "not an AMQP message"));
      r.flow(1);
      return;
    }
    if (address.equals(CBS)) {
      onPutToken(m);
      d.disposition(Accepted.getInstance());
      d.settle();
      r.flow(1);
    } else if (!authorized()) {
      reject(d, new ErrorCondition(AmqpMessages.UNAUTHORIZED, "the CBS token expired"));
      closeConnection(new ErrorCondition(AmqpMessages.UNAUTHORIZED, "the CBS token expired"));
    } else {
      AmqpMessages.Parsed parsed = AmqpMessages.toDevice(m);
      if (parsed instanceof AmqpMessages.Invalid bad) {
        reject(d, bad.error());
        r.flow(1);
      } else {
        // Accepted only once journaled in the device's queue; the credit comes back with the answer.
        long start = System.nanoTime();
        ctx.pipeToSelf(deps.c2d().send(((AmqpMessages.ToDevice) parsed).message()), (result, failure) -> {
          deps.metrics().sent(result, System.nanoTime() - start);
          return new Sent(d, result, failure);
        });
      }
    }
  }

  private Behavior<Command> onSent(Sent s) {
    Delivery d = s.delivery();
    if (d.getLink().getLocalState() == EndpointState.CLOSED || connection.getLocalState() == EndpointState.CLOSED) return this;
    if (s.result() instanceof CloudToDeviceQueue.Queued) {
      d.disposition(Accepted.getInstance());
      d.settle();
    } else {
      IotHubError e = s.result() instanceof CloudToDeviceQueue.Refused r ? r.error()
          : IotHubError.of(IotHubErrorCode.ServiceUnavailable, "the device queue did not answer; retry");
      reject(d, AmqpMessages.condition(e));
    }
    ((Receiver) d.getLink()).flow(1);
    return afterWork();
  }

  private static void reject(Delivery d, ErrorCondition why) {
    Rejected rejected = new Rejected();
    rejected.setError(why);
    d.disposition(rejected);
    d.settle();
  }

  /** {@code put-token}: verifies the token and answers on the {@code $cbs} reply link. */
  private void onPutToken(Message m) {
    Map<?, ?> app = m.getApplicationProperties() == null ? Map.of() : m.getApplicationProperties().getValue();
    Object id = m.getProperties() == null ? null : m.getProperties().getMessageId();
    int status;
    String description;
    if (!"put-token".equals(app.get("operation"))) {
      status = 400;
      description = "only put-token is supported";
    } else if (!(m.getBody() instanceof AmqpValue v) || !(v.getValue() instanceof String token)) {
      status = 400;
      description = "the token must be an AMQP string";
    } else {
      Optional<String> refused = authorize(token);
      status = refused.isEmpty() ? 200 : 401;
      description = refused.isEmpty() ? "OK" : "Unauthorized: " + refused.get();
      if (refused.isPresent()) ctx.getLog().debug("AMQP put-token from {} refused: {}", remote, refused.get());
    }
    if (cbsReplies != null && cbsReplies.getLocalState() == EndpointState.ACTIVE) {
      send(cbsReplies, AmqpMessages.cbsResponse(id, status, description));
    }
  }

  private Delivery send(Sender s, Message m) {
    byte[] buf = new byte[4096];
    int n;
    while (true) {
      try {
        n = m.encode(buf, 0, buf.length);
        break;
      } catch (java.nio.BufferOverflowException e) {
        buf = new byte[buf.length * 2];
      }
    }
    Delivery d = s.delivery(String.valueOf(++deliveryTags).getBytes(StandardCharsets.US_ASCII));
    s.send(buf, 0, n);
    s.advance();
    return d;
  }

  // ------------------------------------------------------------------ feedback

  private Behavior<Command> onFeedbackStarted(FeedbackStarted f) {
    if (feedbackLink == null) return this;
    if (f.failure() != null) {
      closeLink(feedbackLink, new ErrorCondition(Symbol.valueOf("com.microsoft:timeout"), "feedback unavailable; retry"));
      feedbackLink = null;
      return afterWork();
    }
    ActorRef<Command> self = ctx.getSelf();
    feedbackStream = f.batches()
        .viaMat(KillSwitches.single(), Keep.right())
        .toMat(ActorSink.<FeedbackFeed.Batch, Command, Ack>actorRefWithBackpressure(self, (ackTo, batch) -> new FeedbackBatch(batch, ackTo), FeedbackInit::new,
            Ack.ACK, new FeedbackEnded(null), FeedbackEnded::new), Keep.left())
        .run(Materializer.matFromSystem(ctx.getSystem()));
    return this;
  }

  private void sendFeedback() {
    if (feedbackLink == null || pendingBatch == null || feedbackDelivery != null) return;
    if (feedbackLink.getCredit() <= 0 || feedbackLink.getLocalState() != EndpointState.ACTIVE) return;
    feedbackDelivery = send(feedbackLink, AmqpMessages.feedbackBatch(pendingBatch.batch().records()));
  }

  /** The receiver's outcome for the batch: accepted (or rejected) completes it, anything else sends it again. */
  private void onFeedbackOutcome(Delivery d) {
    DeliveryState state = d.getRemoteState();
    d.settle();
    feedbackDelivery = null;
    if (state instanceof Accepted || state instanceof Rejected) {
      FeedbackBatch done = pendingBatch;
      ctx.pipeToSelf(deps.feedback().complete(done.batch().lastOffset()), (ok, failure) -> new FeedbackCompleted(failure));
    } else {
      timers.startSingleTimer(Tick.RESEND_FEEDBACK, Tick.RESEND_FEEDBACK, Duration.ofSeconds(1));
    }
  }

  private Behavior<Command> onFeedbackCompleted(FeedbackCompleted c) {
    if (c.failure() != null) {
      // Not recorded: the batch stays and comes again to a later receiver; this link starts over.
      if (feedbackLink != null) closeLink(feedbackLink, new ErrorCondition(Symbol.valueOf("com.microsoft:timeout"), "feedback completion not recorded; retry"));
      stopFeedback();
      return afterWork();
    }
    FeedbackBatch done = pendingBatch;
    pendingBatch = null;
    if (done != null) done.ackTo().tell(Ack.ACK);
    return afterWork();
  }

  private void stopFeedback() {
    if (feedbackStream != null) feedbackStream.shutdown();
    feedbackStream = null;
    feedbackLink = null;
    pendingBatch = null;
    feedbackDelivery = null;
  }

  // ------------------------------------------------------------------ timers and closing

  private Behavior<Command> onTick(Tick t) {
    switch (t) {
      case IDLE -> {
        transport.tick(System.currentTimeMillis()); // keep-alive frames, and closes a silent peer
        processEvents();
      }
      case AUTH_TIMEOUT -> {
        if (!authorized()) closeConnection(new ErrorCondition(AmqpMessages.UNAUTHORIZED,
            "no valid SAS token put on $cbs within " + deps.settings().authTimeout().toSeconds() + " s"));
      }
      case TOKEN_EXPIRED -> {
        if (!authorized()) closeConnection(new ErrorCondition(AmqpMessages.UNAUTHORIZED, "the CBS token expired"));
      }
      case RESEND_FEEDBACK -> sendFeedback();
      case STOP -> {
        stopFeedback();
        return Behaviors.stopped();
      }
    }
    return afterWork();
  }

  private void closeConnection(ErrorCondition why) {
    if (connection.getLocalState() != EndpointState.CLOSED) {
      if (connection.getLocalState() == EndpointState.UNINITIALIZED) connection.open();
      connection.setCondition(why);
      connection.close();
    }
    closing = true;
  }

  private Behavior<Command> stop(String reason) {
    ctx.getLog().debug("AMQP connection from {} ended: {}", remote, reason);
    stopFeedback();
    return Behaviors.stopped();
  }
}
