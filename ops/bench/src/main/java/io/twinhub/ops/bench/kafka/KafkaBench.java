package io.twinhub.ops.bench.kafka;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.japi.Pair;
import akka.stream.UniqueKillSwitch;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import io.twinhub.node.NodeSettings;
import io.twinhub.ops.bench.BenchOptions;
import io.twinhub.ops.bench.BenchResult;
import io.twinhub.ops.bench.BenchRun;
import io.twinhub.ops.bench.BenchTarget;
import io.twinhub.ops.bench.RestClient;
import io.twinhub.ops.bench.RestWorkloads;
import io.twinhub.ops.bench.ThreadCpu;
import io.twinhub.ops.kafka.EmbeddedKafka;
import io.twinhub.projections.kafka.KafkaFeedPublisher;
import io.twinhub.projections.kafka.KafkaTopics;
import io.twinhub.projections.streams.ChangeFeed;
import io.twinhub.projections.streams.JournalPosition;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The Kafka publisher's figures (issue #20), against the target's journal (its Cassandra) and a
 * Kafka broker (embedded, started here, unless {@code --kafka-bootstrap}):
 * <ul>
 *   <li>{@code kafka-publish}: PATCHes {@code --kafka-events} twin changes first (the backlog),
 *       then starts a {@link KafkaFeedPublisher} (exactly the node's class and settings, under a
 *       publisher name and topic prefix of this run) at the start of the journal: events/s
 *       committed to Kafka until it has caught up (published count still for 3 s);</li>
 *   <li>{@code kafka-latency}: the same publisher, now following the journal live; a writer
 *       PATCHes at {@code --kafka-rate}/s for {@code --duration} while a {@code read_committed}
 *       consumer reads the twin-change topic: latency = the moment the consumer got a change's
 *       record − the moment the writer read the PATCH's 200, per (twin, version).</li>
 * </ul>
 * The publisher runs in the harness's JVM, not in a node's: its figures exclude the node's own
 * load, which the publisher shares in production (the writes are served by the node all the same).
 */
public final class KafkaBench {
  static final String PREFIX = "kbench-";
  private static final Pattern VERSION = Pattern.compile("\"version\":(\\d+)");

  private final BenchOptions o;
  private final RestClient rest;
  private final int twins;
  private final String run = Long.toString(System.currentTimeMillis(), 36);
  /** {@code --thread-cpu on}: the harness (tag reads, publisher), Cassandra and the broker by thread group, per row. */
  private final Map<String, Long> cpuPids = new java.util.LinkedHashMap<>();

  /**
   * The share of the backlog a row's steady rate leaves out: the first transaction(s), the JIT's
   * and the caches' warm-up. The steady rate is over the rest, from the first commit at or after it.
   */
  static final double STEADY_AFTER = 0.10;

  private KafkaBench(BenchOptions o, BenchTarget target) throws Exception {
    this.o = o;
    this.rest = new RestClient(List.of(target.restUrls().get(0)), target.caPem(), target.ownerConnectionString(), o.concurrency());
    this.twins = o.twins();
  }

