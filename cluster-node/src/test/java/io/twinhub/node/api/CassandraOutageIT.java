package io.twinhub.node.api;

import akka.persistence.cassandra.query.javadsl.CassandraReadJournal;
import akka.persistence.query.EventEnvelope;
import akka.persistence.query.PersistenceQuery;
import akka.stream.javadsl.Sink;
import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.node.TestNodes;
import io.twinhub.ops.cassandra.EmbeddedCassandra;
import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;
import io.twinhub.projections.journal.NewestWriter;
import io.twinhub.twin.entity.TwinEvent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Cassandra goes away for 20 s under a steady REST load, twice: frozen ({@code kill -STOP}: the
 * hard case, connections stay open and nothing answers), then stopped and restarted on the same
 * data. While it is gone every request is still answered, with 503 ServiceUnavailable (503xxx)
 * and never a 500 or a dropped connection, and {@code /ready} says not ready; once it is back the
 * node serves writes again by itself. The journal afterwards holds every acknowledged write at
 * the version it was acknowledged with, and each twin's versions are contiguous and never repeat,
 * read as the entity reads it: one event per sequence number, the newer incarnation's (a frozen
 * Cassandra can apply a timed-out write after the entity wrote its number again; NewestWriter).
 */
class CassandraOutageIT {
  static final int TWINS = 8;
  static final int WRITERS = 4;
  static final Duration OUTAGE = Duration.ofSeconds(20);
  /** Writes acknowledged before the outage and after Cassandra's restart: the load runs. */
  static final int LOAD_WRITES = 30;

  @TempDir
  Path dir;

  /** One request's fate. {@code failure} is set when no HTTP answer came at all. */
  record Outcome(String phase, String method, int status, int errorCode, String body, String failure, long millis) {}

  private final Queue<Outcome> outcomes = new ConcurrentLinkedQueue<>();
  /** Twin id → acknowledged desired $version → the write ("writer-n") acknowledged with it. */
  private final Map<String, Map<Long, String>> acknowledged = new ConcurrentHashMap<>();
  private final AtomicBoolean stop = new AtomicBoolean();
  private volatile String phase = "before";
  /** Writes acknowledged so far. */
  private final AtomicInteger acks = new AtomicInteger();

