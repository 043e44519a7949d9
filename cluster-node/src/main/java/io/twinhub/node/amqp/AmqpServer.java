package io.twinhub.node.amqp;

import akka.Done;
import akka.NotUsed;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Adapter;
import akka.stream.Materializer;
import akka.stream.TLSClosing;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.stream.javadsl.Tcp;
import akka.stream.typed.javadsl.ActorSink;
import akka.util.ByteString;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.twinhub.twin.auth.PolicyLookup;
import io.twinhub.twin.auth.SasVerifier;
import io.twinhub.twin.c2d.CloudToDeviceQueue;
import io.twinhub.twin.c2d.CloudToDeviceService;
import io.twinhub.twin.c2d.CloudToDeviceSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * IoT Hub's AMQPS service endpoint (cloud-to-device send and feedback) on Akka Streams TCP + TLS
 * with the node's certificate; per connection one {@link AmqpConnection} actor running a Proton-J
 * engine. Unbinds in CoordinatedShutdown's service-unbind phase and closes every connection (with
 * an AMQP close) when requests are done, before sharding hands over.
 */
public final class AmqpServer {
  private static final Logger log = LoggerFactory.getLogger(AmqpServer.class);

  /** What every connection shares. */
  record Deps(AmqpSettings settings, CloudToDeviceSettings c2dSettings, SasVerifier verifier, PolicyLookup policies,
              CloudToDeviceService c2d, FeedbackFeed feedback, Clock clock, Metrics metrics) {}

  /** {@code twinhub_amqp_*} and {@code twinhub_c2d_*} on /metrics. */
  static final class Metrics {
    private final MeterRegistry registry;
    private final Counter authFailures;
    private final ConcurrentHashMap<String, Timer> sends = new ConcurrentHashMap<>();

    Metrics(MeterRegistry registry) {
      this.registry = registry;
      this.authFailures = Counter.builder("twinhub.amqp.auth.failures")
          .description("AMQP SASL or CBS tokens refused").register(registry);
    }

    void authFailed() {
      authFailures.increment();
    }

    /** One cloud-to-device send, by outcome (queued or the IoT Hub error), journal write included. */
    void sent(CloudToDeviceQueue.SendResult result, long nanos) {
      String outcome = result instanceof CloudToDeviceQueue.Refused r ? r.error().code().name()
          : result == null ? "ServiceUnavailable" : "queued";
      sends.computeIfAbsent(outcome, o -> Timer.builder("twinhub.c2d.sends").tag("outcome", o)
          .description("cloud-to-device messages received on AMQP, until queued or refused").register(registry))
          .record(nanos, TimeUnit.NANOSECONDS);
    }
  }

  private final ActorSystem<?> system;
  private final Tcp.ServerBinding binding;
  private final Set<ActorRef<AmqpConnection.Command>> connections;

  private AmqpServer(ActorSystem<?> system, Tcp.ServerBinding binding, Set<ActorRef<AmqpConnection.Command>> connections) {
    this.system = system;
    this.binding = binding;
    this.connections = connections;
  }

