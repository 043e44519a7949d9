package io.twinhub.projections.index;

import akka.actor.Cancellable;
import akka.actor.typed.ActorSystem;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.twin.entity.TwinTags;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Builds a complete query index from the journal as it is now, in a directory of its own:
 * every tag's {@code currentEventsByTag} from the start, folded like the live projection,
 * committed with the offsets reached, so the live projection continues from there. Used by
 * {@code ./twinhub reindex} and by a running node's reindex (which swaps the result in).
 */
public final class Reindexer {
  private Reindexer() {}

  /**
   * How far a rebuild is. {@code fraction} is measured in journal time: per tag, how far its last
   * applied event is from the journal's first bucket towards the moment the rebuild began.
   */
  public record Progress(double fraction, long events, long twins, double eventsPerSecond, Duration elapsed, boolean done) {}

  @FunctionalInterface
  public interface Listener {
    void onProgress(Progress progress);
  }

  static Progress build(ActorSystem<?> system, JournalReader journal, TwinStateCodec codec, IndexProjectionSettings settings,
                        Path target, Listener listener) {
    deleteRecursively(target);
    long began = System.currentTimeMillis();
    long start = journal.firstBucketMillis();
    TwinIndex index = TwinIndex.open(target, settings.lucene());
    TwinIndexWriter writer = new TwinIndexWriter(index, codec, journal, settings, Clock.systemUTC());
    java.util.concurrent.atomic.AtomicIntegerArray finished = new java.util.concurrent.atomic.AtomicIntegerArray(TwinTags.COUNT);
    // The ticker's reports and the final one never overlap, and none follows the final one: a tick
    // that ran beside the end once left "done": false for good (the CLI waited on it forever).
    Object reporting = new Object();
    boolean[] over = {false};
    Runnable report = () -> {
      synchronized (reporting) {
        if (!over[0]) listener.onProgress(progress(writer, index, finished, start, began, false));
      }
    };
    Cancellable ticker = system.scheduler().scheduleAtFixedRate(Duration.ofMillis(500), Duration.ofMillis(500), report,
        system.executionContext());
    try {
      Source.from(IntStream.range(0, TwinTags.COUNT).boxed().toList())
          .flatMapMerge(TwinTags.COUNT, tag -> journal.currentEventsByTag(TwinTags.ALL.get(tag), null)
              .groupedWithin(settings.batchSize(), settings.batchWindow())
              .mapAsync(1, batch -> writer.apply(tag, batch))
              .watchTermination((m, done) -> {
                done.thenRun(() -> finished.set(tag, 1));
                return m;
              }))
          .runWith(Sink.ignore(), system)
          .toCompletableFuture().get(7, TimeUnit.DAYS);
      writer.flush().toCompletableFuture().get(60, TimeUnit.SECONDS);
      Progress last = progress(writer, index, finished, start, began, true);
      synchronized (reporting) {
        over[0] = true;
        ticker.cancel();
        listener.onProgress(last);
      }
      return last;
    } catch (Exception e) {
      throw new IllegalStateException("rebuilding the query index from the journal failed: " + e, e);
    } finally {
      ticker.cancel();
      writer.close();
      index.close();
    }
  }

  private static Progress progress(TwinIndexWriter writer, TwinIndex index, java.util.concurrent.atomic.AtomicIntegerArray finished,
                                   long start, long began,
                                   boolean done) {
    double sum = 0;
    for (int t = 0; t < TwinTags.COUNT; t++) {
      long at = writer.lastEventAt(t);
      sum += finished.get(t) == 1 || done ? 1.0 : at == 0 ? 0.0 : Math.min(1.0, (double) (at - start) / Math.max(1, began - start));
    }
    long elapsed = System.currentTimeMillis() - began;
    long events = writer.applied.get() + writer.duplicates.get();
    return new Progress(sum / TwinTags.COUNT, events, index.twinCount(), events * 1000.0 / Math.max(1, elapsed),
        Duration.ofMillis(elapsed), done);
  }

  /** Replaces {@code dir} by {@code rebuilt} (old contents deleted). */
  static void swap(Path rebuilt, Path dir) {
    try {
      Path old = dir.resolveSibling(dir.getFileName() + ".old");
      deleteRecursively(old);
      if (Files.exists(dir)) Files.move(dir, old, StandardCopyOption.ATOMIC_MOVE);
      Files.move(rebuilt, dir, StandardCopyOption.ATOMIC_MOVE);
      deleteRecursively(old);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot move the rebuilt index into " + dir, e);
    }
  }

  static void deleteRecursively(Path p) {
    if (!Files.exists(p)) return;
    try (Stream<Path> all = Files.walk(p)) {
      for (Path f : all.sorted(Comparator.reverseOrder()).toList()) Files.delete(f);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + p, e);
    }
  }
}
