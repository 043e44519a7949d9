package io.twinhub.functions.host;

import akka.Done;
import akka.NotUsed;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.sharding.typed.ShardedDaemonProcessSettings;
import akka.cluster.sharding.typed.javadsl.ShardedDaemonProcess;
import akka.persistence.cassandra.query.javadsl.CassandraReadJournal;
import akka.persistence.query.EventEnvelope;
import akka.persistence.query.Offset;
import akka.persistence.query.PersistenceQuery;
import akka.persistence.query.TimeBasedUUID;
import akka.stream.KillSwitches;
import akka.stream.RestartSettings;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.RestartSource;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import io.twinhub.functions.runtime.InvocationInput;
import io.twinhub.projections.streams.HubMessage;
import io.twinhub.projections.streams.HubMessages;
import io.twinhub.projections.streams.NamedRoute;
import io.twinhub.twin.entity.TwinEvent;
import io.twinhub.twin.entity.TwinTags;
import io.twinhub.functions.runtime.InvocationResult;
import io.twinhub.functions.runtime.Trigger;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.telemetry.TelemetryFeed;
import io.twinhub.twin.telemetry.TelemetryMessage;
import io.twinhub.twin.telemetry.TelemetryTags;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code @EventHubTrigger}: {@code eventHubName = "messages/events"} is device telemetry (IoT Hub's
 * built-in endpoint); the name of a route in {@code twinhub.routes} is that route's messages (twin
 * changes, lifecycle and connection-state events, or device messages, filtered by the route's
 * condition). Read from the journal, one partition per journal tag ({@code twin-0..7},
 * {@code telemetry-0..7}), each run by a sharded daemon process
 * on the members with the worker role, so partitions spread over the workers and move when one
 * joins, leaves or dies. A partition reads its tag from the offset committed in Cassandra, in
 * batches; each batch goes to every enabled telemetry function (ONE: message by message, in
 * order; MANY: the batch at once), a failed invocation is retried with back-off up to the
 * function's retry count and then skipped as poison; only then is the batch's offset committed.
 * A device's messages are all in one tag, so per-device order holds; a worker that dies before
 * committing leaves its batch to the next owner: at least once.
 */
public final class TelemetryTriggers {
  private static final Logger log = LoggerFactory.getLogger(TelemetryTriggers.class);
  static final String CONSUMER = "journal";
  public static final String BUILT_IN_ENDPOINT = "messages/events";

  /**
   * @param liveFeed   invoke telemetry from the live path ({@link TelemetryFeed}) ahead of the tag read
   * @param liveWaiting live messages a partition keeps while their predecessor is not delivered yet
   * @param liveAhead  messages invoked live that the tag read has not passed yet, at most (beyond: left to the tag read)
   */
  /**
   * @param rebalanceInterval how often the partitions are spread evenly over the workers again (a worker joined)
   * @param keepAliveInterval how often every partition is pinged: what starts a partition again on its new worker
   *                          after a rebalance or a worker's death
   */
  public record Settings(int maxBatch, Duration maxBatchWait, Duration minBackoff, Duration maxBackoff,
                         boolean liveFeed, int liveWaiting, int liveAhead, Duration rebalanceInterval,
                         Duration keepAliveInterval) {
    public Settings(int maxBatch, Duration maxBatchWait, Duration minBackoff, Duration maxBackoff) {
      this(maxBatch, maxBatchWait, minBackoff, maxBackoff, true, 10_000, 50_000, Duration.ofSeconds(2), Duration.ofSeconds(2));
    }
  }

  /** Counters of this node's partitions. */
  public static final class Stats {
    public final AtomicLong delivered = new AtomicLong();
    public final AtomicLong poison = new AtomicLong();
    public final AtomicLong retries = new AtomicLong();
    /** The partitions (journal tags) running on this worker now. */
    public final java.util.Set<String> running = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Times a partition held its events until this worker had loaded a just-published app version. */
    public final AtomicLong held = new AtomicLong();
    /** Telemetry messages invoked from the live path (ahead of the tag read), and live messages left to the tag read. */
    public final AtomicLong live = new AtomicLong();
    public final AtomicLong liveLeft = new AtomicLong();
    /** Messages the tag read passed without invoking them again: the live path had. */
    public final AtomicLong liveSkipped = new AtomicLong();
    /** Journal tag reads (eventsByTag queries) started on this worker, by partition: none for an idle twin tag. */
    public final java.util.Map<String, AtomicLong> tagReads = new java.util.concurrent.ConcurrentHashMap<>();

