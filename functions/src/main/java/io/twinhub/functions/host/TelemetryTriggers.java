package io.twinhub.functions.host;

import akka.Done;
import akka.NotUsed;
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

  public record Settings(int maxBatch, Duration maxBatchWait, Duration minBackoff, Duration maxBackoff) {}

  /** Counters of this node's partitions. */
  public static final class Stats {
    public final AtomicLong delivered = new AtomicLong();
    public final AtomicLong poison = new AtomicLong();
    public final AtomicLong retries = new AtomicLong();
    /** The partitions (journal tags) running on this worker now. */
    public final java.util.Set<String> running = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Times a partition held its events until this worker had loaded a just-published app version. */
    public final AtomicLong held = new AtomicLong();
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
    Stats stats = new Stats();
    CassandraReadJournal journal = PersistenceQuery.get(system.classicSystem())
        .getReadJournalFor(CassandraReadJournal.class, readJournalId);
    Routing routing = new Routing(hubName, List.copyOf(routes));
    ShardedDaemonProcess.get(system).init(Command.class, "functions-triggers", TAGS.size(),
        i -> partition(TAGS.get(i), journal, host, settings, stats, routing),
        ShardedDaemonProcessSettings.create(system).withRole(role), Optional.of(Stop.INSTANCE));
    return stats;
  }

  private static Behavior<Command> partition(String tag, CassandraReadJournal journal, AppHost host, Settings settings,
                                             Stats stats, Routing routing) {
    return Behaviors.setup(ctx -> {
      ActorSystem<?> system = ctx.getSystem();
      log.info("Functions trigger partition {} started on this worker", tag);
      stats.running.add(tag);
      RestartSettings restart = RestartSettings.create(settings.minBackoff(), settings.maxBackoff(), 0.2);
      UniqueKillSwitch kill = RestartSource.withBackoff(restart, () -> reading(tag, journal, host, settings, stats, routing))
          .viaMat(KillSwitches.single(), Keep.right())
          .to(Sink.ignore())
          .run(system);
      return Behaviors.receive(Command.class)
          .onMessage(Stop.class, s -> Behaviors.stopped())
          .onSignal(akka.actor.typed.PostStop.class, s -> {
            stats.running.remove(tag);
            kill.shutdown();
            return Behaviors.same();
          })
          .build();
    });
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
                                               Stats stats, Routing routing) {
    FunctionStore store = host.store();
    CompletionStage<UUID> start = store.offset(CONSUMER, tag).thenCompose(o -> {
      if (o.isPresent()) return CompletableFuture.completedFuture(UUID.fromString(o.get()));
      return store.firstPublished().thenCompose(first -> {
        UUID offset = journal.offsetUuid(firstReadMillis(first, System.currentTimeMillis()));
        return store.saveOffset(CONSUMER, tag, offset.toString()).thenApply(d -> offset);
      });
    });
    return Source.completionStage(start)
        .flatMapConcat(from -> journal.eventsByTag(tag, Offset.timeBasedUUID(from)))
        .groupedWithin(settings.maxBatch(), settings.maxBatchWait())
        .mapAsync(1, batch -> deliverInOrder(batch, host, stats, routing)
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
   * A batch in journal order, cut at the marks of app publications ({@link AppPublications}):
   * the events before a mark go to the apps loaded now; those after it only once this worker has
   * loaded the published version, so no event journaled after a publication is committed past
   * without the functions of that version having had it.
   */
  private static CompletionStage<Void> deliverInOrder(List<EventEnvelope> batch, AppHost host, Stats stats, Routing routing) {
    CompletionStage<Void> chain = CompletableFuture.completedFuture(null);
    List<EventEnvelope> segment = new ArrayList<>();
    for (EventEnvelope env : batch) {
      if (env.event() instanceof AppPublications.AppPublished p) {
        List<EventEnvelope> before = List.copyOf(segment);
        segment.clear();
        chain = chain.thenCompose(v -> deliver(before, host, stats, routing)).thenCompose(v -> {
          if (host.caughtUp(p.app(), p.version())) return CompletableFuture.<Void>completedFuture(null);
          stats.held.incrementAndGet();
          log.info("Functions trigger partition holds its events until app {} version {} is loaded here", p.app(), p.version());
          return host.awaitVersion(p.app(), p.version(), HOLD_RETRY);
        });
      } else {
        segment.add(env);
      }
    }
    List<EventEnvelope> rest = List.copyOf(segment);
    return rest.isEmpty() ? chain : chain.thenCompose(v -> deliver(rest, host, stats, routing));
  }

  /** One journal event as the triggers see it: the hub message, and the event the function gets. */
  private record Routed(HubMessage message, InvocationInput.Event event, boolean telemetry) {}

  private static CompletionStage<Void> deliver(List<EventEnvelope> batch, AppHost host, Stats stats, Routing routing) {
    List<Routed> events = new ArrayList<>(batch.size());
    for (EventEnvelope env : batch) {
      if (env.event() instanceof TelemetryMessage t) {
        HubMessage m = HubMessages.ofTelemetry(env.persistenceId(), env.sequenceNr(), t);
        // A function's route output is no device telemetry: only its route's functions get it.
        events.add(new Routed(m, event(env, t), !HubMessages.isFunctionOutput(m)));
      } else if (env.event() instanceof TwinEvent e && !routing.routes().isEmpty()) {
        HubMessages.of(routing.hubName(), env.persistenceId(), env.sequenceNr(), e)
            .ifPresent(m -> events.add(new Routed(m, event(env, m), false)));
      }
    }
    if (events.isEmpty()) return CompletableFuture.completedFuture(null);
    List<CompletableFuture<Void>> all = new ArrayList<>();
    for (AppHost.Target target : host.targets(Trigger.EventHub.class, t -> true)) {
      Trigger.EventHub trigger = (Trigger.EventHub) target.function().trigger();
      java.util.function.Predicate<Routed> selects;
      if (BUILT_IN_ENDPOINT.equalsIgnoreCase(trigger.eventHubName())) {
        selects = Routed::telemetry;
      } else {
        NamedRoute route = routing.routes().stream().filter(r -> r.name().equals(trigger.eventHubName())).findFirst().orElse(null);
        if (route == null) continue; // refused at publish; a route removed from the configuration since
        selects = r -> route.condition().test(r.message());
      }
      List<InvocationInput.Event> mine = events.stream().filter(selects).map(Routed::event).toList();
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

  /** A journaled device message as the Event Hubs trigger presents it (IoT Hub's system property names). */
  static InvocationInput.Event event(EventEnvelope env, TelemetryMessage t) {
    Map<String, Object> system = new LinkedHashMap<>(t.systemProperties());
    system.put("iothub-connection-device-id", t.deviceId());
    if (t.moduleId() != null) system.put("iothub-connection-module-id", t.moduleId());
    system.putIfAbsent("iothub-enqueuedtime", TwinJson.timestamp(t.enqueuedTime()));
    system.put("iothub-message-source", "Telemetry");
    system.put("x-opt-sequence-number", env.sequenceNr());
    system.put("x-opt-enqueued-time", TwinJson.timestamp(t.enqueuedTime()));
    system.put("SequenceNumber", env.sequenceNr());
    system.put("Offset", ((TimeBasedUUID) env.offset()).value().toString());
    system.put("PartitionKey", t.deviceId());
    system.put("EnqueuedTimeUtc", TwinJson.timestamp(t.enqueuedTime()));
    return new InvocationInput.Event(t.body(), new LinkedHashMap<>(t.properties()), system, t.enqueuedTime());
  }
}
