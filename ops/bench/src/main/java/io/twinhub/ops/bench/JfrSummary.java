package io.twinhub.ops.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Summarizes {@code jfr print --events jdk.ExecutionSample --stack-depth 64} output: the hottest
 * top frames (where the CPU is spent) and the hottest owners (the package of the first frame
 * that is not JDK or Scala library code: who made the JDK work).
 */
public final class JfrSummary {

  /** One sample: its thread (digits replaced by N, so pools group) and its stack, top frame first. */
  public record Sample(String thread, List<String> frames) {}

  private JfrSummary() {}

  /** The stack of every sample, top frame first, as {@code Class.method} without arguments or line. */
  public static List<Sample> parse(String jfrPrint) {
    List<Sample> samples = new ArrayList<>();
    List<String> frames = null;
    String thread = "?";
    for (String raw : jfrPrint.split("\n")) {
      String line = raw.strip();
      if (line.startsWith("sampledThread = \"")) {
        int end = line.indexOf('"', 17);
        thread = (end > 17 ? line.substring(17, end) : "?").replaceAll("[0-9]+", "N");
      } else if (line.startsWith("stackTrace = [")) {
        frames = new ArrayList<>();
      } else if (frames != null && line.equals("]")) {
        samples.add(new Sample(thread, List.copyOf(frames)));
        frames = null;
        thread = "?";
      } else if (frames != null && !line.isEmpty() && !line.equals("...")) {
        int paren = line.indexOf('(');
        frames.add(paren > 0 ? line.substring(0, paren) : line);
      }
    }
    return samples;
  }

  static boolean isLibrary(String frame) {
    return frame.startsWith("java.") || frame.startsWith("jdk.") || frame.startsWith("sun.") || frame.startsWith("scala.")
        || frame.startsWith("com.sun.");
  }

  /** Package of a frame, at most {@code depth} segments ("akka.persistence.cassandra"). */
  static String pkg(String frame, int depth) {
    String[] parts = frame.split("\\.");
    int n = Math.min(depth, Math.max(1, parts.length - 2));
    return String.join(".", java.util.Arrays.copyOf(parts, n));
  }

  public static Map<String, Integer> topFrames(List<Sample> samples) {
    Map<String, Integer> counts = new LinkedHashMap<>();
    for (Sample s : samples) if (!s.frames().isEmpty()) counts.merge(s.frames().get(0), 1, Integer::sum);
    return sorted(counts);
  }

  public static Map<String, Integer> owners(List<Sample> samples) {
    Map<String, Integer> counts = new LinkedHashMap<>();
    for (Sample s : samples) {
      String owner = s.frames().stream().filter(f -> !isLibrary(f)).findFirst().map(f -> pkg(f, 3)).orElse("(JDK only)");
      counts.merge(owner, 1, Integer::sum);
    }
    return sorted(counts);
  }

  public static Map<String, Integer> threads(List<Sample> samples) {
    Map<String, Integer> counts = new LinkedHashMap<>();
    for (Sample s : samples) counts.merge(s.thread(), 1, Integer::sum);
    return sorted(counts);
  }

  private static Map<String, Integer> sorted(Map<String, Integer> counts) {
    Map<String, Integer> out = new LinkedHashMap<>();
    counts.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
        .forEach(e -> out.put(e.getKey(), e.getValue()));
    return out;
  }

  public static String render(String jfrPrint, int top) {
    List<Sample> samples = parse(jfrPrint);
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%d execution samples%n", samples.size()));
    sb.append("by thread (pool):\n");
    append(sb, threads(samples), samples.size(), top);
    sb.append("by owner (first non-JDK frame's package):\n");
    append(sb, owners(samples), samples.size(), top);
    sb.append("by top frame:\n");
    append(sb, topFrames(samples), samples.size(), top);
    return sb.toString();
  }

  private static void append(StringBuilder sb, Map<String, Integer> counts, int total, int top) {
    counts.entrySet().stream().limit(top).forEach(e ->
        sb.append(String.format(Locale.ROOT, "  %5.1f %%  %s%n", 100.0 * e.getValue() / Math.max(1, total), e.getKey())));
  }
}