    public long tagReadsOf(String tag) {
      AtomicLong n = tagReads.get(tag);
      return n == null ? 0 : n.get();
    }
  }

  public interface Command {}

  private enum Stop implements Command { INSTANCE }

  private TelemetryTriggers() {}

  /** The journal tags the partitions read: the twin tags, then the telemetry tags. */
  public static final List<String> TAGS = java.util.stream.Stream.concat(TwinTags.ALL.stream(), TelemetryTags.ALL.stream()).toList();

  /** What a partition turns journal events into: the hub's name and routes. */
  record Routing(String hubName, List<NamedRoute> routes) {}

  public static Stats init(ActorSystem<?> system, AppHost host, String readJournalId, String role, Settings settings,
                           String hubName, List<NamedRoute> routes) {
    return init(system, host, readJournalId, readJournalId, role, settings, hubName, routes);
  }

  /**
   * @param readJournalId          the read journal of the twin tags (routes: the tag read is their only path)
   * @param telemetryReadJournalId the read journal of the telemetry tags (with the live feed on, their tag read
   *                               is the durable catch-up path and may poll less often)
   */
  public static Stats init(ActorSystem<?> system, AppHost host, String readJournalId, String telemetryReadJournalId,
                           String role, Settings settings, String hubName, List<NamedRoute> routes) {
    Stats stats = new Stats();
    Routing routing = new Routing(hubName, List.copyOf(routes));
    ShardedDaemonProcessSettings placement = placement(system, role, settings);
    // One daemon process per kind of tag, each spread evenly over the workers on its own: in one
    // process of 16, sharding counted an idle twin partition (no route) like a busy telemetry one,
    // and a worker could hold all 8 telemetry partitions while the other held only twin ones.
    for (Map.Entry<String, List<String>> kind : Map.of("functions-telemetry-triggers", TelemetryTags.ALL,
        "functions-twin-triggers", TwinTags.ALL).entrySet()) {
      List<String> tags = kind.getValue();
      ShardedDaemonProcess.get(system).init(Command.class, kind.getKey(), tags.size(),
          i -> partition(tags.get(i), readJournal(system, readJournalFor(tags.get(i), readJournalId, telemetryReadJournalId)),
              host, settings, stats, routing),
          placement, Optional.of(Stop.INSTANCE));
    }
    return stats;
  }

  /**
   * Where the partitions run: sharding with Akka's newer least-shard allocation (every partition
   * a joining worker should get is moved in one rebalance round, instead of one per round), a
   * rebalance every {@code rebalanceInterval} and a keep-alive ping every {@code keepAliveInterval}
   * (a moved partition starts on its new worker at the next ping). With Akka's defaults (one
   * partition per 10 s round, pings every 10 s) a worker that joined ran its first telemetry
   * partition about a minute later, and a freshly published function ran only on the other worker
   * that long.
   */
  static ShardedDaemonProcessSettings placement(ActorSystem<?> system, String role, Settings settings) {
    akka.cluster.sharding.typed.ClusterShardingSettings sharding = akka.cluster.sharding.typed.ClusterShardingSettings.fromConfig(
        system.settings().config().getConfig("akka.cluster.sharded-daemon-process.sharding"));
    sharding = sharding.withTuningParameters(sharding.tuningParameters()
        .withRebalanceInterval(settings.rebalanceInterval())
        .withLeastShardAllocationAbsoluteLimit(TAGS.size())
        .withLeastShardAllocationRelativeLimit(1.0));
    return ShardedDaemonProcessSettings.create(system).withRole(role).withShardingSettings(sharding)
        .withKeepAliveInterval(settings.keepAliveInterval());
  }

  /** The read journal id a partition reads {@code tag} with: the telemetry one for telemetry tags. */
  static String readJournalFor(String tag, String readJournalId, String telemetryReadJournalId) {
    return TelemetryTags.ALL.contains(tag) ? telemetryReadJournalId : readJournalId;
  }

  private static CassandraReadJournal readJournal(ActorSystem<?> system, String id) {
    // PersistenceQuery keeps one instance per id: partitions of a kind share it (and its Cassandra session).
    return PersistenceQuery.get(system.classicSystem()).getReadJournalFor(CassandraReadJournal.class, id);
  }

