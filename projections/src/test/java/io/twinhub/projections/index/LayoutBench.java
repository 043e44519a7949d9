package io.twinhub.projections.index;

import akka.actor.typed.ActorSystem;
import io.twinhub.query.QueryEngine;
import io.twinhub.query.QuerySettings;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.query.index.TwinKey;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.Twin;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinState;
import io.twinhub.twin.entity.TwinRecord;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The query-mix's four queries on bench-like twins (as {@code ./twinhub bench query-mix} seeds
 * them) in an index on disk, written with a refresh every {@code K} twins (the live path's
 * near-real-time reopens make one segment each), before and after the writer merges: thread CPU
 * per query against the index's segment layout. Run by hand (docs/BENCHMARKS.md):
 *
 * <pre>
 * mvn -q -o -pl projections -am test-compile -DskipTests
 * mvn -q -o -pl projections exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=io.twinhub.projections.index.LayoutBench -Dexec.args="20000 50 5"
 * </pre>
 */
public final class LayoutBench {
  private static final java.lang.management.ThreadMXBean CPU = ManagementFactory.getThreadMXBean();
  static final List<String> QUERIES = List.of(
      "SELECT * FROM devices WHERE deviceId = '%s'",
      "SELECT deviceId FROM devices WHERE status = 'disabled'",
      "SELECT COUNT() AS n FROM devices WHERE status = 'enabled'",
      "SELECT status, COUNT() AS n FROM devices GROUP BY status");

  public static void main(String[] args) throws Exception {
    int twins = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    int refreshEvery = args.length > 1 ? Integer.parseInt(args[1]) : 50;
    int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
    Path dir = Files.createTempDirectory("twinhub-layout-bench");
    ActorSystem<Void> system = IndexBench.benchSystem();
    TwinStateCodec codec = new TwinStateCodec(system);
    System.out.printf(Locale.ROOT, "load average %.1f; %,d twins, a refresh every %d%n",
        ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), twins, refreshEvery);
    TwinIndex index = TwinIndex.open(dir);
    for (int i = 0; i < twins; i++) {
      TwinRecord r = new TwinRecord(twin(i), false, List.of(), List.of());
      index.put(TwinKey.device("bench-" + i), TwinJson.serviceView(r.twin()), 1, codec.encode(r));
      if (i % refreshEvery == refreshEvery - 1) index.refresh();
    }
    index.refresh();
    QueryEngine engine = new QueryEngine(index, QuerySettings.DEFAULT, Runnable::run);
    run("as written (flushed segments in the NRT cache's memory)", engine, index, twins, seconds);
    index.commit(java.util.Map.of());
    engine.close();
    index.close();
    index = TwinIndex.open(dir);
    engine = new QueryEngine(index, QuerySettings.DEFAULT, Runnable::run);
    run("committed and reopened (segments read from the files)", engine, index, twins, seconds);
    long t0 = System.nanoTime();
    long c0 = CPU.getCurrentThreadCpuTime();
    index.mergeSegments(1, true);
    index.refresh();
    System.out.printf(Locale.ROOT, "merged in %.0f ms (%.0f ms CPU on this thread)%n", (System.nanoTime() - t0) / 1e6,
        (CPU.getCurrentThreadCpuTime() - c0) / 1e6);
    run("merged to one segment", engine, index, twins, seconds);
    engine.close();
    index.close();
    system.terminate();
    Reindexer.deleteRecursively(dir);
    System.exit(0);
  }

  static void run(String what, QueryEngine engine, TwinIndex index, int twins, int seconds) {
    System.out.printf(Locale.ROOT, "%s: %s%n", what, index.layout());
    for (int pass = 0; pass < 2; pass++) {
      StringBuilder sb = new StringBuilder();
      long total = 0;
      long n = 0;
      for (String q : QUERIES) {
        long until = System.nanoTime() + seconds * 1_000_000_000L;
        long c0 = CPU.getCurrentThreadCpuTime();
        long k = 0;
        while (System.nanoTime() < until) {
          engine.query(String.format(Locale.ROOT, q, "bench-" + ThreadLocalRandom.current().nextInt(twins)), 100, null).body();
          k++;
        }
        long cpu = CPU.getCurrentThreadCpuTime() - c0;
        total += cpu / k;
        n++;
        sb.append(String.format(Locale.ROOT, " %.0f", cpu / 1e3 / k));
      }
      System.out.printf(Locale.ROOT, "  pass %d: µs CPU/query lookup page count group-by:%s; mean %.0f%n", pass + 1, sb, total / 1e3 / n);
    }
  }

  /** As the bench seeds them: a bulk-created device, every 100th disabled. */
  static Twin twin(int i) {
    IdentitySpec spec = new IdentitySpec(i % 100 == 0 ? DeviceStatus.DISABLED : DeviceStatus.ENABLED, null, Authentication.sas(
        "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=", "c2Vjb25kc2Vjb25kc2Vjb25kc2Vjb25kc2Vjb25kcw=="), false);
    Identity identity = Identity.create("bench-" + i, null, spec, "gen").optionalValue().orElseThrow();
    return new Twin(identity, TwinState.created(Instant.parse("2026-11-20T00:00:00Z").plusSeconds(i)));
  }
}
