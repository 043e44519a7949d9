package io.twinhub.node.api;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Optimistic concurrency under a real race: 50 clients, each on its own connection, PATCH one
 * twin with the same etag at the same moment. The entity sequences them, so exactly one wins
 * per etag and every other gets 412 PreconditionFailed (412001); the twin's version grows by
 * exactly the number of winners, and the winner's change is the one the twin holds.
 */
class IfMatchRaceIT {
  static final int CLIENTS = 50;
  static final int ROUNDS = 8;

  @TempDir
  static Path dataDir;
  static ApiTestNode hub;
  static ExecutorService pool;

  @BeforeAll
  static void start() throws Exception {
    // The race is about the entity: admission must let all 50 through (its default limit would throttle some).
    hub = ApiTestNode.start(dataDir, java.util.Map.of("twinhub.twin.admission.initial-limit", CLIENTS * 2,
        "twinhub.twin.admission.min-limit", CLIENTS * 2));
    pool = Executors.newFixedThreadPool(CLIENTS);
  }

  @AfterAll
  static void stop() throws Exception {
    if (pool != null) pool.shutdownNow();
    if (hub != null) hub.close();
  }

  @Test
  void exactlyOneWinnerPerEtagLosersGet412() throws Exception {
    String d = "race-" + System.nanoTime();
    assertEquals(200, hub.client.put("/devices/" + d, "{}").status());
    // Separate clients, separate connections: the requests race on the wire, not in one queue.
    List<ApiClient> clients = new ArrayList<>();
    for (int c = 0; c < CLIENTS; c++) {
      clients.add(new ApiClient(hub.client.base, hub.client.caPem, hub.client.policies, hub.client.hostName));
    }
    long startVersion = hub.client.get("/twins/" + d).json().path("version").asLong();

    for (int round = 0; round < ROUNDS; round++) {
      ApiClient.Reply before = hub.client.get("/twins/" + d);
      String etag = before.json().path("etag").asText();
      // Half the clients send the etag quoted (as curl users do), half bare (as the service SDK does).
      CyclicBarrier go = new CyclicBarrier(CLIENTS);
      List<Future<ApiClient.Reply>> replies = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        ApiClient client = clients.get(c);
        String ifMatch = c % 2 == 0 ? "\"" + etag + "\"" : etag;
        String body = "{\"properties\":{\"desired\":{\"owner\":" + c + ",\"round\":" + round + "}}}";
        replies.add(pool.submit(() -> {
          go.await(30, TimeUnit.SECONDS);
          return client.patch("/twins/" + d, body, ifMatch);
        }));
      }
      int winner = -1;
      int winners = 0;
      for (int c = 0; c < CLIENTS; c++) {
        ApiClient.Reply r = replies.get(c).get(60, TimeUnit.SECONDS);
        if (r.status() == 200) {
          winners++;
          winner = c;
          assertEquals(before.json().path("version").asLong() + 1, r.json().path("version").asLong(), r::toString);
        } else {
          assertEquals(412, r.status(), r::toString);
          assertEquals(412001, r.errorCode(), r::toString);
          assertEquals("PreconditionFailed", r.header("iothub-errorcode").orElseThrow());
        }
      }
      assertEquals(1, winners, "round " + round + ": exactly one winner for etag " + etag);
      var after = hub.client.get("/twins/" + d).json();
      assertEquals(winner, after.path("properties").path("desired").path("owner").asInt(), "the winner's change is kept");
      assertEquals(round, after.path("properties").path("desired").path("round").asInt());
      assertTrue(!etag.equals(after.path("etag").asText()), "a new etag after the winning write");
    }
    var last = hub.client.get("/twins/" + d).json();
    assertEquals(startVersion + ROUNDS, last.path("version").asLong(), "one version per winner, none for losers");
    assertEquals(1 + ROUNDS, last.path("properties").path("desired").path("$version").asLong());
  }
}
