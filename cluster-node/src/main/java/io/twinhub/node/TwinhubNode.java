package io.twinhub.node;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.management.javadsl.AkkaManagement;
import io.twinhub.node.api.ApiServer;
import io.twinhub.node.api.ApiSettings;
import io.twinhub.node.api.GatewayDirectMethods;
import io.twinhub.node.jobs.JobsModule;
import io.twinhub.node.security.SharedAccessPolicies;
import io.twinhub.mqtt.tls.TlsMaterial;
import io.twinhub.ops.cassandra.EmbeddedCassandra;
import io.twinhub.projections.index.QueryIndex;
import io.twinhub.projections.index.QueryIndexModule;
import io.twinhub.projections.streams.ChangeFeed;
import io.twinhub.projections.streams.ChangeStreamRoutes;
import io.twinhub.projections.streams.RouteConditions;
import io.twinhub.twin.auth.AccessRight;
import io.twinhub.twin.c2d.CloudToDeviceService;
import io.twinhub.twin.service.TwinService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * One twinhub node: data-dir lock, Cassandra (embedded in dev mode), the ActorSystem with
 * cluster, sharding and persistence, management health endpoints. Start-up is all or
 * nothing: a failure stops whatever already started and reports one clear line.
 */
public final class TwinhubNode {
  private static final Logger log = LoggerFactory.getLogger(TwinhubNode.class);

  private final NodeSettings settings;
  private final DataDirLock lock;
  private final EmbeddedCassandra cassandra;
  private final io.twinhub.ops.kafka.EmbeddedKafka kafka;
  private final ActorSystem<Void> system;
  private final TwinService twins;
  private final CloudToDeviceService c2d;
  private final SharedAccessPolicies policies;
  private final ApiServer api;
  private final QueryIndex queryIndex;
  private final io.twinhub.node.functions.FunctionsModule functions;
  private final Duration startedIn;
  private final Listening listening;
  private volatile CompletableFuture<Done> stopped;

  private TwinhubNode(NodeSettings settings, DataDirLock lock, EmbeddedCassandra cassandra,
                      io.twinhub.ops.kafka.EmbeddedKafka kafka, ActorSystem<Void> system, TwinService twins, CloudToDeviceService c2d, SharedAccessPolicies policies,
                      ApiServer api, QueryIndex queryIndex, io.twinhub.node.functions.FunctionsModule functions,
                      Duration startedIn, Listening listening) {
    this.settings = settings;
    this.lock = lock;
    this.cassandra = cassandra;
    this.kafka = kafka;
    this.system = system;
    this.twins = twins;
    this.c2d = c2d;
    this.policies = policies;
    this.api = api;
    this.queryIndex = queryIndex;
    this.functions = functions;
    this.startedIn = startedIn;
    this.listening = listening;
  }

  /**
   * The ports this node's listeners bound (a port configured as 0 is the one the OS picked), -1 for
   * one not started on this member; the REST API's are {@link ApiServer#httpsPort()} and
   * {@link ApiServer#plainPort()}.
   */
  public record Listening(int mqtt, int amqp, int management, int remoting) {}

