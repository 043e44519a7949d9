package io.twinhub.ops.kafka;

import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The embedded broker is a real Kafka: transactions work on it (committed records reach a
 * read_committed consumer, aborted ones never do), and committed records survive a kill -9 of the
 * broker and a restart on the same data directory.
 */
class EmbeddedKafkaIT {

  @TempDir
  Path dir;

  static KafkaProducer<String, String> producer(EmbeddedKafka kafka, String transactionalId) {
    return new KafkaProducer<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
        ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId,
        ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
        ProducerConfig.MAX_BLOCK_MS_CONFIG, 60_000),
        new StringSerializer(), new StringSerializer());
  }

  /** Every committed value of the topic's partition 0, read from the start by a read_committed consumer. */
  static List<String> committed(EmbeddedKafka kafka, String topic, int expected) {
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
        ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false),
        new StringDeserializer(), new StringDeserializer())) {
      TopicPartition tp = new TopicPartition(topic, 0);
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      List<String> out = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      // Read up to the end offset (the last stable offset for read_committed), at least `expected` records.
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) out.add(r.value());
        long end = c.endOffsets(List.of(tp)).get(tp);
        if (out.size() >= expected && c.position(tp) >= end) break;
      }
      return out;
    }
  }

  @Test
  void transactionsCommitAtomicallyAndCommittedRecordsSurviveABrokerKill() throws Exception {
    int port = SharedEmbeddedCassandra.freePort();
    int controllerPort = SharedEmbeddedCassandra.freePort();
    try (EmbeddedKafka kafka = new EmbeddedKafka(dir, port, controllerPort, "384m", Duration.ofSeconds(120)).start()) {
      assertTrue(kafka.isRunning());
      try (KafkaProducer<String, String> p = producer(kafka, "it-tx")) {
        p.initTransactions();
        p.beginTransaction();
        for (int i = 0; i < 5; i++) p.send(new ProducerRecord<>("feed", "dev-" + i, "a" + i));
        p.commitTransaction();
        p.beginTransaction();
        for (int i = 0; i < 5; i++) p.send(new ProducerRecord<>("feed", "dev-" + i, "aborted" + i));
        p.flush(); // written to the log, then aborted: read_committed must skip them
        p.abortTransaction();
        p.beginTransaction();
        for (int i = 0; i < 5; i++) p.send(new ProducerRecord<>("feed", "dev-" + i, "b" + i));
        p.commitTransaction();
      }
      List<String> expected = List.of("a0", "a1", "a2", "a3", "a4", "b0", "b1", "b2", "b3", "b4");
      assertEquals(expected, committed(kafka, "feed", expected.size()));

      kafka.kill(); // kill -9: no controlled shutdown
      assertFalse(kafka.isRunning());
      kafka.start(); // same data directory: already formatted, logs recovered
      assertEquals(expected, committed(kafka, "feed", expected.size()));
      // A producer with the same transactional id fences the old one and goes on.
      try (KafkaProducer<String, String> p = producer(kafka, "it-tx")) {
        p.initTransactions();
        p.beginTransaction();
        p.send(new ProducerRecord<>("feed", "dev-0", "c0"));
        p.commitTransaction();
      }
      assertEquals(11, committed(kafka, "feed", 11).size());
    }
  }
}
