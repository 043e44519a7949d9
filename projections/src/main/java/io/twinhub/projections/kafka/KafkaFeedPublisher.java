package io.twinhub.projections.kafka;

import akka.Done;
import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.japi.Pair;
import akka.stream.KillSwitches;
import akka.stream.RestartSettings;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.RestartSource;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import io.twinhub.projections.streams.ChangeFeed;
import io.twinhub.projections.streams.HubMessage;
import io.twinhub.projections.streams.JournalPosition;
import io.twinhub.twin.domain.TwinJson;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * Publishes the change feed to Kafka, exactly once for {@code read_committed} consumers.
 *
 * <p>Each batch of feed messages is one Kafka transaction holding the records (a topic per source
 * and/or per named route, as {@code topicsOf} maps a message: {@link KafkaTopics}; key = device id, so a device's records stay in one
 * partition in feed order; IoT Hub's properties and system properties as headers; the body as the
 * change streams carry it) AND the feed offset after the batch, written to a compacted offsets
 * topic under the publisher's name. A consumer reading committed sees the records of a batch if
 * and only if the offset after it was committed with them. A (re)started publisher reads its last
 * committed offset and resumes the feed right after it, and its {@code initTransactions} (same
 * {@code transactional.id}) aborts whatever an earlier incarnation left open and fences that
 * incarnation if it still runs: nothing lost, nothing published twice. A failure (broker gone,
 * fenced) stops the batch's transaction from committing; the publisher then restarts with backoff
 * from the last committed offset.
 */
public final class KafkaFeedPublisher {
  private static final Logger log = LoggerFactory.getLogger(KafkaFeedPublisher.class);

  /**
   * @param name          the publisher's identity: its transactional id and its key in the offsets topic
   * @param offsetsTopic  compacted, one partition; created when missing
   * @param producer      kafka-clients producer properties over {@link #PRODUCER_DEFAULTS} (never the
   *                      transactional id, idempotence or acks, which exactly once needs as they are)
   */
  public record Settings(String name, String bootstrapServers, Function<HubMessage, List<String>> topicsOf, String offsetsTopic,
                         JournalPosition startAt, int maxBatch, Duration maxBatchWait, Duration minBackoff,
                         Duration maxBackoff, Map<String, String> producer) {
    public Settings {
      producer = Map.copyOf(producer);
      for (String fixed : List.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
          ProducerConfig.ACKS_CONFIG, ProducerConfig.BOOTSTRAP_SERVERS_CONFIG)) {
        if (producer.containsKey(fixed)) throw new IllegalArgumentException("the Kafka producer's " + fixed + " is not configurable");
      }
    }

    /** The same settings with {@code overrides} over this one's producer properties. */
    public Settings withProducer(Map<String, String> overrides) {
      Map<String, String> merged = new HashMap<>(producer);
      merged.putAll(overrides);
      return new Settings(name, bootstrapServers, topicsOf, offsetsTopic, startAt, maxBatch, maxBatchWait, minBackoff,
          maxBackoff, merged);
    }

    /** The same settings with batches of at most {@code max} messages collected for at most {@code wait}. */
    public Settings withBatches(int max, Duration wait) {
      return new Settings(name, bootstrapServers, topicsOf, offsetsTopic, startAt, max, wait, minBackoff, maxBackoff, producer);
    }

    /**
     * Topics {@code <prefix><source>} (e.g. {@code twinhub.twinChangeEvents}), offsets in
     * {@code <prefix>feed-offsets}; a publisher that never committed starts at {@code startAt}.
     */
    public static Settings perSource(String name, String bootstrapServers, String prefix, JournalPosition startAt) {
      return withTopics(name, bootstrapServers, prefix, KafkaTopics.perSource(prefix), startAt);
    }