  public static TwinhubNode start(NodeSettings settings) {
    long t0 = System.nanoTime();
    DataDirLock lock = DataDirLock.acquire(settings.dataDir());
    EmbeddedCassandra cassandra = null;
    io.twinhub.ops.kafka.EmbeddedKafka kafka = null;
    ActorSystem<Void> system = null;
    try {
      ApiSettings apiSettings = ApiSettings.from(settings.config());
      boolean serveApi = settings.hasRole(NodeSettings.API_ROLE);
      boolean serveMqtt = settings.hasRole(NodeSettings.MQTT_ROLE);
      if (serveApi) {
        PortCheck.requireFree(settings.bindInterface(), settings.httpPort(), "HTTP", "--http-port");
        if (apiSettings.plainPort().isPresent()) {
          PortCheck.requireFree(settings.bindInterface(), apiSettings.plainPort().getAsInt(), "plain HTTP", "--http-plain-port");
        }
      }
      if (serveMqtt) PortCheck.requireFree(settings.bindInterface(), settings.mqttPort(), "MQTT", "--mqtt-port");
      if (serveApi) {
        PortCheck.requireFree(settings.bindInterface(), io.twinhub.node.amqp.AmqpSettings.from(settings.config()).port(),
            "AMQP", "--amqp-port");
      }
      PortCheck.requireFree(settings.bindInterface(), settings.managementPort(), "management", "--management-port");
      PortCheck.requireFree(settings.bindInterface(), settings.remotingPort(), "Akka remoting", "--remoting-port");

      NodeSettings resolved = settings;
      if (settings.embeddedCassandra()) {
        cassandra = startEmbeddedCassandra(settings);
        resolved = settings.withCassandraContactPoints(List.of("127.0.0.1:" + cassandra.nativePort()));
      } else {
        resolved = settings.withCassandraContactPoints(settings.cassandraContactPoints());
      }

      try {
        kafka = io.twinhub.node.kafka.KafkaFeedModule.startEmbedded(resolved.config(), resolved.dataDir(), resolved.startupTimeout());
      } catch (RuntimeException e) {
        throw new NodeStartException("embedded Kafka failed to start: " + e.getMessage(), e);
      }

      TwinSettings twinSettings = TwinSettings.from(resolved.config());
      system = ActorSystem.create(Behaviors.setup(ctx -> {
        NodeGuardian.init(ctx.getSystem(), twinSettings);
        return Behaviors.<Void>empty();
      }), "twinhub", resolved.config());

      JournalSchema.ensure(system, resolved.startupTimeout());
      ClusterEventLog.start(system);
      RefusedMemberDowner.start(system, resolved.config());
      Cluster cluster = Cluster.get(system);
      boolean bootstrap = resolved.config().getBoolean("twinhub.cluster.bootstrap");
      if (resolved.seedNodes().isEmpty() && !bootstrap) {
        cluster.manager().tell(Join.create(cluster.selfMember().address()));
      }
      int managementPort = AkkaManagement.get(system).start().toCompletableFuture().get(30, TimeUnit.SECONDS).port();
      if (bootstrap) {
        akka.management.cluster.bootstrap.ClusterBootstrap.get(system).start();
      }
      awaitReady(resolved, managementPort);
      io.twinhub.node.metrics.CassandraMetrics.start(system, io.micrometer.core.instrument.Metrics.globalRegistry);
      var homes = twinSettings.unreachableHold().isZero() || twinSettings.unreachableHold().isNegative() ? null
          : io.twinhub.twin.service.UnreachableHomes.start(system, twinSettings.unreachableHold(), NodeSettings.TWIN_ROLE,
              java.util.List.of(io.twinhub.twin.entity.DeviceEntity.TYPE_KEY.name(), io.twinhub.twin.entity.ModuleEntity.TYPE_KEY.name()));
      TwinService twins = new TwinService(system, twinSettings.askTimeout(), twinSettings.newAdmissionLimit(),
          twinSettings.admissionDeadline(), homes);
      if (twins.admission().isPresent()) {
        io.twinhub.node.metrics.AdmissionMetrics.register(twins.admission().get());
        twinSettings.refuseWhileBehind(system, twins.admission().get()).ifPresent(io.twinhub.node.metrics.AdmissionMetrics::register);
      }
      CloudToDeviceService c2d = new CloudToDeviceService(system, twins, twinSettings.askTimeout());
      io.twinhub.mqtt.MqttGateway mqtt = serveMqtt ? DeviceGateway.start(system, twins, c2d, twinSettings.limits(), resolved) : null;
      SharedAccessPolicies policies = SharedAccessPolicies.loadOrCreate(resolved.dataDir());
      GatewayDirectMethods methods = new GatewayDirectMethods(twins, system);
      JobsModule jobs = JobsModule.start(system, resolved.config(), twins, methods, NodeSettings.QUERY_ROLE, NodeSettings.TWIN_ROLE);
      QueryIndex queryIndex = startQueryIndex(system, resolved);
      if (queryIndex != null) jobs.useIndex(queryIndex);
      var configurations = io.twinhub.node.configurations.Configurations.start(system, twins, queryIndex, resolved.config());
      io.twinhub.node.kafka.KafkaFeedModule.start(system, resolved.hostName(), resolved.config(), kafka);
      var functions = io.twinhub.node.functions.FunctionsModule.start(system, resolved.config(), twins, twinSettings.limits(),
          resolved.dataDir(), resolved.startupTimeout(), resolved.hostName());
      ApiServer api = serveApi ? startApi(system, twins, c2d, twinSettings, apiSettings, policies, resolved, queryIndex, methods,
          jobs, configurations, functions) : null;
      io.twinhub.node.amqp.AmqpServer amqp = api != null ? startAmqp(system, c2d, twinSettings, apiSettings, policies, api.tls(), resolved) : null;
      Listening listening = new Listening(mqtt != null ? mqtt.localAddress().getPort() : -1,
          amqp != null ? amqp.localAddress().getPort() : -1, managementPort,
          cluster.selfMember().address().getPort().orElse(resolved.remotingPort()));
      return new TwinhubNode(resolved, lock, cassandra, kafka, system, twins, c2d, policies, api, queryIndex, functions,
          Duration.ofNanos(System.nanoTime() - t0), listening);
    } catch (NodeStartException e) {
      if (kafka != null) kafka.stop();
      abort(system, cassandra, lock);
      throw e;
    } catch (Exception e) {
      if (kafka != null) kafka.stop();
      abort(system, cassandra, lock);
      throw new NodeStartException("node failed to start: " + rootMessage(e), e);
    }
  }

