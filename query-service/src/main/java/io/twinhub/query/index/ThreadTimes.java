package io.twinhub.query.index;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the calling thread has spent so far, by the kernel's scheduler statistics
 * ({@code /proc/thread-self/schedstat}: time on a CPU, time runnable but waiting for one). Between
 * two readings, wall time minus both is what the thread spent blocked (a lock, I/O, a sleep): so a
 * refresh's wall time splits into its own work, the box's load, and waits on others
 * (docs/BENCHMARKS.md "Session 19: index lag"). Linux only; elsewhere {@link #now()} is null.
 *
 * @param cpuNanos       on a CPU
 * @param runQueueNanos  runnable, waiting for a CPU
 */
public record ThreadTimes(long cpuNanos, long runQueueNanos) {
  private static final Path SELF = Path.of("/proc/thread-self/schedstat");
  private static volatile boolean available = Files.isReadable(SELF);

  /** The calling thread's times, or null where the kernel does not give them. */
  public static ThreadTimes now() {
    if (!available) return null;
    try {
      return parse(Files.readString(SELF));
    } catch (IOException | RuntimeException e) {
      available = false;
      return null;
    }
  }

  /** "cpu-ns runqueue-ns timeslices" (the schedstat line). */
  static ThreadTimes parse(String schedstat) {
    String[] f = schedstat.trim().split("\\s+");
    if (f.length < 2) throw new IllegalArgumentException("not a schedstat line: " + schedstat);
    return new ThreadTimes(Long.parseLong(f[0]), Long.parseLong(f[1]));
  }

  /** What the thread spent from {@code earlier} to this reading. */
  public ThreadTimes since(ThreadTimes earlier) {
    return new ThreadTimes(cpuNanos - earlier.cpuNanos, runQueueNanos - earlier.runQueueNanos);
  }
}
