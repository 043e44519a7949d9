package io.twinhub.mqtt;

import akka.Done;
import akka.NotUsed;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Adapter;
import akka.actor.typed.javadsl.AskPattern;
import akka.stream.Attributes;
import akka.stream.BoundedSourceQueue;
import akka.stream.Materializer;
import akka.stream.TLSClosing;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.stream.javadsl.Tcp;
import akka.stream.typed.javadsl.ActorSink;
import akka.util.ByteString;
import io.twinhub.mqtt.codec.MqttFraming;
import io.twinhub.mqtt.codec.MqttPacket;
import io.twinhub.mqtt.session.MqttSession;
import io.twinhub.mqtt.session.Outbound;
import io.twinhub.mqtt.session.SessionDeps;
import io.twinhub.mqtt.session.SessionStore;
import io.twinhub.mqtt.telemetry.TelemetryService;
import io.twinhub.mqtt.tls.CompactTls;
import io.twinhub.twin.auth.PolicyLookup;
import io.twinhub.twin.auth.SasVerifier;
import io.twinhub.twin.c2d.CloudToDeviceService;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.service.TwinService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The MQTT 3.1.1 device gateway: a TLS listener on Akka Streams TCP; per connection one stream
 * (TLS ⇄ {@link MqttFraming} ⇄ session) and one {@link MqttSession} actor. Stops with the
 * ActorSystem (CoordinatedShutdown: unbind first, then every session closes and detaches from
 * its twin while sharding still runs).
 */
public final class MqttGateway {
  private static final Logger log = LoggerFactory.getLogger(MqttGateway.class);

  private final ActorSystem<?> system;
  private final MqttSettings settings;
  private final Tcp.ServerBinding binding;
  private final Set<ActorRef<MqttSession.Command>> sessions;
  private final AtomicLong accepted;
  private volatile CompletionStage<Done> stopped;

  private MqttGateway(ActorSystem<?> system, MqttSettings settings, Tcp.ServerBinding binding,
                      Set<ActorRef<MqttSession.Command>> sessions, AtomicLong accepted) {
    this.system = system;
    this.settings = settings;
    this.binding = binding;
    this.sessions = sessions;
    this.accepted = accepted;
  }

  /**
   * Binds {@code settings.bindInterface():settings.port()} with TLS from {@code ssl}. Device
   * tokens are accepted for {@code settings.hostNames()}; {@code policies} may grant
   * DeviceConnect to hub-level tokens (IoT Hub's {@code device} policy).
   */
  public static CompletionStage<MqttGateway> start(ActorSystem<?> system, TwinService twins, CloudToDeviceService c2d, SSLContext ssl,
                                                   MqttSettings settings, TwinLimits limits, PolicyLookup policies) {
    return start(system, twins, c2d, () -> serverEngine(ssl), settings, limits, policies);
  }