  /**
   * Binds {@code bindInterface:settings.port()} with TLS from {@code ssl}; service tokens are
   * verified by {@code verifier} against {@code policies}, as the REST API's are.
   */
  public static AmqpServer start(ActorSystem<?> system, String bindInterface, AmqpSettings settings, SSLContext ssl,
                                 SasVerifier verifier, PolicyLookup policies, CloudToDeviceService c2d,
                                 CloudToDeviceSettings c2dSettings, String readJournal, Duration askTimeout,
                                 MeterRegistry registry) throws Exception {
    Deps deps = new Deps(settings, c2dSettings, verifier, policies, c2d,
        new FeedbackFeed(system, readJournal, askTimeout, settings), Clock.systemUTC(), new Metrics(registry));
    Materializer mat = Materializer.matFromSystem(system);
    Set<ActorRef<AmqpConnection.Command>> connections = ConcurrentHashMap.newKeySet();
    AtomicLong counter = new AtomicLong();
    CompletionStage<Tcp.ServerBinding> bound = Tcp.get(system)
        .bindWithTls(bindInterface, settings.port(), () -> serverEngine(ssl), 100, List.of(), Optional.empty(),
            session -> Optional.empty(), TLSClosing.eagerClose())
        .to(Sink.foreach(connection -> {
          long n = counter.incrementAndGet();
          if (connections.size() >= settings.maxConnections()) {
            log.warn("AMQP connection from {} refused: {} connections open", connection.remoteAddress(), connections.size());
            connection.handleWith(Flow.fromSinkAndSource(Sink.cancelled(), Source.empty()), mat);
            return;
          }
          connection.handleWith(connectionFlow(system, deps, connections, n, connection.remoteAddress()), mat);
        }))
        .run(mat);
    Tcp.ServerBinding binding = bound.toCompletableFuture().get(30, TimeUnit.SECONDS);
    AmqpServer server = new AmqpServer(system, binding, connections);
    CoordinatedShutdown cs = CoordinatedShutdown.get(Adapter.toClassic(system));
    cs.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "amqp-unbind", () -> binding.unbind().thenApply(x -> Done.getInstance()));
    cs.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "amqp-close-connections", () -> {
      server.closeConnections();
      return java.util.concurrent.CompletableFuture.completedFuture(Done.getInstance());
    });
    Gauge open = Gauge.builder("twinhub.amqp.connections", connections, Set::size)
        .description("open AMQP connections on this node").register(registry);
    FunctionCounter accepted = FunctionCounter.builder("twinhub.amqp.connections.accepted", counter, AtomicLong::get)
        .description("TCP connections the AMQP endpoint accepted").register(registry);
    // The registry outlives the node (it is the JVM's): a node started later in the same JVM (tests)
    // would otherwise keep reading this endpoint's connections.
    cs.addTask(CoordinatedShutdown.PhaseServiceStop(), "amqp-meters", () -> {
      registry.remove(open);
      registry.remove(accepted);
      return java.util.concurrent.CompletableFuture.completedFuture(Done.getInstance());
    });
    log.info("AMQP service endpoint listening on amqps://{}:{}", binding.localAddress().getHostString(), binding.localAddress().getPort());
    return server;
  }

  private static SSLEngine serverEngine(SSLContext ssl) {
    SSLEngine engine = ssl.createSSLEngine();
    engine.setUseClientMode(false);
    engine.setEnabledProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
    return engine;
  }

  private static Flow<ByteString, ByteString, NotUsed> connectionFlow(ActorSystem<?> system, Deps deps,
      Set<ActorRef<AmqpConnection.Command>> connections, long n, InetSocketAddress remote) {
    ActorRef<AmqpConnection.Command> conn = system.systemActorOf(
        AmqpConnection.create(deps, remote.getAddress().getHostAddress() + ":" + remote.getPort()),
        "amqp-connection-" + n, Props.empty());
    connections.add(conn);
    Sink<ByteString, NotUsed> in = ActorSink.<ByteString, AmqpConnection.Command, AmqpConnection.Ack>actorRefWithBackpressure(
        conn, (ackTo, bytes) -> new AmqpConnection.Inbound(bytes, ackTo), AmqpConnection.StreamInit::new,
        AmqpConnection.Ack.ACK, new AmqpConnection.StreamCompleted(), AmqpConnection.StreamFailed::new);
    Source<ByteString, NotUsed> out = Source.<ByteString>queue(256).mapMaterializedValue(q -> {
      conn.tell(new AmqpConnection.OutputReady(q));
      return NotUsed.getInstance();
    });
    return Flow.fromSinkAndSourceCoupled(in, out).watchTermination((x, done) -> {
      done.whenComplete((d, e) -> {
        connections.remove(conn);
        conn.tell(new AmqpConnection.StreamCompleted());
      });
      return NotUsed.getInstance();
    });
  }

  private void closeConnections() {
    if (!connections.isEmpty()) log.info("closing {} AMQP connections", connections.size());
    connections.forEach(c -> c.tell(new AmqpConnection.Shutdown()));
  }

  /** Unbinds and closes every connection; the system keeps running (tests). */
  public CompletionStage<Done> stop() {
    closeConnections();
    return binding.unbind().thenApply(x -> Done.getInstance());
  }

  public InetSocketAddress localAddress() {
    return binding.localAddress();
  }

  public int connectionCount() {
    return connections.size();
  }
}
