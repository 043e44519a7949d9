package io.twinhub.ops.bench;

import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongFunction;

/**
 * A closed loop: {@code concurrency} operations in flight, the next one starts when one ends,
 * until the duration is over or {@code count} operations have started. Every operation's latency
 * (start → whole answer read) goes into an HdrHistogram in microseconds.
 */
public final class LoadLoop {

  /** One operation: completes with true when it succeeded (2xx), false or exceptionally when not. */
  public interface Operation extends LongFunction<CompletionStage<Boolean>> {}

  public record Outcome(long operations, long errors, Duration elapsed, Histogram latencyMicros) {
    public BenchResult result(String workload) {
      return BenchResult.of(workload, operations, errors, elapsed, latencyMicros);
    }
  }

  private LoadLoop() {}

  public static Outcome run(akka.stream.Materializer materializer, int concurrency, Duration duration, long count, Operation op) throws Exception {
    Recorder recorder = new Recorder(3_600_000_000L, 3);
    LongAdder ops = new LongAdder();
    LongAdder errors = new LongAdder();
    long start = System.nanoTime();
    long end = start + duration.toNanos();
    Source.range(0, count > 0 ? (int) Math.min(count, Integer.MAX_VALUE) - 1 : Integer.MAX_VALUE - 1)
        .takeWhile(i -> System.nanoTime() < end)
        .mapAsyncUnordered(concurrency, i -> {
          long t0 = System.nanoTime();
          CompletionStage<Boolean> s;
          try {
            s = op.apply(i);
          } catch (RuntimeException e) {
            s = java.util.concurrent.CompletableFuture.failedFuture(e);
          }
          return s.handle((ok, err) -> {
            recorder.recordValue(Math.min((System.nanoTime() - t0) / 1000, 3_600_000_000L));
            ops.increment();
            if (err != null || !Boolean.TRUE.equals(ok)) errors.increment();
            return 1;
          });
        })
        .runWith(Sink.ignore(), materializer)
        .toCompletableFuture().get(duration.toSeconds() + 300, TimeUnit.SECONDS);
    return new Outcome(ops.sum(), errors.sum(), Duration.ofNanos(System.nanoTime() - start), recorder.getIntervalHistogram());
  }
}