  /** The REST API over HTTPS with the generated (or configured) TLS identity. */
  private static ApiServer startApi(ActorSystem<Void> system, TwinService twins, CloudToDeviceService c2d, TwinSettings twin,
                                    ApiSettings api, SharedAccessPolicies policies, NodeSettings s, QueryIndex queryIndex,
                                    GatewayDirectMethods methods, JobsModule jobs,
                                    io.twinhub.node.configurations.Configurations configurations,
                                    io.twinhub.node.functions.FunctionsModule functions) throws Exception {
    TlsMaterial tls;
    try {
      tls = TlsMaterial.forNode(s.dataDir(), List.of(s.hostName()), api.keystore(), api.keystorePassword(),
          TlsMaterial.ServerKey.parse(s.config().getString("twinhub.http.tls.server-key")), Clock.systemUTC());
    } catch (java.io.IOException | java.security.GeneralSecurityException e) {
      throw new NodeStartException("TLS material: " + (api.keystore() != null
          ? "cannot use keystore " + api.keystore() + " (" + e.getMessage() + ")" : e.getMessage()), e);
    }
    ApiServer server = ApiServer.create(system, twins, twin.limits(), api, policies, tls, s.hostName(), methods,
        // The query index already holds every twin; only nodes without it read the journal for the registry.
        queryIndex != null ? new io.twinhub.node.api.IndexRegistryView(queryIndex)
            : io.twinhub.node.api.JournalRegistryView.start(system));
    List<akka.http.javadsl.server.Route> routes = new java.util.ArrayList<>();
    routes.add(changeStreams(system, server, s));
    if (queryIndex != null) routes.add(queryRoutes(queryIndex, server, jobs));
    routes.add(jobs.routes(server, twin.limits()));
    routes.add(configurations.routes(server, twin.limits()));
    routes.add(new io.twinhub.node.api.CloudToDeviceRoutes(c2d, server).route());
    if (functions != null) routes.add(functions.routes(server, policies));
    routes.add(new io.twinhub.node.api.ConsoleRoutes(system, server).route());
    server.countCloudToDeviceWith(c2d::depth);
    server.bind(s.bindInterface(), routes, Duration.ofSeconds(10));
    return server;
  }

