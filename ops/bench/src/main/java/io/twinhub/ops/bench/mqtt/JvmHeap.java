package io.twinhub.ops.bench.mqtt;

import io.twinhub.ops.bench.JdkTools;
import io.twinhub.ops.bench.NodeProbe;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the workloads read of the node's JVM from outside: heap after a full GC, class histogram, CPU, RSS. */
final class JvmHeap {
  private static final Pattern HISTO_LINE = Pattern.compile("^\\s*\\d+:\\s+(\\d+)\\s+(\\d+)\\s+(\\S+)");

  private JvmHeap() {}

  /** Heap in use right after two full GCs ({@code jcmd GC.run}, then {@code GC.heap_info}). */
  static long heapUsedAfterGc(long pid) throws IOException, InterruptedException {
    jcmd(pid, "GC.run");
    jcmd(pid, "GC.run");
    long used = NodeProbe.parseHeapUsed(jcmd(pid, "GC.heap_info"));
    if (used < 0) throw new IOException("no heap figure in jcmd GC.heap_info of " + pid);
    return used;
  }

  /** Live objects by class (the histogram runs a full GC first): class → {instances, bytes}. */
  static Map<String, long[]> classHistogram(long pid) throws IOException, InterruptedException {
    Map<String, long[]> out = new HashMap<>();
    for (String line : jcmd(pid, "GC.class_histogram").split("\n")) {
      Matcher m = HISTO_LINE.matcher(line);
      if (m.find()) out.put(m.group(3), new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))});
    }
    return out;
  }

  /** The classes that grew most between two histograms, per session. */
  static String histogramDiff(Map<String, long[]> before, Map<String, long[]> after, long sessions, int top) {
    List<Map.Entry<String, long[]>> grown = new ArrayList<>();
    for (Map.Entry<String, long[]> e : after.entrySet()) {
      long[] b = before.getOrDefault(e.getKey(), new long[2]);
      grown.add(Map.entry(e.getKey(), new long[] {e.getValue()[0] - b[0], e.getValue()[1] - b[1]}));
    }
    grown.sort((x, y) -> Long.compare(y.getValue()[1], x.getValue()[1]));
    long total = grown.stream().mapToLong(e -> e.getValue()[1]).sum();
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "  %-70s %10s %12s%n", "class", "objs/sess", "bytes/sess"));
    for (Map.Entry<String, long[]> e : grown.subList(0, Math.min(top, grown.size()))) {
      sb.append(String.format(Locale.ROOT, "  %-70s %10.1f %12.0f%n", e.getKey(), e.getValue()[0] / (double) sessions,
          e.getValue()[1] / (double) sessions));
    }
    sb.append(String.format(Locale.ROOT, "  %-70s %10s %12.0f%n", "(all classes)", "", total / (double) sessions));
    return sb.toString();
  }

  /** User + system CPU time of the process so far. */
  static long cpuNanos(long pid) throws IOException {
    long ticks = NodeProbe.cpuTicks(pid);
    if (ticks < 0) throw new IOException("cannot read the CPU time of process " + pid);
    return ticks * (1_000_000_000L / NodeProbe.TICKS_PER_SECOND);
  }

  static long rssBytes(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
    }
    return 0;
  }

  static String jcmd(long pid, String command) throws IOException {
    String out = JdkTools.run(Duration.ofSeconds(120), JdkTools.tool("jcmd"), String.valueOf(pid), command);
    if (out == null) throw new IOException("jcmd " + pid + " " + command + " failed");
    return out;
  }
}