  /** The same with server-mode engines from {@code engines} (e.g. {@link io.twinhub.mqtt.tls.TlsMaterial#serverEngines}). */
  public static CompletionStage<MqttGateway> start(ActorSystem<?> system, TwinService twins, CloudToDeviceService c2d,
                                                   java.util.function.Supplier<SSLEngine> engines,
                                                   MqttSettings settings, TwinLimits limits, PolicyLookup policies) {
    Clock clock = Clock.systemUTC();
    TelemetryService telemetry = new TelemetryService(system, settings.askTimeout());
    SessionDeps deps = new SessionDeps(twins, c2d, telemetry, new SessionStore.Client(system, settings.askTimeout()),
        new SasVerifier(settings.hostNames(), clock), policies,
        limits, settings, clock);
    Materializer mat = Materializer.matFromSystem(system);
    Set<ActorRef<MqttSession.Command>> sessions = ConcurrentHashMap.newKeySet();
    AtomicLong counter = new AtomicLong();

    Source<Tcp.IncomingConnection, CompletionStage<Tcp.ServerBinding>> connections = settings.compactTls()
        ? Tcp.get(system).bind(settings.bindInterface(), settings.port(), settings.backlog(), List.of(), false,
            Optional.empty())
        : Tcp.get(system).bindWithTls(settings.bindInterface(), settings.port(), engines::get, settings.backlog(),
            List.of(), Optional.empty(), session -> Optional.empty(), TLSClosing.eagerClose());
    CompletionStage<Tcp.ServerBinding> bound = connections
        .to(Sink.foreach(connection -> {
          long n = counter.incrementAndGet();
          try {
            Flow<ByteString, ByteString, NotUsed> plain = connectionFlow(system, deps, sessions, n, connection.remoteAddress());
            connection.handleWith(settings.compactTls() ? CompactTls.server(engines).join(plain) : plain, mat);
          } catch (RuntimeException e) {
            log.warn("could not set up MQTT connection from {}: {}", connection.remoteAddress(), e.toString());
          }
        }))
        .run(mat);
    return bound.thenApply(b -> {
      MqttGateway gateway = new MqttGateway(system, settings, b, sessions, counter);
      CoordinatedShutdown cs = CoordinatedShutdown.get(Adapter.toClassic(system));
      cs.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "mqtt-unbind", () -> b.unbind().thenApply(x -> Done.getInstance()));
      cs.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "mqtt-close-sessions", gateway::closeSessions);
      log.info("MQTT gateway listening on {} (TLS, {} stage, {})", b.localAddress(), settings.compactTls() ? "compact" : "akka",
          settings.openSsl() ? "BoringSSL" : "JDK");
      return gateway;
    });
  }

  private static SSLEngine serverEngine(SSLContext ssl) {
    SSLEngine engine = ssl.createSSLEngine();
    engine.setUseClientMode(false);
    engine.setEnabledProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
    return engine;
  }

  /**
   * socket bytes ⇄ framing ⇄ (sink into the session actor, bounded queue of encoded packets out of
   * it). The queue is materialized inside the connection's stream, so a packet the session writes
   * reaches TLS in the same stream actor; the session gets the queue as soon as the stream is
   * materialized (see {@link LateQueue}).
   */
  private static Flow<ByteString, ByteString, NotUsed> connectionFlow(ActorSystem<?> system, SessionDeps deps,
      Set<ActorRef<MqttSession.Command>> sessions, long n, InetSocketAddress remote) {
    MqttSettings s = deps.settings();
    LateQueue late = new LateQueue();
    ActorRef<MqttSession.Command> session = system.systemActorOf(
        MqttSession.create(deps, late, remote.getAddress().getHostAddress() + ":" + remote.getPort()),
        "mqtt-session-" + n, Props.empty());
    sessions.add(session);
    Sink<MqttPacket, NotUsed> toSession = ActorSink.<MqttPacket, MqttSession.Command, MqttSession.Ack>actorRefWithBackpressure(
        session,
        (ackTo, packet) -> new MqttSession.Inbound(packet, ackTo),
        MqttSession.StreamInit::new,
        MqttSession.Ack.ACK,
        new MqttSession.StreamCompleted(),
        MqttSession.StreamFailed::new);
    Source<ByteString, NotUsed> fromSession = Source.<ByteString>queue(s.maxOutboundQueue())
        .mapMaterializedValue(q -> {
          late.set(q);
          return NotUsed.getInstance();
        });
    Flow<ByteString, ByteString, NotUsed> sessionFlow = Flow.fromSinkAndSourceCoupled(
        Flow.fromGraph(new MqttFraming(s.maxPacketSize(), true))
            .buffer(s.maxInflight(), akka.stream.OverflowStrategy.backpressure()).to(toSession),
        fromSession);
    return sessionFlow
        .watchTermination((notUsed, done) -> {
          done.whenComplete((d, e) -> {
            sessions.remove(session);
            late.fail(); // never materialized (or gone): the session's writes fail instead of waiting
          });
          return NotUsed.getInstance();
        })
        .addAttributes(Attributes.name("mqtt-connection-" + n));
  }

  /**
   * The session's {@link Outbound} before its connection's stream exists: the session actor must
   * be created first (the stream's sink sends to it), the queue only exists once the stream is
   * materialized, which is microseconds later on the accepting thread and long before a device can
   * have sent a CONNECT through TLS. A write in between waits for it.
   */
  static final class LateQueue implements Outbound {
    /** What a session writes to when its stream never ran (or ended before it was materialized). */
    private static final Outbound GONE = new Outbound() {
      @Override
      public boolean offer(MqttPacket packet) {
        return false;
      }

      @Override
      public void close() {}
    };

    private final CompletableFuture<Outbound> queue = new CompletableFuture<>();

    void set(BoundedSourceQueue<ByteString> q) {
      queue.complete(Outbound.encoding(q));
    }

    /** No queue will come: writes fail (the session closes), close does nothing. */
    void fail() {
      queue.complete(GONE);
    }

    private Outbound get() {
      Outbound q = queue.getNow(null);
      if (q != null) return q;
      try {
        return queue.get(5, java.util.concurrent.TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return GONE;
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        return GONE;
      }
    }

    @Override
    public boolean offer(MqttPacket packet) {
      return get().offer(packet);
    }

    @Override
    public boolean offer(MqttPacket first, MqttPacket second) {
      return get().offer(first, second);
    }

    @Override
    public void close() {
      // Not materialized yet: nothing was written, and a stream that starts later finds its session gone.
      fail();
      queue.getNow(GONE).close();
    }
  }

  /** Closes every session (each detaches from its twin) and waits up to the drain timeout. */
  private CompletionStage<Done> closeSessions() {
    List<CompletableFuture<MqttSession.Closed>> closing = new ArrayList<>();
    for (ActorRef<MqttSession.Command> s : sessions) {
      closing.add(AskPattern.<MqttSession.Command, MqttSession.Closed>ask(s, MqttSession.Shutdown::new,
          settings.drainTimeout(), system.scheduler()).toCompletableFuture().exceptionally(e -> null));
    }
    if (!closing.isEmpty()) log.info("closing {} MQTT sessions", closing.size());
    return CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new)).thenApply(x -> Done.getInstance());
  }

  /** Unbinds and closes every session; the system keeps running (tests, embedding). */
  public synchronized CompletionStage<Done> stop() {
    if (stopped == null) {
      stopped = binding.unbind().thenCompose(x -> closeSessions());
    }
    return stopped;
  }

  public InetSocketAddress localAddress() {
    return binding.localAddress();
  }

  /** Connections with a live session right now. */
  public int sessionCount() {
    return sessions.size();
  }

  /** Connections accepted since start. */
  public long acceptedConnections() {
    return accepted.get();
  }

  public MqttSettings settings() {
    return settings;
  }
}
