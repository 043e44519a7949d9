package io.twinhub.query;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.query.index.TwinKey;
import io.twinhub.query.lang.QueryException;
import io.twinhub.twin.domain.TwinJson;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** Continuation tokens: stable while twins change, tamper-proof; read-your-writes waits. */
class PagingTest {
  private final Fleet.Indexed fleet = Fleet.indexed();
  private final TwinIndex index = fleet.index;
  private final QueryEngine engine = fleet.engine;

  @AfterEach
  void tearDown() {
    fleet.close();
  }

  private void put(ObjectNode twin) {
    fleet.put(twin);
  }

  private static ObjectNode withRegion(int i, String region) {
    ObjectNode t = TwinJson.serviceView(Fleet.device(i));
    ((ObjectNode) t.get("tags")).put("region", region);
    return t;
  }

  @Test
  void pagingIsStableWhileOtherTwinsChange() {
    String sql = "SELECT deviceId FROM devices WHERE tags.region = 'us'";
    Random random = new Random(7);
    Set<String> touched = new HashSet<>();
    List<String> seen = new ArrayList<>();
    String token = null;
    int page = 0;
    do {
      QueryResult r = engine.query(sql, 10, token);
      r.json().forEach(o -> seen.add(o.get("deviceId").asText()));
      token = r.continuation();
      // Between pages: delete twins, add twins (also ids before and after the cursor), move twins in and out.
      for (int k = 0; k < 5; k++) {
        int i = random.nextInt(Fleet.DEVICES);
        touched.add(Fleet.id(i));
        switch (random.nextInt(4)) {
          case 0 -> index.putDeleted(TwinKey.device(Fleet.id(i)), fleet.nextSeq(), 99, null);
          case 1 -> put(withRegion(i, "us"));
          case 2 -> put(withRegion(i, "eu"));
          default -> {
            ObjectNode added = withRegion(i, "us");
            String id = Fleet.id(i) + "-new" + page;
            added.put("deviceId", id);
            touched.add(id);
            put(added);
          }
        }
      }
      index.refresh();
      page++;
    } while (token != null);

    assertEquals(seen.size(), new HashSet<>(seen).size(), "no twin twice: " + seen);
    Set<String> seenSet = new HashSet<>(seen);
    for (String id : Fleet.devices(i -> "us".equals(Fleet.region(i)))) {
      if (!touched.contains(id)) assertTrue(seenSet.contains(id), id + " matched throughout but was skipped");
    }
    for (int i = 1; i < seen.size(); i++) {
      assertTrue(seen.get(i - 1).compareTo(seen.get(i)) < 0, "twin-id order");
    }
    assertTrue(page > 5);
  }

  @Test
  void orderedPagingIsStableForUnchangedTwins() {
    String sql = "SELECT deviceId, properties.reported.battery AS b FROM devices ORDER BY properties.reported.battery DESC";
    Set<String> touched = new HashSet<>();
    List<String> seen = new ArrayList<>();
    String token = null;
    int i = 0;
    do {
      QueryResult r = engine.query(sql, 25, token);
      r.json().forEach(o -> seen.add(o.get("deviceId").asText()));
      token = r.continuation();
      touched.add(Fleet.id(i));
      index.putDeleted(TwinKey.device(Fleet.id(i)), fleet.nextSeq(), 99, null);
      index.refresh();
      i += 37;
    } while (token != null);
    assertEquals(seen.size(), new HashSet<>(seen).size());
    for (String id : Fleet.devices(x -> true)) {
      if (!touched.contains(id)) assertTrue(seen.contains(id), id + " skipped");
    }
  }

  @Test
  void tokensAreTamperProofAndBoundToTheirQuery() {
    String sql = "SELECT * FROM devices";
    String token = engine.query(sql, 10, null).continuation();
    assertNotNull(token);
    char[] c = token.toCharArray();
    c[5] = c[5] == 'A' ? 'B' : 'A';
    QueryException altered = assertThrows(QueryException.class, () -> engine.query(sql, 10, new String(c)));
    assertEquals("the continuation token (x-ms-continuation) was not issued by this hub or was altered", altered.getMessage());
    QueryException other = assertThrows(QueryException.class, () -> engine.query("SELECT deviceId FROM devices", 10, token));
    assertTrue(other.getMessage().contains("belongs to another query"), other.getMessage());
    assertThrows(QueryException.class, () -> engine.query(sql, 10, "garbage"));
    QueryEngine otherNode = new QueryEngine(index, QuerySettings.DEFAULT, ForkJoinPool.commonPool());
    assertThrows(QueryException.class, () -> otherNode.query(sql, 10, token), "a random key per node by default");
    otherNode.close();
  }