  @Test
  void cassandraOutageAnswers503ThenRecoversWithoutLosingAcknowledgedWrites() throws Exception {
    try (EmbeddedCassandra cassandra = EmbeddedCassandra.builder().dataDir(dir.resolve("cassandra"))
        .nativePort(SharedEmbeddedCassandra.freePort()).storagePort(SharedEmbeddedCassandra.freePort())
        .heap("512m").build().start();
         ApiTestNode hub = ApiTestNode.start(dir.resolve("node"), nodeConfig(cassandra))) {
      List<String> twins = new ArrayList<>();
      for (int i = 0; i < TWINS; i++) {
        String id = "outage-" + i;
        int created = setup(() -> hub.client.put("/devices/" + id, "{}")).status();
        assertTrue(created == 200 || created == 409, "created (409: a retried create that did succeed): " + created);
        twins.add(id);
      }
      URI ready = URI.create("http://127.0.0.1:" + hub.node.settings().managementPort() + "/ready");
      HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

      List<Thread> load = new ArrayList<>();
      for (int w = 0; w < WRITERS; w++) load.add(writer(hub.client, twins, w));
      load.add(reader(hub.client, twins));
      load.forEach(Thread::start);

      awaitAcknowledged(LOAD_WRITES, "before the outage");
      // 1. Frozen: the process is there, its sockets accept bytes, nothing answers.
      phase = "frozen";
      signal(cassandra.pid(), "STOP");
      boolean unreadyWhileFrozen;
      try {
        unreadyWhileFrozen = sawUnready(plain, ready, OUTAGE);
      } finally {
        signal(cassandra.pid(), "CONT");
      }
      phase = "after-freeze";
      long back = System.nanoTime();
      awaitWritesServed(hub.client, twins, Duration.ofSeconds(90));
      long servedAfterFreeze = millisSince(back);
      assertTrue(readyAgain(plain, ready), "ready again after the freeze");

      // 2. Stopped, then restarted on the same data directory and ports.
      phase = "stopped";
      long stoppedAt = System.nanoTime();
      boolean unreadyWhileStopped;
      Map<String, Integer> tagWriteFailures;
      long stoppedNanos;
      try (TagWriteFailures failures = TagWriteFailures.count()) {
        cassandra.stop();
        unreadyWhileStopped = sawUnready(plain, ready, OUTAGE.minusNanos(System.nanoTime() - stoppedAt));
        stoppedNanos = System.nanoTime() - stoppedAt;
        tagWriteFailures = failures.byTagWriter();
      }
      cassandra.start();
      phase = "after-restart";
      back = System.nanoTime();
      awaitWritesServed(hub.client, twins, Duration.ofSeconds(90));
      long servedAfterRestart = millisSince(back);
      assertTrue(readyAgain(plain, ready), "ready again after the restart");
      awaitAcknowledged(acks.get() + LOAD_WRITES, "after the restart");
      stop.set(true);
      for (Thread t : load) t.join(60_000);

      report();
      System.out.printf("CassandraOutageIT: every twin served again %d ms after SIGCONT, %d ms after Cassandra's restart%n",
          servedAfterFreeze, servedAfterRestart);
      assertTrue(unreadyWhileFrozen, "/ready turned unready while Cassandra was frozen");
      assertTrue(unreadyWhileStopped, "/ready turned unready while Cassandra was stopped");
      assertTagWritesPaced(hub, tagWriteFailures, stoppedNanos);
      for (Outcome o : outcomes) {
        assertNull(o.failure(), () -> "every request is answered (no hang, no reset): " + o);
        assertTrue(o.status() == 200 || o.status() == 503, () -> "200 or 503 only: " + o);
        if (o.status() == 503) {
          assertTrue(o.errorCode() >= 503000 && o.errorCode() < 504000, () -> "IoT Hub 503xxx error body: " + o);
        }
      }
      for (String outagePhase : List.of("frozen", "stopped")) {
        assertTrue(outcomes.stream().anyMatch(o -> o.phase().equals(outagePhase) && o.status() == 503),
            "requests during the outage (" + outagePhase + ") were answered 503");
      }
      for (String afterPhase : List.of("after-freeze", "after-restart")) {
        assertTrue(outcomes.stream().anyMatch(o -> o.phase().equals(afterPhase) && o.method().equals("PATCH") && o.status() == 200),
            "writes acknowledged again " + afterPhase);
      }
      Map<String, JsonNode> desired = checkJournal(hub, twins);

      // A node that recovers the twins from the journal sees what the running one serves (no
      // late write of an old incarnation taken for an acknowledged one).
      Map<String, Object> sameJournal = new HashMap<>(nodeConfig(cassandra));
      for (String keyspace : List.of("akka.persistence.cassandra.journal.keyspace", "akka.persistence.cassandra.snapshot.keyspace")) {
        sameJournal.put(keyspace, hub.node.system().settings().config().getString(keyspace));
      }
      try (ApiTestNode recovered = ApiTestNode.start(dir.resolve("recovered"), sameJournal)) {
        for (String id : twins) {
          JsonNode twin = setup(() -> recovered.client.get("/twins/" + id)).json();
          assertEquals(desired.get(id), twin.path("properties").path("desired"), id + ": recovered from the journal as served");
        }
      }
    }
  }