  /** {@code kafka-publish} and/or {@code kafka-latency}: one row each. */
  public static List<BenchResult> run(BenchOptions o, BenchTarget target, List<String> phases, long cassandraPid) throws Exception {
    KafkaBench b = new KafkaBench(o, target);
    if (o.threadCpu()) {
      b.cpuPids.put("harness", ProcessHandle.current().pid());
      if (cassandraPid > 0) b.cpuPids.put("cassandra", cassandraPid);
    }
    InetSocketAddress cql = target.cassandra().orElseThrow(() ->
        new IllegalArgumentException("the kafka workloads read the journal: they need --cassandra H:P with --url"));
    String bootstrap = o.extra().get("kafka-bootstrap");
    EmbeddedKafka kafka = null;
    ActorSystem<Void> system = null;
    List<BenchResult> rows = new ArrayList<>();
    try {
      if (bootstrap == null) {
        Path dir = Files.createTempDirectory(target.workDir(), "kafka-");
        kafka = new EmbeddedKafka(dir, io.twinhub.ops.bench.BenchNodes.freePort(), io.twinhub.ops.bench.BenchNodes.freePort(),
            o.extra().getOrDefault("kafka-heap", "1g"), Duration.ofMinutes(3)).start();
        bootstrap = kafka.bootstrapServers();
        if (o.threadCpu() && kafka.pid() > 0) b.cpuPids.put("kafka", kafka.pid());
        System.out.printf(Locale.ROOT, "kafka: embedded broker on %s, up in %.1f s%n", bootstrap, kafka.startedIn().toMillis() / 1000.0);
      }
      Config reader = journalReader(cql, o.extra().getOrDefault("journal-keyspace", "twinhub"));
      // --kafka-live on,off (default the node's live-feed): a latency row per value and read journal.
      List<Boolean> lives = java.util.Arrays.stream(o.extra().getOrDefault("kafka-live",
              reader.getBoolean("twinhub.kafka.live-feed") ? "on" : "off").split(","))
          .map(String::trim).map(v -> switch (v) {
            case "on", "true" -> true;
            case "off", "false" -> false;
            default -> throw new IllegalArgumentException("--kafka-live: on or off, not " + v);
          }).toList();
      boolean liveRows = phases.contains("kafka-latency") && lives.contains(true);
      // The live path reaches subscribers in the writers' cluster: the harness then joins node 1's.
      system = liveRows ? ActorSystem.create(Behaviors.empty(), "twinhub", clusterMember(reader, target.nodes().get(0)))
          : ActorSystem.create(Behaviors.empty(), "kafka-bench", reader);
      if (liveRows) awaitUp(system);
      b.seed();
      if (phases.contains("kafka-publish")) b.writeBacklog();
      // The node's publisher settings (read journal, batches), unless the options say otherwise.
      Config node = system.settings().config();
      String readJournal = node.getString("twinhub.kafka.read-journal");
      // One publish row per --kafka-batch value, each a fresh publisher (own name and topics) over the same backlog.
      List<Integer> batches = java.util.Arrays.stream(o.extra().getOrDefault("kafka-batch", node.getString("twinhub.kafka.batch-size")).split(","))
          .map(String::trim).map(Integer::parseInt).toList();
      // Several --kafka-batch-wait and/or --kafka-read-journal values: a kafka-latency row each (the publish rows take the first).
      List<Duration> waits = java.util.Arrays.stream(o.extra().getOrDefault("kafka-batch-wait",
              node.getString("twinhub.kafka.batch-window")).split(","))
          .map(String::trim).map(BenchOptions::duration).toList();
      List<String> journals = java.util.Arrays.stream(o.extra().getOrDefault("kafka-read-journal", readJournal).split(","))
          .map(String::trim).toList();
      Duration wait = waits.get(0);
      // Producer properties over the publisher's own, one set per row: "k=v,k=v;k=v" (--kafka-producer).
      Map<String, String> nodeProducer = io.twinhub.node.kafka.KafkaFeedModule.settings(node, bootstrap).producer();
      List<Map<String, String>> producers = producerSets(o.extra().getOrDefault("kafka-producer", "")).stream()
          .map(m -> {
            Map<String, String> merged = new java.util.HashMap<>(nodeProducer);
            merged.putAll(m);
            return merged;
          }).toList();
      ChangeFeed feed = new ChangeFeed(system, "bench", journals.get(0));
      if (phases.contains("kafka-publish")) {
        rows.add(b.journalRead(system, feed)); // the baseline: the same feed, read without Kafka
        for (int i = 0; i < Math.max(batches.size(), producers.size()); i++) {
          KafkaFeedPublisher.Settings settings = b.settings(bootstrap, "p" + i, JournalPosition.start(),
              batches.get(Math.min(i, batches.size() - 1)), wait).withProducer(producers.get(Math.min(i, producers.size() - 1)));
          rows.add(b.running(system, journals.get(0), settings, p -> b.publish(p, System.nanoTime(), settings)));
        }
        rows.add(b.journalRead(system, feed)); // again, now that Cassandra's caches are as warm as for the later publishers
      }
      if (phases.contains("kafka-latency")) {
        String brokers = bootstrap;
        int row = 0;
        for (boolean on : lives) {
          for (int i = 0; i < Math.max(waits.size(), journals.size()); i++) {
            String journal = journals.get(Math.min(i, journals.size() - 1));
            ChangeFeed live = new ChangeFeed(system, "bench", journal);
            KafkaFeedPublisher.Settings settings = b.settings(bootstrap, "l" + row++, live.latest(), batches.get(0),
                waits.get(Math.min(i, waits.size() - 1))).withProducer(producers.get(0)).withLiveFeed(on);
            rows.add(b.running(system, journal, settings, p -> b.latency(p, brokers, topicPrefix(settings) + "twinChangeEvents", settings,
                journal, node)));
          }
        }
      }
    } finally {
      b.rest.close();
      if (system != null) {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
      }
      if (kafka != null) kafka.stop();
    }
    return rows;
  }