  private static Behavior<Command> partition(String tag, CassandraReadJournal journal, AppHost host, Settings settings,
                                             Stats stats, Routing routing) {
    return Behaviors.setup(ctx -> {
      ActorSystem<?> system = ctx.getSystem();
      log.info("Functions trigger partition {} started on this worker", tag);
      stats.running.add(tag);
      if (TwinTags.ALL.contains(tag) && routing.routes().isEmpty()) {
        // Twin changes reach functions only through named routes: without any, reading a twin tag
        // would read back and deserialize every twin write for nothing (most of a default node's
        // tag polling). The partition still runs, so partition counts and spreading stay the same.
        return running(tag, stats, () -> {});
      }
      boolean live = settings.liveFeed() && TelemetryTags.ALL.contains(tag);
      AtomicReference<Delivery> current = new AtomicReference<>();
      if (live) {
        ActorRef<TelemetryFeed.Journaled> subscriber = ctx.spawn(Behaviors.receiveMessage((TelemetryFeed.Journaled j) -> {
          Delivery d = current.get();
          if (d != null) d.offerLive(j);
          return Behaviors.same();
        }), "live");
        TelemetryFeed.subscribe(system, tag, subscriber);
      }
      RestartSettings restart = RestartSettings.create(settings.minBackoff(), settings.maxBackoff(), 0.2);
      UniqueKillSwitch kill = RestartSource.withBackoff(restart, () -> {
            // Each incarnation starts from the committed offset with a fresh ledger: what it had
            // invoked and not committed is invoked again (at least once).
            Delivery d = new Delivery(host, stats, routing, live ? new LiveLedger<>(settings.liveWaiting(), settings.liveAhead()) : null,
                settings.maxBatch());
            current.set(d);
            return reading(tag, journal, host, settings, stats, d);
          })
          .viaMat(KillSwitches.single(), Keep.right())
          .to(Sink.ignore())
          .run(system);
      return running(tag, stats, kill::shutdown);
    });
  }

  /** A running partition until {@link Stop}: then {@code onStop} and off this worker's list. */
  private static Behavior<Command> running(String tag, Stats stats, Runnable onStop) {
    return Behaviors.receive(Command.class)
        .onMessage(Stop.class, s -> Behaviors.stopped())
        .onSignal(akka.actor.typed.PostStop.class, s -> {
          stats.running.remove(tag);
          onStop.run();
          return Behaviors.same();
        })
        .build();
  }

  /**
   * How far before the first publication a partition's first read starts: clocks of the node that
   * took the publication and of the nodes that journal telemetry may differ by this much.
   */
  static final Duration CLOCK_SKEW = Duration.ofSeconds(10);

  /**
   * One incarnation: the committed offset, then batches, each committed after its invocations.
   * A partition without an offset (its first start) reads from the first app publication (less
   * {@link #CLOCK_SKEW}), or from now when no app is published, and commits that first: a
   * partition that starts late (a busy or new worker) still hands a function every message
   * journaled after its app was published.
   */
  private static Source<Done, NotUsed> reading(String tag, CassandraReadJournal journal, AppHost host, Settings settings,
                                               Stats stats, Delivery delivery) {
    FunctionStore store = host.store();
    CompletionStage<UUID> start = store.offset(CONSUMER, tag).thenCompose(o -> {
      if (o.isPresent()) return CompletableFuture.completedFuture(UUID.fromString(o.get()));
      return store.firstPublished().thenCompose(first -> {
        UUID offset = journal.offsetUuid(firstReadMillis(first, System.currentTimeMillis()));
        return store.saveOffset(CONSUMER, tag, offset.toString()).thenApply(d -> offset);
      });
    });
    return Source.completionStage(start)
        .flatMapConcat(from -> {
          stats.tagReads.computeIfAbsent(tag, t -> new AtomicLong()).incrementAndGet();
          return journal.eventsByTag(tag, Offset.timeBasedUUID(from));
        })
        .groupedWithin(settings.maxBatch(), settings.maxBatchWait())
        .mapAsync(1, batch -> delivery.tagRead(batch)
            .thenCompose(v -> store.saveOffset(CONSUMER, tag,
                ((TimeBasedUUID) batch.get(batch.size() - 1).offset()).value().toString())));
  }

