package io.twinhub.projections.index;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;
import io.twinhub.query.QueryResult;
import io.twinhub.query.ReadYourWrites;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.query.index.TwinKey;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.Twin;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.DeviceEntity;
import io.twinhub.twin.entity.EntitySettings;
import io.twinhub.twin.entity.ModuleEntity;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.service.TwinService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The query index on a real Cassandra journal: twins written through the sharded entities
 * appear in the index exactly as the entities hold them; a restart resumes from the offsets
 * stored in the index (it applies exactly the events written while it was down, no rebuild);
 * a deleted or corrupt index is rebuilt from the journal; a twin whose stored state lags
 * behind is completed from its own journal.
 */
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
class QueryIndexIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static ActorSystem<Void> system;
  static TwinService twins;
  static final String RUN = UUID.randomUUID().toString().substring(0, 6);

  @TempDir
  static Path data;

  @BeforeAll
  static void start() {
    system = startNode("index-it", ConfigFactory.empty());
    twins = new TwinService(system, Duration.ofSeconds(30));
    warmUp(twins, "warmup-" + RUN);
  }

  /** A one-node cluster with the query role and the twin entities on the shared Cassandra ({@code overrides} first). */
  static ActorSystem<Void> startNode(String name, com.typesafe.config.Config overrides) {
    ActorSystem<Void> node = ActorSystem.create(Behaviors.empty(), name, ConfigFactory.load(overrides
        .withFallback(ConfigFactory.parseResources("index-it.conf"))
        .withValue("datastax-java-driver.basic.contact-points",
            ConfigValueFactory.fromIterable(List.of(SharedEmbeddedCassandra.contactPoint())))));
    Cluster.get(node).manager().tell(Join.create(Cluster.get(node).selfMember().address()));
    DeviceEntity.init(node, EntitySettings.DEFAULT);
    ModuleEntity.init(node, EntitySettings.DEFAULT);
    return node;
  }

  static void stopNode(ActorSystem<?> node) throws Exception {
    node.terminate();
    node.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  /** The first write creates keyspace and tables; on a busy machine that outlasts one ask. */
  static void warmUp(TwinService twins, String id) {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    while (System.nanoTime() < deadline) {
      try {
        TwinReply r = twins.createDevice(id, SPEC).toCompletableFuture().get(60, TimeUnit.SECONDS);
        if (r instanceof TwinReply.Accepted
            || (r instanceof TwinReply.Rejected rej && rej.error().code() == io.twinhub.twin.error.IotHubErrorCode.DeviceAlreadyExists)) {
          return;
        }
      } catch (Exception e) {
        // retry
      }
    }
    fail("the journal did not accept a write within 3 minutes");
  }

  @AfterAll
  static void stop() throws Exception {
    stopNode(system);
  }

  static <T> T await(CompletionStage<T> s) throws Exception {
    return s.toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  static Twin accepted(TwinReply r) {
    assertInstanceOf(TwinReply.Accepted.class, r, () -> r.toString());
    return ((TwinReply.Accepted) r).twin();
  }

  static JsonDoc doc(String json) throws Exception {
    return JsonDoc.of((ObjectNode) JSON.readTree(json));
  }

  static final IdentitySpec SPEC = new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(null, null), false);

  /** The service views of the given twins as the entities hold them now, in id order. */
  static List<ObjectNode> entityViews(List<TwinKey> keys) throws Exception {
    List<ObjectNode> out = new ArrayList<>();
    // The order of indexed(): devices, then modules, each in id order.
    for (TwinKey k : keys.stream().sorted(java.util.Comparator.comparing(TwinKey::isModule).thenComparing(k -> k)).toList()) {
      out.add(TwinJson.serviceView(accepted(await(twins.getTwin(k.deviceId(), k.moduleId())))));
    }
    return out;
  }

  /** All twins of this run in the index, devices then modules, once the index covers {@code versions}. */
  static List<ObjectNode> indexed(QueryIndex index, ReadYourWrites versions) throws Exception {
    List<ObjectNode> out = new ArrayList<>();
    for (String from : List.of("devices", "devices.modules")) {
      String token = null;
      do {
        QueryResult r = await(index.query("SELECT * FROM " + from + " WHERE STARTSWITH(deviceId, 'it-" + RUN + "')",
            100, token, Optional.of(versions)));
        out.addAll(r.json());
        token = r.continuation();
      } while (token != null);
    }
    return out;
  }

  /** Equal lists of twins; on a difference, names the first twin that differs. */
  static void assertSameTwins(List<ObjectNode> expected, List<ObjectNode> actual) {
    for (int i = 0; i < Math.min(expected.size(), actual.size()); i++) {
      assertEquals(expected.get(i).toString(), actual.get(i).toString(), "twin #" + i);
    }
    assertEquals(expected.size(), actual.size(), "number of twins");
  }

  static ReadYourWrites versionsOf(List<TwinKey> keys) throws Exception {
    List<ReadYourWrites.TwinVersion> v = new ArrayList<>();
    for (TwinKey k : keys) {
      v.add(new ReadYourWrites.TwinVersion(k, accepted(await(twins.getTwin(k.deviceId(), k.moduleId()))).state().version()));
    }
    return new ReadYourWrites(v);
  }

  static java.util.function.Supplier<String> STATUS = () -> "";

  static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) fail("not within 60 s: " + what + " " + STATUS.get());
      Thread.sleep(100);
    }
  }

  static long count(QueryIndex index, String from) {
    try {
      return await(index.query("SELECT COUNT() AS n FROM " + from + " WHERE STARTSWITH(deviceId, 'it-" + RUN + "')",
          10, null, Optional.empty())).json().get(0).get("n").asLong();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  @org.junit.jupiter.api.Order(1)
  void indexFollowsTheEntitiesResumesFromItsOffsetsAndRebuildsWhenLost() throws Exception {
    Path dir = data.resolve("resume");
    List<TwinKey> live = new ArrayList<>();
    long events = 1; // the warm-up device's creation

    // -------- 1. Twins written through the entities appear exactly as the entities hold them.
    QueryIndex index = QueryIndexModule.start(system, dir);
    STATUS = () -> index.status().toJson().toString();
    assertTrue(index.status().startedFrom().startsWith("rebuild: no index"), index.status().startedFrom());
    for (int d = 0; d < 30; d++) {
      String id = "it-" + RUN + "-" + String.format("%02d", d);
      accepted(await(twins.createDevice(id, SPEC)));
      live.add(TwinKey.device(id));
      accepted(await(twins.updateTwin(id, null, new TwinUpdate.PatchTags(doc("{\"group\":\"g" + (d % 3) + "\",\"n\":" + d + "}")), null)));
      accepted(await(twins.updateTwin(id, null, new TwinUpdate.PatchReported(doc("{\"battery\":" + (d * 3) + ",\"fw\":{\"v\":\"1." + (d % 4) + "\"}}")), null)));
      events += 3;
      if (d % 5 == 0) {
        accepted(await(twins.createModule(id, "sensor", SPEC)));
        accepted(await(twins.updateTwin(id, "sensor", new TwinUpdate.PatchReported(doc("{\"t\":" + d + ".5}")), null)));
        live.add(TwinKey.module(id, "sensor"));
        events += 3; // ModuleAdded on the device, ModuleCreated and ReportedPatched on the module
      }
      if (d % 7 == 0) {
        accepted(await(twins.setConnectionState(id, null, ConnectionState.CONNECTED)));
        events++;
      }
    }
    // Deleting a device deletes its module twin too.
    String gone = "it-" + RUN + "-05";
    accepted(await(twins.deleteDevice(gone, "*")));
    live.remove(TwinKey.device(gone));
    live.remove(TwinKey.module(gone, "sensor"));
    eventually("deletions indexed: " + index.status().toJson(), () -> count(index, "devices") == 29 && count(index, "devices.modules") == 5);
    events += 3; // DeviceDeleted, ModuleDeleted, ModuleRemoved
    ReadYourWrites all = versionsOf(live);
    assertSameTwins(entityViews(live), indexed(index, all));
    long finalEvents = events;
    eventually("every event applied", () -> index.status().eventsApplied() == finalEvents);
    // group g1: d = 1, 4, 7, ..., 28; battery = 3d >= 30 for d >= 10: 10, 13, 16, 19, 22, 25, 28
    assertEquals(7, await(index.query("SELECT COUNT() AS n FROM devices WHERE STARTSWITH(deviceId, 'it-" + RUN
        + "') AND tags.group = 'g1' AND properties.reported.battery >= 30", 10, null, Optional.empty())).json().get(0).get("n").asInt());
    await(index.stop());

    // -------- 2. Written while the index is down: a restart applies exactly these, from the stored offsets.
    int whileDown = 0;
    for (int d = 0; d < 30; d += 3) {
      String id = "it-" + RUN + "-" + String.format("%02d", d);
      if (id.equals(gone)) continue;
      accepted(await(twins.updateTwin(id, null, new TwinUpdate.PatchDesired(doc("{\"rate\":" + d + "}")), null)));
      whileDown++;
    }
    String added = "it-" + RUN + "-new";
    accepted(await(twins.createDevice(added, SPEC)));
    live.add(TwinKey.device(added));
    whileDown++;

    QueryIndex resumed = QueryIndexModule.start(system, dir);
    assertEquals("offsets", resumed.status().startedFrom());
    assertSameTwins(entityViews(live), indexed(resumed, versionsOf(live)));
    int expectedAfterRestart = whileDown;
    eventually("the events written while down applied", () -> resumed.status().eventsApplied() == expectedAfterRestart);
    Thread.sleep(1500); // nothing else arrives: no full rebuild re-applies the journal
    IndexStatus s = resumed.status();
    assertEquals(whileDown, s.eventsApplied(), "applied exactly the events written while down: " + s.toJson());
    assertEquals(0, s.gapsFilled());
    System.out.printf("QueryIndexIT: restart applied %d events, skipped %d re-read ones (restart rewind)%n",
        s.eventsApplied(), s.duplicatesSkipped());
    eventually("events behind counted", () -> resumed.status().eventsBehind() == 0);

    // -------- 3. A twin whose stored state lags behind its journal is completed from the journal.
    await(resumed.stop());
    TwinKey lagging = TwinKey.device("it-" + RUN + "-01");
    TwinIndex.Stored before;
    ObjectNode beforeView;
    try (TwinIndex raw = TwinIndex.open(dir)) {
      before = raw.lookup(lagging).orElseThrow();
      var engine = new io.twinhub.query.QueryEngine(raw, io.twinhub.query.QuerySettings.DEFAULT, Runnable::run);
      beforeView = engine.query("SELECT * FROM devices WHERE deviceId = '" + lagging.deviceId() + "'", 1, null).json().get(0);
      engine.close();
    }
    accepted(await(twins.updateTwin(lagging.deviceId(), null, new TwinUpdate.PatchDesired(doc("{\"step\":1}")), null)));
    accepted(await(twins.updateTwin(lagging.deviceId(), null, new TwinUpdate.PatchDesired(doc("{\"step\":2}")), null)));
    QueryIndex mid = QueryIndexModule.start(system, dir);
    indexed(mid, versionsOf(live));
    // Move the tag's offset beyond the restart rewind, so that a restart does not re-read steps 1 and 2.
    Thread.sleep(8000);
    String sameTag = live.stream().filter(k -> !k.isModule() && !k.equals(lagging)
        && io.twinhub.twin.entity.TwinTags.forDevice(k.deviceId()).equals(io.twinhub.twin.entity.TwinTags.forDevice(lagging.deviceId())))
        .findFirst().orElseThrow().deviceId();
    String tagOffset = tagOffset(mid, sameTag);
    accepted(await(twins.updateTwin(sameTag, null, new TwinUpdate.PatchDesired(doc("{\"later\":true}")), null)));
    indexed(mid, versionsOf(live));
    // The live path showed it; once the tag read has caught up, the offset follows the live path
    // (live-position.margin behind, 1 s here) at the next commit.
    eventually("the offset passed the later write", () -> !java.util.Objects.equals(tagOffset, tagOffset(mid, sameTag)));
    await(mid.stop());
    try (TwinIndex raw = TwinIndex.open(dir)) {
      // Put the twin back two events, as if steps 1 and 2 had never been delivered.
      raw.put(lagging, beforeView, before.seq(), before.state());
      raw.commit(raw.committedData());
    }
    accepted(await(twins.updateTwin(lagging.deviceId(), null, new TwinUpdate.PatchDesired(doc("{\"step\":3}")), null)));
    QueryIndex healed = QueryIndexModule.start(system, dir);
    assertSameTwins(entityViews(live), indexed(healed, versionsOf(live)));
    assertEquals(1, healed.status().gapsFilled(), healed.status().toJson().toString());
    await(healed.stop());

    // -------- 4. The index directory deleted: rebuilt from the journal.
    Reindexer.deleteRecursively(dir);
    QueryIndex rebuilt = QueryIndexModule.start(system, dir);
    assertTrue(rebuilt.status().startedFrom().startsWith("rebuild"), rebuilt.status().startedFrom());
    assertSameTwins(entityViews(live), indexed(rebuilt, versionsOf(live)));
    eventually("deleted twins stay deleted after a rebuild", () -> count(rebuilt, "devices") == 30);
    await(rebuilt.stop());
  }

  @Test
  @org.junit.jupiter.api.Order(2)
  void aCorruptIndexIsMovedAsideAndRebuilt() throws Exception {
    Path dir = data.resolve("corrupt");
    String id = "cx-" + RUN;
    accepted(await(twins.createDevice(id, SPEC)));
    accepted(await(twins.updateTwin(id, null, new TwinUpdate.PatchTags(doc("{\"x\":1}")), null)));
    QueryIndex index = QueryIndexModule.start(system, dir);
    ReadYourWrites v = versionsOf(List.of(TwinKey.device(id)));
    assertEquals(1, await(index.query("SELECT * FROM devices WHERE deviceId = '" + id + "'", 10, null, Optional.of(v))).items().size());
    await(index.stop());

    // Garble every segment info file: the commit point names segments that cannot be read.
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".si")).toList()) {
        Files.write(f, "garbage".getBytes(), StandardOpenOption.TRUNCATE_EXISTING);
      }
    }
    QueryIndex rebuilt = QueryIndexModule.start(system, dir);
    assertTrue(rebuilt.status().startedFrom().startsWith("rebuild: index at"), rebuilt.status().startedFrom());
    assertEquals(TwinJson.serviceView(accepted(await(twins.getTwin(id, null)))),
        await(rebuilt.query("SELECT * FROM devices WHERE deviceId = '" + id + "'", 10, null, Optional.of(v))).json().get(0));
    try (Stream<Path> siblings = Files.list(data)) {
      assertTrue(siblings.anyMatch(p -> p.getFileName().toString().startsWith("corrupt.unusable-")), "kept aside for inspection");
    }
    await(rebuilt.stop());
  }

  @Test
  @org.junit.jupiter.api.Order(3)
  void reindexOfflineWithAProgressBarAndLiveWithASwap() throws Exception {
    io.micrometer.core.instrument.simple.SimpleMeterRegistry meters = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
    io.micrometer.core.instrument.Metrics.addRegistry(meters);
    List<TwinKey> mine = new ArrayList<>();
    for (int d = 0; d < 6; d++) {
      String id = "rx-" + RUN + "-" + d;
      accepted(await(twins.createDevice(id, SPEC)));
      accepted(await(twins.updateTwin(id, null, new TwinUpdate.PatchTags(doc("{\"d\":" + d + "}")), null)));
      mine.add(TwinKey.device(id));
    }
    ReadYourWrites versions = versionsOf(mine);
    Path dir = data.resolve("reindex");

    // Offline (./twinhub reindex): the journal as it is now, with progress reports, then the node resumes from there.
    List<Reindexer.Progress> offline = new java.util.concurrent.CopyOnWriteArrayList<>();
    // The rebuild reads what the journal shows after its eventual-consistency delay.
    Thread.sleep(1000);
    Reindexer.Progress p = QueryIndexModule.reindexOffline(system, dir, offline::add);
    assertTrue(!offline.isEmpty() && offline.get(offline.size() - 1).done(), offline.toString());
    assertTrue(p.done() && p.twins() >= 6, p.toString());
    QueryIndex index = QueryIndexModule.start(system, dir);
    assertEquals("offsets", index.status().startedFrom());
    assertSameTwins(entityViews(mine), rxTwins(index, versions));
    Thread.sleep(1500);
    assertEquals(0, index.status().eventsApplied(), "everything came with the rebuilt index: " + index.status().toJson());

    // Live: more changes, then a rebuild beside the running index, swapped in.
    for (TwinKey k : mine) {
      accepted(await(twins.updateTwin(k.deviceId(), null, new TwinUpdate.PatchReported(doc("{\"r\":1}")), null)));
    }
    versions = versionsOf(mine);
    rxTwins(index, versions);
    List<Reindexer.Progress> reported = new java.util.concurrent.CopyOnWriteArrayList<>();
    Reindexer.Progress live = index.reindex(reported::add).toCompletableFuture().get(120, TimeUnit.SECONDS);
    assertTrue(live.done());
    assertTrue(reported.get(reported.size() - 1).done());
    assertEquals("live", index.status().state());
    accepted(await(twins.updateTwin(mine.get(0).deviceId(), null, new TwinUpdate.PatchReported(doc("{\"after\":true}")), null)));
    assertSameTwins(entityViews(mine), rxTwins(index, versionsOf(mine)));

    // Status over HTTP and as metrics.
    var binding = akka.http.javadsl.Http.get(system).newServerAt("127.0.0.1", 0).bind(index.statusRoute())
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    var response = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
        "http://127.0.0.1:" + binding.localAddress().getPort() + "/query-index/status")).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode());
    var json = JSON.readTree(response.body());
    assertEquals("live", json.get("state").asText());
    assertEquals(8, json.get("tags").size());
    binding.unbind();
    eventually("caught up", () -> index.status().eventsBehind() == 0);
    assertEquals(0.0, meters.find("twinhub_query_index_lag_seconds").gauge().value());
    assertEquals(0.0, meters.find("twinhub_query_index_events_behind").gauge().value());
    assertTrue(meters.find("twinhub_query_index_twins").gauge().value() >= 6);
    await(index.stop());
    io.micrometer.core.instrument.Metrics.removeRegistry(meters);
  }

  static String tagOffset(QueryIndex index, String deviceId) {
    String tag = io.twinhub.twin.entity.TwinTags.forDevice(deviceId);
    return index.status().tags().stream().filter(t -> t.tag().equals(tag)).findFirst().orElseThrow().offset();
  }

  /**
   * The live path ({@link io.twinhub.twin.entity.TwinEventFeed}) on a node whose tag reads see
   * nothing (an eventual-consistency delay of an hour): writes reach queries through it alone, and
   * an event it missed (written while the index was stopped) is filled from the twin's journal
   * when the twin's next live event shows the gap in its sequence numbers.
   */
  @Test
  @org.junit.jupiter.api.Order(4)
  void theLiveFeedReachesQueriesWithoutTheTagReadAndAMissedEventIsFilledFromTheJournal() throws Exception {
    ActorSystem<Void> node = startNode("live-it", ConfigFactory.parseString(
        "twinhub.projections.index.cassandra.events-by-tag.eventual-consistency-delay = 1h"));
    try {
      TwinService nodeTwins = new TwinService(node, Duration.ofSeconds(30));
      io.twinhub.twin.entity.TwinEventFeed feed = io.twinhub.twin.entity.TwinEventFeed.get(node);
      String id = "live-" + RUN;
      String sql = "SELECT * FROM devices WHERE deviceId = '" + id + "'";
      Path dir = data.resolve("live");
      QueryIndex index = QueryIndexModule.start(node, dir);
      STATUS = () -> index.status().toJson().toString();
      eventually("the index subscribed to the live feed", () -> feed.subscriberCount() == 1);

      accepted(await(nodeTwins.createDevice(id, SPEC)));
      accepted(await(nodeTwins.updateTwin(id, null, new TwinUpdate.PatchReported(doc("{\"x\":1}")), null)));
      // No read-your-writes versions: the query sees the twin once the writer applied and refreshed.
      eventually("the write visible to a query", () -> queryOne(index, sql + " AND properties.reported.x = 1") != null);
      IndexStatus s = index.status();
      assertEquals(2, s.liveApplied(), s.toJson().toString());
      assertTrue(s.tags().stream().allMatch(t -> t.offset() == null), "no tag read delivered anything: " + s.toJson());
      await(index.stop());

      // Written while no index listens: the live path misses it, and the tag read cannot see it.
      eventually("the stopped index left the live feed", () -> feed.subscriberCount() == 0);
      accepted(await(nodeTwins.updateTwin(id, null, new TwinUpdate.PatchReported(doc("{\"x\":2}")), null)));
      QueryIndex resumed = QueryIndexModule.start(node, dir);
      STATUS = () -> resumed.status().toJson().toString();
      eventually("the index subscribed to the live feed again", () -> feed.subscriberCount() == 1);
      Twin latest = accepted(await(nodeTwins.updateTwin(id, null, new TwinUpdate.PatchReported(doc("{\"y\":3}")), null)));
      eventually("the next write visible", () -> queryOne(resumed, sql + " AND properties.reported.y = 3") != null);
      assertEquals(TwinJson.serviceView(latest), queryOne(resumed, sql), "the missed write is there too, filled from the journal");
      IndexStatus r = resumed.status();
      assertEquals(1, r.liveApplied(), r.toJson().toString());
      assertEquals(1, r.gapsFilled(), r.toJson().toString());
      await(resumed.stop());
    } finally {
      stopNode(node);
    }
  }

  /**
   * The durable live position ({@link LivePosition}): once caught up, the tag reads stop and the
   * live path alone brings the writes (nothing is re-read); an index stopped while writes flow and
   * started again (mid-stream) catches up from the offsets the live path advanced, without
   * re-reading what it had, and ends exactly as the entities are.
   */
  @Test
  @org.junit.jupiter.api.Order(5)
  void caughtUpTheTagReadsStopAndARestartMidStreamEndsCompleteAndExact() throws Exception {
    Path dir = data.resolve("midstream");
    String prefix = "mid-" + RUN + "-";
    List<TwinKey> mine = new ArrayList<>();
    for (int d = 0; d < 12; d++) {
      accepted(await(twins.createDevice(prefix + d, SPEC)));
      mine.add(TwinKey.device(prefix + d));
    }
    QueryIndex first = QueryIndexModule.start(system, dir);
    STATUS = () -> first.status().toJson().toString();
    eventually("every tag read caught up and stopped", () -> first.status().tagReadsRunning() == 0);

    // -------- 1. Writes while the reads are stopped: applied live, nothing re-read.
    IndexStatus before = first.status();
    int phase1 = 0;
    for (int i = 0; i < 60; i++) {
      TwinKey k = mine.get(i % mine.size());
      accepted(await(twins.updateTwin(k.deviceId(), null, new TwinUpdate.PatchReported(doc("{\"n\":" + i + "}")), null)));
      phase1++;
    }
    assertSameTwins(entityViews(mine), midIndexed(first, prefix, versionsOf(mine)));
    IndexStatus live = first.status();
    assertEquals(before.liveLosses(), live.liveLosses(), "no loss: " + live.toJson());
    assertEquals(0, live.tagReadsRunning(), live.toJson().toString());
    assertEquals(before.duplicatesSkipped(), live.duplicatesSkipped(), "nothing re-read: " + live.toJson());
    assertTrue(live.liveApplied() - before.liveApplied() >= phase1, live.toJson().toString());
    long phase1End = System.currentTimeMillis();

    // -------- 2. Stopped and started again while a writer keeps patching. First a pause longer than
    // live-position.margin + restart-rewind, so that the restart's catch-up cannot reach phase 1.
    Thread.sleep(8000);
    java.util.concurrent.atomic.AtomicBoolean writing = new java.util.concurrent.atomic.AtomicBoolean(true);
    java.util.concurrent.atomic.AtomicInteger written = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.CompletableFuture<Void> writer = java.util.concurrent.CompletableFuture.runAsync(() -> {
      for (int i = 0; writing.get(); i++) {
        TwinKey k = mine.get(i % mine.size());
        try {
          accepted(await(twins.updateTwin(k.deviceId(), null, new TwinUpdate.PatchDesired(doc("{\"m\":" + i + "}")), null)));
          written.incrementAndGet();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }
    });
    eventually("writes flowing", () -> written.get() >= 30);
    await(first.stop());
    int whenStopped = written.get();
    // The stored offsets followed the live path past phase 1 (every tag, also those without events
    // since): the restart's catch-up starts after it and does not re-read it.
    try (TwinIndex raw = TwinIndex.open(dir)) {
      java.util.Map<Integer, UUID> offsets = TwinIndexWriter.committedOffsets(raw);
      assertEquals(io.twinhub.twin.entity.TwinTags.COUNT, offsets.size(), offsets.toString());
      offsets.forEach((tag, offset) -> assertTrue(epochMillis(offset) > phase1End,
          "tag " + tag + "'s stored offset " + java.time.Instant.ofEpochMilli(epochMillis(offset)) + " is after phase 1 ("
              + java.time.Instant.ofEpochMilli(phase1End) + ")"));
    }
    eventually("writes while the index is down", () -> written.get() >= whenStopped + 30);
    QueryIndex second = QueryIndexModule.start(system, dir);
    STATUS = () -> second.status().toJson().toString();
    assertEquals("offsets", second.status().startedFrom());
    int whenStarted = written.get();
    eventually("writes after the restart", () -> written.get() >= whenStarted + 30);
    writing.set(false);
    await(writer);
    assertSameTwins(entityViews(mine), midIndexed(second, prefix, versionsOf(mine)));
    eventually("the catch-up ended", () -> second.status().tagReadsRunning() == 0);
    IndexStatus s = second.status();
    System.out.printf("QueryIndexIT: mid-stream restart: %d written before the stop, %d while down, %d after; "
            + "the restarted index applied %d (%d live), re-read %d, filled %d gaps%n", whenStopped, whenStarted - whenStopped,
        written.get() - whenStarted, s.eventsApplied(), s.liveApplied(), s.duplicatesSkipped(), s.gapsFilled());
    assertEquals(0, s.failedEvents(), s.toJson().toString());
    assertSameTwins(entityViews(mine), midIndexed(second, prefix, versionsOf(mine)));
    await(second.stop());
  }

  /**
   * A live message lost on the way between two healthy nodes (fault injection at the sender: the
   * feed numbers the event and tells nobody) while the tag reads are stopped, and it was the twin's
   * last change: the sender's next high-water mark shows the gap, a loss, and the tag read that runs
   * again brings the change (before the numbering, it stayed missing until the next loss or restart).
   */
  @Test
  @org.junit.jupiter.api.Order(6)
  void aLiveMessageLostOnTheWayIsFoundByTheNextHighWaterMarkAndBroughtByTheTagRead() throws Exception {
    long t0 = System.nanoTime();
    io.twinhub.twin.entity.TwinEventFeed feed = io.twinhub.twin.entity.TwinEventFeed.get(system);
    String id = "lost-" + RUN;
    String tag = io.twinhub.twin.entity.TwinTags.forDevice(id);
    accepted(await(twins.createDevice(id, SPEC)));
    QueryIndex index = QueryIndexModule.start(system, data.resolve("lost"));
    STATUS = () -> index.status().toJson().toString();
    eventually("every tag read caught up and stopped", () -> index.status().tagReadsRunning() == 0);
    accepted(await(twins.updateTwin(id, null, new TwinUpdate.PatchReported(doc("{\"step\":1}")), null)));
    String sql = "SELECT * FROM devices WHERE deviceId = '" + id + "'";
    eventually("the first change, live", () -> queryOne(index, sql + " AND properties.reported.step = 1") != null);
    IndexStatus before = index.status();
    assertEquals(0, before.tagReadsRunning(), before.toJson().toString());

    feed.loseNext(1);
    Twin last = accepted(await(twins.updateTwin(id, null, new TwinUpdate.PatchReported(doc("{\"step\":2}")), null)));
    // No read-your-writes versions: a plain query, as a client that never saw the write.
    eventually("the lost last change found", () -> queryOne(index, sql + " AND properties.reported.step = 2") != null);
    assertEquals(TwinJson.serviceView(last), queryOne(index, sql));
    IndexStatus after = index.status();
    assertEquals(before.liveGaps() + 1, after.liveGaps(), after.toJson().toString());
    assertTrue(after.liveLosses() > before.liveLosses(), after.toJson().toString());
    assertEquals(before.liveApplied(), after.liveApplied(), "not applied live: " + after.toJson());
    long reads = before.tags().stream().filter(t -> t.tag().equals(tag)).findFirst().orElseThrow().reads();
    assertTrue(after.tags().stream().filter(t -> t.tag().equals(tag)).findFirst().orElseThrow().reads() > reads,
        "the tag read ran again: " + after.toJson());
    await(index.stop());
    System.out.printf("QueryIndexIT: a lost live message found by the tag read, scenario %d s%n",
        TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0));
  }

  /** A time-based UUID's time (100 ns units since 1582-10-15) in epoch millis. */
  static long epochMillis(UUID timeBased) {
    return (timeBased.timestamp() - 0x01B21DD213814000L) / 10_000;
  }

  static List<ObjectNode> midIndexed(QueryIndex index, String prefix, ReadYourWrites versions) throws Exception {
    return await(index.query("SELECT * FROM devices WHERE STARTSWITH(deviceId, '" + prefix + "')", 100, null,
        Optional.of(versions))).json();
  }

  static ObjectNode queryOne(QueryIndex index, String sql) {
    try {
      List<ObjectNode> rows = await(index.query(sql, 10, null, Optional.empty())).json();
      return rows.isEmpty() ? null : rows.get(0);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static List<ObjectNode> rxTwins(QueryIndex index, ReadYourWrites versions) throws Exception {
    return await(index.query("SELECT * FROM devices WHERE STARTSWITH(deviceId, 'rx-" + RUN + "')", 100, null,
        Optional.of(versions))).json();
  }
}
