package io.twinhub.node.cluster;

import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;
import io.twinhub.ops.kafka.EmbeddedKafka;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Exactly once on Kafka across failures, with real node processes: while a writer patches twins
 * through node 2, the node running the feed publisher (the cluster singleton, on node 1) is killed
 * with {@code kill -9} and the publisher moves to node 2; then the broker (a child JVM) is killed
 * with {@code kill -9} and started again. A {@code read_committed} consumer, reading all along,
 * then holds every twin change of every device exactly once and in per-device order: duplicates
 * (the same change at two offsets) and losses are counted, and both must be zero.
 */
class KafkaFailoverIT {
  static final int DEVICES = 10;
  static final String TOPIC = "twinhub.twinChangeEvents";
  static final Duration PROGRESS = Duration.ofSeconds(180);

  @TempDir
  static Path dir;

  @Test
  void aReadCommittedConsumerSeesEveryChangeOnceAcrossAKilledPublisherNodeAndABrokerRestart() throws Exception {
    String run = UUID.randomUUID().toString().substring(0, 8);
    EmbeddedKafka kafka = new EmbeddedKafka(dir.resolve("kafka"), SharedEmbeddedCassandra.freePort(),
        SharedEmbeddedCassandra.freePort(), "384m", Duration.ofSeconds(180));
    // The broker starts while the nodes do (its address is known before): the publisher retries
    // with backoff until the broker answers, as after the broker's restart below.
    CompletableFuture<EmbeddedKafka> brokerUp = CompletableFuture.supplyAsync(kafka::start);
    try (kafka;
         NodeProcesses cluster = NodeProcesses.startCluster(dir, 2, "kafkafo",
             List.of("-Dtwinhub.kafka.bootstrap-servers=" + kafka.bootstrapServers()), SharedEmbeddedCassandra.freePort(), true);
         Consumer consumer = new Consumer(brokerUp.join().bootstrapServers(), "kafka-failover-" + run)) {
      NodeProcesses.Node first = cluster.nodes.get(0);
      NodeProcesses.Node second = cluster.nodes.get(1);
      assertTrue(NodeProcesses.eventually(NodeProcesses.MEMBERSHIP, () -> runsPublisher(first)),
          "the publisher (a singleton) runs on node 1, the oldest:\n" + tail(first));
      assertFalse(runsPublisher(second), "one publisher in the cluster");

      List<String> devices = new ArrayList<>();
      for (int d = 0; d < DEVICES; d++) devices.add("kfo-" + run + "-" + d);
      for (String id : devices) {
        var r = cluster.setUp(second, "PUT", "/devices/" + id, "{\"deviceId\":\"" + id + "\"}");
        assertTrue(r.statusCode() == 200 || r.statusCode() == 409, r::body); // 409: a retried create that did succeed
      }

      // One writer through node 2 (the survivor) all along; outcomes of writes the failover
      // disturbs do not matter: what counts is what the journal holds at the end.
      AtomicBoolean stop = new AtomicBoolean();
      AtomicInteger acknowledged = new AtomicInteger();
      Thread writer = new Thread(() -> {
        int i = 0;
        while (!stop.get()) {
          String id = devices.get(i % DEVICES);
          try {
            var r = cluster.send(second, "PATCH", "/twins/" + id, "{\"properties\":{\"desired\":{\"n\":" + (i++) + "}}}");
            if (r.statusCode() == 200) acknowledged.incrementAndGet();
          } catch (java.io.IOException e) {
            // outcome unknown; the journal decides
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "kafka-failover-writer");
      writer.start();
      try {
        awaitMore(consumer, 100, "the publisher on node 1 publishes");
        cluster.kill(first);
        assertTrue(NodeProcesses.eventually(PROGRESS, () -> runsPublisher(second)),
            "the publisher moved to node 2:\n" + tail(second));
        awaitMore(consumer, 100, "the publisher on node 2 publishes after node 1's kill -9");

        kafka.kill();
        // Writes go on while the broker is gone: the publisher has a backlog when it comes back.
        int beforeRestart = acknowledged.get();
        assertTrue(NodeProcesses.eventually(PROGRESS, () -> acknowledged.get() >= beforeRestart + 20),
            "writes acknowledged while the broker is down: " + (acknowledged.get() - beforeRestart));
        kafka.start();
        awaitMore(consumer, 100, "the publisher publishes after the broker's restart");
      } finally {
        stop.set(true);
        writer.join(30_000);
      }

      // A last patch per device, acknowledged: its version is the device's final one, and
      // anything the disturbed writes left queued in the cluster was applied before it.
      Map<String, Long> finalVersion = new HashMap<>();
      for (String id : devices) {
        var r = cluster.setUp(second, "PATCH", "/twins/" + id, "{\"properties\":{\"desired\":{\"done\":true}}}");
        assertEquals(200, r.statusCode(), r::body);
        finalVersion.put(id, NodeProcesses.JSON.readTree(r.body()).path("properties").path("desired").path("$version").asLong());
      }
      assertTrue(NodeProcesses.eventually(PROGRESS, () -> devices.stream().allMatch(id ->
              consumer.versions(id).contains(finalVersion.get(id)))),
          "every device's last change reached the consumer: " + finalVersion + " " + consumer.lastVersions());
      // Read on a little: a duplicate published late would show up now.
      int seen = consumer.count();
      Thread.sleep(5_000);

      int duplicates = 0;
      int losses = 0;
      int outOfOrder = 0;
      for (String id : devices) {
        List<Long> versions = consumer.versions(id);
        Map<Long, Integer> times = new HashMap<>();
        for (long v : versions) times.merge(v, 1, Integer::sum);
        for (long v = 2; v <= finalVersion.get(id); v++) {
          int n = times.getOrDefault(v, 0);
          if (n == 0) losses++;
          if (n > 1) duplicates += n - 1;
        }
        for (int i = 1; i < versions.size(); i++) if (versions.get(i) <= versions.get(i - 1)) outOfOrder++;
      }
      System.out.printf("KafkaFailoverIT: %d changes read (%d writes acknowledged) across kill -9 of the publisher's"
              + " node and a broker restart; %d read in the last 5 s; %d handed to the consumer again at the same offset;"
              + " duplicates %d, losses %d, out of order %d%n",
          consumer.count(), acknowledged.get(), consumer.count() - seen, consumer.redelivered(), duplicates, losses, outOfOrder);
      assertEquals(0, duplicates, "changes read twice");
      assertEquals(0, losses, "changes never read");
      assertEquals(0, outOfOrder, "changes out of per-device order");
      // Torn down by kill -9 rather than a graceful stop of each (nothing of theirs is kept: the
      // keyspaces are dropped, the directory deleted).
      consumer.close();
      for (NodeProcesses.Node n : cluster.nodes) if (n.current().isAlive()) cluster.kill(n);
      kafka.kill();
    }
  }

  static String tail(NodeProcesses.Node n) {
    List<String> lines = List.copyOf(n.output());
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
  }

  /** What {@code ./twinhub kafka status} says of the node (from its /metrics). */
  static boolean runsPublisher(NodeProcesses.Node n) {
    if (!n.current().isAlive()) return false;
    io.twinhub.node.cli.CliRun status = io.twinhub.node.cli.CliRun.of("kafka", "status", "--format", "json",
        "--management-url", "http://127.0.0.1:" + n.managementPort());
    if (status.exit() != 0) return false;
    try {
      return NodeProcesses.JSON.readTree(status.out()).path("publisherOnThisNode").asBoolean();
    } catch (java.io.IOException e) {
      return false;
    }
  }

  static void awaitMore(Consumer consumer, int more, String what) throws InterruptedException {
    int from = consumer.count();
    assertTrue(NodeProcesses.eventually(PROGRESS, () -> consumer.count() >= from + more), what + ": " + consumer.count() + " read");
  }

  /**
   * A read_committed consumer of the twin changes on a thread of its own: versions per device in
   * the order read. What is counted is what the topic holds: a record the consumer is handed again
   * at the same partition and offset (its group rejoined after the broker restart and went back to
   * its last committed position, at least once by design) is skipped and counted apart.
   */
  static final class Consumer implements AutoCloseable {
    private final Map<String, List<Long>> versions = new ConcurrentHashMap<>();
    private final java.util.Set<String> positions = ConcurrentHashMap.newKeySet();
    private final AtomicInteger redelivered = new AtomicInteger();
    private final AtomicInteger count = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Thread thread;

    Consumer(String bootstrap, String group) {
      thread = new Thread(() -> {
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
            ConsumerConfig.GROUP_ID_CONFIG, group,
            ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(), new StringDeserializer())) {
          c.subscribe(List.of(TOPIC));
          while (!closed.get()) {
            for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
              var h = r.headers().lastHeader("twinhub-version");
              if (h == null) continue;
              if (!positions.add(r.partition() + "@" + r.offset())) {
                redelivered.incrementAndGet();
                continue;
              }
              versions.computeIfAbsent(r.key(), k -> java.util.Collections.synchronizedList(new ArrayList<>()))
                  .add(Long.parseLong(new String(h.value(), StandardCharsets.UTF_8)));
              count.incrementAndGet();
            }
          }
        } catch (Throwable t) {
          failure.set(t);
        }
      }, "kafka-failover-consumer");
      thread.setDaemon(true);
      thread.start();
    }

    int count() {
      if (failure.get() != null) throw new AssertionError("the consumer failed", failure.get());
      return count.get();
    }

    int redelivered() {
      return redelivered.get();
    }

    List<Long> versions(String deviceId) {
      List<Long> v = versions.get(deviceId);
      if (v == null) return List.of();
      synchronized (v) {
        return List.copyOf(v);
      }
    }

    Map<String, Long> lastVersions() {
      Map<String, Long> last = new HashMap<>();
      versions.forEach((id, v) -> {
        synchronized (v) {
          if (!v.isEmpty()) last.put(id, v.get(v.size() - 1));
        }
      });
      return last;
    }

    @Override
    public void close() throws InterruptedException {
      closed.set(true);
      thread.join(30_000);
    }
  }
}