  /**
   * Where a partition without a committed offset starts reading (epoch millis): at the first app
   * publication less {@link #CLOCK_SKEW}, never after {@code now}; at {@code now} when no app is
   * published (nothing to deliver to before).
   */
  static long firstReadMillis(Optional<java.time.Instant> firstPublished, long now) {
    return Math.min(firstPublished.map(p -> p.minus(CLOCK_SKEW).toEpochMilli()).orElse(now), now);
  }

  /** How often a partition held at a publication's mark asks the store again. */
  static final Duration HOLD_RETRY = Duration.ofMillis(250);

  /**
   * The sequential delivery of one partition incarnation: tag read batches and live messages take
   * turns on one chain, so a device's messages reach each function one after the other, in order.
   * The ledger (telemetry partitions with the live feed on) says what the live path took ahead of
   * the tag read; the tag read skips those and commits offsets only as it passes them.
   */
  static final class Delivery {
    private final AppHost host;
    private final Stats stats;
    private final Routing routing;
    private final LiveLedger<TelemetryFeed.Journaled> ledger;
    private final int maxBatch;
    private final java.util.concurrent.ConcurrentLinkedQueue<TelemetryFeed.Journaled> inbox = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final java.util.concurrent.atomic.AtomicInteger inboxSize = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicBoolean drainQueued = new java.util.concurrent.atomic.AtomicBoolean();
    private CompletionStage<Void> tail = CompletableFuture.completedFuture(null);

    Delivery(AppHost host, Stats stats, Routing routing, LiveLedger<TelemetryFeed.Journaled> ledger, int maxBatch) {
      this.maxBatch = Math.max(1, maxBatch);
      this.host = host;
      this.stats = stats;
      this.routing = routing;
      this.ledger = ledger;
    }

    /** Runs {@code step} after every step before it (failed or not); its own outcome is returned. */
    private synchronized CompletionStage<Void> enqueue(java.util.function.Supplier<CompletionStage<Void>> step) {
      CompletionStage<Void> next = tail.handle((v, e) -> null).thenCompose(v -> step.get());
      tail = next;
      return next;
    }

    /** A live message (any thread): taken on the chain with whatever else arrived meanwhile. */
    void offerLive(TelemetryFeed.Journaled j) {
      if (ledger == null) return;
      if (inboxSize.incrementAndGet() > MAX_INBOX) {
        inboxSize.decrementAndGet();
        stats.liveLeft.incrementAndGet(); // the tag read brings it
        return;
      }
      inbox.add(j);
      if (drainQueued.compareAndSet(false, true)) {
        enqueue(this::drainLive).whenComplete((v, e) -> {
          if (e != null) log.warn("Functions: live telemetry not delivered (the tag read brings it again): {}", e.toString());
        });
      }
    }

    private CompletionStage<Void> drainLive() {
      drainQueued.set(false); // a message added from here on queues the next drain
      AppHost.Snapshot apps = host.snapshot(Trigger.EventHub.class);
      List<TelemetryFeed.Journaled> ready = new ArrayList<>();
      long dropped = ledger.dropped;
      for (TelemetryFeed.Journaled j; (j = inbox.poll()) != null; ) {
        inboxSize.decrementAndGet();
        ready.addAll(ledger.offer(j.persistenceId(), j.sequenceNr(), j, apps.generation()));
      }
      stats.liveLeft.addAndGet(ledger.dropped - dropped);
      return deliverLive(ready, apps);
    }

    private CompletionStage<Void> deliverLive(List<TelemetryFeed.Journaled> ready, AppHost.Snapshot apps) {
      if (ready.isEmpty()) return CompletableFuture.completedFuture(null);
      stats.live.addAndGet(ready.size());
      List<Routed> events = new ArrayList<>(ready.size());
      for (TelemetryFeed.Journaled j : ready) {
        HubMessage m = HubMessages.ofTelemetry(j.persistenceId(), j.sequenceNr(), j.message());
        events.add(new Routed(m, event(j.persistenceId(), j.sequenceNr(), j.message()), !HubMessages.isFunctionOutput(m), null));
      }
      // At most max-batch messages per invocation (cardinality MANY), as from the tag read; one part after the other.
      CompletionStage<Void> chain = CompletableFuture.completedFuture(null);
      for (int i = 0; i < events.size(); i += maxBatch) {
        List<Routed> part = events.subList(i, Math.min(events.size(), i + maxBatch));
        chain = chain.thenCompose(v -> deliver(part, apps.targets(), host, stats, routing));
      }
      return chain;
    }

