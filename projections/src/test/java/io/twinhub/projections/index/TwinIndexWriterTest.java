package io.twinhub.projections.index;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.persistence.query.EventEnvelope;
import akka.persistence.query.Offset;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import io.twinhub.query.QueryEngine;
import io.twinhub.query.ReadYourWrites;
import io.twinhub.query.QuerySettings;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.query.index.TwinKey;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.entity.TwinEvent;
import io.twinhub.twin.entity.TwinRecord;
import io.twinhub.twin.entity.TwinTags;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The writer's fold against the entity's own ({@link TwinRecord#apply}), without a journal:
 * every event kind, duplicates, deletion and re-creation, connection events that leave the
 * version as it is, keys never stored, offsets committed with the documents.
 */
class TwinIndexWriterTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Instant T0 = Instant.parse("2026-11-20T10:00:00Z");
  static ActorTestKit kit;
  TwinIndex index;
  TwinIndexWriter writer;
  long time;

  @BeforeAll
  static void system() {
    kit = ActorTestKit.create(ConfigFactory.parseString(
        "akka.actor.serialization-bindings { \"io.twinhub.twin.TwinhubSerializable\" = jackson-json }\n"
            + "akka.actor.allow-java-serialization = off").withFallback(ConfigFactory.load()));
  }

  @AfterAll
  static void down() {
    kit.shutdownTestKit();
  }

  @BeforeEach
  void open() {
    index = TwinIndex.inMemory();
    writer = new TwinIndexWriter(index, new TwinStateCodec(kit.system()), null,
        IndexProjectionSettings.from(kit.system().settings().config()), Clock.systemUTC());
  }

  @AfterEach
  void close() {
    writer.close();
    index.close();
  }

  static Identity identity(String deviceId, String moduleId) {
    IdentitySpec spec = new IdentitySpec(DeviceStatus.ENABLED, null,
        Authentication.sas("c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=", "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MzQ="), false);
    return Identity.create(deviceId, moduleId, spec, "gen").optionalValue().orElseThrow();
  }

  static JsonDoc doc(String json) {
    try {
      return JsonDoc.of((ObjectNode) JSON.readTree(json));
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
  }

  /** The events of one twin, with the record the entity folds from them. */
  final class Journal {
    final String pid;
    final List<EventEnvelope> envelopes = new ArrayList<>();
    TwinRecord record = TwinRecord.EMPTY;

    Journal(String pid) {
      this.pid = pid;
    }

    Journal add(TwinEvent e) {
      record = record.apply(e);
      time += 1000;
      envelopes.add(EventEnvelope.apply(Offset.timeBasedUUID(timeUuid(time)), pid, envelopes.size() + 1, e, time));
      return this;
    }

    TwinEvent.Versions next(int dDesired, int dReported) {
      var s = record.twin().state();
      return new TwinEvent.Versions(s.version() + 1, s.desired().version() + dDesired, s.reported().version() + dReported);
    }
  }

  static UUID timeUuid(long millis) {
    long ts = (millis * 10_000) + 0x01B21DD213814000L;
    long msb = (ts << 32) | ((ts & 0xFFFF00000000L) >>> 16) | 0x1000L | ((ts >>> 48) & 0x0FFF);
    return new UUID(msb, 0x8000000000000000L | (millis & 0xFFFF));
  }

  // A bound against a hang, not a timing: the first apply of a JVM loads Lucene, Jackson and the
  // serializers, which took over 10 s at load 60–110 on this 2-core box (seen twice).
  void apply(int tag, List<EventEnvelope> events) throws Exception {
    writer.apply(tag, events).toCompletableFuture().get(60, TimeUnit.SECONDS);
    writer.flush().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  ObjectNode indexed(String sql) {
    QueryEngine engine = new QueryEngine(index, QuerySettings.DEFAULT, ForkJoinPool.commonPool());
    var rows = engine.query(sql, 10, null).json();
    engine.close();
    return rows.isEmpty() ? null : rows.get(0);
  }

  @Test
  void everyEventKindFoldsLikeTheEntity() throws Exception {
    Journal dev = new Journal("Device|pump-1");
    dev.add(new TwinEvent.DeviceCreated(identity("pump-1", null), new TwinEvent.Versions(1, 1, 1), T0));
    dev.add(new TwinEvent.TagsPatched(doc("{\"site\":\"north\",\"floor\":2}"), dev.next(0, 0), T0.plusSeconds(1)));
    dev.add(new TwinEvent.DesiredPatched(doc("{\"rate\":5}"), dev.next(1, 0), T0.plusSeconds(2)));
    dev.add(new TwinEvent.ReportedPatched(doc("{\"battery\":80,\"fw\":{\"v\":\"1.0\"}}"), dev.next(0, 1), T0.plusSeconds(3)));
    dev.add(new TwinEvent.ConnectionStateChanged(ConnectionState.CONNECTED, T0.plusSeconds(4)));
    dev.add(new TwinEvent.TwinPatched(doc("{\"floor\":null}"), doc("{\"rate\":6}"), dev.next(1, 0), T0.plusSeconds(5)));
    dev.add(new TwinEvent.ModuleAdded("sensor", T0.plusSeconds(6)));
    dev.add(new TwinEvent.DesiredReplaced(doc("{\"mode\":\"eco\"}"), dev.next(1, 0), T0.plusSeconds(7)));
    dev.add(new TwinEvent.TagsReplaced(doc("{\"site\":\"south\"}"), dev.next(0, 0), T0.plusSeconds(8)));
    dev.add(new TwinEvent.TwinReplaced(doc("{\"site\":\"west\"}"), doc("{\"mode\":\"max\"}"), dev.next(1, 0), T0.plusSeconds(9)));
    Journal mod = new Journal("Module|pump-1/sensor");
    mod.add(new TwinEvent.ModuleCreated(identity("pump-1", "sensor"), new TwinEvent.Versions(1, 1, 1), T0));
    mod.add(new TwinEvent.ReportedPatched(doc("{\"t\":21.5}"), mod.next(0, 1), T0.plusSeconds(1)));

    apply(TwinTags.ALL.indexOf(TwinTags.forDevice("pump-1")), concat(dev.envelopes, mod.envelopes));

    assertEquals(TwinJson.serviceView(dev.record.twin()), indexed("SELECT * FROM devices WHERE deviceId = 'pump-1'"));
    assertEquals(TwinJson.serviceView(mod.record.twin()), indexed("SELECT * FROM devices.modules WHERE moduleId = 'sensor'"));
    assertEquals("Connected", indexed("SELECT connectionState FROM devices").get("connectionState").asText());
    assertEquals(dev.envelopes.size(), index.lookup(TwinKey.device("pump-1")).orElseThrow().seq());
    assertEquals(dev.envelopes.size() + mod.envelopes.size(), writer.applied.get());
  }

  @Test
  void aTwinsEventsBetweenTwoRefreshesWriteOneDocumentOfItsLastState() throws Exception {
    // A first connect as a device makes it: Connected, then its first reported patch, within ms.
    Journal dev = new Journal("Device|c1");
    dev.add(new TwinEvent.DeviceCreated(identity("c1", null), new TwinEvent.Versions(1, 1, 1), T0));
    dev.add(new TwinEvent.ConnectionStateChanged(ConnectionState.CONNECTED, T0.plusSeconds(1)));
    dev.add(new TwinEvent.ReportedPatched(doc("{\"fw\":\"1.0\"}"), dev.next(0, 1), T0.plusSeconds(2)));
    Journal other = new Journal("Device|c2");
    other.add(new TwinEvent.DeviceCreated(identity("c2", null), new TwinEvent.Versions(1, 1, 1), T0));
    apply(0, concat(dev.envelopes, other.envelopes));

    // One document per twin, none replaced: only the last state was indexed.
    assertEquals(2, writer.documentsWritten.get());
    TwinIndex.Layout layout = index.layout();
    assertEquals(2, layout.maxDoc());
    assertEquals(0, layout.deletedDocs());
    assertEquals(4, writer.applied.get());
    assertEquals(TwinJson.serviceView(dev.record.twin()), indexed("SELECT * FROM devices WHERE deviceId = 'c1'"));
    assertEquals("c1", indexed("SELECT deviceId FROM devices WHERE connectionState = 'Connected'").get("deviceId").asText());
    assertEquals(dev.envelopes.size(), index.lookup(TwinKey.device("c1")).orElseThrow().seq());

    // The next event folds on the unwritten state, and a re-read of the old ones changes nothing.
    dev.add(new TwinEvent.ConnectionStateChanged(ConnectionState.DISCONNECTED, T0.plusSeconds(3)));
    apply(0, dev.envelopes);
    assertEquals(3, writer.duplicates.get());
    assertEquals(3, writer.documentsWritten.get());
    assertEquals(TwinJson.serviceView(dev.record.twin()), indexed("SELECT * FROM devices WHERE deviceId = 'c1'"));
    assertNull(indexed("SELECT deviceId FROM devices WHERE connectionState = 'Connected'"));
  }

  /** A writer whose own refreshes and commits never come (1 h): only a query's refresh shows what it wrote. */
  private TwinIndexWriter writerWithoutOwnRefreshesOrCommits() throws Exception {
    return writerWith("""
        twinhub.projections.index.refresh-interval = 1h
        twinhub.projections.index.min-refresh-interval = 1h
        twinhub.projections.index.commit-interval = 1h
        """);
  }

  /** A writer on {@link #index} with {@code config} over the test kit's settings. */
  private TwinIndexWriter writerWith(String config) throws Exception {
    return new TwinIndexWriter(index, new TwinStateCodec(kit.system()), null, IndexProjectionSettings.from(
        ConfigFactory.parseString(config).withFallback(kit.system().settings().config())), Clock.systemUTC());
  }

  @Test
  void aQueryRefreshSeesEveryAppliedBatchWithoutWaitingForTheWritersRefresh() throws Exception {
    writer.close();
    writer = writerWithoutOwnRefreshesOrCommits();
    Journal dev = new Journal("Device|c4");
    dev.add(new TwinEvent.DeviceCreated(identity("c4", null), new TwinEvent.Versions(1, 1, 1), T0));
    apply(0, dev.envelopes); // the writer's first refresh
    dev.add(new TwinEvent.ConnectionStateChanged(ConnectionState.CONNECTED, T0.plusSeconds(1)));
    dev.add(new TwinEvent.ReportedPatched(doc("{\"fw\":\"2.0\"}"), dev.next(0, 1), T0.plusSeconds(2)));
    writer.apply(0, dev.envelopes).toCompletableFuture().get(60, TimeUnit.SECONDS);
    // What a query's refresh-on-query does (TwinIndex.refreshIfStale), on its own thread.
    index.refresh();
    assertEquals(TwinJson.serviceView(dev.record.twin()), indexed("SELECT * FROM devices WHERE connectionState = 'Connected'"));
    assertEquals(2, writer.documentsWritten.get());
  }

  @Test
  void withoutCoalescingEachEventWritesADocument() throws Exception {
    writer.close();
    writer = new TwinIndexWriter(index, new TwinStateCodec(kit.system()), null, IndexProjectionSettings.from(
        ConfigFactory.parseString("twinhub.projections.index.coalesce-writes = off")
            .withFallback(kit.system().settings().config())), Clock.systemUTC());
    Journal dev = new Journal("Device|c3");
    dev.add(new TwinEvent.DeviceCreated(identity("c3", null), new TwinEvent.Versions(1, 1, 1), T0));
    dev.add(new TwinEvent.ConnectionStateChanged(ConnectionState.CONNECTED, T0.plusSeconds(1)));
    apply(0, dev.envelopes);
    assertEquals(2, writer.documentsWritten.get());
    assertEquals(TwinJson.serviceView(dev.record.twin()), indexed("SELECT * FROM devices"));
  }

  @Test
  void eventsAtOrBelowTheStoredSequenceNumberAreSkipped() throws Exception {
    Journal dev = new Journal("Device|d1");
    dev.add(new TwinEvent.DeviceCreated(identity("d1", null), new TwinEvent.Versions(1, 1, 1), T0));
    dev.add(new TwinEvent.ReportedPatched(doc("{\"n\":1}"), dev.next(0, 1), T0.plusSeconds(1)));
    dev.add(new TwinEvent.ReportedPatched(doc("{\"n\":2}"), dev.next(0, 1), T0.plusSeconds(2)));
    apply(0, dev.envelopes);
    // A re-read (restart rewind) delivers all three again, then a new one.
    dev.add(new TwinEvent.ReportedPatched(doc("{\"n\":3}"), dev.next(0, 1), T0.plusSeconds(3)));
    apply(0, dev.envelopes);
    assertEquals(3, writer.duplicates.get());
    assertEquals(4, writer.applied.get());
    assertEquals(3, indexed("SELECT properties.reported.n AS n FROM devices").get("n").asInt());
    assertEquals(TwinJson.serviceView(dev.record.twin()), indexed("SELECT * FROM devices"));
  }

  @Test
  void deletedTwinsDisappearAndReappearWithContinuedVersions() throws Exception {
    Journal dev = new Journal("Device|d2");
    dev.add(new TwinEvent.DeviceCreated(identity("d2", null), new TwinEvent.Versions(1, 1, 1), T0));
    dev.add(new TwinEvent.TagsPatched(doc("{\"a\":1}"), dev.next(0, 0), T0.plusSeconds(1)));
    dev.add(new TwinEvent.DeviceDeleted(List.of(), T0.plusSeconds(2)));
    apply(0, dev.envelopes);
    assertNull(indexed("SELECT * FROM devices"));
    try (QueryEngine engine = new QueryEngine(index, QuerySettings.DEFAULT, ForkJoinPool.commonPool())) {
      assertEquals("[{\"n\":0}]", new String(engine.query("SELECT COUNT() AS n FROM devices", 10, null).body(), StandardCharsets.UTF_8));
    }
    assertTrue(index.lookup(TwinKey.device("d2")).orElseThrow().deleted());

    dev.add(new TwinEvent.DeviceCreated(identity("d2", null).continuing(dev.record.twin().identity()),
        dev.record.versionsOnCreate(), T0.plusSeconds(3)));
    apply(0, dev.envelopes);
    ObjectNode again = indexed("SELECT * FROM devices");
    assertEquals(TwinJson.serviceView(dev.record.twin()), again);
    assertEquals(3, again.get("version").asInt(), "versions continue after a re-creation");
    assertTrue(again.get("tags").isEmpty());
  }

  @Test
  void symmetricKeysNeverReachTheIndex() throws Exception {
    Journal dev = new Journal("Device|d3");
    dev.add(new TwinEvent.DeviceCreated(identity("d3", null), new TwinEvent.Versions(1, 1, 1), T0));
    apply(0, dev.envelopes);
    byte[] state = index.lookup(TwinKey.device("d3")).orElseThrow().state();
    String text = new String(state, StandardCharsets.ISO_8859_1);
    assertFalse(text.contains("c2VjcmV0c2VjcmV0"), "stored state holds no key");
    assertTrue(text.contains("d3"));
  }

  @Test
  void offsetsAreCommittedWithTheDocuments() throws Exception {
    Journal dev = new Journal("Device|d4");
    dev.add(new TwinEvent.DeviceCreated(identity("d4", null), new TwinEvent.Versions(1, 1, 1), T0));
    dev.add(new TwinEvent.ReportedPatched(doc("{\"n\":1}"), dev.next(0, 1), T0.plusSeconds(1)));
    apply(5, dev.envelopes);
    UUID last = ((akka.persistence.query.TimeBasedUUID) dev.envelopes.get(1).offset()).value();
    assertEquals(last, TwinIndexWriter.committedOffsets(index).get(5));
    assertEquals(last, writer.offset(5));
    assertNull(writer.offset(4));
    // Re-read events never move the offset back.
    apply(5, dev.envelopes.subList(0, 1));
    assertEquals(last, writer.offset(5));
  }

  @Test
  void persistenceIdsMapToTwins() {
    assertEquals(TwinKey.device("a|b"), TwinIndexWriter.keyOf("Device|a|b"));
    assertEquals(TwinKey.module("dev", "mod/x"), TwinIndexWriter.keyOf("Module|dev/mod/x"));
    assertNull(TwinIndexWriter.keyOf("Other|x"));
    assertNull(TwinIndexWriter.keyOf("nobar"));
  }

  @Test
  void visibleLagIsRecordedOnRefresh() throws Exception {
    Journal dev = new Journal("Device|d5");
    time = System.currentTimeMillis() - 250;
    dev.add(new TwinEvent.DeviceCreated(identity("d5", null), new TwinEvent.Versions(1, 1, 1), T0));
    apply(0, dev.envelopes);
    var h = writer.takeVisibleLag();
    assertEquals(1, h.getTotalCount());
    assertTrue(h.getMaxValue() >= 0 && h.getMaxValue() < Duration.ofMinutes(1).toMillis(), "lag " + h.getMaxValue());
  }

  @Test
  void aLiveEventsLagIsSplitIntoStagesAndCountedWhenAQuerysRefreshMakesItVisible() throws Exception {
    writer.close();
    // The writer's own refreshes and commits never run here: only the query's refresh shows the event.
    writer = writerWithoutOwnRefreshesOrCommits();
    Journal first = new Journal("Device|s0");
    first.add(new TwinEvent.DeviceCreated(identity("s0", null), new TwinEvent.Versions(1, 1, 1), T0));
    apply(0, first.envelopes); // the writer's first refresh
    writer.takeVisibleLag();
    writer.stages.toJson(); // starts the interval
    long acknowledged = System.currentTimeMillis() - 40;
    writer.offerLive(new io.twinhub.twin.entity.TwinEventFeed.Journaled("Device|s1", 1, TwinTags.ALL.get(0),
        new TwinEvent.DeviceCreated(identity("s1", null), new TwinEvent.Versions(1, 1, 1), T0), acknowledged, 7, 1));
    // A bound against a hang, not a timing.
    for (int i = 0; i < 6000 && writer.documentsWritten.get() == 0; i++) Thread.sleep(10);
    writer.apply(0, List.of()).toCompletableFuture().get(60, TimeUnit.SECONDS); // the drain has handed its batch over
    assertEquals(0, writer.takeVisibleLag().getTotalCount(), "not visible yet");
    assertTrue(index.refreshIfStale(0)); // what a query does first (refresh-on-query)
    var h = writer.takeVisibleLag();
    assertEquals(1, h.getTotalCount(), "a query's refresh made it visible");
    assertTrue(h.getMaxValue() >= 40, "acknowledged → visible, at least the 40 ms it was old: " + h.getMaxValue());
    ObjectNode stages = writer.stages.toJson();
    for (String stage : List.of("arrive", "queue", "write", "visible", "total", "refreshOnQuery")) {
      assertEquals(1, stages.path(stage).path("count").asLong(), stage + " in " + stages);
    }
    assertTrue(stages.path("arrive").path("p50").asDouble() >= 40, stages.toString());
    assertEquals(0, stages.path("refresh").path("count").asLong(), "the writer did not refresh: " + stages);
    assertEquals(0, writer.stages.toJson().path("total").path("count").asLong(), "per interval");
  }

  @Test
  void aBackgroundCommitNeverStoresOffsetsAheadOfItsDocuments(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    writer.close();
    index.close();
    index = TwinIndex.open(dir);
    writer = writerWith("""
        twinhub.projections.index.commit-in-background = on
        twinhub.projections.index.commit-interval = 1ms
        """);
    java.util.Set<String> committedOn = java.util.concurrent.ConcurrentHashMap.newKeySet();
    LagStages stages = writer.stages;
    index.observe(new TwinIndex.Observer() {
      @Override
      public void committed(long nanos) {
        committedOn.add(Thread.currentThread().getName());
        stages.committed(nanos);
      }
    });
    // Batches keep arriving while commits run beside the writer.
    List<EventEnvelope> all = new ArrayList<>();
    for (int b = 0; b < 40; b++) {
      List<EventEnvelope> batch = new ArrayList<>();
      for (int i = 0; i < 25; i++) {
        String id = "bg" + b + "-" + i;
        batch.add(new Journal("Device|" + id).add(new TwinEvent.DeviceCreated(identity(id, null),
            new TwinEvent.Versions(1, 1, 1), T0)).envelopes.get(0));
      }
      all.addAll(batch);
      writer.apply(3, batch).toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
    // A bound against a hang, not a timing: until a commit holds an offset.
    for (int i = 0; i < 6000 && TwinIndexWriter.committedOffsets(index).get(3) == null; i++) Thread.sleep(10);
    assertEquals(java.util.Set.of("twinhub-index-commit"), committedOn, "commits ran beside the writer");
    // A crash: the index closes without the writer's last commit, and opens as of its last commit.
    index.close();
    writer.close();
    index = TwinIndex.open(dir);
    writer = new TwinIndexWriter(index, new TwinStateCodec(kit.system()), null,
        IndexProjectionSettings.from(kit.system().settings().config()), Clock.systemUTC());
    UUID committed = TwinIndexWriter.committedOffsets(index).get(3);
    assertNotNull(committed);
    int covered = 0;
    for (EventEnvelope e : all) {
      UUID offset = ((akka.persistence.query.TimeBasedUUID) e.offset()).value();
      if (TwinIndexWriter.UUID_ORDER.compare(offset, committed) > 0) continue;
      covered++;
      assertTrue(index.lookup(TwinIndexWriter.keyOf(e.persistenceId())).isPresent(),
          e.persistenceId() + " is at or before the committed offset, so its document must be in the commit");
    }
    assertTrue(covered > 0);
  }

  @Test
  void theWritersRefreshesRunBesideItAndShowWhatItWrote() throws Exception {
    writer.close();
    writer = writerWith("""
        twinhub.projections.index.refresh-in-background = on
        twinhub.projections.index.commit-interval = 1h
        """);
    java.util.Set<String> refreshedOn = java.util.concurrent.ConcurrentHashMap.newKeySet();
    LagStages stages = writer.stages;
    index.observe(new TwinIndex.Observer() {
      @Override
      public void refreshed(long generation, long nanos, boolean onQuery) {
        refreshedOn.add(Thread.currentThread().getName());
        stages.refreshed(generation, nanos, onQuery);
      }
    });
    Journal dev = new Journal("Device|r1");
    dev.add(new TwinEvent.DeviceCreated(identity("r1", null), new TwinEvent.Versions(1, 1, 1), T0));
    dev.add(new TwinEvent.ReportedPatched(doc("{\"fw\":\"3.0\"}"), dev.next(0, 1), T0.plusSeconds(1)));
    writer.apply(0, dev.envelopes).toCompletableFuture().get(60, TimeUnit.SECONDS);
    // A bound against a hang, not a timing: until the writer's refresh has shown both events.
    for (int i = 0; i < 6000 && index.visibleGeneration() < index.writeGeneration(); i++) Thread.sleep(10);
    assertEquals(java.util.Set.of("twinhub-index-refresh"), refreshedOn, "the writer's refreshes ran beside it");
    assertEquals(TwinJson.serviceView(dev.record.twin()), indexed("SELECT * FROM devices WHERE properties.reported.fw = '3.0'"));
    assertEquals(2, writer.takeVisibleLag().getTotalCount(), "both events' lag, recorded by the refresh thread");
  }

  @Test
  void anIdleIndexIsMergedIntoOneSegmentAndStillAnswersTheSame() throws Exception {
    writer.close();
    writer = new TwinIndexWriter(index, new TwinStateCodec(kit.system()), null, IndexProjectionSettings.from(
        ConfigFactory.parseString("""
            twinhub.projections.index.merge-when-idle.after = 200ms
            twinhub.projections.index.merge-when-idle.min-interval = 0s
            """).withFallback(kit.system().settings().config())),
        Clock.systemUTC());
    // Each apply ends with a refresh: one small segment per twin, as the live path leaves them.
    for (int i = 0; i < 5; i++) {
      Journal dev = new Journal("Device|m" + i);
      dev.add(new TwinEvent.DeviceCreated(identity("m" + i, null), new TwinEvent.Versions(1, 1, 1), T0));
      if (i == 0) dev.add(new TwinEvent.TagsPatched(doc("{\"zone\":\"a\"}"), dev.next(0, 0), T0));
      apply(0, dev.envelopes);
    }
    TwinIndex.Layout before = index.layout();
    assertTrue(before.segments() > 1, "several segments before the idle merge: " + before);
    // A bound against a hang, not a timing: the merge runs once the writer has been idle 200 ms
    // (on a loaded box it may also run between two of the applies above, and again after them).
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while ((index.layout().segments() > 1 || writer.idleMerges.get() == 0) && System.nanoTime() < deadline) Thread.sleep(50);
    TwinIndex.Layout after = index.layout();
    assertEquals(1, after.segments(), "one segment after the idle merge: " + after);
    assertEquals(0, after.deletedDocs(), "deleted documents merged away: " + after);
    long merges = writer.idleMerges.get();
    assertTrue(merges >= 1, "idle merges " + merges);
    assertEquals(5, indexed("SELECT COUNT() AS n FROM devices").get("n").asInt());
    assertEquals("a", indexed("SELECT * FROM devices WHERE deviceId = 'm0'").path("tags").path("zone").asText());
    // Idle again without a change: no further merge.
    Thread.sleep(500);
    assertEquals(merges, writer.idleMerges.get(), "idle merges");
  }

  /** A clock the test moves: the writer's idle and interval decisions read it, its ticks run on real time. */
  static final class MovableClock extends Clock {
    final java.util.concurrent.atomic.AtomicLong millis = new java.util.concurrent.atomic.AtomicLong(T0.toEpochMilli());

    @Override public java.time.ZoneId getZone() { return java.time.ZoneOffset.UTC; }
    @Override public Clock withZone(java.time.ZoneId zone) { return this; }
    @Override public Instant instant() { return Instant.ofEpochMilli(millis.get()); }
  }

  private void addTwins(String prefix, int n) throws Exception {
    for (int i = 0; i < n; i++) {
      Journal dev = new Journal("Device|" + prefix + i);
      dev.add(new TwinEvent.DeviceCreated(identity(prefix + i, null), new TwinEvent.Versions(1, 1, 1), T0));
      apply(0, dev.envelopes);
    }
  }

  private void awaitOneSegment(TwinIndexWriter w, long mergesAbove) throws InterruptedException {
    // A bound against a hang, not a timing.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while ((index.layout().segments() > 1 || w.idleMerges.get() <= mergesAbove) && System.nanoTime() < deadline) Thread.sleep(20);
  }

  @Test
  void anIndexWrittenInSparseBurstsIsMergedAtMostOncePerMinInterval() throws Exception {
    writer.close();
    MovableClock clock = new MovableClock();
    writer = new TwinIndexWriter(index, new TwinStateCodec(kit.system()), null, IndexProjectionSettings.from(
        ConfigFactory.parseString("""
            twinhub.projections.index.merge-when-idle.after = 10s
            twinhub.projections.index.merge-when-idle.min-interval = 5m
            """).withFallback(kit.system().settings().config())),
        clock);
    addTwins("b", 3);
    assertTrue(index.layout().segments() > 1, "several segments: " + index.layout());
    clock.millis.addAndGet(11_000);
    awaitOneSegment(writer, 0);
    assertEquals(1, index.layout().segments(), "merged after the first idle period: " + index.layout());
    long merges = writer.idleMerges.get();
    assertEquals(1, merges, "idle merges");

    // A second burst, idle again 11 s later: within 5 min of the merge, so it waits.
    addTwins("c", 2);
    clock.millis.addAndGet(11_000);
    Thread.sleep(300);
    assertEquals(merges, writer.idleMerges.get(), "no second merge within min-interval");
    assertTrue(index.layout().segments() > 1, "the burst's segments stay until then: " + index.layout());

    // Still idle once the interval has passed: deferred, not dropped.
    clock.millis.addAndGet(Duration.ofMinutes(5).toMillis());
    awaitOneSegment(writer, merges);
    assertEquals(merges + 1, writer.idleMerges.get(), "merged once the interval had passed");
    assertEquals(1, index.layout().segments(), "one segment: " + index.layout());
    assertEquals(5, indexed("SELECT COUNT() AS n FROM devices").get("n").asInt());
  }

  @Test
  void aReadYourWritesQueryMakesWritesVisibleWithoutWaitingForTheRefreshInterval() throws Exception {
    writer.close();
    writer = new TwinIndexWriter(index, new TwinStateCodec(kit.system()), null, IndexProjectionSettings.from(
        ConfigFactory.parseString("twinhub.projections.index { refresh-interval = 1h, min-refresh-interval = 1h }").withFallback(kit.system().settings().config())),
        Clock.systemUTC());
    QueryEngine engine = new QueryEngine(index, QuerySettings.DEFAULT, ForkJoinPool.commonPool());
    try {
      // The first write after start is refreshed at once (no refresh yet), the next one waits for the interval.
      Journal first = new Journal("Device|first");
      first.add(new TwinEvent.DeviceCreated(identity("first", null), new TwinEvent.Versions(1, 1, 1), T0));
      apply(0, first.envelopes); // visible once the writer's refresh (beside it) is done
      Journal dev = new Journal("Device|ryw");
      dev.add(new TwinEvent.DeviceCreated(identity("ryw", null), new TwinEvent.Versions(1, 1, 1), T0));
      writer.apply(0, dev.envelopes).toCompletableFuture().get(60, TimeUnit.SECONDS);
      // Applied but not refreshed: an ordinary query does not see it within the hour-long interval.
      assertEquals(1, engine.query("SELECT * FROM devices", 10, null).json().size());
      // A caller that has seen version 1 makes the writer refresh at its next tick.
      engine.awaitVisible(ReadYourWrites.of(TwinKey.device("ryw"), 1), Duration.ofSeconds(10))
          .toCompletableFuture().get(15, TimeUnit.SECONDS);
      assertEquals(2, engine.query("SELECT * FROM devices", 10, null).json().size());
    } finally {
      engine.close();
    }
  }

  @Test
  void theRefreshDelayKeepsRefreshingWithinItsBudgetAndBounds() {
    IndexProjectionSettings s = IndexProjectionSettings.from(ConfigFactory.parseString(
        "twinhub.projections.index { min-refresh-interval = 100ms, refresh-interval = 1s, refresh-budget = 0.05 }")
        .withFallback(kit.system().settings().config()));
    assertEquals(100, s.refreshDelayMillis(Duration.ofMillis(1)), "a cheap refresh: as often as allowed");
    assertEquals(400, s.refreshDelayMillis(Duration.ofMillis(20)), "20 ms is 5 % of 400 ms");
    assertEquals(1000, s.refreshDelayMillis(Duration.ofMillis(200)), "never staler than refresh-interval");
    assertThrows(IllegalArgumentException.class, () -> IndexProjectionSettings.from(ConfigFactory.parseString(
        "twinhub.projections.index { min-refresh-interval = 2s, refresh-interval = 1s }")
        .withFallback(kit.system().settings().config())));
  }

  /** A clock the test moves by hand. */
  static final class HandClock extends Clock {
    volatile long millis = T0.toEpochMilli();

    @Override
    public long millis() {
      return millis;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis);
    }

    @Override
    public java.time.ZoneId getZone() {
      return java.time.ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  @Test
  void aQuerysRefreshCountsAsTheWritersSoItsNextIsDueOnlyARefreshIntervalAfterThat() throws Exception {
    writer.close();
    HandClock clock = new HandClock();
    writer = new TwinIndexWriter(index, new TwinStateCodec(kit.system()), null, IndexProjectionSettings.from(ConfigFactory.parseString("""
        twinhub.projections.index.refresh-interval = 1s
        twinhub.projections.index.min-refresh-interval = 1s
        twinhub.projections.index.commit-interval = 1h
        twinhub.projections.index.refresh-in-background = off
        """).withFallback(kit.system().settings().config())), clock);
    Journal a = new Journal("Device|q1");
    a.add(new TwinEvent.DeviceCreated(identity("q1", null), new TwinEvent.Versions(1, 1, 1), T0));
    writer.apply(0, a.envelopes).toCompletableFuture().get(60, TimeUnit.SECONDS); // the writer's first refresh, at T0
    assertNotNull(indexed("SELECT * FROM devices WHERE deviceId = 'q1'"));
    long reopens = index.layout().refreshes();

    clock.millis += 900;
    Journal b = new Journal("Device|q2");
    b.add(new TwinEvent.DeviceCreated(identity("q2", null), new TwinEvent.Versions(1, 1, 1), T0));
    writer.apply(0, b.envelopes).toCompletableFuture().get(60, TimeUnit.SECONDS); // not due: 900 ms after its own
    assertEquals(reopens, index.layout().refreshes());
    assertTrue(index.refreshIfStale(0), "a query's refresh-on-query shows it, at T0 + 900 ms");
    reopens = index.layout().refreshes();

    clock.millis += 600; // 1.5 s after the writer's own refresh, 600 ms after the query's
    Journal c = new Journal("Device|q3");
    c.add(new TwinEvent.DeviceCreated(identity("q3", null), new TwinEvent.Versions(1, 1, 1), T0));
    writer.apply(0, c.envelopes).toCompletableFuture().get(60, TimeUnit.SECONDS);
    assertEquals(reopens, index.layout().refreshes(), "not due: the index refreshed 600 ms ago");
    assertEquals(2, index.twinCount());

    clock.millis += 400; // 1 s after the query's refresh
    writer.apply(0, List.of()).toCompletableFuture().get(60, TimeUnit.SECONDS);
    assertEquals(reopens + 1, index.layout().refreshes(), "due now");
    assertEquals(3, index.twinCount());
  }

  @SafeVarargs
  static <T> List<T> concat(List<T>... lists) {
    List<T> out = new ArrayList<>();
    for (List<T> l : lists) out.addAll(l);
    return out;
  }
}