  /**
   * While Cassandra refuses connections every tag write fails at once, and a tag writer tries again
   * after {@code events-by-tag.flush-interval} (akka-persistence-cassandra 1.1.1, TagWriter): at the
   * plugin's 0 ms each writer with unwritten events spun, tens of thousands of failures a second.
   * The bound is structural: a writer's tries are at least the interval apart (Akka's scheduler
   * never fires early), so over the stopped phase each writer fails at most once per interval,
   * plus the try in flight when the phase began. A slower box only makes fewer tries.
   */
  private static void assertTagWritesPaced(ApiTestNode hub, Map<String, Integer> failures, long stoppedNanos) {
    Duration interval = hub.node.system().settings().config().getDuration("akka.persistence.cassandra.events-by-tag.flush-interval");
    long bound = interval.isZero() ? 0 : stoppedNanos / interval.toNanos() + 2;
    System.out.printf("CassandraOutageIT: tag writes failed while Cassandra was stopped (%d ms, flush-interval %d ms, at most %d each): %s%n",
        stoppedNanos / 1_000_000, interval.toMillis(), bound, failures);
    for (var writer : failures.entrySet()) {
      assertTrue(writer.getValue() <= bound, () -> "tag writer " + writer.getKey() + " tried " + writer.getValue()
          + " times in " + stoppedNanos / 1_000_000 + " ms, flush-interval " + interval.toMillis()
          + " ms: retries of a failed tag write must be paced (at most " + bound + ")");
    }
  }

  /**
   * Counts the persistence plugin's "Writing tags has failed" warnings (one per failed tag write)
   * per tag writer (its actor path), without printing them: logback-test.xml keeps that logger at
   * ERROR, so while counting it is set to WARN with this appender as its only one.
   */
  static final class TagWriteFailures extends ch.qos.logback.core.AppenderBase<ch.qos.logback.classic.spi.ILoggingEvent>
      implements AutoCloseable {
    private final ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger)
        org.slf4j.LoggerFactory.getLogger("akka.persistence.cassandra.journal.TagWriter");
    private final ch.qos.logback.classic.Level level = logger.getLevel();
    private final boolean additive = logger.isAdditive();
    private final Map<String, Integer> counts = new ConcurrentHashMap<>();

    static TagWriteFailures count() {
      TagWriteFailures f = new TagWriteFailures();
      f.setContext(f.logger.getLoggerContext());
      f.start();
      f.logger.addAppender(f);
      f.logger.setAdditive(false);
      f.logger.setLevel(ch.qos.logback.classic.Level.WARN);
      return f;
    }

    @Override
    protected void append(ch.qos.logback.classic.spi.ILoggingEvent event) {
      if (event.getMessage() != null && event.getMessage().startsWith("Writing tags has failed")) {
        counts.merge(event.getMDCPropertyMap().getOrDefault("akkaSource", "?"), 1, Integer::sum);
      }
    }

    Map<String, Integer> byTagWriter() {
      return new java.util.TreeMap<>(counts);
    }

