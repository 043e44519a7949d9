package io.twinhub.projections.index;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import io.twinhub.query.QueryEngine;
import io.twinhub.query.QuerySettings;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.query.index.TwinKey;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.Twin;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinState;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.TwinRecord;
import org.HdrHistogram.Histogram;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Query benchmark on a realistic index (not a test; run by hand, see docs/BENCHMARKS.md):
 * N twins built with the twin domain (real $metadata, versions) and stored with the same
 * state bytes the projection stores, in an index on disk; then throughput of simple predicate
 * queries with T threads, latency of GROUP BY over all twins, index size and heap.
 *
 * <pre>
 * mvn -q -pl projections -am test-compile
 * mvn -q -pl projections exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=io.twinhub.projections.index.IndexBench -Dexec.args="100000 2 10"
 * </pre>
 */
public final class IndexBench {
  private static final JsonNodeFactory F = JsonNodeFactory.instance;
  private static final java.lang.management.ThreadMXBean CPU = ManagementFactory.getThreadMXBean();

  /** A local actor system that serializes twin state as the node does (for the index's fold state codec). */
  static ActorSystem<Void> benchSystem() {
    return ActorSystem.create(Behaviors.empty(), "bench", ConfigFactory.parseString(
        "akka.actor.serialization-bindings { \"io.twinhub.twin.TwinhubSerializable\" = jackson-json }\n"
            + "akka.actor.allow-java-serialization = off\nakka.loglevel = WARNING").withFallback(ConfigFactory.load()));
  }

  public static void main(String[] args) throws Exception {
    int twins = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
    int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 10;
    Path dir = Files.createTempDirectory("twinhub-index-bench");
    ActorSystem<Void> system = benchSystem();
    TwinStateCodec codec = new TwinStateCodec(system);
    System.out.printf("load average %.1f, %d cores, heap max %d MB%n",
        ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), Runtime.getRuntime().availableProcessors(),
        Runtime.getRuntime().maxMemory() >> 20);

    TwinIndex index = TwinIndex.open(dir);
    long t0 = System.nanoTime();
    long cpu0 = CPU.getCurrentThreadCpuTime();
    for (int i = 0; i < twins; i++) {
      TwinRecord r = new TwinRecord(twin(i), false, List.of(), List.of());
      index.put(TwinKey.device(id(i)), TwinJson.serviceView(r.twin()), 4, codec.encode(r));
    }
    index.refresh();
    index.commit(java.util.Map.of());
    double buildSeconds = (System.nanoTime() - t0) / 1e9;
    double buildCpu = (CPU.getCurrentThreadCpuTime() - cpu0) / 1e9;
    System.out.printf("indexed %,d twins in %.1f s (%,.0f twins/s; %.0f us CPU per twin on this thread, plus Lucene's"
        + " merge threads; build, encode, service view, Lucene)%n", twins, buildSeconds, twins / buildSeconds,
        buildCpu * 1e6 / twins);
    System.out.printf("index size on disk: %.1f MB (%,d bytes per twin)%n", index.sizeOnDisk() / 1e6,
        index.sizeOnDisk() / twins);
    System.gc();
    Thread.sleep(500);
    System.gc();
    long heap = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
    System.out.printf("heap used after GC with the index open: %.0f MB%n", heap / 1e6);

