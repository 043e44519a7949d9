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
  private final List<Pair<UniqueKillSwitch, CompletionStage<Done>>> streams = new ArrayList<>();
  private final AtomicLongArray behind = new AtomicLongArray(TwinTags.COUNT);
  private final AtomicLongArray restarts = new AtomicLongArray(TwinTags.COUNT);
  private final AtomicReference<String> lastError = new AtomicReference<>();
  private Cancellable counting;

  IndexProjection(ActorSystem<?> system, JournalReader journal, TwinIndexWriter writer, IndexProjectionSettings settings) {
    this.system = system;
    this.journal = journal;
    this.writer = writer;
    this.settings = settings;
    for (int t = 0; t < TwinTags.COUNT; t++) behind.set(t, -1);
  }

  synchronized IndexProjection start() {
    for (int t = 0; t < TwinTags.COUNT; t++) streams.add(run(t));
    counting = system.scheduler().scheduleWithFixedDelay(Duration.ZERO, settings.behindInterval(),
        this::countBehind, system.executionContext());
    return this;
  }

  private Pair<UniqueKillSwitch, CompletionStage<Done>> run(int tag) {
    String name = TwinTags.ALL.get(tag);
    RestartSettings restart = RestartSettings.create(settings.minBackoff(), settings.maxBackoff(), 0.2);
    return RestartSource.onFailuresWithBackoff(restart, () -> {
          UUID from = startOffset(tag);
          return journal.eventsByTag(name, from)
              .groupedWithin(settings.batchSize(), settings.batchWindow())
              .mapAsync(1, batch -> writer.apply(tag, batch))
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

  private void countBehind() {
    for (int t = 0; t < TwinTags.COUNT; t++) {
      int tag = t;
      journal.countAfter(TwinTags.ALL.get(t), writer.offset(t), settings.behindCap())
          .whenComplete((n, e) -> {
            if (e == null) behind.set(tag, n);
          });
    }
  }

  /** Events of {@code tag} in the journal after the index's offset (-1 until first counted). */
  long eventsBehind(int tag) {
    return behind.get(tag);
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
    List<CompletableFuture<Done>> done = new ArrayList<>();
    for (Pair<UniqueKillSwitch, CompletionStage<Done>> s : streams) {
      s.first().shutdown();
      done.add(s.second().toCompletableFuture().exceptionally(e -> Done.getInstance()));
    }
    streams.clear();
    return CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).thenApply(v -> Done.getInstance());
  }
}