  /**
   * IoT Hub's AMQPS service endpoint (cloud-to-device send and feedback) beside the REST API: same
   * TLS identity, same policies and host names for its SAS tokens.
   */
  private static io.twinhub.node.amqp.AmqpServer startAmqp(ActorSystem<Void> system, CloudToDeviceService c2d, TwinSettings twin,
                                                          ApiSettings api, SharedAccessPolicies policies, TlsMaterial tls, NodeSettings s) {
    var amqp = io.twinhub.node.amqp.AmqpSettings.from(s.config());
    java.util.Set<String> names = new java.util.LinkedHashSet<>();
    names.add(s.hostName());
    names.addAll(api.extraHostNames());
    try {
      return io.twinhub.node.amqp.AmqpServer.start(system, s.bindInterface(), amqp, tls.serverSslContext(),
          new io.twinhub.twin.auth.SasVerifier(names, Clock.systemUTC()), policies, c2d,
          io.twinhub.twin.c2d.CloudToDeviceSettings.from(s.config()), s.config().getString("twinhub.streams.read-journal"),
          twin.askTimeout(), io.micrometer.core.instrument.Metrics.globalRegistry);
    } catch (Exception e) {
      throw new NodeStartException("AMQP endpoint failed to start on " + s.bindInterface() + ":" + amqp.port() + ": "
          + rootMessage(e), e);
    }
  }

  /**
   * On nodes with the query role: the Lucene index under {@code <data-dir>/index}, fed by the
   * journal; closed (offsets committed) before the ActorSystem stops. Null on other nodes.
   */
  private static QueryIndex startQueryIndex(ActorSystem<Void> system, NodeSettings s) {
    if (!Cluster.get(system).selfMember().hasRole(QueryIndexModule.QUERY_ROLE)) return null;
    QueryIndex index = QueryIndexModule.start(system, s.queryIndexDir());
    akka.actor.CoordinatedShutdown.get(system).addTask(akka.actor.CoordinatedShutdown.PhaseServiceStop(), "query-index",
        index::stop);
    return index;
  }

  /**
   * POST /devices/query (service or registry-read right), GET /query-index/status and
   * POST /query-index/reindex (service right).
   */
  private static akka.http.javadsl.server.Route queryRoutes(QueryIndex index, ApiServer server, JobsModule jobs) {
    var service = server.authorizer(AccessRight.ServiceConnect);
    var registryRead = server.authorizer(AccessRight.RegistryRead);
    java.util.function.Function<java.util.function.Supplier<akka.http.javadsl.server.Route>, akka.http.javadsl.server.Route>
        authorized = inner -> akka.http.javadsl.server.Directives.extractRequest(request -> {
          var denied = service.apply(request);
          if (denied.isPresent()) denied = registryRead.apply(request).isPresent() ? denied : java.util.Optional.empty();
          return denied.map(akka.http.javadsl.server.Directives::complete).orElseGet(inner);
        });
    // FROM devices.jobs is answered by the jobs, every other query by the index.
    var queries = jobs.withDeviceJobs(index, index.engine().settings());
    // The plain query skips the route tree (QueryPath); the route answers every other one from the same.
    server.answerQueriesWith(queries);
    return akka.http.javadsl.server.Directives.concat(io.twinhub.query.http.QueryRoute.route(queries, authorized),
        akka.http.javadsl.server.Directives.pathPrefixTest("query-index", () ->
            akka.http.javadsl.server.Directives.extractRequest(request -> service.apply(request)
                .map(akka.http.javadsl.server.Directives::complete).orElseGet(index::statusRoute))));
  }

  /** GET /streams/..., GET /routes: the journal as resumable change streams (service right). */
  private static akka.http.javadsl.server.Route changeStreams(ActorSystem<Void> system, ApiServer server, NodeSettings s) {
    String readJournal = s.config().getString("twinhub.streams.read-journal");
    ChangeFeed feed = new ChangeFeed(system, s.hostName(), readJournal);
    return new ChangeStreamRoutes(feed, RouteConditions.fromConfig(s.config()),
        server.authorizer(AccessRight.ServiceConnect), Clock.systemUTC(), s.config().getDuration("twinhub.streams.keep-alive")).route();
  }

