package io.twinhub.ops.bench;

import io.twinhub.ops.proc.ProcTicks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CPU and heap of server processes (hub nodes, baseline servers) seen from outside: CPU from
 * {@code /proc/<pid>/stat} (user + system ticks) deltas over a phase, heap as used after a full GC
 * ({@code jcmd <pid> GC.run}, then {@code GC.heap_info}). Works for any JVM the harness can see;
 * figures for a process that is gone or not a JVM are n/a (NaN / -1), never guessed.
 */
public final class NodeProbe {

  /** Clock ticks per second of /proc (USER_HZ); 100 on every Linux the JDK runs on. */
  public static final long TICKS_PER_SECOND = 100;
  private static final Pattern HEAP_USED = Pattern.compile("heap\\s+total\\s+(\\d+)K,\\s+used\\s+(\\d+)K");

  private final List<Long> pids;

  public NodeProbe(List<Long> pids) {
    this.pids = List.copyOf(pids);
  }

  public List<Long> pids() {
    return pids;
  }

  /** A CPU reading to compare with a later one. */
  public record Mark(long ticks, long nanos) {}

  public Mark mark() {
    long ticks = 0;
    for (long pid : pids) {
      long t = cpuTicks(pid);
      if (t < 0) return new Mark(-1, System.nanoTime());
      ticks += t;
    }
    return new Mark(ticks, System.nanoTime());
  }

  /** CPU since {@code start} in % of one core (200 = two cores busy); NaN when unknown. */
  public double cpuPercentSince(Mark start) {
    if (pids.isEmpty() || start.ticks() < 0) return Double.NaN;
    Mark now = mark();
    if (now.ticks() < 0) return Double.NaN;
    return cpuPercent(now.ticks() - start.ticks(), now.nanos() - start.nanos());
  }

  static double cpuPercent(long ticks, long nanos) {
    return nanos <= 0 ? Double.NaN : 100.0 * ticks / TICKS_PER_SECOND / (nanos / 1e9);
  }

  /** utime + stime of a process in clock ticks, -1 if it cannot be read. */
  public static long cpuTicks(long pid) {
    try {
      return ProcTicks.statTicks(Files.readString(Path.of("/proc", Long.toString(pid), "stat")));
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** Heap used after a full GC, summed over the processes; -1 if any of them cannot tell. */
  public long heapAfterGc() {
    long sum = 0;
    for (long pid : pids) {
      long h = heapAfterGc(pid);
      if (h < 0) return -1;
      sum += h;
    }
    return pids.isEmpty() ? -1 : sum;
  }

  static long heapAfterGc(long pid) {
    try {
      if (jcmd(pid, "GC.run") == null) return -1;
      String info = jcmd(pid, "GC.heap_info");
      return info == null ? -1 : parseHeapUsed(info);
    } catch (RuntimeException e) {
      return -1;
    }
  }

  /** "garbage-first heap   total 262144K, used 93214K [...]" → bytes used; -1 when absent. */
  public static long parseHeapUsed(String heapInfo) {
    Matcher m = HEAP_USED.matcher(heapInfo);
    return m.find() ? Long.parseLong(m.group(2)) * 1024 : -1;
  }

  private static String jcmd(long pid, String command) {
    return JdkTools.run(java.time.Duration.ofSeconds(60), JdkTools.tool("jcmd"), Long.toString(pid), command);
  }

}