    @Override
    public void close() {
      logger.setLevel(level);
      logger.setAdditive(additive);
      logger.detachAppender(this);
      stop();
    }
  }

  /** Its own Cassandra, and the product's timeouts: how fast a request fails is part of what this test checks. */
  private static Map<String, Object> nodeConfig(EmbeddedCassandra cassandra) {
    Map<String, Object> o = new HashMap<>(TestNodes.productTimeouts());
    o.put("twinhub.cassandra.contact-points", "127.0.0.1:" + cassandra.nativePort());
    // The operators' bound on the tag writers' retries (the product keeps the plugin's 0 ms, which
    // adds nothing to a write but spins during an outage): what this test's count checks.
    o.put("akka.persistence.cassandra.events-by-tag.flush-interval", "10ms");
    return o;
  }

  private Thread writer(ApiClient api, List<String> twins, int w) {
    return new Thread(() -> {
      Random random = new Random(w);
      for (int n = 0; !stop.get(); n++) {
        String id = twins.get(random.nextInt(twins.size()));
        String op = w + "-" + n;
        String p = phase;
        long t0 = System.nanoTime();
        try {
          ApiClient.Reply r = api.patch("/twins/" + id, "{\"properties\":{\"desired\":{\"op\":\"" + op + "\"}}}", null);
          record(p, "PATCH", r, t0);
          if (r.status() == 200) {
            long v = r.json().path("properties").path("desired").path("$version").asLong();
            String before = acknowledged.computeIfAbsent(id, k -> new ConcurrentHashMap<>()).putIfAbsent(v, op);
            if (before != null) outcomes.add(new Outcome(p, "PATCH", 200, 0, "", "version " + v + " of " + id + " acknowledged twice", 0));
            acks.incrementAndGet();
          } else if (r.status() == 503) {
            pause(200); // a client backs off on 503 (Retry-After)
          }
        } catch (Exception e) {
          outcomes.add(new Outcome(p, "PATCH", 0, 0, "", e.toString(), millisSince(t0)));
        }
      }
    }, "writer-" + w);
  }

  private Thread reader(ApiClient api, List<String> twins) {
    return new Thread(() -> {
      for (int n = 0; !stop.get(); n++) {
        String p = phase;
        long t0 = System.nanoTime();
        try {
          ApiClient.Reply r = api.get("/twins/" + twins.get(n % twins.size()));
          record(p, "GET", r, t0);
          pause(r.status() == 503 ? 200 : 20);
        } catch (Exception e) {
          outcomes.add(new Outcome(p, "GET", 0, 0, "", e.toString(), millisSince(t0)));
        }
      }
    }, "reader");
  }

  private void record(String p, String method, ApiClient.Reply r, long t0) {
    outcomes.add(new Outcome(p, method, r.status(), r.status() >= 400 ? r.errorCode() : 0,
        r.status() >= 400 ? r.text() : "", null, millisSince(t0)));
  }

  private static long millisSince(long t0) {
    return (System.nanoTime() - t0) / 1_000_000;
  }

  /** Until {@code count} writes in all were acknowledged (generous: a loaded box). */
  private void awaitAcknowledged(int count, String when) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (acks.get() < count && System.nanoTime() < deadline) Thread.sleep(100);
    assertTrue(acks.get() >= count, "writes acknowledged " + when + ": " + acks.get() + " of " + count);
  }

  /** Until /ready answers 200 (its health check runs on its own schedule); false after a minute. */
  private static boolean readyAgain(HttpClient http, URI ready) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (status(http, ready) != 200) {
      if (System.nanoTime() > deadline) return false;
      Thread.sleep(250);
    }
    return true;
  }

  /** Polls /ready for {@code period}; true if it answered anything but 200 at least once. */
  private static boolean sawUnready(HttpClient http, URI ready, Duration period) throws InterruptedException {
    boolean unready = false;
    long end = System.nanoTime() + Math.max(0, period.toNanos());
    while (System.nanoTime() < end) {
      if (status(http, ready) != 200) unready = true;
      Thread.sleep(500);
    }
    return unready;
  }

  private static int status(HttpClient http, URI uri) throws InterruptedException {
    try {
      return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (java.io.IOException e) {
      return -1;
    }
  }

  /** The node recovers by itself: every twin takes a write again, no restart of anything. */
  private static void awaitWritesServed(ApiClient api, List<String> twins, Duration limit) throws Exception {
    long end = System.nanoTime() + limit.toNanos();
    for (String id : twins) {
      while (true) {
        ApiClient.Reply r = api.get("/twins/" + id);
        if (r.status() == 200) break;
        assertTrue(System.nanoTime() < end, "twin " + id + " served again within " + limit + " after the outage: " + r);
        Thread.sleep(500);
      }
    }
  }

  /**
   * The journal is the truth: per twin, the desired $versions of its change events are
   * 2, 3, 4, ... without gap or repeat, and each acknowledged write sits at its version.
   */
  private Map<String, JsonNode> checkJournal(ApiTestNode hub, List<String> twins) throws Exception {
    Map<String, JsonNode> desired = new HashMap<>();
    CassandraReadJournal journal = PersistenceQuery.get(hub.node.system().classicSystem())
        .getReadJournalFor(CassandraReadJournal.class, CassandraReadJournal.Identifier());
    int acked = 0;
    int staleWrites = 0;
    for (String id : twins) {
      List<EventEnvelope> raw = journal.currentEventsByPersistenceId("Device|" + id, 0, Long.MAX_VALUE)
          .runWith(Sink.seq(), hub.node.system()).toCompletableFuture().get(30, TimeUnit.SECONDS);
      // A write Cassandra applied after the entity had given up on it and written the same
      // number again stays in the table; the entity and every reader see the newer one.
      List<EventEnvelope> events = NewestWriter.resolve(raw);
      staleWrites += raw.size() - events.size();
      Map<Long, String> journaled = new HashMap<>();
      long expected = 2;
      for (EventEnvelope e : events) {
        if (e.event() instanceof TwinEvent.TwinPatched p) {
          long v = p.versions().desiredVersion();
          assertEquals(expected++, v, id + ": desired $versions in the journal are contiguous");
          journaled.put(v, p.desiredPatch().get("op").asText());
        }
      }
      Map<Long, String> acks = acknowledged.getOrDefault(id, Map.of());
      for (var ack : acks.entrySet()) {
        assertEquals(ack.getValue(), journaled.get(ack.getKey()),
            id + ": write acknowledged with $version " + ack.getKey() + " is in the journal at that version");
      }
      acked += acks.size();
      JsonNode twin = hub.client.get("/twins/" + id).json();
      assertEquals(expected - 1, twin.path("properties").path("desired").path("$version").asLong(),
          id + ": the twin is at its last journaled version");
      desired.put(id, twin.path("properties").path("desired"));
    }
    System.out.printf("CassandraOutageIT: %d acknowledged writes, all in the journal; %d late writes of an old incarnation%n",
        acked, staleWrites);
    assertTrue(acked > 50, "the load really ran: " + acked);
    return desired;
  }

  private void report() {
    Map<String, Map<String, Integer>> byPhase = new java.util.TreeMap<>();
    for (Outcome o : outcomes) {
      String k = o.method() + " " + (o.failure() != null ? "no-answer" : String.valueOf(o.status()));
      byPhase.computeIfAbsent(o.phase(), x -> new java.util.TreeMap<>()).merge(k, 1, Integer::sum);
      byPhase.get(o.phase()).merge("max ms", (int) o.millis(), Math::max);
    }
    System.out.println("CassandraOutageIT outcomes by phase: " + byPhase);
    outcomes.stream().filter(o -> o.failure() != null || (o.status() != 200 && o.status() != 503)).limit(5)
        .forEach(o -> System.out.println("  unexpected: " + o));
    outcomes.stream().filter(o -> o.status() == 503).limit(1).forEach(o -> System.out.println("  a 503: " + o.body()));
  }

  /**
   * A setup request, tried again if the connection could not even be made (a loaded machine
   * can take longer than the client's connect timeout for a TLS handshake) or the answer was 503
   * (the fresh journal slower than the ask timeout); for at most a minute.
   */
  private static ApiClient.Reply setup(java.util.concurrent.Callable<ApiClient.Reply> request) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try {
        ApiClient.Reply r = request.call();
        if (r.status() != 503 || System.nanoTime() > deadline) return r;
      } catch (java.net.http.HttpConnectTimeoutException e) {
        if (System.nanoTime() > deadline) throw e;
      }
      Thread.sleep(500);
    }
  }

  private static void signal(long pid, String signal) throws Exception {
    Process p = new ProcessBuilder("kill", "-" + signal, String.valueOf(pid)).inheritIO().start();
    assertEquals(0, p.waitFor(), "kill -" + signal + " " + pid);
  }

  private static void pause(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