  interface Phase {
    BenchResult measure(KafkaFeedPublisher p) throws Exception;
  }

  /** A publisher of this run, name and topic prefix {@code bench-<run>-<tag>}, starting at {@code start}. */
  KafkaFeedPublisher.Settings settings(String bootstrap, String tag, JournalPosition start, int batch, Duration wait) {
    String name = "bench-" + run + "-" + tag;
    KafkaFeedPublisher.Settings d = KafkaFeedPublisher.Settings.withTopics(name, bootstrap, name + ".",
        KafkaTopics.perSource(name + "."), start);
    return d.withBatches(batch, wait);
  }

  /** {@code "linger.ms=20,compression.type=lz4;batch.size=65536"}: one map per {@code ;}-separated set (none: one empty). */
  static List<Map<String, String>> producerSets(String spec) {
    List<Map<String, String>> sets = new ArrayList<>();
    for (String set : spec.split(";", -1)) {
      Map<String, String> m = new java.util.LinkedHashMap<>();
      for (String kv : set.split(",")) {
        if (kv.isBlank()) continue;
        int eq = kv.indexOf('=');
        if (eq <= 0) throw new IllegalArgumentException("--kafka-producer: '" + kv + "' is not key=value");
        m.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
      }
      sets.add(m);
    }
    return sets;
  }

  static String topicPrefix(KafkaFeedPublisher.Settings s) {
    return s.name() + ".";
  }

