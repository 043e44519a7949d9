package io.twinhub.node.functions;

import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorSystem;
import akka.cluster.typed.Cluster;
import akka.http.javadsl.server.Route;
import com.typesafe.config.Config;
import io.twinhub.functions.host.AppHost;
import io.twinhub.functions.host.FunctionStore;
import io.twinhub.functions.host.TelemetryTriggers;
import io.twinhub.functions.host.TimerTriggers;
import io.twinhub.functions.host.TwinPatcher;
import io.twinhub.node.NodeSettings;
import io.twinhub.node.api.ApiServer;
import io.twinhub.node.security.SharedAccessPolicies;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.service.TwinService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Functions on a node (issue #18): the app store in Cassandra; on api and worker members the
 * {@link AppHost} with the apps loaded; on workers the telemetry partitions (sharded daemon
 * processes) and the timer singleton; on api members the management routes and the HTTP triggers.
 */
public final class FunctionsModule {
  private static final Logger log = LoggerFactory.getLogger(FunctionsModule.class);

  private final FunctionStore store;
  private final AppHost host;
  private final TelemetryTriggers.Stats telemetry;
  private final long maxJarBytes;

  private FunctionsModule(FunctionStore store, AppHost host, TelemetryTriggers.Stats telemetry, long maxJarBytes) {
    this.store = store;
    this.host = host;
    this.telemetry = telemetry;
    this.maxJarBytes = maxJarBytes;
  }

  /** Null when this member has neither the api nor the worker role. */
  public static FunctionsModule start(ActorSystem<?> system, Config config, TwinService twins, TwinLimits limits, Path dataDir,
                                      Duration startupTimeout, String hubName) {
    var self = Cluster.get(system).selfMember();
    boolean api = self.hasRole(NodeSettings.API_ROLE);
    boolean worker = self.hasRole(NodeSettings.WORKER_ROLE);
    if (!api && !worker) return null;
    Config c = config.getConfig("twinhub.functions");
    String keyspace = c.getString("keyspace").isBlank()
        ? config.getString("akka.persistence.cassandra.journal.keyspace") + "_functions" : c.getString("keyspace");
    FunctionStore store = new FunctionStore(system, keyspace, c.getDuration("invocation-ttl"));
    store.ensureSchema(config.getInt("akka.persistence.cassandra.journal.replication-factor"), startupTimeout);
    var routes = io.twinhub.projections.streams.RouteConditions.fromConfig(config);
    java.util.Set<String> eventHubs = new java.util.HashSet<>();
    eventHubs.add(TelemetryTriggers.BUILT_IN_ENDPOINT);
    routes.forEach(r -> eventHubs.add(r.name()));
    AppHost host = new AppHost(store, new TwinPatcher(twins, limits), new RouteOutputs(system, Duration.ofSeconds(15)), new AppHost.Settings(dataDir.resolve("functions"),
        c.getDuration("refresh-interval"), c.getDuration("timeout"), c.getInt("threads"), c.getDuration("unload-grace"),
        java.util.Set.copyOf(eventHubs), new io.twinhub.functions.host.MemoryGuard.Settings(c.getBoolean("memory-guard.enabled"),
            c.getDouble("memory-guard.heap-fraction"), c.getDouble("memory-guard.min-allocation-fraction"))),
        // The journal's mark of each publication: trigger partitions hold what follows it until their worker loaded it.
        (app, version) -> io.twinhub.functions.host.AppPublications.announce(system, app, version, Duration.ofSeconds(10)))
        .start();
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceStop(), "function-apps", () -> {
      host.close();
      return CompletableFuture.completedFuture(akka.Done.getInstance());
    });
    TelemetryTriggers.Stats stats = null;
    if (worker) {
      Config t = c.getConfig("telemetry");
      String streams = config.getString("twinhub.streams.read-journal");
      // With the live feed the telemetry tag reads are the catch-up path: a read journal that polls less (application.conf).
      String telemetryJournal = t.getBoolean("live-feed") ? t.getString("read-journal") : streams;
      stats = TelemetryTriggers.init(system, host, streams, telemetryJournal, NodeSettings.WORKER_ROLE,
          new TelemetryTriggers.Settings(t.getInt("max-batch"), t.getDuration("max-batch-wait"), t.getDuration("min-backoff"),
              t.getDuration("max-backoff"), t.getBoolean("live-feed"), t.getInt("live-waiting"), t.getInt("live-ahead"),
              t.getDuration("rebalance-interval"), t.getDuration("keep-alive-interval")),
          hubName, routes);
      TimerTriggers.init(system, host, NodeSettings.WORKER_ROLE);
    }
    meters(system, host, stats);
    log.info("Functions: {} app(s) loaded, keyspace {}{}", host.apps().size(), keyspace, worker ? ", triggers on this worker" : "");
    return new FunctionsModule(store, host, stats, c.getBytes("max-jar-size"));
  }

  /** Prometheus meters (/metrics): invocations and failures on this node; on workers, deliveries, retries, poison. */
  private static void meters(ActorSystem<?> system, AppHost host, TelemetryTriggers.Stats stats) {
    var registry = io.micrometer.core.instrument.Metrics.globalRegistry;
    java.util.List<io.micrometer.core.instrument.Meter> meters = new java.util.ArrayList<>();
    meters.add(io.micrometer.core.instrument.FunctionCounter.builder("twinhub.functions.invocations", host, AppHost::invocations)
        .description("function invocations on this node (every trigger, every attempt)").register(registry));
    meters.add(io.micrometer.core.instrument.FunctionCounter.builder("twinhub.functions.invocations.failed", host, AppHost::failures)
        .description("failed function invocations on this node").register(registry));
    meters.add(io.micrometer.core.instrument.Gauge.builder("twinhub.functions.apps", host, h -> h.apps().size())
        .description("function apps loaded on this node").register(registry));
    if (stats != null) {
      meters.add(io.micrometer.core.instrument.FunctionCounter.builder("twinhub.functions.events.delivered", stats, s -> s.delivered.get())
          .description("journal events (telemetry, route messages) a function returned from on this worker").register(registry));
      meters.add(io.micrometer.core.instrument.FunctionCounter.builder("twinhub.functions.events.retries", stats, s -> s.retries.get())
          .description("retried event invocations on this worker").register(registry));
      meters.add(io.micrometer.core.instrument.FunctionCounter.builder("twinhub.functions.events.poison", stats, s -> s.poison.get())
          .description("events skipped as poison after their retries on this worker").register(registry));
      meters.add(io.micrometer.core.instrument.FunctionCounter.builder("twinhub.functions.events.live", stats, s -> s.live.get())
          .description("telemetry messages invoked from the live path, ahead of the journal's tag read").register(registry));
      meters.add(io.micrometer.core.instrument.FunctionCounter.builder("twinhub.functions.events.live.left", stats, s -> s.liveLeft.get())
          .description("live telemetry messages left to the tag read (a partition's live queues were full)").register(registry));
      meters.add(io.micrometer.core.instrument.FunctionCounter.builder("twinhub.functions.events.held", stats, s -> s.held.get())
          .description("times a partition held its events until this worker loaded a just-published app version").register(registry));
      meters.add(io.micrometer.core.instrument.Gauge.builder("twinhub.functions.partitions", stats, s -> s.running.size())
          .description("trigger partitions (journal tags) running on this worker").register(registry));
      // Which partition runs where: 1 on the worker that runs it, 0 on the others.
      for (String tag : TelemetryTriggers.TAGS) {
        meters.add(io.micrometer.core.instrument.Gauge.builder("twinhub.functions.partition", stats, s -> s.running.contains(tag) ? 1 : 0)
            .tag("partition", tag).description("1 while this worker runs the trigger partition").register(registry));
        meters.add(io.micrometer.core.instrument.FunctionCounter.builder("twinhub.functions.tag.reads", stats, s -> s.tagReadsOf(tag))
            .tag("partition", tag).description("journal tag reads (eventsByTag queries) the partition started on this worker;"
                + " a twin tag's stay 0 while no route is configured").register(registry));
      }
    }
    // The registry is the JVM's: a node started later in the same JVM (tests) must not read this one's host.
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceStop(), "function-meters", () -> {
      meters.forEach(registry::remove);
      return CompletableFuture.completedFuture(akka.Done.getInstance());
    });
  }

  /** Management ({@code /functions/...}, SAS with ServiceConnect) and HTTP triggers ({@code /api/...}, function keys). */
  public Route routes(ApiServer server, SharedAccessPolicies policies) {
    return new FunctionsRoutes(host, store, server, policies, maxJarBytes).route();
  }

  public AppHost host() {
    return host;
  }

  /** The worker's telemetry counters; null on members without the worker role. */
  public TelemetryTriggers.Stats telemetry() {
    return telemetry;
  }
}
