package io.twinhub.ops.bench.functions;

import io.twinhub.functions.runtime.FunctionApp;
import io.twinhub.functions.runtime.InvocationInput;
import io.twinhub.functions.runtime.InvocationResult;
import org.HdrHistogram.Histogram;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code ./twinhub bench functions-isolation}: what isolating a function app costs per invocation,
 * the two ways issue #18 weighs: the app in its own class loader in the worker's JVM (what
 * twinhub does) against the app in a child JVM the worker talks to over a pipe (the least a
 * process boundary costs; Azure's Java worker adds gRPC on top). Both invoke the sample app's
 * {@code hello} HTTP function with the same input, one at a time; the child's start-up time and
 * resident memory are measured too. No node or Cassandra is involved.
 */
public final class FunctionIsolationBench {
  private FunctionIsolationBench() {}

  static InvocationInput.Http input() {
    return new InvocationInput.Http("GET", URI.create("https://127.0.0.1/api/hello?name=bench"), Map.of(), Map.of("name", "bench"),
        new byte[0], Map.of());
  }

  public static int run(Path jar, int invocations) throws Exception {
    if (!Files.isRegularFile(jar)) throw new IllegalArgumentException("no app JAR at " + jar + " (--app-jar; mvn package builds functions-sample)");
    System.out.printf(Locale.ROOT, "bench: functions-isolation, %d invocations each, load average %s%n", invocations, load());
    List<String> rows = new ArrayList<>();

    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    long start = System.nanoTime();
    Process child = new ProcessBuilder(java, "-Xmx128m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
        ChildInvoker.class.getName(), jar.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    try (FunctionApp app = FunctionApp.load("bench", 1, jar)) {
      BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
      PrintStream out = new PrintStream(child.getOutputStream(), false, StandardCharsets.UTF_8);
      String ready = in.readLine();
      if (!"ready".equals(ready)) throw new IllegalStateException("child JVM said " + ready);
      String startup = String.format(Locale.ROOT, "%.0f ms", (System.nanoTime() - start) / 1e6);
      // Warm both paths, then alternate the measured rounds so neither profits from the box's quieter moments.
      for (int i = 0; i < 50_000; i++) roundTrip(in, out, "w" + i);
      for (int round = 1; round <= 2; round++) {
        // In process, in a JVM with the child's flags (heap and GC decide the mean as much as the call does).
        Process self = new ProcessBuilder(java, "-Xmx128m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
            ChildInvoker.class.getName(), jar.toString(), String.valueOf(invocations)).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String measured = new String(self.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        self.waitFor();
        rows.add("| class loader (in process), round " + round + " | " + measured + " | - | - |");
        Histogram h = new Histogram(3);
        long t0 = System.nanoTime();
        for (int i = 0; i < invocations; i++) {
          long s = System.nanoTime();
          roundTrip(in, out, "i" + i);
          h.recordValue((System.nanoTime() - s) / 1000);
        }
        rows.add(row("child JVM (pipe round trip), round " + round, invocations / ((System.nanoTime() - t0) / 1e9), h, startup,
            rssMb(child.pid()) + " MB"));
      }
      out.println("quit");
      out.flush();
    } finally {
      child.destroy();
      child.waitFor();
    }
    System.out.println();
    System.out.println("| isolation | invocations/s (one at a time) | p50 µs | p99 µs | child start-up | child resident memory |");
    System.out.println("|---|---|---|---|---|---|");
    rows.forEach(System.out::println);
    System.out.printf(Locale.ROOT, "%nbench: done, load average %s%n", load());
    return 0;
  }

  private static void roundTrip(BufferedReader in, PrintStream out, String id) throws Exception {
    out.println(id);
    out.flush();
    String r = in.readLine();
    if (r == null || !r.startsWith("ok")) throw new IllegalStateException("child answered " + r);
  }

  private static String row(String what, double rate, Histogram h, String startup, String rss) {
    return String.format(Locale.ROOT, "| %s | %,.0f | %d | %d | %s | %s |", what, rate, h.getValueAtPercentile(50),
        h.getValueAtPercentile(99), startup, rss);
  }

  static String rssMb(long pid) {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (l.startsWith("VmRSS:")) return String.valueOf(Long.parseLong(l.replaceAll("\\D", "")) / 1024);
      }
    } catch (Exception ignored) {
      // not Linux
    }
    return "?";
  }

  private static String load() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    } catch (Exception e) {
      return "?";
    }
  }

  /** The child JVM: loads the app, then answers one invocation per line on stdin. */
  public static final class ChildInvoker {
    public static void main(String[] args) throws Exception {
      try (FunctionApp app = FunctionApp.load("bench", 1, Path.of(args[0]))) {
        if (args.length > 1) { // measure in process: warm up, then one timed loop; print "rate | p50 | p99"
          int n = Integer.parseInt(args[1]);
          for (int i = 0; i < 50_000; i++) app.invoke("hello", input(), "w" + i);
          Histogram h = new Histogram(3);
          long t0 = System.nanoTime();
          for (int i = 0; i < n; i++) {
            long s = System.nanoTime();
            InvocationResult r = app.invoke("hello", input(), "i" + i);
            h.recordValue((System.nanoTime() - s) / 1000);
            if (!r.succeeded()) throw new IllegalStateException(r.error());
          }
          System.out.printf(Locale.ROOT, "%,.0f | %d | %d%n", n / ((System.nanoTime() - t0) / 1e9), h.getValueAtPercentile(50),
              h.getValueAtPercentile(99));
          return;
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.UTF_8);
        out.println("ready");
        out.flush();
        String line;
        while ((line = in.readLine()) != null && !line.equals("quit")) {
          InvocationResult r = app.invoke("hello", input(), line);
          out.println(r.succeeded() ? "ok " + ((com.microsoft.azure.functions.HttpResponseMessage) r.returnValue()).getBody() : "failed " + r.error());
          out.flush();
        }
      }
    }
  }
}