    QueryEngine engine = new QueryEngine(index, QuerySettings.DEFAULT, Runnable::run);
    String[] simple = {
        "SELECT * FROM devices WHERE deviceId = '" + id(twins / 2) + "'",
        "SELECT * FROM devices WHERE tags.building = 'b-0123'",
        "SELECT * FROM devices WHERE tags.region = 'r-07' AND properties.reported.battery < 10",
        "SELECT deviceId FROM devices WHERE properties.reported.status = 'error' AND tags.floor >= 25",
        "SELECT * FROM devices WHERE STARTSWITH(tags.building, 'b-01') AND tags.active = true",
    };
    for (String sql : simple) throughput(engine, sql, threads, seconds);
    String[] grouping = {
        "SELECT tags.region AS r, COUNT() AS n FROM devices GROUP BY tags.region",
        "SELECT properties.reported.status AS s, COUNT() AS n, AVG(properties.reported.battery) AS b FROM devices "
            + "GROUP BY properties.reported.status",
        "SELECT tags.building AS b, COUNT() AS n FROM devices GROUP BY tags.building",
        "SELECT COUNT() AS n FROM devices WHERE properties.reported.battery < 50",
        "SELECT COUNT() AS n FROM devices WHERE LOWER(tags.region) = 'r-07'",
    };
    for (String sql : grouping) latency(engine, sql, Math.max(20, seconds * 5));
    engine.close();
    index.close();
    system.terminate();
    Reindexer.deleteRecursively(dir);
    System.exit(0); // exec:java would wait for the pools' threads
  }

  static void throughput(QueryEngine engine, String sql, int threads, int seconds) throws Exception {
    int rows = engine.query(sql, 100, null).items().size();
    warm(engine, sql, 2);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    AtomicBoolean stop = new AtomicBoolean();
    List<Future<long[]>> results = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      results.add(pool.submit(() -> {
        long n = 0;
        Histogram h = new Histogram(3);
        long cpu0 = CPU.getCurrentThreadCpuTime();
        while (!stop.get()) {
          long s = System.nanoTime();
          engine.query(sql, 100, null).body();
          h.recordValue((System.nanoTime() - s) / 1000);
          n++;
        }
        return new long[] {n, h.getValueAtPercentile(50), h.getValueAtPercentile(99), CPU.getCurrentThreadCpuTime() - cpu0};
      }));
    }
    Thread.sleep(seconds * 1000L);
    stop.set(true);
    long total = 0;
    long p50 = 0;
    long p99 = 0;
    long cpu = 0;
    for (Future<long[]> f : results) {
      long[] r = f.get();
      total += r[0];
      p50 = Math.max(p50, r[1]);
      p99 = Math.max(p99, r[2]);
      cpu += r[3];
    }
    pool.shutdown();
    double cpuPerQuery = cpu / 1e3 / total;
    // Wall-clock throughput depends on what else runs on the box; CPU time per query does not:
    // cores / CPU per query is what the box sustains when the queries have it to themselves.
    System.out.printf("%,8.0f queries/s measured  %6.0f us CPU/query = %,8.0f queries/s on %d idle cores  p50 %5.2f ms"
            + "  p99 %6.2f ms  %3d rows  %s%n", total / (double) seconds, cpuPerQuery,
        Runtime.getRuntime().availableProcessors() * 1e6 / cpuPerQuery, Runtime.getRuntime().availableProcessors(),
        p50 / 1000.0, p99 / 1000.0, rows, sql);
  }

  static void latency(QueryEngine engine, String sql, int runs) {
    warm(engine, sql, 1);
    Histogram h = new Histogram(3);
    Histogram c = new Histogram(3);
    int rows = 0;
    for (int i = 0; i < runs; i++) {
      long s = System.nanoTime();
      long cpu0 = CPU.getCurrentThreadCpuTime();
      rows = engine.query(sql, 1000, null).items().size();
      c.recordValue((CPU.getCurrentThreadCpuTime() - cpu0) / 1000);
      h.recordValue((System.nanoTime() - s) / 1000);
    }
    System.out.printf("wall p50 %7.1f ms  p95 %7.1f ms  max %7.1f ms   CPU p50 %7.1f ms  %4d rows  %s%n",
        h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(95) / 1000.0, h.getMaxValue() / 1000.0,
        c.getValueAtPercentile(50) / 1000.0, rows, sql);
  }

  static void warm(QueryEngine engine, String sql, int seconds) {
    long until = System.nanoTime() + seconds * 1_000_000_000L;
    while (System.nanoTime() < until) engine.query(sql, 100, null);
  }

  static String id(int i) {
    return String.format("bench-%06d", i);
  }

  /** A device twin as a fleet would have it: a dozen tags and properties, updated a few times. */
  static Twin twin(int i) {
    IdentitySpec spec = new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(
        "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=", "c2Vjb25kc2Vjb25kc2Vjb25kc2Vjb25kc2Vjb25kcw=="), false);
    Identity identity = Identity.create(id(i), null, spec, "gen").optionalValue().orElseThrow();
    if (i % 3 == 0) identity = identity.withConnectionState(ConnectionState.CONNECTED, Instant.parse("2026-11-20T00:00:00Z"));
    Instant at = Instant.parse("2026-11-20T00:00:00Z").plusSeconds(i);
    TwinState s = TwinState.created(at);
    ObjectNode tags = F.objectNode()
        .put("region", String.format("r-%02d", i % 20))
        .put("building", String.format("b-%04d", i % 2000))
        .put("floor", i % 30)
        .put("active", i % 4 != 0)
        .put("model", "m-" + (i % 7));
    tags.putObject("location").put("lat", 48.0 + (i % 1000) / 1000.0).put("lon", 11.0 + (i % 777) / 1000.0);
    s = s.apply(new TwinUpdate.PatchTags(JsonDoc.of(tags)), at.plusSeconds(1));
    ObjectNode desired = F.objectNode().put("interval", 10 + i % 5 * 10).put("mode", i % 2 == 0 ? "eco" : "max");
    s = s.apply(new TwinUpdate.PatchDesired(JsonDoc.of(desired)), at.plusSeconds(2));
    ObjectNode reported = F.objectNode()
        .put("battery", i % 101)
        .put("temp", 18 + (i % 200) / 10.0)
        .put("fw", "2." + (i % 5) + ".1")
        .put("status", i % 50 == 0 ? "error" : "ok")
        .put("connectivity", i % 3 == 0 ? "wifi" : "cellular");
    reported.putObject("uptime").put("seconds", i * 13L).put("boots", i % 9);
    s = s.apply(new TwinUpdate.PatchReported(JsonDoc.of(reported)), at.plusSeconds(3));
    return new Twin(identity, s);
  }
}