  @Test
  void nodesSharingAKeyAcceptEachOthersTokens() {
    QuerySettings shared = new QuerySettings(100, 1000, Duration.ofSeconds(5), "0123456789abcdef0123".getBytes(), 10);
    QueryEngine a = new QueryEngine(index, shared, ForkJoinPool.commonPool());
    QueryEngine b = new QueryEngine(index, shared, ForkJoinPool.commonPool());
    String token = a.query("SELECT * FROM devices", 10, null).continuation();
    assertEquals("dev-010", b.query("SELECT * FROM devices", 10, token).json().get(0).get("deviceId").asText());
    a.close();
    b.close();
  }

  @Test
  void pageSizeDefaultsAndCap() {
    assertEquals(100, engine.query("SELECT * FROM devices", 0, null).items().size());
    QueryEngine capped = new QueryEngine(index, new QuerySettings(5, 20, Duration.ofSeconds(1), null, 10), ForkJoinPool.commonPool());
    assertEquals(5, capped.query("SELECT * FROM devices", -1, null).items().size());
    assertEquals(20, capped.query("SELECT * FROM devices", 500, null).items().size());
    capped.close();
  }

  @Test
  void readYourWritesWaitsForTheIndexToCoverTheVersion() throws Exception {
    ObjectNode later = withRegion(1, "mars");
    later.put("version", 9);
    String sql = "SELECT deviceId FROM devices WHERE tags.region = 'mars'";
    // Waits up to a minute: the default 5 s could run out on a loaded box before the test writes.
    QueryEngine patient = new QueryEngine(index, new QuerySettings(100, 1000, Duration.ofMinutes(1), null, 1000),
        ForkJoinPool.commonPool());
    CompletableFuture<QueryResult> result = patient.query(sql, 10, null,
        Optional.of(ReadYourWrites.of(TwinKey.device("dev-001"), 9))).toCompletableFuture();
    Thread.sleep(200);
    assertFalse(result.isDone(), "waits while the index has version 3");
    put(later);
    assertFalse(result.isDone(), "written but not yet visible");
    index.refresh();
    assertEquals(List.of("dev-001"), result.get(60, TimeUnit.SECONDS).json().stream().map(o -> o.get("deviceId").asText()).toList());
    patient.close();
  }

  @Test
  void readYourWritesGivesUpAfterTheTimeout() {
    QueryEngine impatient = new QueryEngine(index, new QuerySettings(100, 1000, Duration.ofMillis(300), null, 10),
        ForkJoinPool.commonPool());
    CompletableFuture<QueryResult> r = impatient.query("SELECT * FROM devices", 10, null,
        Optional.of(ReadYourWrites.parse("9:dev-001; 2:dev-000/edge"))).toCompletableFuture();
    ExecutionException e = assertThrows(ExecutionException.class, () -> r.get(60, TimeUnit.SECONDS));
    assertInstanceOf(QueryEngine.IndexBehindException.class, e.getCause());
    assertTrue(e.getCause().getMessage().contains("9:dev-001;2:dev-000/edge"), e.getCause().getMessage());
    impatient.close();
  }

  @Test
  void readYourWritesHeaderSyntax() {
    ReadYourWrites r = ReadYourWrites.parse("7:dev:1; 3:dev2/mod-a");
    assertEquals(List.of(new ReadYourWrites.TwinVersion(TwinKey.device("dev:1"), 7),
        new ReadYourWrites.TwinVersion(TwinKey.module("dev2", "mod-a"), 3)), r.twins());
    assertThrows(QueryException.class, () -> ReadYourWrites.parse("dev1"));
    assertThrows(QueryException.class, () -> ReadYourWrites.parse("x:dev1"));
  }
}
