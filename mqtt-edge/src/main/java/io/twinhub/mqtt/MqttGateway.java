package io.twinhub.mqtt;

import akka.Done;
import akka.NotUsed;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.actor.typed.javadsl.AskPattern;
import akka.stream.Attributes;
import akka.stream.FlowShape;
import akka.stream.Graph;
import akka.stream.Materializer;
import akka.stream.TLSClosing;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.stream.javadsl.Tcp;
import akka.util.ByteString;
import io.twinhub.mqtt.codec.MqttFraming;
import io.twinhub.mqtt.codec.MqttPacket;
import io.twinhub.mqtt.session.MqttSession;
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
 * (TLS ⇄ {@link MqttFraming} ⇄ {@link SessionStage}, one blueprint for all) and one {@link MqttSession} actor. Stops with the
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
    Set<ActorRef<MqttSession.Command>> sessions = ConcurrentHashMap.newKeySet();
    AtomicLong counter = new AtomicLong();
    CompletionStage<Tcp.ServerBinding> bound = bind(system, settings, engines, new SessionStage(system, deps, sessions), counter);
    return bound.thenApply(b -> {
      MqttGateway gateway = new MqttGateway(system, settings, b, sessions, counter);
      CoordinatedShutdown cs = CoordinatedShutdown.get(Adapter.toClassic(system));
      cs.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "mqtt-unbind", () -> b.unbind().thenApply(x -> Done.getInstance()));
      cs.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "mqtt-close-sessions", gateway::closeSessions);
      log.info("MQTT gateway listening on {} (TLS, {})", b.localAddress(), settings.tlsDescription());
      return gateway;
    });
  }

  /**
   * The device-facing transport without the hub: binds {@code settings.bindInterface():settings.port()},
   * and per accepted connection materializes socket bytes ⇄ TLS (the configured stage and engines) ⇄
   * {@link MqttFraming} (server side: CONNECT first) ⇄ {@code session}, with the device's address as
   * a {@link SessionStage.Remote} attribute. One blueprint for every connection. The gateway binds it
   * with {@link SessionStage}; the bench's bare endpoint ({@code ./twinhub bench mqtt-bare}) with a
   * stage that only answers CONNACK, so both measure the same TLS and stream stack.
   *
   * @param accepted counts the accepted connections
   */
  public static CompletionStage<Tcp.ServerBinding> bind(ActorSystem<?> system, MqttSettings settings,
                                                        java.util.function.Supplier<SSLEngine> engines,
                                                        Graph<FlowShape<MqttPacket, ByteString>, NotUsed> session,
                                                        AtomicLong accepted) {
    Materializer mat = Materializer.matFromSystem(system);
    Source<Tcp.IncomingConnection, CompletionStage<Tcp.ServerBinding>> connections = settings.compactTls()
        ? Tcp.get(system).bind(settings.bindInterface(), settings.port(), settings.backlog(), List.of(), false,
            Optional.empty())
        : Tcp.get(system).bindWithTls(settings.bindInterface(), settings.port(), engines::get, settings.backlog(),
            List.of(), Optional.empty(), s -> Optional.empty(), TLSClosing.eagerClose());
    // One blueprint for every connection: socket bytes ⇄ (TLS) ⇄ framing ⇄ session; each
    // materialization gets its own stages (and session actor), and the device's address as an attribute.
    Flow<ByteString, ByteString, NotUsed> plain = Flow.fromGraph(new MqttFraming(settings.maxPacketSize(), true))
        .via(session);
    Flow<ByteString, ByteString, NotUsed> perConnection = settings.compactTls() ? CompactTls.server(engines).join(plain) : plain;
    return connections
        .to(Sink.foreach(connection -> {
          accepted.incrementAndGet();
          try {
            InetSocketAddress remote = connection.remoteAddress();
            connection.handleWith(perConnection.addAttributes(Attributes.apply(
                new SessionStage.Remote(remote.getAddress().getHostAddress() + ":" + remote.getPort()))), mat);
          } catch (RuntimeException e) {
            log.warn("could not set up MQTT connection from {}: {}", connection.remoteAddress(), e.toString());
          }
        }))
        .run(mat);
  }

  private static SSLEngine serverEngine(SSLContext ssl) {
    SSLEngine engine = ssl.createSSLEngine();
    engine.setUseClientMode(false);
    engine.setEnabledProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
    return engine;
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
