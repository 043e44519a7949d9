package io.twinhub.projections.index;

import akka.actor.typed.ActorSystem;
import akka.persistence.query.EventEnvelope;
import akka.persistence.query.Offset;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.twinhub.ops.proc.ProcTicks;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.entity.TwinEvent;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * What the query index costs per twin PATCH, without HTTP, entities or the journal (not a test;
 * run by hand, see docs/BENCHMARKS.md "Index write cost"): N device twins as the REST bench
 * creates them, then desired patches of a random twin ({"bench":{"n":k}}, the REST bench's body)
 * at a fixed rate through the projection's own writer ({@link TwinIndexWriter#apply}, batches
 * every 20 ms as the projection's batch window makes them, its own adaptive refresh and 1 s
 * commits) into an index on disk. Prints the CPU per patch of the whole process and by thread
 * (JIT compiler threads apart, and this bench's own sampler of /proc, ≈ 40 µs), the stored
 * sizes of one twin and the index size per twin.
 *
 * <pre>
 * java -cp "target/test-classes:target/classes:$(cat /tmp/cp)" io.twinhub.projections.index.IndexWriteBench 5000 700 20 20 [patch|connect]
 * </pre>
 */
public final class IndexWriteBench {
  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  public static void main(String[] args) {
    try {
      run(args);
    } catch (Throwable e) {
      e.printStackTrace();
      System.exit(1);
    }
  }

  static void run(String[] args) throws Exception {
    int twins = args.length > 0 ? Integer.parseInt(args[0]) : 5000;
    int rate = args.length > 1 ? Integer.parseInt(args[1]) : 700;
    int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 20;
    int warmup = args.length > 3 ? Integer.parseInt(args[3]) : 20;
    // "patch": desired patches (the REST bench's); "connect": connection-state events
    // (Connected/Disconnected in turn per twin, as MQTT connects journal them).
    boolean connects = args.length > 4 && args[4].equals("connect");
    Path dir = Files.createTempDirectory("twinhub-index-write-bench");
    ActorSystem<Void> system = IndexBench.benchSystem();
    TwinIndex index = TwinIndex.open(dir);
    TwinIndexWriter writer = new TwinIndexWriter(index, new TwinStateCodec(system), null,
        IndexProjectionSettings.from(system.settings().config()), Clock.systemUTC());
    System.out.printf("load average %.1f, %d twins, %d %s/s, %d s after %d s warm-up%n",
        OS.getSystemLoadAverage(), twins, rate, connects ? "connection-state events" : "patches", seconds, warmup);

    long[] seq = new long[twins];
    long[] version = new long[twins];
    long[] desired = new long[twins];
    Instant t0 = Instant.parse("2026-11-20T00:00:00Z");
    long[] clock = {System.currentTimeMillis()};
    List<EventEnvelope> seed = new ArrayList<>();
    for (int i = 0; i < twins; i++) {
      seq[i] = 1;
      version[i] = 1;
      desired[i] = 1;
      seed.add(envelope(i, 1, new TwinEvent.DeviceCreated(identity(i), new TwinEvent.Versions(1, 1, 1), t0), clock));
      if (seed.size() == 500 || i == twins - 1) {
        writer.apply(0, seed).toCompletableFuture().get(60, TimeUnit.SECONDS);
        seed = new ArrayList<>();
      }
    }
    writer.flush().toCompletableFuture().get(60, TimeUnit.SECONDS);

    SplittableRandom random = new SplittableRandom(7);
    long n = 0;
    int perBatch = Math.max(1, rate / 50);
    long phase = 0;
    ThreadCpu threads = new ThreadCpu();
    long start = System.nanoTime();
    long measureFrom = start + warmup * 1_000_000_000L;
    long end = measureFrom + seconds * 1_000_000_000L;
    long nextBatch = start;
    long measured = 0;
    while (true) {
      long now = System.nanoTime();
      if (now >= end) break;
      if (phase == 0 && now >= measureFrom) {
        phase = OS.getProcessCpuTime();
        threads.start();
        measured = 0;
      }
      List<EventEnvelope> batch = new ArrayList<>(perBatch);
      for (int k = 0; k < perBatch; k++) {
        int i = random.nextInt(twins);
        n++;
        TwinEvent e;
        if (connects) {
          e = new TwinEvent.ConnectionStateChanged(seq[i] % 2 == 1 ? io.twinhub.twin.domain.ConnectionState.CONNECTED
              : io.twinhub.twin.domain.ConnectionState.DISCONNECTED, t0.plusMillis(n));
        } else {
          version[i]++;
          desired[i]++;
          e = new TwinEvent.DesiredPatched(JsonDoc.of(JsonNodeFactory.instance.objectNode().set("bench",
              JsonNodeFactory.instance.objectNode().put("n", n))), new TwinEvent.Versions(version[i], desired[i], 1),
              t0.plusMillis(n));
        }
        batch.add(envelope(i, ++seq[i], e, clock));
      }
      writer.apply(0, batch).toCompletableFuture().get(60, TimeUnit.SECONDS);
      measured += batch.size();
      nextBatch += 20_000_000L;
      long sleep = nextBatch - System.nanoTime();
      if (sleep > 0) Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
    }
    long after = OS.getProcessCpuTime();
    Map<String, Long> byThread = threads.stop();
    double wall = (System.nanoTime() - measureFrom) / 1e9;
    System.out.printf("%,d patches in %.1f s (%,.0f/s): process CPU %.0f us per patch (%.0f %% of a core)%n",
        measured, wall, measured / wall, (after - phase) / 1e3 / measured, (after - phase) / 1e7 / wall);
    long finalMeasured = measured;
    byThread.entrySet().stream().filter(e -> e.getValue() / 1e3 / finalMeasured >= 1)
        .sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
        .forEach(e -> System.out.printf("  %6.0f us  %s%n", e.getValue() / 1e3 / finalMeasured, e.getKey()));
    writer.close();
    byte[] state = index.lookup(io.twinhub.query.index.TwinKey.device(id(0))).orElseThrow().state();
    try (var d = org.apache.lucene.store.FSDirectory.open(dir)) {
      System.out.printf("stored per twin: fold state %,d B, service-view JSON %,d B; segments written %d%n", state.length,
          io.twinhub.twin.domain.TwinJson.serviceViewBytes(new TwinStateCodec(system).decode(state).twin()).length,
          org.apache.lucene.index.SegmentInfos.readLatestCommit(d).counter);
    }
    System.out.printf("index size on disk after the last commit: %.1f MB (%,d bytes per twin)%n",
        index.sizeOnDisk() / 1e6, index.sizeOnDisk() / twins);
    index.close();
    system.terminate();
    Reindexer.deleteRecursively(dir);
    System.exit(0);
  }

  /** CPU (ns, 10 ms resolution) by thread name, sampled every 20 ms so that merge threads are seen before they end. */
  static final class ThreadCpu {
    private final Map<Long, long[]> first = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<Long, long[]> last = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<Long, String> group = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile boolean on;

    ThreadCpu() {
      Thread t = new Thread(() -> {
        while (true) {
          sample();
          try {
            Thread.sleep(20);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "bench-cpu-sampler");
      t.setDaemon(true);
      t.start();
    }

    /** Every thread of the process, JVM threads (GC, JIT compiler) included: /proc/self/task. */
    private synchronized void sample() {
      ProcTicks.tasks(Path.of("/proc/self/task")).forEach((tid, task) -> {
        long c = task.ticks() * 10_000_000L; // 100 Hz ticks
        long id = Long.parseLong(tid);
        group.putIfAbsent(id, task.comm().replaceAll("[0-9]+", "N"));
        if (!on) first.put(id, new long[] {c});
        else first.putIfAbsent(id, new long[] {0});
        last.put(id, new long[] {c});
      });
    }

    synchronized void start() {
      sample();
      on = true;
    }

    synchronized Map<String, Long> stop() {
      sample();
      on = false;
      Map<String, Long> out = new java.util.TreeMap<>();
      for (Map.Entry<Long, long[]> e : last.entrySet()) {
        long d = e.getValue()[0] - first.getOrDefault(e.getKey(), new long[] {0})[0];
        out.merge(group.get(e.getKey()), d, Long::sum);
      }
      return out;
    }
  }

  static EventEnvelope envelope(int twin, long seq, TwinEvent e, long[] clock) {
    long t = ++clock[0];
    return EventEnvelope.apply(Offset.timeBasedUUID(TwinIndexWriterTest.timeUuid(t)), "Device|" + id(twin), seq, e, t);
  }

  static String id(int i) {
    return "bench-" + i;
  }

  static Identity identity(int i) {
    IdentitySpec spec = new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(
        "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=", "c2Vjb25kc2Vjb25kc2Vjb25kc2Vjb25kc2Vjb25kcw=="), false);
    return Identity.create(id(i), null, spec, "gen").optionalValue().orElseThrow();
  }
}