  /** Runs {@code phase} while the publisher runs (started just before, stopped after). */
  BenchResult running(ActorSystem<Void> system, String readJournal, KafkaFeedPublisher.Settings settings, Phase phase) throws Exception {
    KafkaFeedPublisher publisher = new KafkaFeedPublisher(system, "bench", readJournal, settings);
    Pair<UniqueKillSwitch, CompletionStage<akka.Done>> running = publisher.run();
    try {
      return phase.measure(publisher);
    } finally {
      running.first().shutdown();
      running.second().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
  }

  /**
   * {@code reader} as a member of {@code node}'s cluster (its address from the node's management
   * endpoint), with a role no entity or singleton runs on, so that the live path's subscriber
   * (the publisher) is listed by the writers' receptionists. Its remoting port is above the node's:
   * with two members the split-brain resolver keeps the lowest address, the node, if the harness
   * ever turns unreachable.
   */
  static Config clusterMember(Config reader, BenchTarget.Node node) throws Exception {
    var http = java.net.http.HttpClient.newHttpClient();
    String body = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://" + node.restUrl().getHost() + ":"
            + node.managementPort() + "/cluster/members")).timeout(Duration.ofSeconds(10)).GET().build(),
        java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    Matcher self = Pattern.compile("\"selfNode\":\"(akka://[^@]+@([^:]+):(\\d+))\"").matcher(body);
    if (!self.find()) throw new IllegalStateException("no selfNode in node 1's /cluster/members: " + body);
    int port = Integer.parseInt(self.group(3));
    int mine = port + 1;
    while (!free(mine)) mine++;
    return reader
        .withValue("akka.actor.provider", ConfigValueFactory.fromAnyRef("cluster"))
        .withValue("akka.remote.artery.canonical.hostname", ConfigValueFactory.fromAnyRef(self.group(2)))
        .withValue("akka.remote.artery.canonical.port", ConfigValueFactory.fromAnyRef(mine))
        .withValue("akka.remote.artery.bind.port", ConfigValueFactory.fromAnyRef(""))
        .withValue("akka.cluster.seed-nodes", ConfigValueFactory.fromIterable(List.of(self.group(1))))
        .withValue("akka.cluster.roles", ConfigValueFactory.fromIterable(List.of("kafka-bench")));
  }

  private static boolean free(int port) {
    try (java.net.ServerSocket s = new java.net.ServerSocket(port)) {
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }

  /** Until this member is Up (2 minutes at most). */
  static void awaitUp(ActorSystem<Void> system) throws Exception {
    var cluster = akka.cluster.typed.Cluster.get(system);
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (cluster.selfMember().status() != akka.cluster.MemberStatus.up()) {
      if (System.nanoTime() > deadline) throw new IllegalStateException("the harness did not join node 1's cluster within 2 minutes");
      Thread.sleep(200);
    }
    System.out.printf(Locale.ROOT, "kafka: the harness joined the cluster as %s%n", cluster.selfMember().address());
  }

  /** The node's configuration (journal, tags, read journal) in a local ActorSystem that only reads. */
  static Config journalReader(InetSocketAddress cql, String keyspace) {
    String point = cql.getHostString() + ":" + cql.getPort();
    return NodeSettings.fromConfig(Map.of("twinhub.cassandra.contact-points", point,
            "akka.persistence.cassandra.journal.keyspace", keyspace,
            "akka.persistence.cassandra.snapshot.keyspace", keyspace + "_snapshot"))
        .withCassandraContactPoints(List.of(point)).config()
        .withValue("akka.actor.provider", ConfigValueFactory.fromAnyRef("local"))
        .withValue("akka.remote.artery.canonical.port", ConfigValueFactory.fromAnyRef(0))
        .withValue("akka.loglevel", ConfigValueFactory.fromAnyRef("WARNING"));
  }

  /** Creates the twins (bulk, 100 per call); idempotent, so a failed call is simply sent again. */
  void seed() throws Exception {
    long t0 = System.nanoTime();
    for (int from = 0; from < twins; from += 100) {
      String body = IntStream.range(from, Math.min(from + 100, twins))
          .mapToObj(i -> "{\"id\":\"" + PREFIX + i + "\",\"importMode\":\"createOrUpdate\"}")
          .collect(Collectors.joining(",", "[", "]"));
      boolean ok = false;
      for (int attempt = 0; attempt < 10 && !ok; attempt++) {
        try {
          RestClient.Answer a = rest.sendAndWait(0, "POST", "/devices?" + RestClient.API_VERSION, body);
          ok = a.ok() && !a.text().contains("\"isSuccessful\":false");
        } catch (Exception e) {
          // a timeout on a busy node: try again
        }
        if (!ok) Thread.sleep(2000);
      }
      if (!ok) throw new IllegalStateException("a bulk create kept failing");
    }
    System.out.printf(Locale.ROOT, "kafka: %d twins ready in %.1f s%n", twins, (System.nanoTime() - t0) / 1e9);
  }

  private long backlog;
  private double backlogWriteRate;

  /** {@code --kafka-events} PATCHes at {@code --concurrency}: the journal the publisher then catches up on. */
  void writeBacklog() throws Exception {
    int events = Integer.parseInt(o.extra().getOrDefault("kafka-events", "100000"));
    long t0 = System.nanoTime();
    long report = t0;
    AtomicLong failed = new AtomicLong();
    Semaphore inFlight = new Semaphore(o.concurrency());
    for (int i = 0; i < events; i++) {
      inFlight.acquire();
      if (System.nanoTime() - report > TimeUnit.SECONDS.toNanos(10)) {
        report = System.nanoTime();
        System.out.printf(Locale.ROOT, "kafka: backlog %,d of %,d PATCHes written (%.0f/s), load average %s%n", i, events,
            i / ((report - t0) / 1e9), BenchRun.loadAverage());
      }
      rest.send(0, "PATCH", "/twins/" + PREFIX + (i % twins) + "?" + RestClient.API_VERSION, RestWorkloads.patchBody(i))
          .whenComplete((a, e) -> {
            if (e != null || !a.ok()) failed.incrementAndGet();
            inFlight.release();
          });
    }
    inFlight.acquire(o.concurrency());
    inFlight.release(o.concurrency());
    double seconds = (System.nanoTime() - t0) / 1e9;
    backlog = events - failed.get();
    backlogWriteRate = events / seconds;
    System.out.printf(Locale.ROOT, "kafka: wrote a backlog of %,d PATCHes in %.1f s (%.0f/s, %d failed), load average %s%n",
        events, seconds, backlogWriteRate, failed.get(), BenchRun.loadAverage());
    Thread.sleep(2000); // past the read journal's eventual-consistency delay
  }

  /** The backlog read through the same feed into nothing: what the publisher could reach if Kafka cost nothing. */
  BenchResult journalRead(ActorSystem<Void> system, ChangeFeed feed) throws Exception {
    String load = BenchRun.loadAverage();
    ThreadCpu.Probe cpu = cpuProbe();
    long t0 = System.nanoTime();
    long[] firstAt = {0};
    long[] steadyAt = {0};
    long steadyFrom = Math.max(1, (long) (expectedEvents() * STEADY_AFTER));
    long n = feed.history(JournalPosition.start(), java.time.Instant.now(), m -> true)
        .runFold(0L, (c, m) -> {
          if (c == 0) firstAt[0] = System.nanoTime();
          if (c == steadyFrom) steadyAt[0] = System.nanoTime();
          return c + 1;
        }, system).toCompletableFuture().get(30, TimeUnit.MINUTES);
    long end = System.nanoTime();
    double fromFirst = n / ((end - firstAt[0]) / 1e9);
    double steady = steadyAt[0] == 0 ? fromFirst : (n - steadyFrom) / ((end - steadyAt[0]) / 1e9);
    BenchResult r = withRate(BenchResult.of("kafka-journal-read", n, 0, Duration.ofNanos(end - firstAt[0]), new Histogram(3_600_000_000L, 3)), steady)
        .withNote(String.format(Locale.ROOT, "baseline: the backlog through the same ChangeFeed (current query, HubMessage and offset "
            + "per message), no Kafka; rate = steady, after the first %,d events (%.0f/s from the first message, %.1f s after the "
            + "start); load avg %s", steadyFrom, fromFirst, (firstAt[0] - t0) / 1e9, load));
    System.out.printf(Locale.ROOT, "kafka: journal read baseline: %,d events in %.1f s from the first = %.0f/s; steady (after the first %,d) %.0f/s; load avg %s%n",
        n, (end - firstAt[0]) / 1e9, fromFirst, steadyFrom, steady, BenchRun.loadAverage());
    if (cpu != null) System.out.print(cpu.end(n, (end - t0) / 1e9));
    return r;
  }

  /** The events a full read of the journal brings: the twins' creations and the backlog's PATCHes (as far as known). */
  private long expectedEvents() {
    return twins + backlog;
  }

  private ThreadCpu.Probe cpuProbe() {
    if (cpuPids.isEmpty()) return null;
    ThreadCpu.Probe p = new ThreadCpu.Probe(cpuPids);
    p.start();
    return p;
  }

  static BenchResult withRate(BenchResult r, double rate) {
    return new BenchResult(r.workload(), r.operations(), r.errors(), r.seconds(), rate, r.p50Micros(), r.p99Micros(),
        r.p999Micros(), r.nodeCpuPercent(), r.nodeHeapBytes(), r.note());
  }

  /** From the publisher's start at the journal's beginning until its count stands still for 3 s. */
  BenchResult publish(KafkaFeedPublisher p, long t0, KafkaFeedPublisher.Settings s) throws Exception {
    String load = BenchRun.loadAverage();
    ThreadCpu.Probe cpu = cpuProbe();
    long steadyFrom = (long) (expectedEvents() * STEADY_AFTER);
    long steadyAt = 0;
    long steadyCount = 0;
    long last = -1;
    long lastChange = System.nanoTime();
    long firstAt = 0;
    Histogram commits = new Histogram(3_600_000_000L, 3); // gaps between observed progress (100 ms polls)
    while (System.nanoTime() - lastChange < TimeUnit.SECONDS.toNanos(3) || last <= 0) {
      Thread.sleep(100);
      long now = System.nanoTime();
      long n = p.published();
      if (n != last) {
        if (last > 0) commits.recordValue(Math.min((now - lastChange) / 1000, 3_600_000_000L));
        if (last <= 0 && n > 0) firstAt = now;
        if (steadyAt == 0 && n >= steadyFrom && n > 0) {
          steadyAt = now;
          steadyCount = n;
        }
        last = n;
        lastChange = now;
      }
      if (now - t0 > TimeUnit.MINUTES.toNanos(30)) throw new IllegalStateException("the publisher did not catch up in 30 minutes");
    }
    Duration took = Duration.ofNanos(lastChange - firstAt);
    double fromStart = (lastChange - t0) / 1e9;
    long tx = p.transactions();
    String txs = String.format(Locale.ROOT, "%,d transactions of %.0f messages on average, %.1f ms each from begin to committed",
        tx, last / (double) Math.max(1, tx), p.commitNanos() / 1e6 / Math.max(1, tx));
    double fromFirst = last / Math.max(1e-9, took.toNanos() / 1e9);
    // Steady: from the first commit at or after STEADY_AFTER of the backlog to the last (none when it came in one step).
    double steady = steadyAt > 0 && lastChange > steadyAt && last > steadyCount
        ? (last - steadyCount) / ((lastChange - steadyAt) / 1e9) : fromFirst;
    BenchResult r = withRate(BenchResult.of("kafka-publish", last, 0, took, commits), steady).withNote(String.format(Locale.ROOT,
        "backlog: %,d twins created + %,d PATCHes (written at %.0f/s); rate = steady, the %,d events committed after the first "
            + "%,d (%.1f s); %.0f/s from the first commit (%.1f s after the start), %.0f/s counting the start; %s; batches ≤ %d / %d ms; "
            + "producer %s; p = gaps between 100 ms progress polls; load avg %s",
        twins, backlog, backlogWriteRate, last - steadyCount, steadyCount, (lastChange - steadyAt) / 1e9, fromFirst, (firstAt - t0) / 1e9,
        last / fromStart, txs, s.maxBatch(), s.maxBatchWait().toMillis(), s.producer().isEmpty() ? "defaults" : s.producer(), load));
    System.out.printf(Locale.ROOT, "kafka: published %,d events in %.1f s from the first commit = %.0f/s (%.0f/s from the start); "
            + "steady (after the first %,d) %.0f/s; %s; producer %s; load avg %s%n",
        last, took.toMillis() / 1000.0, fromFirst, last / fromStart, steadyCount, steady, txs, s.producer(), BenchRun.loadAverage());
    if (cpu != null) System.out.print(cpu.end(last, (lastChange - t0) / 1e9));
    return r;
  }

  /**
   * One PATCH per twin, not measured, until the consumer has them all: the publisher starts at the
   * journal's end (the node's starts at its beginning), so it holds no mark of a twin until it
   * published one of its events, and until then leaves that twin's live events to the tag read
   * ({@code PublishedMarks.decideLive}). Without this, each twin's first write would be measured
   * on the tag read even with the live path on. Done for every row, live or not, alike.
   */
  void prime(Map<String, long[]> seen) throws Exception {
    long t0 = System.nanoTime();
    Semaphore inFlight = new Semaphore(o.concurrency());
    List<String> keys = java.util.Collections.synchronizedList(new ArrayList<>());
    for (int i = 0; i < twins; i++) {
      inFlight.acquire();
      String twin = PREFIX + i;
      rest.send(0, "PATCH", "/twins/" + twin + "?" + RestClient.API_VERSION, RestWorkloads.patchBody(i))
          .whenComplete((a, e) -> {
            Matcher v = e == null && a.ok() ? VERSION.matcher(a.text()) : null;
            if (v != null && v.find()) keys.add(twin + "@" + v.group(1));
            inFlight.release();
          });
    }
    inFlight.acquire(o.concurrency());
    inFlight.release(o.concurrency());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!keys.stream().allMatch(seen::containsKey) && System.nanoTime() < deadline) Thread.sleep(100);
    System.out.printf(Locale.ROOT, "kafka: primed %,d of %,d twins (a PATCH each, consumed) in %.1f s%n",
        keys.stream().filter(seen::containsKey).count(), twins, (System.nanoTime() - t0) / 1e9);
  }

  /** A writer at {@code --kafka-rate} PATCHes/s (open loop) while a read_committed consumer reads the topic. */
  BenchResult latency(KafkaFeedPublisher p, String bootstrap, String topic, KafkaFeedPublisher.Settings s, String journal,
                      Config config) throws Exception {
    String base = journal.replaceAll("\\.query$", "");
    String journalNote = String.format(Locale.ROOT, "live path %s; read journal %s (eventual-consistency-delay %d ms, refresh-interval %d ms)",
        s.liveFeed() ? "on" : "off", journal,
        config.getDuration(base + ".events-by-tag.eventual-consistency-delay").toMillis(),
        config.getDuration(journal + ".refresh-interval").toMillis());
    int rate = Integer.parseInt(o.extra().getOrDefault("kafka-rate", "200"));
    String load = BenchRun.loadAverage();
    Map<String, long[]> seen = new ConcurrentHashMap<>(); // twin@version -> {ack, consumed}
    Histogram latency = new Histogram(3_600_000_000L, 3);
    AtomicLong consumed = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicBoolean assigned = new AtomicBoolean();
    Thread consumer = new Thread(() -> {
      try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(Map.of(
          ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
          ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
          ConsumerConfig.GROUP_ID_CONFIG, "kafka-bench-" + run,
          ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest"), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
        c.subscribe(List.of(topic));
        while (!stop.get()) {
          var records = c.poll(Duration.ofMillis(100));
          if (!c.assignment().isEmpty()) assigned.set(true);
          for (ConsumerRecord<byte[], byte[]> r : records) {
            long now = System.nanoTime();
            var id = r.headers().lastHeader("twinhub-twin-id");
            var v = r.headers().lastHeader("twinhub-version");
            if (id == null || v == null) continue;
            consumed.incrementAndGet();
            BenchResult.recordPair(seen, new String(id.value(), StandardCharsets.UTF_8) + "@" + new String(v.value(), StandardCharsets.UTF_8),
                1, now, latency);
          }
        }
      }
    }, "kafka-bench-consumer");
    consumer.setDaemon(true);
    consumer.start();
    // The topic exists once the publisher committed something (the backlog, or the twins' creation).
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!assigned.get() && System.nanoTime() < deadline) Thread.sleep(100);
    Thread.sleep(1000);
    prime(seen);

    AtomicLong acked = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    AtomicLong skipped = new AtomicLong();
    AtomicLong seq = new AtomicLong();
    Semaphore inFlight = new Semaphore(o.concurrency());
    ScheduledExecutorService ticks = Executors.newSingleThreadScheduledExecutor();
    long publishedBefore = p.published();
    long liveBefore = p.viaLive();
    long txBefore = p.transactions();
    long commitBefore = p.commitNanos();
    long t0 = System.nanoTime();
    ticks.scheduleAtFixedRate(() -> {
      if (!inFlight.tryAcquire()) {
        skipped.incrementAndGet();
        return;
      }
      long n = seq.getAndIncrement();
      String twin = PREFIX + (n % twins);
      rest.send(0, "PATCH", "/twins/" + twin + "?" + RestClient.API_VERSION, RestWorkloads.patchBody(n))
          .whenComplete((a, e) -> {
            long now = System.nanoTime();
            inFlight.release();
            Matcher v = e == null && a.ok() ? VERSION.matcher(a.text()) : null;
            if (v == null || !v.find()) {
              failed.incrementAndGet();
              return;
            }
            acked.incrementAndGet();
            BenchResult.recordPair(seen, twin + "@" + v.group(1), 0, now, latency);
          });
    }, 0, 1_000_000_000L / rate, TimeUnit.NANOSECONDS);
    Thread.sleep(o.duration().toMillis());
    ticks.shutdownNow();
    double writeSeconds = (System.nanoTime() - t0) / 1e9;
    inFlight.acquire(o.concurrency());
    deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (seen.values().stream().anyMatch(x -> x[0] != 0 && x[1] == 0) && System.nanoTime() < deadline) Thread.sleep(100);
    stop.set(true);
    consumer.join(10_000);
    long missing = seen.values().stream().filter(x -> x[0] != 0 && x[1] == 0).count();
    Histogram h;
    synchronized (latency) {
      h = latency.copy();
    }
    BenchResult r = BenchResult.of("kafka-latency", h.getTotalCount() + missing, missing, Duration.ofMillis((long) (writeSeconds * 1000)), h)
        .withNote(String.format(Locale.ROOT, "target %,d writes/s, achieved %.0f acked/s (%,d ticks skipped, %,d failed); %,d consumed, "
                + "%,d never; latency = write ack → read_committed consumer has the record; batches ≤ %d / %d ms: %,d "
                + "transactions, %.1f ms each; %,d of %,d published by the live path, %,d tag-read restarts; %s; load avg %s",
            rate, acked.get() / writeSeconds, skipped.get(), failed.get(), consumed.get(), missing, s.maxBatch(),
            s.maxBatchWait().toMillis(), p.transactions() - txBefore,
            (p.commitNanos() - commitBefore) / 1e6 / Math.max(1, p.transactions() - txBefore), p.viaLive() - liveBefore,
            p.published() - publishedBefore, p.tagRestarts(), journalNote, load));
    System.out.printf(Locale.ROOT, "kafka: latency at %d/s target (%.0f/s acked), batch window %d ms, %s: %s%n", rate,
        acked.get() / writeSeconds, s.maxBatchWait().toMillis(), journalNote, BenchResult.percentilesMs(h));
    return r;
  }

}
