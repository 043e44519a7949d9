package io.twinhub.ops.bench;

import io.twinhub.ops.proc.ProcTicks;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A process's CPU by thread group ({@code --thread-cpu}): utime + stime of every
 * {@code /proc/<pid>/task/<tid>/stat}, grouped by the thread's name ({@code comm}, which Linux cuts
 * to 15 characters) without its trailing number, so the eight {@code s0-io-N} threads are one
 * group. For a JVM the full thread names are taken from {@code jcmd <pid> Thread.print} (its
 * {@code nid} is the Linux thread id) after the end snapshot, so that
 * {@code twinhub-akka.actor.default-dispatcher-7} and {@code twinhub-akka.actor.internal-dispatcher-3}
 * are told apart (both are {@code twinhub-akka.ac} in {@code comm}). A thread that ends during the
 * phase is missing from the end snapshot: its CPU is lost (a short phase of a steady server has
 * few such threads; the process total from {@code /proc/<pid>/stat} is exact).
 */
public final class ThreadCpu {

  private ThreadCpu() {}

  /** Ticks per thread id, with the thread's group. */
  public record Snapshot(Map<String, Long> ticksByTid, Map<String, String> groupByTid) {}

  public static Snapshot snapshot(long pid) {
    return snapshot(Path.of("/proc", Long.toString(pid), "task"));
  }

  /** Reads {@code taskDir}/TID/stat and /comm; unreadable threads (just ended) are skipped. */
  static Snapshot snapshot(Path taskDir) {
    Map<String, Long> ticks = new HashMap<>();
    Map<String, String> groups = new HashMap<>();
    ProcTicks.tasks(taskDir).forEach((tid, task) -> {
      ticks.put(tid, task.ticks());
      groups.put(tid, group(task.comm()));
    });
    return new Snapshot(ticks, groups);
  }

  /** "s0-io-3" → "s0-io", "GC Thread#1" → "GC Thread", "CompactionExecutor:2" → "CompactionExecutor". */
  static String group(String name) {
    String g = name.replaceAll("[-#_: ]*\\d+$", "").strip();
    return g.isEmpty() ? name : g;
  }

  private static final java.util.regex.Pattern THREAD_LINE =
      java.util.regex.Pattern.compile("^\"(.*)\" .*\\bnid=(0x[0-9a-fA-F]+|\\d+)\\b", java.util.regex.Pattern.MULTILINE);

  /** Thread id → full name from {@code jcmd Thread.print} output (nid in hex up to JDK 18, decimal after). */
  static Map<String, String> namesFromThreadDump(String dump) {
    Map<String, String> names = new HashMap<>();
    java.util.regex.Matcher m = THREAD_LINE.matcher(dump);
    while (m.find()) {
      String nid = m.group(2);
      long tid = nid.startsWith("0x") ? Long.parseLong(nid.substring(2), 16) : Long.parseLong(nid);
      names.put(Long.toString(tid), m.group(1));
    }
    return names;
  }

  /** The snapshot with its threads grouped by full name where {@code names} has one. */
  static Snapshot withNames(Snapshot s, Map<String, String> names) {
    Map<String, String> groups = new HashMap<>(s.groupByTid());
    names.forEach((tid, name) -> groups.computeIfPresent(tid, (t, g) -> group(name)));
    return new Snapshot(s.ticksByTid(), groups);
  }

