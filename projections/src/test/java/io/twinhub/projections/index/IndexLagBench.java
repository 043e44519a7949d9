package io.twinhub.projections.index;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.stream.ThrottleMode;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.DeviceEntity;
import io.twinhub.twin.entity.EntitySettings;
import io.twinhub.twin.entity.ModuleEntity;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.service.TwinService;
import org.HdrHistogram.Histogram;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

/**
 * Index lag under write load (not a test; run by hand, see docs/BENCHMARKS.md): an embedded
 * Cassandra, the sharded entities and the query index in one JVM, as on a single node. Creates
 * D devices, then writes reported patches at R per second for S seconds through the entities and
 * reports the achieved write rate and the index lag distribution (journal write of an event →
 * visible to queries), as the projection measures it.
 *
 * <pre>
 * mvn -q -pl projections exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=io.twinhub.projections.index.IndexLagBench -Dexec.args="10000 2000 60"
 * </pre>
 */
public final class IndexLagBench {
  /** CPU time of the index writer thread so far (ns). */
  static long writerCpu() {
    var threads = ManagementFactory.getThreadMXBean();
    for (var info : threads.getThreadInfo(threads.getAllThreadIds())) {
      if (info != null && info.getThreadName().equals("twinhub-index-writer")) return threads.getThreadCpuTime(info.getThreadId());
    }
    return 0;
  }

  /** -Dtwinhub.bench.cassandra=host:port: a running Cassandra (several runs on one, e.g. a before/after pair), else one started here. */
  static String cassandra() {
    String given = System.getProperty("twinhub.bench.cassandra");
    return given != null ? given : SharedEmbeddedCassandra.contactPoint();
  }

  public static void main(String[] args) throws Exception {
    int devices = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
    int rate = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
    int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 60;
    String run = UUID.randomUUID().toString().substring(0, 6);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "lag-bench", ConfigFactory.load(
        ConfigFactory.parseResources("index-it.conf")
            .withValue("datastax-java-driver.basic.contact-points",
                ConfigValueFactory.fromIterable(List.of(cassandra())))
            .withValue("akka.persistence.cassandra.journal.keyspace", ConfigValueFactory.fromAnyRef("bench_" + run))
            .withValue("akka.persistence.cassandra.snapshot.keyspace", ConfigValueFactory.fromAnyRef("bench_" + run + "_s"))));
    Cluster.get(system).manager().tell(Join.create(Cluster.get(system).selfMember().address()));
    DeviceEntity.init(system, EntitySettings.DEFAULT);
    ModuleEntity.init(system, EntitySettings.DEFAULT);
    TwinService twins = new TwinService(system, Duration.ofSeconds(30));
    QueryIndexIT.warmUp(twins, "warmup");
    Path dir = Files.createTempDirectory("twinhub-lag-bench");
    QueryIndex index = QueryIndexModule.start(system, dir);

    IdentitySpec spec = new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(null, null), false);
    long t0 = System.nanoTime();
    // On a loaded box some creations time out: wait for the ones that were accepted.
    long created = Source.range(0, devices - 1).mapAsyncUnordered(64, i -> twins.createDevice("lag-" + i, spec))
        .runWith(Sink.fold(0L, (n, r) -> r instanceof TwinReply.Accepted ? n + 1 : n), system)
        .toCompletableFuture().get(30, TimeUnit.MINUTES);
    System.out.printf("created %,d of %,d devices in %.1f s%n", created, devices, (System.nanoTime() - t0) / 1e9);
    while (index.status().eventsBehind() != 0 || index.status().twins() < created) Thread.sleep(500);
    index.visibleLagSinceStart(); // drop the creation phase from the measurement
    Histogram before = index.visibleLagSinceStart();

    System.out.printf("load average %.1f before the patch phase%n", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    long writerCpu0 = writerCpu();
    long applied0 = index.status().eventsApplied();
    AtomicLong accepted = new AtomicLong();
    AtomicLong rejected = new AtomicLong();
    JsonNodeFactory f = JsonNodeFactory.instance;
    long p0 = System.nanoTime();
    Source.from(() -> IntStream.range(0, rate * seconds).iterator())
        .throttle(rate, Duration.ofSeconds(1), rate / 10, ThrottleMode.shaping())
        .mapAsyncUnordered(256, i -> twins.updateTwin("lag-" + (i % devices), null,
            new TwinUpdate.PatchReported(JsonDoc.of(f.objectNode().put("n", i).put("t", System.currentTimeMillis()))), null))
        .runForeach(r -> (r instanceof TwinReply.Accepted ? accepted : rejected).incrementAndGet(), system)
        .toCompletableFuture().get(seconds * 10L, TimeUnit.SECONDS);
    double writeSeconds = (System.nanoTime() - p0) / 1e9;
    while (index.status().eventsBehind() != 0) Thread.sleep(200);
    Thread.sleep(1000);
    double writerCpuPerEvent = (writerCpu() - writerCpu0) / 1e3 / Math.max(1, index.status().eventsApplied() - applied0);
    Histogram all = index.visibleLagSinceStart();
    Histogram lag = all.copy();
    lag.subtract(before);
    IndexStatus s = index.status();
    System.out.printf("patches: %,d accepted, %,d rejected in %.1f s = %,.0f/s (target %,d/s)%n", accepted.get(),
        rejected.get(), writeSeconds, accepted.get() / writeSeconds, rate);
    System.out.printf("index lag (event written -> visible): p50 %d ms, p90 %d ms, p99 %d ms, p99.9 %d ms, max %d ms over %,d events%n",
        lag.getValueAtPercentile(50), lag.getValueAtPercentile(90), lag.getValueAtPercentile(99),
        lag.getValueAtPercentile(99.9), lag.getMaxValue(), lag.getTotalCount());
    System.out.printf("index writer thread: %.0f us CPU per event (fold, service view, state, Lucene) = %,.0f events/s per core%n",
        writerCpuPerEvent, 1e6 / writerCpuPerEvent);
    System.out.printf("index: %,d twins, %.1f MB on disk; heap used %.0f MB%n", s.twins(), s.indexBytes() / 1e6,
        (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()) / 1e6);
    index.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);

    // Catch-up: how fast the projection alone consumes the journal (read, deserialize, fold, index).
    int backlog = rate * Math.min(seconds, 30);
    Source.from(() -> IntStream.range(0, backlog).iterator())
        .mapAsyncUnordered(256, i -> twins.updateTwin("lag-" + (i % devices), null,
            new TwinUpdate.PatchReported(JsonDoc.of(f.objectNode().put("m", i))), null))
        .runWith(Sink.ignore(), system).toCompletableFuture().get(30, TimeUnit.MINUTES);
    long c0 = System.nanoTime();
    QueryIndex resumed = QueryIndexModule.start(system, dir);
    long cpu0 = writerCpu();
    while (resumed.status().eventsApplied() < backlog) Thread.sleep(50);
    double catchUp = (System.nanoTime() - c0) / 1e9;
    System.out.printf("catch-up: %,d events written while the index was stopped applied in %.1f s = %,.0f events/s "
            + "(writer %.0f us CPU per event; load average %.1f)%n", backlog, catchUp, backlog / catchUp,
        (writerCpu() - cpu0) / 1e3 / backlog, ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    resumed.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
    Reindexer.deleteRecursively(dir);
    System.exit(0);
  }
}