    /** A batch of the tag read; completes when its functions returned (then the caller commits its offset). */
    CompletionStage<Void> tagRead(List<EventEnvelope> batch) {
      return enqueue(() -> {
        // Decided in journal order before anything runs: what the live path took is skipped.
        List<Object> items = new ArrayList<>(batch.size());
        java.util.Set<String> logs = new java.util.LinkedHashSet<>();
        for (EventEnvelope env : batch) {
          if (env.event() instanceof AppPublications.AppPublished p) {
            items.add(p);
          } else if (env.event() instanceof TelemetryMessage t && ledger != null) {
            Long liveAt = ledger.pass(env.persistenceId(), env.sequenceNr());
            if (liveAt != null) stats.liveSkipped.incrementAndGet();
            logs.add(env.persistenceId());
            items.add(routed(env, liveAt));
          } else {
            Routed r = routed(env, null);
            if (r != null) items.add(r);
          }
        }
        CompletionStage<Void> done = deliverInOrder(items);
        if (ledger == null || logs.isEmpty()) return done;
        // Live messages that waited for what this batch delivered.
        return done.thenCompose(v -> {
          AppHost.Snapshot apps = host.snapshot(Trigger.EventHub.class);
          List<TelemetryFeed.Journaled> ready = new ArrayList<>();
          for (String l : logs) ready.addAll(ledger.released(l, apps.generation()));
          return deliverLive(ready, apps);
        });
      });
    }

    private Routed routed(EventEnvelope env, Long liveAt) {
      if (env.event() instanceof TelemetryMessage t) {
        HubMessage m = HubMessages.ofTelemetry(env.persistenceId(), env.sequenceNr(), t);
        // A function's route output is no device telemetry: only its route's functions get it.
        return new Routed(m, event(env.persistenceId(), env.sequenceNr(), t), !HubMessages.isFunctionOutput(m), liveAt);
      }
      if (env.event() instanceof TwinEvent e && !routing.routes().isEmpty()) {
        return HubMessages.of(routing.hubName(), env.persistenceId(), env.sequenceNr(), e)
            .map(m -> new Routed(m, event(env, m), false, null)).orElse(null);
      }
      return null;
    }

    /**
     * The items in journal order, cut at the marks of app publications ({@link AppPublications}):
     * the events before a mark go to the apps loaded now; those after it only once this worker has
     * loaded the published version, so no event journaled after a publication is committed past
     * without the functions of that version having had it.
     */
    private CompletionStage<Void> deliverInOrder(List<Object> items) {
      CompletionStage<Void> chain = CompletableFuture.completedFuture(null);
      List<Routed> segment = new ArrayList<>();
      for (Object item : items) {
        if (item instanceof AppPublications.AppPublished p) {
          List<Routed> before = List.copyOf(segment);
          segment.clear();
          chain = chain.thenCompose(v -> deliverNow(before)).thenCompose(v -> {
            if (host.caughtUp(p.app(), p.version())) return CompletableFuture.<Void>completedFuture(null);
            stats.held.incrementAndGet();
            log.info("Functions trigger partition holds its events until app {} version {} is loaded here", p.app(), p.version());
            return host.awaitVersion(p.app(), p.version(), HOLD_RETRY);
          });
        } else {
          segment.add((Routed) item);
        }
      }
      List<Routed> rest = List.copyOf(segment);
      return rest.isEmpty() ? chain : chain.thenCompose(v -> deliverNow(rest));
    }

    private CompletionStage<Void> deliverNow(List<Routed> events) {
      return deliver(events, host.snapshot(Trigger.EventHub.class).targets(), host, stats, routing);
    }
  }

  /** Live messages a partition queues before its delivery takes them; beyond, the tag read brings them. */
  static final int MAX_INBOX = 20_000;

  /**
   * One journal event as the triggers see it: the hub message, the event the function gets, and,
   * when the live path invoked it already, the app generation it did so at (null: not taken live).
   */
  private record Routed(HubMessage message, InvocationInput.Event event, boolean telemetry, Long liveAt) {}