  static EmbeddedCassandra startEmbeddedCassandra(NodeSettings s) {
    EmbeddedCassandra c = EmbeddedCassandra.builder()
        .dataDir(s.dataDir().resolve("cassandra"))
        .nativePort(s.embeddedCassandraPort())
        .storagePort(s.embeddedCassandraStoragePort())
        .heap(s.embeddedCassandraHeap())
        .startTimeout(s.startupTimeout())
        .stopOnJvmExit(false) // stop() stops it after the ActorSystem, see Main
        .build();
    try {
      c.start();
    } catch (RuntimeException e) {
      throw new NodeStartException("embedded Cassandra failed to start: " + e.getMessage(), e);
    }
    return c;
  }

  /** The node is started when its own management endpoint says ready (cluster Up, journal reachable). */
  private static void awaitReady(NodeSettings s, int managementPort) throws InterruptedException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    URI ready = URI.create("http://" + hostForUri(s.bindInterface()) + ":" + managementPort + "/ready");
    long deadline = System.nanoTime() + s.startupTimeout().toNanos();
    String last = "no answer";
    while (System.nanoTime() < deadline) {
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(5)).build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) return;
        last = r.statusCode() + " " + r.body();
      } catch (java.io.IOException e) {
        last = e.toString();
      }
      Thread.sleep(200);
    }
    throw new NodeStartException("node not ready within " + s.startupTimeout().toSeconds() + " s (" + ready + ": " + last + ")");
  }

  /** {@code host} as it goes into a URI: IPv6 literals in brackets. */
  public static String hostForUri(String host) {
    return host.contains(":") ? "[" + host + "]" : host;
  }

  private static void abort(ActorSystem<Void> system, EmbeddedCassandra cassandra, DataDirLock lock) {
    stopQuietly(system, cassandra);
    lock.close();
  }

  /** Terminates the ActorSystem (waiting up to 30 s), then stops Cassandra; either may be null. */
  static void stopQuietly(ActorSystem<?> system, EmbeddedCassandra cassandra) {
    if (system != null) {
      system.terminate();
      try {
        system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // best effort: stopping anyway
      }
    }
    if (cassandra != null) cassandra.stop();
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) t = t.getCause();
    // The class name matters here (ClassNotFoundException's message is just a class name).
    return t.getClass().getSimpleName() + (t.getMessage() != null ? ": " + t.getMessage() : "");
  }

  /** Leaves the cluster gracefully (shards hand over), then stops Cassandra, then frees the data dir. */
  public synchronized CompletionStage<Done> stop() {
    if (stopped == null) {
      stopped = new CompletableFuture<>();
      // terminate() runs CoordinatedShutdown: cluster leave, shard hand-over, journal flush.
      system.terminate();
      system.getWhenTerminated()
          .whenComplete((d, e) -> {
            try {
              if (kafka != null) kafka.stop(); // after the publisher stopped with the ActorSystem
              if (cassandra != null) cassandra.stop();
            } finally {
              lock.close();
              stopped.complete(Done.getInstance());
            }
          });
    }
    return stopped;
  }

  public NodeSettings settings() {
    return settings;
  }

  public ActorSystem<Void> system() {
    return system;
  }

  /** The twin API the gateways use. */
  public TwinService twins() {
    return twins;
  }

  /** Cloud-to-device messaging (send, purge, queue depth). */
  public CloudToDeviceService c2d() {
    return c2d;
  }

  /** The REST API (HTTPS and, when configured, plain HTTP); null on a member without the api role. */
  public ApiServer api() {
    return api;
  }

  /** The hub's shared access policies (keys: never log them). */
  public SharedAccessPolicies policies() {
    return policies;
  }

  /** The query index on nodes with the query role. */
  public java.util.Optional<QueryIndex> queryIndex() {
    return java.util.Optional.ofNullable(queryIndex);
  }

  /** Function apps on this member (api or worker role), else empty. */
  public java.util.Optional<io.twinhub.node.functions.FunctionsModule> functions() {
    return java.util.Optional.ofNullable(functions);
  }

  public Duration startedIn() {
    return startedIn;
  }

  public Listening listening() {
    return listening;
  }

  /** The embedded Kafka broker, or null (none asked for, or an external cluster). */
  public io.twinhub.ops.kafka.EmbeddedKafka embeddedKafka() {
    return kafka;
  }

  public EmbeddedCassandra embeddedCassandra() {
    return cassandra;
  }
}
