package io.twinhub.projections.kafka;

import akka.actor.typed.ActorSystem;
import akka.japi.Pair;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Sink;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;
import io.twinhub.ops.kafka.EmbeddedKafka;
import io.twinhub.projections.streams.ChangeFeed;
import io.twinhub.projections.streams.JournalTestSystem;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The change feed published to a real Kafka broker: a read_committed consumer sees every twin
 * change exactly once and in per-device order, across a publisher stopped and started again
 * mid-stream and a broker killed (-9) and restarted while the publisher runs.
 */
class KafkaFeedPublisherIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String READ_JOURNAL = akka.persistence.cassandra.query.javadsl.CassandraReadJournal.Identifier();
  static JournalTestSystem journal;
  static ActorSystem<Void> system;
  static EmbeddedKafka kafka;

  @TempDir
  static Path kafkaDir;

  @BeforeAll
  static void start() throws Exception {
    journal = JournalTestSystem.start("kafka-feed-it");
    system = journal.system;
    kafka = new EmbeddedKafka(kafkaDir, SharedEmbeddedCassandra.freePort(), SharedEmbeddedCassandra.freePort(), "384m",
        Duration.ofSeconds(120)).start();
  }

  @AfterAll
  static void stop() throws Exception {
    if (kafka != null) kafka.stop();
    journal.close();
  }

  /** {@code rounds} desired patches per device, 16 at a time. */
  static void write(List<String> ids, int fromRound, int rounds) throws Exception {
    assertEquals((long) ids.size() * rounds, journal.patchDesired(ids, fromRound, rounds, 16, Duration.ofSeconds(300)));
  }

  @Test
  void aReadCommittedConsumerSeesEveryChangeOnceInPerDeviceOrderAcrossPublisherAndBrokerRestarts() throws Exception {
    String run = UUID.randomUUID().toString().substring(0, 8);
    String prefix = "it-" + run + ".";
    ChangeFeed feed = new ChangeFeed(system, "it.twinhub");
    // The node's configuration: tag reads and the live path (whichever brings an event first publishes it).
    var settings = KafkaFeedPublisher.Settings.perSource("it-" + run, kafka.bootstrapServers(), prefix, feed.latest())
        .withLiveFeed(true);
    List<String> ids = new ArrayList<>();
    for (int d = 0; d < 20; d++) ids.add("kafka-" + run + "-" + d);
    journal.createDevices(ids, 8);

    // Publisher 1 runs while the first rounds are written, and is stopped mid-stream.
    KafkaFeedPublisher first = new KafkaFeedPublisher(system, "it.twinhub", READ_JOURNAL, settings);
    Pair<UniqueKillSwitch, CompletionStage<akka.Done>> p1 = first.run();
    write(ids, 0, 10);
    awaitTrue(() -> first.published() > 0, "publisher 1 published something");
    p1.first().shutdown();
    p1.second().toCompletableFuture().get(60, TimeUnit.SECONDS);
    write(ids, 10, 10); // nobody publishes these now

    // Publisher 2 (same name) resumes from the offset committed with publisher 1's last batch.
    KafkaFeedPublisher second = new KafkaFeedPublisher(system, "it.twinhub", READ_JOURNAL, settings);
    Pair<UniqueKillSwitch, CompletionStage<akka.Done>> p2 = second.run();
    write(ids, 20, 5);
    kafka.kill(); // kill -9 of the broker while the publisher runs and writes go on
    write(ids, 25, 5);
    kafka.start();
    write(ids, 30, 10);

    int expected = ids.size() * 40;
    Map<String, Long> lastVersion = new HashMap<>();
    Set<String> seen = new HashSet<>();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
        ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
        ConsumerConfig.GROUP_ID_CONFIG, "it-" + run,
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(), new StringDeserializer())) {
      consumer.subscribe(List.of(prefix + "twinChangeEvents"));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
      long quietUntil = Long.MAX_VALUE;
      while (System.nanoTime() < Math.min(deadline, quietUntil)) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
          String twinId = header(r, "twinhub-twin-id");
          if (!twinId.startsWith("kafka-" + run)) continue;
          long version = Long.parseLong(header(r, "twinhub-version"));
          assertEquals(twinId, r.key(), "keyed by device id");
          assertEquals("twinChangeNotification", header(r, "iothub-message-schema"));
          assertEquals("twinChangeEvents", header(r, "$iothub-message-source"));
          assertTrue(seen.add(twinId + "@" + version), "published twice: " + twinId + "@" + version);
          Long before = lastVersion.put(twinId, version);
          assertTrue(before == null || before < version, "per-device order: " + before + " then " + version);
          assertEquals(version, JSON.readTree(r.value()).path("version").asLong(), "the body is the change notification");
        }
        // Once everything arrived, keep reading a little: a duplicate would show up now.
        if (seen.size() == expected && quietUntil == Long.MAX_VALUE) quietUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      }
    }
    p2.first().shutdown();
    p2.second().toCompletableFuture().get(60, TimeUnit.SECONDS);
    assertEquals(expected, seen.size(), "every change of " + ids.size() + " devices x 40 patches");
    assertTrue(second.published() > 0, "publisher 2 resumed where publisher 1 stopped");
    // Whether the broker kill failed a transaction (restart) or the producer rode it out depends on timing: reported only.
    System.out.println("KafkaFeedPublisherIT: publisher 1 published " + first.published() + " (" + first.viaLive()
        + " by the live path), publisher 2 " + second.published() + " (" + second.viaLive() + " by the live path) in "
        + second.incarnations() + " incarnation(s)");
    for (String id : ids) assertEquals(41L, lastVersion.get(id), "every version of " + id);
  }

  /**
   * A tag row that becomes visible only after the publisher has passed its time (a slow tag write,
   * a writer node's clock behind, a node killed between the journal and the tag write), made
   * deterministic by moving real tag rows back in time in Cassandra's {@code tag_views}:
   * <ol>
   *   <li>behind a stopped publisher's committed position, within restart-rewind: the next
   *       publisher publishes it (from the rewound tag read), and nothing of the rewound window
   *       twice;</li>
   *   <li>behind a running publisher's position: published once (the journal's back-track finds
   *       it; the marks keep a later restart from publishing it again);</li>
   *   <li>behind a stopped publisher, older than restart-rewind, with a later event of the same
   *       twin visible: the later event shows the gap, the missing one is read from the twin's own
   *       journal and published first.</li>
   * </ol>
   * A read_committed consumer must see every event of every twin exactly once, in order.
   */
  @Test
  void aTagRowVisibleOnlyAfterThePublisherPassedItsTimeIsPublishedExactlyOnceAlsoAcrossRestarts() throws Exception {
    String run = UUID.randomUUID().toString().substring(0, 8);
    String prefix = "late-" + run + ".";
    warmUp("late-" + run + "-warm-up");
    List<String> ids = new ArrayList<>();
    for (int d = 0; d < 4; d++) ids.add("late-" + run + "-" + d);
    journal.createDevices(ids, 4);
    int slot = io.twinhub.twin.entity.TwinTags.ALL.indexOf(io.twinhub.twin.entity.TwinTags.forDevice(ids.get(0)));
    String x = sameTag("late-" + run + "-x", slot);
    String y = sameTag("late-" + run + "-y", slot);
    ChangeFeed feed = new ChangeFeed(system, "it.twinhub");
    // A rewind shorter than the node's 10 s: the same code path, and the third part waits it out once.
    var settings = KafkaFeedPublisher.Settings.perSource("late-" + run, kafka.bootstrapServers(), prefix, feed.latest())
        .withRestartRewind(Duration.ofSeconds(3));
    var session = akka.persistence.query.PersistenceQuery.get(system.classicSystem())
        .getReadJournalFor(akka.persistence.cassandra.query.javadsl.CassandraReadJournal.class, READ_JOURNAL).session();

    // Publisher 1 publishes 4 rounds of patches; x's rows (written while nobody publishes) are then
    // moved to just before the newest row publisher 1 read in that tag: behind its committed position,
    // yet after the position it started at (its floor, "latest" when the settings were made).
    KafkaFeedPublisher first = new KafkaFeedPublisher(system, "it.twinhub", READ_JOURNAL, settings);
    var p1 = first.run();
    write(ids, 0, 4);
    awaitTrue(() -> first.published() >= 16, "publisher 1 published the 16 patches");
    stop(p1);
    long newest = newestTagRow(session, slot, "Device|late-" + run + "-");
    long started = com.datastax.oss.driver.api.core.uuid.Uuids.unixTimestamp(settings.startAt().offset(slot).orElseThrow());
    journal.createDevices(List.of(x), 1);
    write(List.of(x), 0, 1);
    assertEquals(2, moveTagRows(session, slot, "Device|" + x, null, 1, 2, behindButAfter(newest, started)), "x's identity and patch");

    // Publisher 2 rewinds from publisher 1's position: x's two events, once; the rewound rounds not again.
    KafkaFeedPublisher second = new KafkaFeedPublisher(system, "it.twinhub", READ_JOURNAL, settings);
    var p2 = second.run();
    Consumed seen = new Consumed(prefix, run);
    seen.awaitAll(Map.of(x, 2L), Duration.ofSeconds(120));
    assertTrue(second.skipped() > 0, "publisher 2 re-read the rewound window and skipped what publisher 1 published");

    // While publisher 2 runs: a newer row in the tag (more than restart-rewind after x's rows, for
    // the third part), then rows of y (copies of x's) behind it.
    while (System.currentTimeMillis() < newest + settings.restartRewind().toMillis() + 1000) Thread.sleep(100);
    write(ids.subList(0, 1), 4, 1);
    seen.awaitAll(Map.of(ids.get(0), 6L), Duration.ofSeconds(120));
    assertEquals(2, moveTagRows(session, slot, "Device|" + x, "Device|" + y, 1, 2, System.currentTimeMillis() - 1500), "y's rows");
    seen.awaitAll(Map.of(y, 2L), Duration.ofSeconds(120));
    stop(p2);

    // x's next event, moved to just after x's earlier ones: older than publisher 2's position
    // minus restart-rewind; then one more of x that stays where it is.
    write(List.of(x), 1, 1);
    assertEquals(1, moveTagRows(session, slot, "Device|" + x, null, 3, 1, newest + 1), "x's 3rd event");
    write(List.of(x), 2, 1);
    KafkaFeedPublisher third = new KafkaFeedPublisher(system, "it.twinhub", READ_JOURNAL, settings);
    var p3 = third.run();
    seen.awaitAll(Map.of(x, 4L), Duration.ofSeconds(120));
    assertTrue(third.filled() >= 1, "x's 3rd event was read from its journal");
    seen.quiet(Duration.ofSeconds(5)); // a duplicate would show up now
    stop(p3);

    Map<String, Long> expected = new HashMap<>();
    for (String id : ids) expected.put(id, 4L + 1); // identity + 4 rounds (the lifecycle event precedes the publisher: not read)
    expected.put(ids.get(0), 6L);
    expected.put(x, 4L);
    expected.put(y, 2L);
    assertEquals(List.of(), seen.duplicates, "published twice");
    assertEquals(List.of(), seen.outOfOrder, "per-twin order");
    for (var e : expected.entrySet()) {
      long from = ids.contains(e.getKey()) ? 2 : 1;
      List<Long> all = new ArrayList<>();
      for (long n = from; n <= e.getValue(); n++) all.add(n);
      assertEquals(all, seen.sequenceNrs.get(e.getKey()).stream().sorted().toList(), "every event of " + e.getKey() + " once");
    }
    System.out.println("KafkaFeedPublisherIT (late rows): publisher 2 skipped " + second.skipped() + ", publisher 3 skipped "
        + third.skipped() + " and filled " + third.filled());
  }

  /**
   * The live path alone: publisher 2 reads the tags with every row held back by an hour, so only
   * the events the twin entities tell right after the journal acknowledged them
   * ({@code TwinEventFeed}) can reach Kafka. The events written while no publisher ran are a gap
   * on the live path (each twin's next live event is 2 beyond its committed mark): they are read
   * from the twin's journal and published first. A read_committed consumer sees every change once,
   * in order per twin.
   */
  @Test
  void withTheTagReadHeldBackTheLivePathPublishesEveryChangeOnceInOrderAndFillsItsGapsFromTheJournal() throws Exception {
    String run = UUID.randomUUID().toString().substring(0, 8);
    String prefix = "live-" + run + ".";
    warmUp("live-" + run + "-warm-up");
    List<String> ids = new ArrayList<>();
    for (int d = 0; d < 4; d++) ids.add("live-" + run + "-" + d);
    journal.createDevices(ids, 4);
    ChangeFeed feed = new ChangeFeed(system, "it.twinhub");
    var settings = KafkaFeedPublisher.Settings.perSource("live-" + run, kafka.bootstrapServers(), prefix, feed.latest())
        .withLiveFeed(true);
    Consumed seen = new Consumed(prefix, run);
    io.twinhub.twin.entity.TwinEventFeed live = io.twinhub.twin.entity.TwinEventFeed.get(system);

    KafkaFeedPublisher first = new KafkaFeedPublisher(system, "it.twinhub", READ_JOURNAL, settings);
    var p1 = first.run();
    awaitTrue(() -> live.subscriberCount() == 1, "publisher 1 listed as a live subscriber");
    write(ids, 0, 2); // sequence numbers 2, 3 (1: the identity, before the publisher's start)
    seen.awaitAll(marks(ids, 3), Duration.ofSeconds(120));
    stop(p1);
    awaitTrue(() -> live.subscriberCount() == 0, "publisher 1 no longer listed");
    write(ids, 2, 2); // 4, 5: nobody publishes these now, nor tells them to anybody

    KafkaFeedPublisher second = new KafkaFeedPublisher(system, "it.twinhub", "kafka-it-held-tags.query", settings);
    var p2 = second.run();
    awaitTrue(() -> live.subscriberCount() == 1, "publisher 2 listed as a live subscriber");
    write(ids, 4, 3); // 6, 7, 8, told live: 6 shows the gap 4..5
    seen.awaitAll(marks(ids, 8), Duration.ofSeconds(120));
    seen.quiet(Duration.ofSeconds(5)); // a duplicate would show up now
    stop(p2);

    assertEquals(List.of(), seen.duplicates, "published twice");
    assertEquals(List.of(), seen.outOfOrder, "per-twin order");
    for (String id : ids) assertEquals(List.of(2L, 3L, 4L, 5L, 6L, 7L, 8L), seen.sequenceNrs.get(id), "every change of " + id + " once, in order");
    assertEquals(ids.size() * 5L, second.viaLive(), "publisher 2 published everything by the live path");
    assertEquals(ids.size() * 2L, second.filled(), "the gaps 4..5, from the journal");
    System.out.println("KafkaFeedPublisherIT (live path): publisher 1 published " + first.published() + " (" + first.viaLive()
        + " live), publisher 2 " + second.published() + " (" + second.viaLive() + " live, " + second.filled() + " filled)");
  }

  static Map<String, Long> marks(List<String> ids, long upTo) {
    Map<String, Long> m = new HashMap<>();
    for (String id : ids) m.put(id, upTo);
    return m;
  }

  /** Until a device can be created and patched: a fresh JVM's first journal writes time out on a loaded box. */
  static void warmUp(String id) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
    while (true) {
      try {
        journal.createDevices(List.of(id), 1);
        if (journal.patchDesired(List.of(id), 0, 1, 1, Duration.ofSeconds(30)) == 1) return;
      } catch (Exception e) {
        if (System.nanoTime() > deadline) throw e;
      }
      if (System.nanoTime() > deadline) fail("the journal did not take writes within 180 s");
      Thread.sleep(1000);
    }
  }

  /**
   * Where to put 2 rows (at the time returned and 1 ms later) strictly behind a publisher's
   * committed position {@code newest} and strictly after the position it started at,
   * {@code started}: 100 ms behind, or half the way back to the start when the publisher's writes
   * took less than 200 ms (a quick box). A restarted publisher rewinds from its committed position
   * but never before its start (its floor: nothing earlier is its to publish), so a row put before
   * the start is left out by design; with a fixed 100 ms this test failed whenever the 16 writes
   * after the start took less than 100 ms.
   */
  static long behindButAfter(long newest, long started) {
    assertTrue(newest - started >= 4, "publisher 1's rows lie at least 4 ms after its start: " + started + ", " + newest);
    return newest - Math.min(100, (newest - started) / 2);
  }

  /** A device id starting with {@code base} whose twin tag is slot {@code slot}. */
  static String sameTag(String base, int slot) {
    for (int i = 0; ; i++) {
      String id = base + i;
      if (io.twinhub.twin.entity.TwinTags.ALL.indexOf(io.twinhub.twin.entity.TwinTags.forDevice(id)) == slot) return id;
    }
  }

  /** The time of the newest row in tag slot {@code slot} of a persistence id starting with {@code pidPrefix}. */
  static long newestTagRow(akka.stream.alpakka.cassandra.javadsl.CassandraSession session, int slot, String pidPrefix) throws Exception {
    long day = 86_400_000L;
    long newest = 0;
    for (var row : session.selectAll("SELECT persistence_id, timestamp FROM twinhub_streams_it.tag_views WHERE tag_name = ? AND timebucket = ?",
        io.twinhub.twin.entity.TwinTags.ALL.get(slot), System.currentTimeMillis() / day * day).toCompletableFuture().get(30, TimeUnit.SECONDS)) {
      if (row.getString(0).startsWith(pidPrefix)) newest = Math.max(newest, com.datastax.oss.driver.api.core.uuid.Uuids.unixTimestamp(row.getUuid(1)));
    }
    assertTrue(newest > 0, "rows of " + pidPrefix);
    return newest;
  }

  static void stop(Pair<UniqueKillSwitch, CompletionStage<akka.Done>> p) throws Exception {
    p.first().shutdown();
    p.second().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  /**
   * Moves the tag rows of {@code pid} from tag slot {@code slot} with tag sequence number
   * {@code >= fromTagSeq} to {@code atMillis} (+1 ms each), under {@code asPid} when set (a copy,
   * the original stays), once {@code expected} of them are there (the journal writes tag rows
   * asynchronously, after the event); how many.
   */
  static int moveTagRows(akka.stream.alpakka.cassandra.javadsl.CassandraSession session, int slot, String pid, String asPid,
                         long fromTagSeq, int expected, long atMillis) throws Exception {
    String table = "twinhub_streams_it.tag_views";
    String tag = io.twinhub.twin.entity.TwinTags.ALL.get(slot);
    long day = 86_400_000L;
    long bucket = System.currentTimeMillis() / day * day;
    List<com.fasterxml.jackson.databind.node.ObjectNode> mine = new ArrayList<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (mine.size() < expected && System.nanoTime() < deadline) {
      mine.clear();
      for (var row : session.selectAll("SELECT JSON * FROM " + table + " WHERE tag_name = ? AND timebucket = ?", tag, bucket)
          .toCompletableFuture().get(30, TimeUnit.SECONDS)) {
        var json = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(row.getString(0));
        if (json.path("persistence_id").asText().equals(pid) && json.path("tag_pid_sequence_nr").asLong() >= fromTagSeq) mine.add(json);
      }
      if (mine.size() < expected) Thread.sleep(100);
    }
    mine.sort(java.util.Comparator.comparingLong(j -> j.path("tag_pid_sequence_nr").asLong()));
    int i = 0;
    for (var json : mine) {
      if (asPid == null) {
        session.executeWrite("DELETE FROM " + table + " WHERE tag_name = ? AND timebucket = ? AND timestamp = ? AND persistence_id = ? AND tag_pid_sequence_nr = ?",
            tag, json.path("timebucket").asLong(), UUID.fromString(json.path("timestamp").asText()), pid,
            json.path("tag_pid_sequence_nr").asLong()).toCompletableFuture().get(30, TimeUnit.SECONDS);
      } else {
        json.put("persistence_id", asPid);
      }
      long at = atMillis + i++;
      json.put("timestamp", com.datastax.oss.driver.api.core.uuid.Uuids.startOf(at).toString());
      json.put("timebucket", at / day * day);
      session.executeWrite("INSERT INTO " + table + " JSON ?", JSON.writeValueAsString(json)).toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    return mine.size();
  }

  /** What a read_committed consumer of the run's twin-change and lifecycle topics has seen, per twin (by sequence number). */
  static final class Consumed {
    final Map<String, List<Long>> sequenceNrs = new HashMap<>();
    final List<String> duplicates = new ArrayList<>();
    final List<String> outOfOrder = new ArrayList<>();
    private final KafkaConsumer<String, String> consumer;
    private final String run;

    Consumed(String prefix, String run) {
      this.run = run;
      this.consumer = new KafkaConsumer<>(Map.of(
          ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
          ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
          ConsumerConfig.GROUP_ID_CONFIG, "late-" + run,
          ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
          ConsumerConfig.METADATA_MAX_AGE_CONFIG, "1000"), new StringDeserializer(), new StringDeserializer());
      consumer.subscribe(java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(prefix) + "(twinChangeEvents|deviceLifecycleEvents)"));
    }

    private final Set<String> atOffset = new HashSet<>();
    private final Map<String, Long> last = new HashMap<>();

    private void poll() {
      for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
        if (!atOffset.add(r.topic() + "/" + r.partition() + "@" + r.offset())) continue;
        String twin = header(r, "twinhub-twin-id");
        long n = Long.parseLong(header(r, "twinhub-sequence-nr"));
        List<Long> seen = sequenceNrs.computeIfAbsent(twin, k -> new ArrayList<>());
        if (seen.contains(n)) duplicates.add(twin + ":" + n);
        seen.add(n);
        // Order holds per topic (a twin's lifecycle and change events are two topics).
        Long before = last.put(r.topic() + "/" + twin, n);
        if (before != null && before > n) outOfOrder.add(r.topic() + " " + twin + ":" + before + " then " + n);
      }
    }

    /** Until each twin's highest sequence number seen reaches the given one. */
    void awaitAll(Map<String, Long> upTo, Duration timeout) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!upTo.entrySet().stream().allMatch(e -> sequenceNrs.getOrDefault(e.getKey(), List.of()).contains(e.getValue()))) {
        if (System.nanoTime() > deadline) fail("not within " + timeout + ": " + upTo + "; seen " + sequenceNrs);
        poll();
      }
    }

    void quiet(Duration d) {
      long until = System.nanoTime() + d.toNanos();
      while (System.nanoTime() < until) poll();
      consumer.close();
    }
  }

  static String header(ConsumerRecord<String, String> r, String name) {
    var h = r.headers().lastHeader(name);
    return h == null ? "" : new String(h.value(), StandardCharsets.UTF_8);
  }

  static void awaitTrue(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) fail("not within 120 s: " + what);
      Thread.sleep(100);
    }
  }
}