  /**
   * CPU ticks per group between two snapshots, largest first. A thread present in both counts
   * its difference; a thread born during the phase counts all its ticks.
   */
  static Map<String, Long> delta(Snapshot start, Snapshot end) {
    Map<String, Long> byGroup = new HashMap<>();
    end.ticksByTid().forEach((tid, t) -> {
      long d = t - start.ticksByTid().getOrDefault(tid, 0L);
      if (d > 0) byGroup.merge(end.groupByTid().get(tid), d, Long::sum);
    });
    List<Map.Entry<String, Long>> sorted = new ArrayList<>(byGroup.entrySet());
    sorted.sort(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()));
    Map<String, Long> out = new LinkedHashMap<>();
    for (Map.Entry<String, Long> e : sorted) out.put(e.getKey(), e.getValue());
    return out;
  }

  /**
   * The table printed after a measured phase: per group its CPU in µs per operation and % of one
   * core; groups under {@code minMicros} per operation folded into "other".
   */
  static String render(String process, Map<String, Long> ticksByGroup, long operations, double seconds, double minMicros) {
    StringBuilder sb = new StringBuilder();
    long total = ticksByGroup.values().stream().mapToLong(Long::longValue).sum();
    sb.append(String.format(Locale.ROOT, "bench: thread CPU of %s, %,d operations in %.1f s:%n", process, operations, seconds));
    sb.append(String.format(Locale.ROOT, "  %-24s %10s %8s%n", "thread group", "µs/op", "% core"));
    Map<String, Long> shown = new LinkedHashMap<>();
    long other = 0;
    for (Map.Entry<String, Long> e : ticksByGroup.entrySet()) {
      // Without operations (the --idle phase): groups under 0.5 % of a core are "other".
      boolean small = operations > 0 ? micros(e.getValue(), operations) < minMicros
          : seconds <= 0 || 100.0 * e.getValue() / NodeProbe.TICKS_PER_SECOND / seconds < 0.5;
      if (small) other += e.getValue();
      else shown.put(e.getKey(), e.getValue());
    }
    if (other > 0) shown.put("other", other);
    shown.put("total", total);
    long jit = ticksByGroup.entrySet().stream().filter(e -> isJit(e.getKey())).mapToLong(Map.Entry::getValue).sum();
    // The JIT's work is the warm-up's, not the operations': what is left when --jit-settle did not settle it.
    if (jit > 0) shown.put("total net of JIT", total - jit);
    shown.forEach((g, t) -> sb.append(String.format(Locale.ROOT, "  %-24s %10.0f %8.1f%n", g, micros(t, operations),
        seconds <= 0 ? Double.NaN : 100.0 * t / NodeProbe.TICKS_PER_SECOND / seconds)));
    return sb.toString();
  }

  /** A HotSpot JIT compiler thread's group ("C2 CompilerThre" in comm, "C2 CompilerThread" by full name). */
  static boolean isJit(String group) {
    return group.startsWith("C1 Compiler") || group.startsWith("C2 Compiler");
  }

  /** CPU ticks of the JIT compiler threads of process {@code pid} so far (0 when unreadable). */
  static long jitTicks(long pid) {
    Snapshot s = snapshot(pid);
    long sum = 0;
    for (Map.Entry<String, Long> e : s.ticksByTid().entrySet()) {
      if (isJit(s.groupByTid().get(e.getKey()))) sum += e.getValue();
    }
    return sum;
  }

  static double micros(long ticks, long operations) {
    return operations <= 0 ? Double.NaN : ticks * 1e6 / NodeProbe.TICKS_PER_SECOND / operations;
  }

  /** Snapshots of several processes, named for the table. */
  public static final class Probe {
    private final Map<String, Long> pids;
    private final Map<String, Snapshot> start = new TreeMap<>();

    public Probe(Map<String, Long> pids) {
      this.pids = pids;
    }

    public void start() {
      pids.forEach((name, pid) -> start.put(name, snapshot(pid)));
    }

    public String end(long operations, double seconds) {
      StringBuilder sb = new StringBuilder();
      pids.forEach((name, pid) -> {
        Snapshot end = snapshot(pid);
        String dump = JdkTools.run(java.time.Duration.ofMinutes(1), JdkTools.tool("jcmd"), Long.toString(pid), "Thread.print");
        if (dump != null) end = withNames(end, namesFromThreadDump(dump));
        sb.append(render(name + " (pid " + pid + ")", delta(start.get(name), end), operations, seconds, 5));
      });
      return sb.toString();
    }
  }
}
