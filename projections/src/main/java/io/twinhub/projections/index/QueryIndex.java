package io.twinhub.projections.index;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Tags;
import io.twinhub.query.QueryEngine;
import io.twinhub.query.QueryResult;
import io.twinhub.query.QuerySettings;
import io.twinhub.query.ReadYourWrites;
import io.twinhub.query.TwinQueries;
import io.twinhub.query.http.QueryRoute;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.twin.entity.TwinTags;
import org.HdrHistogram.Histogram;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The running query index of a node (what {@link QueryIndexModule#start} returns): the Lucene
 * index, the per-tag projections feeding it, and the query engine over it.
 *
 * <ul>
 *   <li>{@link #query} — one page of a query (also behind {@link #route});</li>
 *   <li>{@link #status} — lag, events behind, counts (JSON at {@link #statusRoute}, gauges in
 *       Micrometer's global registry: {@code twinhub_query_index_*});</li>
 *   <li>{@link #reindex} — rebuild from the journal while the old index keeps answering, then swap;</li>
 *   <li>{@link #stop} — stop the projections, commit, close.</li>
 * </ul>
 */
public final class QueryIndex implements TwinQueries {
  private static final Logger log = LoggerFactory.getLogger(QueryIndex.class);

  private final ActorSystem<?> system;
  private final Path dir;
  private final JournalReader journal;
  private final TwinStateCodec codec;
  private final IndexProjectionSettings settings;
  private final QuerySettings querySettings;
  private final ExecutorService queryThreads;
  private final String startedFrom;
  private final List<Meter> meters = new ArrayList<>();
  private volatile Running running;
  private volatile String state = "live";
  /** The last progress of the running (or last finished) live reindex; null before any. */
  private volatile Reindexer.Progress rebuild;
  private volatile String rebuildError;
  /**
   * Completes when no swap is in progress. While a reindex swaps the new index in, the old one is
   * closed for a moment: queries and status reads that meet the closed index wait for this, then
   * run on the new one.
   */
  private volatile CompletableFuture<Void> swapped = CompletableFuture.completedFuture(null);
  private volatile Histogram lastVisibleLag = new Histogram(3);
  private final Histogram visibleLagSinceStart = new Histogram(3);
  private CompletableFuture<Done> stopped;
  private akka.actor.typed.ActorRef<io.twinhub.twin.entity.TwinEventFeed.Live> liveSubscriber;
  /** Up to when the live feed's numbering shows nothing lost unnoticed (LiveGaps#heardUntil). */
  private volatile long liveHeardUntil = Long.MAX_VALUE;
  /** Gaps seen in the live feed's numbering (messages lost on the way; status {@code liveGaps}). */
  private final java.util.concurrent.atomic.AtomicLong liveGaps = new java.util.concurrent.atomic.AtomicLong();
  private akka.actor.typed.ActorRef<akka.cluster.ClusterEvent.ClusterDomainEvent> membersWatcher;
  /** Query pages answered (also failed ones) and their latency, on the node's /metrics. */
  private final io.micrometer.core.instrument.Timer queries = io.micrometer.core.instrument.Timer.builder("twinhub.query.requests")
      .description("query pages answered (POST /devices/query), with their latency").register(Metrics.globalRegistry);

  /** The parts that are replaced together when a reindex swaps in a new index. */
  private record Running(TwinIndex index, TwinIndexWriter writer, IndexProjection projection, QueryEngine engine,
                         LivePosition position) {}

  QueryIndex(ActorSystem<?> system, Path dir, TwinIndex index, JournalReader journal, TwinStateCodec codec,
             IndexProjectionSettings settings, QuerySettings querySettings, ExecutorService queryThreads, String startedFrom) {
    this.system = system;
    this.dir = dir;
    this.journal = journal;
    this.codec = codec;
    this.settings = settings;
    this.querySettings = querySettings;
    this.queryThreads = queryThreads;
    this.startedFrom = startedFrom;
    this.running = startOn(index);
    registerMetrics(Metrics.globalRegistry);
    if (settings.liveFeed()) {
      subscribeLive();
      watchMembers();
    }
  }

  /**
   * A member joining (its twins' events may reach this node only once the receptionist has told it
   * about this subscriber), leaving, becoming unreachable (events it had told but not delivered) or
   * reachable again (what it sent meanwhile may have overflowed its outbound queue) is a loss for
   * the live path: the tag reads run again until they have covered it.
   */
  private void watchMembers() {
    if (!system.settings().config().getString("akka.actor.provider").contains("cluster")) return;
    membersWatcher = system.systemActorOf(
        akka.actor.typed.javadsl.Behaviors.receiveMessage((akka.cluster.ClusterEvent.ClusterDomainEvent e) -> {
          if (e instanceof akka.cluster.ClusterEvent.MemberUp || e instanceof akka.cluster.ClusterEvent.MemberRemoved
              || e instanceof akka.cluster.ClusterEvent.UnreachableMember
              // messages to it may have been dropped while it was unreachable (a full outbound queue)
              || e instanceof akka.cluster.ClusterEvent.ReachableMember) {
            log.debug("query index: {}; the tag reads catch up", e);
            running.position().lossAt(System.currentTimeMillis());
          }
          return akka.actor.typed.javadsl.Behaviors.same();
        }),
        "twinhub-query-index-members-" + java.util.UUID.randomUUID(), akka.actor.typed.Props.empty());
    akka.cluster.typed.Cluster.get(system).subscriptions().tell(
        akka.cluster.typed.Subscribe.create(membersWatcher, akka.cluster.ClusterEvent.ClusterDomainEvent.class));
  }

  /**
   * The live path: every entity's journaled events, told to this node right after the journal
   * acknowledged them, go to whichever writer is running (the tag reads stay the durable path).
   * Each node numbers what it tells: a gap, a high-water mark above what came, or the first word
   * of a node's feed is a loss (a message lost between two healthy nodes, a node that lists this
   * subscriber only now), so the tag reads run again until they have covered it.
   */
  private void subscribeLive() {
    // A live sender speaks at least every idle-mark interval (10 s); one silent for a minute is gone.
    io.twinhub.twin.LiveGaps gaps = new io.twinhub.twin.LiveGaps(java.util.concurrent.TimeUnit.MINUTES.toMillis(1));
    liveSubscriber = system.systemActorOf(akka.actor.typed.javadsl.Behaviors.receiveMessage(
            (io.twinhub.twin.entity.TwinEventFeed.Live message) -> {
              long now = System.currentTimeMillis();
              io.twinhub.twin.LiveGaps.Heard heard;
              if (message instanceof io.twinhub.twin.entity.TwinEventFeed.Journaled live) {
                heard = gaps.received(live.sender(), live.number(), now);
                // The loss first: the offsets must not follow the live path past what was lost.
                if (heard.loss()) liveLoss(heard, live.sender(), now);
                running.writer().offerLive(live);
              } else if (message instanceof io.twinhub.twin.entity.TwinEventFeed.HighWater mark) {
                heard = gaps.marked(mark.sender(), mark.number(), now);
                if (heard.loss()) liveLoss(heard, mark.sender(), now);
              }
              liveHeardUntil = gaps.heardUntil(now);
              return akka.actor.typed.javadsl.Behaviors.same();
            }),
        "twinhub-query-index-live-" + java.util.UUID.randomUUID(), akka.actor.typed.Props.empty());
    io.twinhub.twin.entity.TwinEventFeed.subscribe(system, liveSubscriber);
  }

  private void liveLoss(io.twinhub.twin.LiveGaps.Heard heard, long sender, long now) {
    if (heard == io.twinhub.twin.LiveGaps.Heard.GAP) {
      liveGaps.incrementAndGet();
      log.info("query index: live messages of sender {} were lost; the tag reads catch up", Long.toHexString(sender));
    } else {
      log.debug("query index: first live word of sender {}; the tag reads catch up", Long.toHexString(sender));
    }
    running.position().lossAt(now);
  }

  private Running startOn(TwinIndex index) {
    TwinIndexWriter writer = new TwinIndexWriter(index, codec, journal, settings, Clock.systemUTC());
    LivePosition position = new LivePosition(TwinTags.COUNT, settings.liveFeed(), settings.liveSettle().toMillis(),
        settings.liveMargin().toMillis(), System.currentTimeMillis());
    writer.livePosition(position);
    writer.liveHeardUntil(() -> liveHeardUntil);
    IndexProjection projection = new IndexProjection(system, journal, writer, settings, position).start();
    writer.catchingUpWhen(tag -> projection.eventsBehind(tag) > settings.liveGapFillMaxBehind());
    return new Running(index, writer, projection,
        new QueryEngine(index, querySettings, queryThreads).refreshOnQuery(settings.refreshOnQuery()), position);
  }

  // ------------------------------------------------------------------ queries

  @Override
  public CompletionStage<QueryResult> query(String sql, int maxItems, String continuation, Optional<ReadYourWrites> ryw) {
    long t0 = System.nanoTime();
    return running.engine().query(sql, maxItems, continuation, ryw)
        .handle((r, e) -> e == null ? CompletableFuture.completedFuture(r)
            : closedDuringSwap(e) ? swapped.thenCompose(v -> running.engine().query(sql, maxItems, continuation, ryw))
            : CompletableFuture.<QueryResult>failedFuture(e))
        .thenCompose(f -> f)
        .whenComplete((r, e) -> queries.record(System.nanoTime() - t0, java.util.concurrent.TimeUnit.NANOSECONDS));
  }

  /** The engine answering queries now (replaced by a reindex). */
  public QueryEngine engine() {
    return running.engine();
  }

  /**
   * {@code POST /devices/query} for the REST layer to mount; {@code authorized} wraps it with
   * the caller's authentication (rights ServiceConnect or RegistryRead).
   */
  public Route route(Function<Supplier<Route>, Route> authorized) {
    return QueryRoute.route(this, authorized);
  }

  /**
   * {@code GET /query-index/status}: {@link #status()} as JSON, with the progress of the current or
   * last reindex under {@code rebuild}; {@code POST /query-index/reindex} starts a live reindex
   * (202 with the status, 409 when one is already running). Callers wrap it with authorization.
   */
  public Route statusRoute() {
    return new AllDirectives() {
      Route build() {
        return concat(
            path(akka.http.javadsl.server.PathMatchers.segment("query-index").slash("status"), () ->
                get(() -> complete(statusResponse(200)))),
            path(akka.http.javadsl.server.PathMatchers.segment("query-index").slash("reindex"), () ->
                post(() -> complete(startReindex()))));
      }
    }.build();
  }

  private synchronized HttpResponse startReindex() {
    if (!state.equals("live")) return conflict("the query index is " + state + "; no reindex now");
    reindex(p -> {}).whenComplete((p, e) -> {
      if (e != null) log.error("live reindex failed", e);
    });
    return statusResponse(202);
  }

  private HttpResponse statusResponse(int code) {
    com.fasterxml.jackson.databind.node.ObjectNode json = status().toJson();
    Reindexer.Progress p = rebuild;
    if (p != null) {
      com.fasterxml.jackson.databind.node.ObjectNode r = progressJson(p);
      if (rebuildError != null) r.put("error", rebuildError);
      json.set("rebuild", r);
    }
    return HttpResponse.create().withStatus(code)
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, json.toString()));
  }

  /** 409 in IoT Hub's error shape, like every other error of the node. */
  private static HttpResponse conflict(String message) {
    io.twinhub.twin.error.IotHubError error = io.twinhub.twin.error.IotHubErrorCode.Conflict.error(message);
    return HttpResponse.create().withStatus(error.status())
        .addHeader(akka.http.javadsl.model.headers.RawHeader.create(io.twinhub.twin.error.IotHubError.ERROR_CODE_HEADER,
            error.code().headerValue()))
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, error.toJsonBody(Clock.systemUTC())));
  }

  /** A reindex's progress as JSON (what {@code ./twinhub reindex} draws its bar from). */
  public static com.fasterxml.jackson.databind.node.ObjectNode progressJson(Reindexer.Progress p) {
    var o = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
    o.put("fraction", p.fraction());
    o.put("events", p.events());
    o.put("twins", p.twins());
    o.put("eventsPerSecond", p.eventsPerSecond());
    o.put("elapsedMillis", p.elapsed().toMillis());
    o.put("done", p.done());
    return o;
  }

  /** The inverse of {@link #progressJson}. */
  public static Reindexer.Progress progressFromJson(com.fasterxml.jackson.databind.JsonNode o) {
    return new Reindexer.Progress(o.path("fraction").asDouble(), o.path("events").asLong(), o.path("twins").asLong(),
        o.path("eventsPerSecond").asDouble(), java.time.Duration.ofMillis(o.path("elapsedMillis").asLong()),
        o.path("done").asBoolean());
  }

  // ------------------------------------------------------------------ status and metrics

  public IndexStatus status() {
    try {
      return statusOf(running);
    } catch (org.apache.lucene.store.AlreadyClosedException e) {
      swapped.join(); // a swap is closing the old index: milliseconds
      return statusOf(running);
    }
  }

  private static boolean closedDuringSwap(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof org.apache.lucene.store.AlreadyClosedException) return true;
    }
    return false;
  }

  private IndexStatus statusOf(Running r) {
    long now = System.currentTimeMillis();
    List<IndexStatus.Tag> tags = new ArrayList<>();
    long behindTotal = 0;
    long lag = 0;
    boolean counted = true;
    for (int t = 0; t < TwinTags.COUNT; t++) {
      UUID offset = r.writer().offset(t);
      long at = r.writer().lastEventAt(t);
      long behind = r.projection().eventsBehind(t);
      long age = at == 0 ? 0 : now - at;
      long tagLag = behind > 0 ? age : 0;
      if (behind < 0) counted = false;
      else behindTotal += behind;
      lag = Math.max(lag, tagLag);
      tags.add(new IndexStatus.Tag(TwinTags.ALL.get(t), offset == null ? null : offset.toString(),
          at == 0 ? null : Instant.ofEpochMilli(at), age, tagLag, behind, r.projection().restarts(t),
          r.projection().reading(t), r.projection().reads(t)));
    }
    Histogram h = r.writer().takeVisibleLag();
    if (h.getTotalCount() > 0) {
      lastVisibleLag = h;
      synchronized (visibleLagSinceStart) {
        visibleLagSinceStart.add(h);
      }
    }
    Histogram v = lastVisibleLag;
    long commit = r.writer().lastCommitAt();
    return new IndexStatus(state, r.index().twinCount(), r.index().sizeOnDisk(), lag, counted ? behindTotal : -1,
        v.getTotalCount() == 0 ? 0 : v.getValueAtPercentile(50), v.getTotalCount() == 0 ? 0 : v.getValueAtPercentile(99),
        r.writer().applied.get(), r.writer().duplicates.get(), r.writer().gapsFilled.get(), r.writer().failed.get(),
        r.writer().documentsWritten.get(), r.writer().liveApplied.get(), r.writer().liveDropped.get(), liveGaps.get(), r.position().losses(),
        (int) tags.stream().filter(IndexStatus.Tag::reading).count(),
        commit == 0 ? null : Instant.ofEpochMilli(commit), r.index().layout(), startedFrom, r.projection().lastError(), tags,
        r.writer().stages.toJson());
  }

  private void registerMetrics(MeterRegistry registry) {
    // One query index per node; a previous one (a test's) must not keep the names.
    registry.getMeters().stream().filter(m -> m.getId().getName().startsWith("twinhub_query_index_")).toList()
        .forEach(registry::remove);
    meters.add(Gauge.builder("twinhub_query_index_lag_seconds", this, q -> q.status().lagMillis() / 1000.0)
        .description("now minus the timestamp of the last applied event, where events are behind").register(registry));
    meters.add(Gauge.builder("twinhub_query_index_events_behind", this, q -> q.status().eventsBehind())
        .description("journal events the index has not applied yet (capped per tag)").register(registry));
    meters.add(Gauge.builder("twinhub_query_index_visible_lag_p99_seconds", this, q -> q.lastVisibleLag.getValueAtPercentile(99) / 1000.0)
        .description("event written to visible to queries, 99th percentile of the last interval").register(registry));
    meters.add(Gauge.builder("twinhub_query_index_twins", this, q -> q.running.index().twinCount()).register(registry));
    meters.add(Gauge.builder("twinhub_query_index_size_bytes", this, q -> q.running.index().sizeOnDisk()).register(registry));
    meters.add(Gauge.builder("twinhub_query_index_events_applied", this, q -> q.running.writer().applied.get()).register(registry));
    for (int t = 0; t < TwinTags.COUNT; t++) {
      int tag = t;
      meters.add(Gauge.builder("twinhub_query_index_tag_events_behind", this, q -> q.running.projection().eventsBehind(tag))
          .tags(Tags.of("tag", TwinTags.ALL.get(t))).register(registry));
    }
  }

  /** Event written → visible to queries (ms), every event since this index started (for benchmarks). */
  public Histogram visibleLagSinceStart() {
    status(); // takes the writer's latest interval
    synchronized (visibleLagSinceStart) {
      return visibleLagSinceStart.copy();
    }
  }

  // ------------------------------------------------------------------ reindex and stop

  /**
   * Rebuilds the index from the journal into a directory beside it while the current index keeps
   * answering queries, then swaps it in and resumes the projections from the rebuilt offsets.
   */
  public synchronized CompletionStage<Reindexer.Progress> reindex(Reindexer.Listener listener) {
    if (!state.equals("live")) {
      return CompletableFuture.failedFuture(new IllegalStateException("the query index is " + state + "; no reindex now"));
    }
    state = "rebuilding";
    rebuild = new Reindexer.Progress(0, 0, 0, 0, java.time.Duration.ZERO, false);
    rebuildError = null;
    return CompletableFuture.supplyAsync(() -> {
      try {
        Path rebuilt = dir.resolveSibling(dir.getFileName() + ".rebuild");
        Reindexer.Progress p = Reindexer.build(system, journal, codec, settings, rebuilt, progress -> {
          rebuild = progress;
          listener.onProgress(progress);
        });
        Running old = running;
        old.projection().stop().toCompletableFuture().join();
        CompletableFuture<Void> swap = new CompletableFuture<>();
        swapped = swap;
        try {
          old.writer().close();
          old.engine().close();
          old.index().close();
          Reindexer.swap(rebuilt, dir);
        } finally {
          // Also after a failed swap: serve whatever index is in place rather than a closed one.
          running = startOn(TwinIndex.open(dir, settings.lucene()));
          swap.complete(null);
        }
        log.info("query index rebuilt from the journal: {} events, {} twins, {} s", p.events(), p.twins(),
            p.elapsed().toSeconds());
        return p;
      } catch (RuntimeException e) {
        rebuildError = e.getMessage();
        throw e;
      } finally {
        state = "live";
      }
    }, queryThreads);
  }

  /** Stops the projections, makes the index durable with its offsets, closes it. */
  public synchronized CompletionStage<Done> stop() {
    if (stopped == null) {
      Running r = running;
      if (liveSubscriber != null) system.classicSystem().stop(akka.actor.typed.javadsl.Adapter.toClassic(liveSubscriber));
      if (membersWatcher != null) system.classicSystem().stop(akka.actor.typed.javadsl.Adapter.toClassic(membersWatcher));
      stopped = r.projection().stop().toCompletableFuture().thenApply(d -> {
        state = "stopped";
        r.writer().close();
        r.engine().close();
        r.index().close();
        meters.forEach(Metrics.globalRegistry::remove);
        queryThreads.shutdown();
        return Done.getInstance();
      });
    }
    return stopped;
  }

  /** The index directory. */
  public Path directory() {
    return dir;
  }
}
