package io.twinhub.ops.bench.mqtt;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the workloads read of the node's JVM from outside: heap after a full GC, class histogram, CPU, RSS. */
final class JvmHeap {
  private static final Pattern HEAP_USED = Pattern.compile("heap\\s+total \\d+K, used (\\d+)K");
  private static final Pattern HISTO_LINE = Pattern.compile("^\\s*\\d+:\\s+(\\d+)\\s+(\\d+)\\s+(\\S+)");

  private JvmHeap() {}

  /** Heap in use right after two full GCs ({@code jcmd GC.run}, then {@code GC.heap_info}). */
  static long heapUsedAfterGc(long pid) throws IOException, InterruptedException {
    jcmd(pid, "GC.run");
    jcmd(pid, "GC.run");
    Matcher m = HEAP_USED.matcher(jcmd(pid, "GC.heap_info"));
    if (!m.find()) throw new IOException("no heap figure in jcmd GC.heap_info of " + pid);
    return Long.parseLong(m.group(1)) * 1024;
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
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
    return ticks * 10_000_000L; // USER_HZ = 100
  }

  static long rssBytes(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
    }
    return 0;
  }

  static String jcmd(long pid, String command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("jcmd", String.valueOf(pid), command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IOException("jcmd " + pid + " " + command + ": " + out);
    return out;
  }
}
