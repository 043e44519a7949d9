package io.twinhub.projections.index;

import akka.Done;
import akka.actor.Cancellable;
import akka.actor.typed.ActorSystem;
import akka.japi.Pair;
import akka.stream.KillSwitches;
import akka.stream.RestartSettings;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.RestartSource;
import akka.stream.javadsl.Sink;
import io.twinhub.twin.entity.TwinTags;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One projection per journal tag on this node, each a restartable Akka Persistence Query
 * {@code eventsByTag} stream into the shared {@link TwinIndexWriter}.
 *
 * <p>Why not Akka Projections: the offset must be stored atomically with the index, i.e. in the
 * Lucene commit, and Akka Projections 1.4 has no public offset-store SPI (its offset stores are
 * the Cassandra/JDBC/R2DBC/Slick modules' own; akka-projection-cassandra stops at 1.2.x). A
 * tag stream is the same thing Akka Projections' {@code EventSourcedProvider.eventsByTag} runs:
 * here it starts from the writer's offset (rewound by {@code restart-rewind}), batches, applies
 * with back-pressure, and restarts with back-off on any failure, from wherever the writer is.
 */
final class IndexProjection {
  private static final Logger log = LoggerFactory.getLogger(IndexProjection.class);

  private final ActorSystem<?> system;
  private final JournalReader journal;
  private final TwinIndexWriter writer;
  private final IndexProjectionSettings settings;
  private final LivePosition position;
  /** Per tag: its running read, null while stopped (the live path alone brings its events). */
  @SuppressWarnings("unchecked")
  private final Pair<UniqueKillSwitch, CompletionStage<Done>>[] streams = new Pair[TwinTags.COUNT];
  private final AtomicLongArray reads = new AtomicLongArray(TwinTags.COUNT);
  private final AtomicLongArray behind = new AtomicLongArray(TwinTags.COUNT);
  private final AtomicLongArray restarts = new AtomicLongArray(TwinTags.COUNT);
  private final AtomicReference<String> lastError = new AtomicReference<>();
  private Cancellable counting;
  private Cancellable supervising;

  IndexProjection(ActorSystem<?> system, JournalReader journal, TwinIndexWriter writer, IndexProjectionSettings settings,
                  LivePosition position) {
    this.system = system;
    this.journal = journal;
    this.writer = writer;
    this.settings = settings;
    this.position = position;
    for (int t = 0; t < TwinTags.COUNT; t++) behind.set(t, -1);
  }

  synchronized IndexProjection start() {
    supervise();
    counting = system.scheduler().scheduleWithFixedDelay(Duration.ZERO, settings.behindInterval(),
        this::countBehind, system.executionContext());
    // A loss (LivePosition.lossAt) restarts the reads it concerns within this tick.
    supervising = system.scheduler().scheduleWithFixedDelay(Duration.ofSeconds(1), Duration.ofSeconds(1),
        this::supervise, system.executionContext());
    return this;
  }

  /** Starts the read of every tag that must catch up and has none running. */
  private synchronized void supervise() {
    if (counting != null && counting.isCancelled()) return; // stopped
    for (int t = 0; t < TwinTags.COUNT; t++) {
      if (streams[t] == null && position.catchingUp(t)) {
        reads.incrementAndGet(t);
        streams[t] = run(t);
      }
    }
  }

  /** The read of {@code tag} has covered what the live path may have missed: stop it. */
  private synchronized void caughtUp(int tag) {
    Pair<UniqueKillSwitch, CompletionStage<Done>> s = streams[tag];
    if (s == null) return;
    streams[tag] = null;
    behind.set(tag, 0);
    s.first().shutdown();
    log.debug("index: tag {} caught up; the live path alone brings its events now", TwinTags.ALL.get(tag));
  }

  private Pair<UniqueKillSwitch, CompletionStage<Done>> run(int tag) {
    String name = TwinTags.ALL.get(tag);
    RestartSettings restart = RestartSettings.create(settings.minBackoff(), settings.maxBackoff(), 0.2);
    return RestartSource.onFailuresWithBackoff(restart, () -> {
          UUID from = startOffset(tag);
          return journal.eventsByTag(name, from)
              .groupedWithin(settings.batchSize(), settings.batchWindow())
              .mapAsync(1, batch -> writer.apply(tag, batch).thenApply(v -> {
                long last = batch.get(batch.size() - 1).timestamp();
                if (position.readReached(tag, last)) caughtUp(tag);
                return v;
              }))
              .watchTermination((mat, done) -> {
                done.whenComplete((d, e) -> {
                  if (e != null) {
                    restarts.incrementAndGet(tag);
                    lastError.set(name + ": " + e);
                    log.warn("index projection {} failed, restarting with back-off: {}", name, e.toString());
                  }
                });
                return mat;
              });
        })
        .viaMat(KillSwitches.single(), Keep.right())
        .toMat(Sink.ignore(), Keep.both())
        .run(system);
  }

  /** Where a (re)started tag read begins: the writer's offset, rewound to catch late-visible events. */
  private UUID startOffset(int tag) {
    UUID offset = writer.offset(tag);
    if (offset == null) return null;
    long from = journal.timestampOf(offset) - settings.restartRewind().toMillis();
    return from <= journal.firstBucketMillis() ? null : journal.offsetAt(from);
  }

  /** Counts the events after each catching-up read's position (a stopped read has nothing behind it). */
  private void countBehind() {
    for (int t = 0; t < TwinTags.COUNT; t++) {
      int tag = t;
      if (!position.catchingUp(tag)) continue;
      long countedAt = System.currentTimeMillis();
      journal.countAfter(TwinTags.ALL.get(t), writer.offset(t), settings.behindCap())
          .whenComplete((n, e) -> {
            if (e != null) return;
            behind.set(tag, n);
            if (position.counted(tag, n, countedAt)) caughtUp(tag);
          });
    }
  }

  /** Events of {@code tag} in the journal after the index's offset (-1 until first counted; 0 while the live path alone brings them). */
  long eventsBehind(int tag) {
    return position.catchingUp(tag) ? behind.get(tag) : 0;
  }

  /** Whether {@code tag}'s read runs now. */
  synchronized boolean reading(int tag) {
    return streams[tag] != null;
  }

  /** How many times {@code tag}'s read was started (at start and after each loss). */
  long reads(int tag) {
    return reads.get(tag);
  }

  long restarts(int tag) {
    return restarts.get(tag);
  }

  String lastError() {
    return lastError.get();
  }

  /** Stops every tag stream; completes when they have stopped. */
  synchronized CompletionStage<Done> stop() {
    if (counting != null) counting.cancel();
    if (supervising != null) supervising.cancel();
    List<CompletableFuture<Done>> done = new ArrayList<>();
    for (int t = 0; t < TwinTags.COUNT; t++) {
      Pair<UniqueKillSwitch, CompletionStage<Done>> s = streams[t];
      if (s == null) continue;
      s.first().shutdown();
      done.add(s.second().toCompletableFuture().exceptionally(e -> Done.getInstance()));
      streams[t] = null;
    }
    return CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).thenApply(v -> Done.getInstance());
  }
}