  private static CompletionStage<Void> deliver(List<Routed> events, List<AppHost.Target> targets, AppHost host, Stats stats,
                                               Routing routing) {
    if (events.isEmpty()) return CompletableFuture.completedFuture(null);
    List<CompletableFuture<Void>> all = new ArrayList<>();
    for (AppHost.Target target : targets) {
      Trigger.EventHub trigger = (Trigger.EventHub) target.function().trigger();
      java.util.function.Predicate<Routed> selects;
      if (BUILT_IN_ENDPOINT.equalsIgnoreCase(trigger.eventHubName())) {
        selects = Routed::telemetry;
      } else {
        NamedRoute route = routing.routes().stream().filter(r -> r.name().equals(trigger.eventHubName())).findFirst().orElse(null);
        if (route == null) continue; // refused at publish; a route removed from the configuration since
        selects = r -> route.condition().test(r.message());
      }
      // Taken live already: only an app loaded since (a version published meanwhile) still needs it.
      long appLoadedAt = host.loadedAt(target.app());
      List<InvocationInput.Event> mine = events.stream()
          .filter(r -> r.liveAt() == null || appLoadedAt > r.liveAt())
          .filter(selects).map(Routed::event).toList();
      if (mine.isEmpty()) continue;
      CompletionStage<Void> chain = CompletableFuture.completedFuture(null);
      if (trigger.many()) {
        chain = withRetries(host, target, new InvocationInput.Events(mine), stats, 0);
      } else {
        for (InvocationInput.Event e : mine) {
          chain = chain.thenCompose(v -> withRetries(host, target, new InvocationInput.Events(List.of(e)), stats, 0));
        }
      }
      all.add(chain.toCompletableFuture());
    }
    return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
  }

  /** A twin change, lifecycle or connection event as a route delivers it: JSON body, IoT Hub's property names. */
  static InvocationInput.Event event(EventEnvelope env, HubMessage m) {
    Map<String, Object> system = new LinkedHashMap<>();
    m.systemProperties().forEach((k, v) -> system.put(k.startsWith("$") ? k.substring(1) : k, v));
    system.put("x-opt-sequence-number", env.sequenceNr());
    system.put("SequenceNumber", env.sequenceNr());
    system.put("Offset", ((TimeBasedUUID) env.offset()).value().toString());
    system.put("PartitionKey", m.deviceId());
    system.put("EnqueuedTimeUtc", TwinJson.timestamp(m.enqueuedTime()));
    return new InvocationInput.Event(TwinJson.toBytes(m.body()), new LinkedHashMap<>(m.properties()), system, m.enqueuedTime());
  }

  private static CompletionStage<Void> withRetries(AppHost host, AppHost.Target target, InvocationInput input, Stats stats,
                                                   int retry) {
    return host.invoke(target, input).thenCompose((InvocationResult r) -> {
      if (r.succeeded()) {
        stats.delivered.incrementAndGet();
        return CompletableFuture.<Void>completedFuture(null);
      }
      var policy = target.function().retry();
      if (retry < policy.maxRetries()) {
        stats.retries.incrementAndGet();
        return host.after(policy.delay(retry + 1)).thenCompose(v -> withRetries(host, target, input, stats, retry + 1));
      }
      stats.poison.incrementAndGet();
      log.warn("Function {}/{} failed {} time(s) on a telemetry message, skipped as poison: {}", target.app(),
          target.function().name(), retry + 1, r.error());
      return CompletableFuture.<Void>completedFuture(null);
    });
  }

  /**
   * A journaled device message as the Event Hubs trigger presents it (IoT Hub's system property
   * names). Its {@code Offset} is {@code <persistence id>:<sequence number>}: the same whichever
   * path (live or tag read) delivers it, so a function can recognise a message delivered twice.
   */
  static InvocationInput.Event event(String persistenceId, long sequenceNr, TelemetryMessage t) {
    Map<String, Object> system = new LinkedHashMap<>(t.systemProperties());
    system.put("iothub-connection-device-id", t.deviceId());
    if (t.moduleId() != null) system.put("iothub-connection-module-id", t.moduleId());
    system.putIfAbsent("iothub-enqueuedtime", TwinJson.timestamp(t.enqueuedTime()));
    system.put("iothub-message-source", "Telemetry");
    system.put("x-opt-sequence-number", sequenceNr);
    system.put("x-opt-enqueued-time", TwinJson.timestamp(t.enqueuedTime()));
    system.put("SequenceNumber", sequenceNr);
    system.put("Offset", persistenceId + ":" + sequenceNr);
    system.put("PartitionKey", t.deviceId());
    system.put("EnqueuedTimeUtc", TwinJson.timestamp(t.enqueuedTime()));
    return new InvocationInput.Event(t.body(), new LinkedHashMap<>(t.properties()), system, t.enqueuedTime());
  }
}