    /** Topics as {@code topicsOf} says ({@link KafkaTopics}), offsets in {@code <prefix>feed-offsets}. */
    public static Settings withTopics(String name, String bootstrapServers, String prefix,
                                      Function<HubMessage, List<String>> topicsOf, JournalPosition startAt) {
      return new Settings(name, bootstrapServers, topicsOf, prefix + "feed-offsets", startAt, 500,
          Duration.ofMillis(50), Duration.ofSeconds(1), Duration.ofSeconds(10), Map.of());
    }
  }

  /**
   * Producer properties unless {@link Settings#producer} says otherwise. A transaction's records
   * are sent by its commit's flush, so what counts is how few produce requests carry them: big
   * batches (kafka-clients' 16 KB held ~12 feed records, dozens of round trips per transaction)
   * and lz4 (the JSON bodies and headers shrink several times): 1.6–2.1 × the events/s of
   * kafka-clients' defaults (docs/BENCHMARKS.md, "Kafka").
   */
  public static final Map<String, String> PRODUCER_DEFAULTS = Map.of(
      ProducerConfig.BATCH_SIZE_CONFIG, "524288",
      ProducerConfig.LINGER_MS_CONFIG, "20",
      ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4",
      ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");

  private final ActorSystem<?> system;
  private final ChangeFeed feed;
  private final Settings settings;
  private final AtomicLong published = new AtomicLong();
  private final AtomicLong incarnations = new AtomicLong();
  private final AtomicLong transactions = new AtomicLong();
  private final AtomicLong commitNanos = new AtomicLong();
  private volatile long lastPublishedEnqueuedMillis;

  public KafkaFeedPublisher(ActorSystem<?> system, ChangeFeed feed, Settings settings) {
    this.system = system;
    this.feed = feed;
    this.settings = settings;
  }

  /** Records published (committed) by this instance. */
  public long published() {
    return published.get();
  }

  /** Transactions (batches) committed by this instance. */
  public long transactions() {
    return transactions.get();
  }

  /** Time spent from each batch's beginTransaction to its committed commitTransaction, summed (ns). */
  public long commitNanos() {
    return commitNanos.get();
  }

  /** How often a producer was opened (1 + restarts after failures). */
  public long incarnations() {
    return incarnations.get();
  }

  /** Enqueued time of the newest message committed to Kafka, epoch ms (0 before the first): the lag is now minus this. */
  public long lastPublishedEnqueuedMillis() {
    return lastPublishedEnqueuedMillis;
  }

  /** Runs until the kill switch is pulled; restarts after failures from the last committed offset. */
  public Pair<UniqueKillSwitch, CompletionStage<Done>> run() {
    RestartSettings restart = RestartSettings.create(settings.minBackoff(), settings.maxBackoff(), 0.2);
    return RestartSource.withBackoff(restart, this::publishing)
        .viaMat(KillSwitches.single(), Keep.right())
        .toMat(Sink.ignore(), Keep.both())
        .run(system);
  }

  /** One incarnation: producer, resume position, then batches as transactions. Emits one element per committed batch. */
  private Source<Integer, NotUsed> publishing() {
    // The producer is not thread-safe for transactions and blocks: one thread of its own per incarnation.
    ExecutorService kafkaThread = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "kafka-feed-" + settings.name());
      t.setDaemon(true);
      return t;
    });
    java.util.concurrent.atomic.AtomicReference<KafkaProducer<byte[], byte[]>> producer = new java.util.concurrent.atomic.AtomicReference<>();
    return Source.completionStage(CompletableFuture.supplyAsync(this::open, kafkaThread))
        .flatMapConcat(open -> {
          producer.set(open.producer());
          return feed.messages(open.resume(), m -> true)
              .groupedWithin(settings.maxBatch(), settings.maxBatchWait())
              .mapAsync(1, batch -> CompletableFuture.supplyAsync(() -> commit(open.producer(), batch), kafkaThread));
        })
        .watchTermination((mat, done) -> {
          done.whenComplete((d, e) -> {
            if (e != null) log.warn("Kafka feed publisher {} failed, restarting from its last committed offset: {}", settings.name(), e.toString());
            kafkaThread.execute(() -> {
              KafkaProducer<byte[], byte[]> p = producer.get();
              if (p != null) p.close(Duration.ofSeconds(5));
            });
            kafkaThread.shutdown();
          });
          return NotUsed.getInstance();
        });
  }

  private record Open(KafkaProducer<byte[], byte[]> producer, JournalPosition resume) {}

  private Open open() {
    incarnations.incrementAndGet();
    ensureOffsetsTopic();
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "twinhub-feed-" + settings.name());
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.putAll(PRODUCER_DEFAULTS);
    p.putAll(settings.producer());
    KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    try {
      producer.initTransactions(); // aborts an earlier incarnation's open transaction, fences it
      JournalPosition resume = lastCommittedOffset().orElse(settings.startAt());
      log.info("Kafka feed publisher {} resumes at {}", settings.name(), resume);
      return new Open(producer, resume);
    } catch (RuntimeException e) {
      producer.close(Duration.ZERO);
      throw e;
    }
  }

  private int commit(KafkaProducer<byte[], byte[]> producer, List<HubMessage> batch) {
    long t0 = System.nanoTime();
    producer.beginTransaction();
    try {
      for (HubMessage m : batch) {
        List<String> topics = settings.topicsOf().apply(m);
        if (topics.isEmpty()) continue;
        byte[] value = TwinJson.toBytes(m.body()); // once, whatever the number of topics
        for (String topic : topics) producer.send(record(topic, m, value));
      }
      String offset = batch.get(batch.size() - 1).offset();
      producer.send(new ProducerRecord<>(settings.offsetsTopic(), bytes(settings.name()), bytes(offset)));
      producer.commitTransaction();
    } catch (RuntimeException e) {
      // Nothing of the batch becomes visible to read_committed consumers; the restart resumes before it.
      try {
        producer.abortTransaction();
      } catch (RuntimeException ignored) {
        // fenced or broker gone: the next incarnation's initTransactions aborts it
      }
      throw e;
    }
    commitNanos.addAndGet(System.nanoTime() - t0);
    transactions.incrementAndGet();
    published.addAndGet(batch.size());
    lastPublishedEnqueuedMillis = batch.get(batch.size() - 1).enqueuedTime().toEpochMilli();
    return batch.size();
  }

  /** The Kafka record of a feed message: key device id, headers IoT Hub's properties, value the body JSON. */
  static ProducerRecord<byte[], byte[]> record(String topic, HubMessage m) {
    return record(topic, m, TwinJson.toBytes(m.body()));
  }

  private static ProducerRecord<byte[], byte[]> record(String topic, HubMessage m, byte[] value) {
    ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, null, m.enqueuedTime().toEpochMilli(),
        bytes(m.deviceId()), value);
    m.properties().forEach((k, v) -> r.headers().add(new RecordHeader(k, bytes(v))));
    m.systemProperties().forEach((k, v) -> r.headers().add(new RecordHeader(k, bytes(v))));
    r.headers().add(new RecordHeader("twinhub-source", bytes(m.source().wire())));
    r.headers().add(new RecordHeader("twinhub-twin-id", bytes(m.twinId())));
    r.headers().add(new RecordHeader("twinhub-sequence-nr", bytes(Long.toString(m.sequenceNr()))));
    if (m.version() != null) r.headers().add(new RecordHeader("twinhub-version", bytes(Long.toString(m.version()))));
    if (m.bodyEncoding() != null) r.headers().add(new RecordHeader("twinhub-body-encoding", bytes(m.bodyEncoding())));
    return r;
  }

  /** The last offset this publisher committed: the offsets topic read to its end, committed records only. */
  Optional<JournalPosition> lastCommittedOffset() {
    Map<String, Object> c = new HashMap<>();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts = consumer.partitionsFor(settings.offsetsTopic(), Duration.ofSeconds(30)).stream()
          .map(i -> new TopicPartition(i.topic(), i.partition())).toList();
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> end = consumer.endOffsets(parts, Duration.ofSeconds(30));
      String last = null;
      byte[] name = bytes(settings.name());
      while (parts.stream().anyMatch(tp -> consumer.position(tp, Duration.ofSeconds(30)) < end.get(tp))) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          if (java.util.Arrays.equals(name, r.key()) && r.value() != null) last = new String(r.value(), StandardCharsets.UTF_8);
        }
      }
      return Optional.ofNullable(last).flatMap(JournalPosition::parse);
    }
  }

  private void ensureOffsetsTopic() {
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers()))) {
      admin.createTopics(List.of(new NewTopic(settings.offsetsTopic(), 1, (short) 1)
          .configs(Map.of("cleanup.policy", "compact")))).all().get();
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) throw new IllegalStateException("cannot create " + settings.offsetsTopic(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
