package io.twinhub.projections.kafka;

import akka.Done;
import akka.NotUsed;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Behaviors;
import akka.japi.Pair;
import akka.stream.KillSwitches;
import akka.stream.RestartSettings;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.RestartSource;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.persistence.cassandra.query.javadsl.CassandraReadJournal;
import akka.persistence.query.EventEnvelope;
import akka.persistence.query.NoOffset;
import akka.persistence.query.Offset;
import akka.persistence.query.PersistenceQuery;
import akka.persistence.query.TimeBasedUUID;
import io.twinhub.projections.journal.NewestWriter;
import io.twinhub.projections.streams.HubMessage;
import io.twinhub.projections.streams.HubMessages;
import io.twinhub.projections.streams.JournalPosition;
import io.twinhub.twin.entity.TwinEvent;
import io.twinhub.twin.entity.TwinEventFeed;
import io.twinhub.twin.telemetry.TelemetryFeed;
import io.twinhub.twin.entity.TwinTags;
import io.twinhub.twin.telemetry.TelemetryMessage;
import io.twinhub.twin.telemetry.TelemetryTags;
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
import java.util.UUID;
import java.util.stream.IntStream;
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
 * change streams carry it) AND, in a compacted offsets topic, the position after the batch (per
 * journal tag, the newest offset read) and the mark of every twin in the batch (its highest
 * journal sequence number published: {@link PublishedMarks}). A consumer reading committed sees
 * the records of a batch if and only if the position and marks after it were committed with them.
 * A (re)started publisher reads the journal's tags from {@code restartRewind} before its
 * committed position, so that a tag row that became visible late (after the publisher had passed
 * its time) is still read, and admits each event by its twin's mark: published already, skipped;
 * the next one, published; later than the next, the missing ones are read from the twin's own
 * journal and published first. Its {@code initTransactions} (same {@code transactional.id})
 * aborts whatever an earlier incarnation left open and fences that incarnation if it still runs:
 * nothing lost, nothing published twice. A failure (broker gone, fenced) stops the batch's
 * transaction from committing; the publisher then restarts with backoff from what was committed.
 *
 * <p>With {@link Settings#liveFeed} the events the entities tell right after the journal
 * acknowledged them ({@link TwinEventFeed}, {@link TelemetryFeed}) are admitted by the same marks
 * ahead of their tag rows, so a write reaches Kafka without the tag read's delay, poll and
 * missing-event search; the position committed stays the tag reads' own, so what a restart
 * resumes from is what it was without the live path (docs/KAFKA.md, "The live path").
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
                         Duration maxBackoff, Map<String, String> producer, Duration restartRewind, boolean liveFeed) {
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
          maxBackoff, merged, restartRewind, liveFeed);
    }

    /** The same settings with batches of at most {@code max} messages collected for at most {@code wait}. */
    public Settings withBatches(int max, Duration wait) {
      return new Settings(name, bootstrapServers, topicsOf, offsetsTopic, startAt, max, wait, minBackoff, maxBackoff, producer,
          restartRewind, liveFeed);
    }

    /**
     * The same settings with a (re)started publisher reading the journal from {@code rewind} before its
     * committed position: a tag row that became visible up to that much later than its time is
     * still published (once: the marks skip what was published already).
     */
    public Settings withRestartRewind(Duration rewind) {
      return new Settings(name, bootstrapServers, topicsOf, offsetsTopic, startAt, maxBatch, maxBatchWait, minBackoff, maxBackoff,
          producer, rewind, liveFeed);
    }

    /**
     * The same settings with ({@code on}) or without the live path: the events the twin entities
     * ({@link TwinEventFeed}) and telemetry logs ({@link TelemetryFeed}) tell right after the
     * journal acknowledged them, published ahead of their tag rows, admitted by the same marks
     * (docs/KAFKA.md, "The live path"). The publisher must run in the cluster of the writers.
     */
    public Settings withLiveFeed(boolean on) {
      return new Settings(name, bootstrapServers, topicsOf, offsetsTopic, startAt, maxBatch, maxBatchWait, minBackoff, maxBackoff,
          producer, restartRewind, on);
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
          Duration.ofMillis(50), Duration.ofSeconds(1), Duration.ofSeconds(10), Map.of(), Duration.ofSeconds(10), false);
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
  private final CassandraReadJournal journal;
  private final String hubName;
  private final Settings settings;
  private final AtomicLong published = new AtomicLong();
  private final AtomicLong incarnations = new AtomicLong();
  private final AtomicLong transactions = new AtomicLong();
  private final AtomicLong commitNanos = new AtomicLong();
  private final AtomicLong skipped = new AtomicLong();
  private final AtomicLong filled = new AtomicLong();
  private final AtomicLong viaLive = new AtomicLong();
  private final AtomicLong tagRestarts = new AtomicLong();
  private volatile long lastPublishedEnqueuedMillis;

  /**
   * @param readJournalPluginId config path of the Cassandra read journal the tags are read with
   *                            (the node's {@code twinhub.kafka.read-journal})
   */
  public KafkaFeedPublisher(ActorSystem<?> system, String hubName, String readJournalPluginId, Settings settings) {
    this.system = system;
    this.journal = PersistenceQuery.get(system.classicSystem()).getReadJournalFor(CassandraReadJournal.class, readJournalPluginId);
    this.hubName = hubName;
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

  /** Events re-read after a (re)start that were published already (at or below their twin's mark): not published again. */
  public long skipped() {
    return skipped.get();
  }

  /** Events read from a twin's own journal because its tag showed a later one first (late-visible tag rows). */
  public long filled() {
    return filled.get();
  }

  /** Events passed to be published from the live path (ahead of their tag rows; gaps it showed, filled from the journal, included). */
  public long viaLive() {
    return viaLive.get();
  }

  /** How often one tag's read failed (e.g. the journal's missing-event search gave up) and was started again within an incarnation. */
  public long tagRestarts() {
    return tagRestarts.get();
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

  /** One incarnation: producer, resume state, then batches as transactions. Emits one element per committed batch. */
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
          Reading reading = new Reading(open.resume());
          return reading.items()
              .groupedWithin(settings.maxBatch(), settings.maxBatchWait())
              .mapAsync(1, batch -> CompletableFuture.supplyAsync(() -> commit(open.producer(), open.resume().floor(), batch), kafkaThread));
        })
        .watchTermination((mat, done) -> {
          done.whenComplete((d, e) -> {
            if (e != null) log.warn("Kafka feed publisher {} failed, restarting from its last committed offset: {}", settings.name(), e.toString());
            kafkaThread.execute(() -> {
              KafkaProducer<byte[], byte[]> p = producer.get();
              if (p != null) p.close(Duration.ZERO);
            });
            kafkaThread.shutdown();
          });
          return NotUsed.getInstance();
        });
  }

  /**
   * Where a (re)started publisher stands, as its last transaction committed it: the position (per
   * tag slot, the newest offset passed), the marks (per persistence id, the highest sequence
   * number passed) and the floor (the position marks began at: the start position, or a
   * position of the format before marks). {@code rewind}: whether the marks cover the rewind window.
   */
  record Resume(JournalPosition position, JournalPosition floor, Map<String, Long> marks, boolean rewind) {}

  private record Open(KafkaProducer<byte[], byte[]> producer, Resume resume) {}

  /**
   * One event read from a tag (or filled from its twin's journal), with its Kafka records (none
   * when no topic takes it), built as it is read: while the previous batch's transaction commits
   * on the producer's thread, not on that thread after it.
   */
  record Item(String persistenceId, long sequenceNr, HubMessage message, List<ProducerRecord<byte[], byte[]>> records,
              JournalPosition positionAfter) {}

  /**
   * One incarnation's read of the journal: the tags from the resume position rewound by
   * {@code restart-rewind} and, when on, the live path; each event admitted by the marks
   * ({@link PublishedMarks}), one at a time, whichever path brings it first.
   */
  private final class Reading {
    private final Resume resume;
    private final PublishedMarks marks;
    private final boolean fromStart;
    private volatile JournalPosition position; // written by admit (one at a time), read by a tag read's restart

    Reading(Resume resume) {
      this.resume = resume;
      this.marks = new PublishedMarks(resume.marks());
      this.position = resume.position();
      this.fromStart = resume.floor().equals(JournalPosition.start());
    }

    Source<Item, NotUsed> items() {
      List<Integer> slots = IntStream.range(0, SLOTS).boxed().toList();
      Source<Read, NotUsed> tags = Source.from(slots).flatMapMerge(SLOTS, this::tagRead);
      return (settings.liveFeed() ? tags.merge(live()) : tags)
          .async() // the tag reads on one actor, admitting and building records on another
          .mapAsync(1, this::admit)
          .mapConcat(items -> items);
    }

    /**
     * Slot {@code slot}'s tag read. If it fails (the journal's missing-event search gives up after
     * its gap-timeout, a Cassandra timeout) it starts again from this incarnation's position of
     * the slot, rewound as at a restart: the marks in memory are exactly what was passed, so this
     * is a restart without the producer's (and without stopping the live path).
     */
    private Source<Read, NotUsed> tagRead(int slot) {
      java.util.concurrent.atomic.AtomicBoolean first = new java.util.concurrent.atomic.AtomicBoolean(true);
      RestartSettings again = RestartSettings.create(settings.minBackoff(), settings.maxBackoff(), 0.2);
      return RestartSource.onFailuresWithBackoff(again, () -> {
        Offset from;
        if (first.getAndSet(false)) {
          from = startOffset(slot, resume.position(), resume.rewind());
        } else {
          tagRestarts.incrementAndGet();
          log.warn("Kafka feed publisher {}: the read of {} failed; reading it again from {} before its position",
              settings.name(), tag(slot), settings.restartRewind());
          from = startOffset(slot, position, true);
        }
        return journal.eventsByTag(tag(slot), from).<Read>map(env -> new Tagged(slot, env));
      });
    }

    /** Where slot {@code slot}'s read begins: {@code at}'s offset, rewound (but never before the floor). */
    private Offset startOffset(int slot, JournalPosition at, boolean rewind) {
      Optional<UUID> offset = at.offset(slot);
      Optional<UUID> floor = resume.floor().offset(slot);
      if (!rewind || offset.isEmpty()) return offset.or(() -> floor).<Offset>map(Offset::timeBasedUUID).orElse(NoOffset.getInstance());
      long from = journal.timestampFrom(new TimeBasedUUID(offset.get())) - settings.restartRewind().toMillis();
      if (floor.isPresent() && journal.timestampFrom(new TimeBasedUUID(floor.get())) >= from) return Offset.timeBasedUUID(floor.get());
      return journal.timeBasedUUIDFrom(from);
    }

    /**
     * The live path: an actor registered with the receptionist for every twin event and every
     * telemetry tag, handing what it is told to this incarnation's stream; dropped (the tag read
     * brings it, or the twin's next live event shows the gap) when the stream is behind by more
     * than {@link #LIVE_BUFFER}. Unregistered when the incarnation ends.
     */
    private Source<Read, NotUsed> live() {
      return Source.<Read>queue(LIVE_BUFFER)
          .mapMaterializedValue(queue -> {
            ActorRef<Object> subscriber = system.systemActorOf(Behaviors.receive(Object.class)
                .onMessage(TwinEventFeed.Journaled.class, j -> {
                  queue.offer(new Live(j.persistenceId(), j.sequenceNr(), j.event()));
                  return Behaviors.same();
                })
                // the live feed's numbering: the tag reads run throughout here, nothing to catch up on
                .onMessage(TwinEventFeed.HighWater.class, m -> Behaviors.same())
                .onMessage(TelemetryFeed.Journaled.class, j -> {
                  queue.offer(new Live(j.persistenceId(), j.sequenceNr(), j.message()));
                  return Behaviors.same();
                })
                .onMessageEquals(STOP_LIVE, Behaviors::stopped)
                .build(), "kafka-feed-live-" + UUID.randomUUID(), Props.empty());
            TwinEventFeed.subscribe(system, subscriber.narrow());
            for (String tag : TelemetryTags.ALL) TelemetryFeed.subscribe(system, tag, subscriber.narrow());
            return subscriber;
          })
          .watchTermination((subscriber, done) -> {
            done.whenComplete((d, e) -> subscriber.tell(STOP_LIVE));
            return NotUsed.getInstance();
          });
    }

    private CompletionStage<List<Item>> admit(Read read) {
      if (read instanceof Live l) return admitLive(l);
      Tagged t = (Tagged) read;
      EventEnvelope env = t.envelope();
      UUID offset = ((TimeBasedUUID) env.offset()).value();
      PublishedMarks.Decision d = marks.decide(env.persistenceId(), env.sequenceNr());
      if (d instanceof PublishedMarks.Skip) {
        skipped.incrementAndGet();
        return CompletableFuture.completedFuture(List.of());
      }
      if (d instanceof PublishedMarks.Fill fill) {
        // Rare: a tag row that became visible after the publisher passed it, behind a restart.
        log.info("Kafka feed publisher {}: {} events {}..{} were not in its tag when read; publishing them from its journal",
            settings.name(), env.persistenceId(), fill.from(), fill.to());
        return fill(env.persistenceId(), fill).thenApply(items -> {
          items.add(pass(t.slot(), offset, env));
          return items;
        });
      }
      return CompletableFuture.completedFuture(List.of(pass(t.slot(), offset, env)));
    }

    /**
     * A live event: published when its twin's mark is just below it; skipped when the tag read (or
     * a fill) was first; after its predecessors from the journal when the live path lost some. The
     * position stays the tag reads' own: what a restart resumes from is unchanged by the live path.
     */
    private CompletionStage<List<Item>> admitLive(Live l) {
      PublishedMarks.Decision d = marks.decideLive(l.persistenceId(), l.sequenceNr(), fromStart);
      if (d instanceof PublishedMarks.Skip || d instanceof PublishedMarks.Leave) return CompletableFuture.completedFuture(List.of());
      if (d instanceof PublishedMarks.Fill fill) {
        return fill(l.persistenceId(), fill).thenApply(items -> {
          viaLive.addAndGet(items.size() + 1);
          items.add(item(l.persistenceId(), l.sequenceNr(), l.event(), position));
          return items;
        });
      }
      viaLive.incrementAndGet();
      return CompletableFuture.completedFuture(List.of(item(l.persistenceId(), l.sequenceNr(), l.event(), position)));
    }

    /** Events {@code fill.from()..fill.to()} of {@code persistenceId}, read from its own journal, passed in order. */
    private CompletionStage<List<Item>> fill(String persistenceId, PublishedMarks.Fill fill) {
      return journal.currentEventsByPersistenceId(persistenceId, fill.from(), fill.to() + 1)
          .runWith(Sink.seq(), system)
          .thenApply(read -> {
            List<Item> items = new ArrayList<>();
            for (EventEnvelope e : NewestWriter.resolve(read)) {
              if (e.sequenceNr() < fill.from() || e.sequenceNr() > fill.to()) continue;
              items.add(item(e.persistenceId(), e.sequenceNr(), e.event(), position));
              filled.incrementAndGet();
            }
            if (items.size() != fill.to() - fill.from() + 1) {
              log.warn("Kafka feed publisher {}: the journal of {} holds {} of events {}..{}", settings.name(),
                  persistenceId, items.size(), fill.from(), fill.to());
            }
            return items;
          });
    }

    private Item pass(int slot, UUID offset, EventEnvelope env) {
      Optional<UUID> current = position.offset(slot);
      if (current.isEmpty() || current.get().timestamp() < offset.timestamp()
          || (current.get().timestamp() == offset.timestamp() && !current.get().equals(offset))) {
        position = position.with(slot, offset);
      }
      return item(env.persistenceId(), env.sequenceNr(), env.event(), position);
    }

    private Item item(String persistenceId, long sequenceNr, Object event, JournalPosition after) {
      marks.passed(persistenceId, sequenceNr);
      HubMessage m = toMessage(persistenceId, sequenceNr, event).orElse(null);
      List<ProducerRecord<byte[], byte[]>> records = List.of();
      if (m != null) {
        List<String> topics = settings.topicsOf().apply(m);
        if (!topics.isEmpty()) {
          byte[] value = TwinJson.toBytes(m.body()); // once, whatever the number of topics
          records = topics.size() == 1 ? List.of(record(topics.get(0), m, value))
              : topics.stream().map(topic -> record(topic, m, value)).toList();
        }
      }
      return new Item(persistenceId, sequenceNr, m, records, after);
    }
  }

  /** What the admission reads: a tag row, or an event of the live path. */
  private sealed interface Read permits Tagged, Live {}

  private record Live(String persistenceId, long sequenceNr, Object event) implements Read {}

  /** Live events an incarnation holds while admission is behind, at most; beyond, they are dropped (the tag read brings them). */
  static final int LIVE_BUFFER = 20_000;

  private static final Object STOP_LIVE = "stop";

  private record Tagged(int slot, EventEnvelope envelope) implements Read {}

  /** Journal tag slots, numbered as {@link JournalPosition}'s: the twin tags, then the telemetry tags. */
  static final int SLOTS = TwinTags.COUNT + TelemetryTags.COUNT;

  static String tag(int slot) {
    return slot < TwinTags.COUNT ? TwinTags.ALL.get(slot) : TelemetryTags.ALL.get(slot - TwinTags.COUNT);
  }

  private Optional<HubMessage> toMessage(String persistenceId, long sequenceNr, Object event) {
    if (event instanceof TwinEvent e) return HubMessages.of(hubName, persistenceId, sequenceNr, e);
    if (event instanceof TelemetryMessage t) return Optional.of(HubMessages.ofTelemetry(persistenceId, sequenceNr, t));
    return Optional.empty();
  }

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
      Resume resume = committed().orElse(new Resume(settings.startAt(), settings.startAt(), Map.of(), false));
      log.info("Kafka feed publisher {} resumes at {} ({} marks{})", settings.name(), resume.position(), resume.marks().size(),
          resume.rewind() ? ", rewound " + settings.restartRewind() : "");
      return new Open(producer, resume);
    } catch (RuntimeException e) {
      producer.close(Duration.ZERO);
      throw e;
    }
  }

  private int commit(KafkaProducer<byte[], byte[]> producer, JournalPosition floor, List<Item> batch) {
    long t0 = System.nanoTime();
    producer.beginTransaction();
    int messages = 0;
    HubMessage last = null;
    try {
      Map<String, Long> marks = new HashMap<>();
      for (Item item : batch) {
        marks.merge(item.persistenceId(), item.sequenceNr(), Math::max);
        HubMessage m = item.message();
        if (m == null) continue;
        messages++;
        last = m;
        for (ProducerRecord<byte[], byte[]> r : item.records()) producer.send(r);
      }
      // In the same transaction: each persistence id's mark, then the position after the batch.
      marks.forEach((pid, seq) -> producer.send(new ProducerRecord<>(settings.offsetsTopic(), markKey(settings.name(), pid),
          bytes(Long.toString(seq)))));
      JournalPosition after = batch.get(batch.size() - 1).positionAfter();
      producer.send(new ProducerRecord<>(settings.offsetsTopic(), bytes(settings.name()), bytes(positionValue(after, floor))));
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
    published.addAndGet(messages);
    if (last != null) lastPublishedEnqueuedMillis = last.enqueuedTime().toEpochMilli();
    return messages;
  }

  /** The offsets topic's value under the publisher's name: format 2 = position and floor (marks kept since the floor). */
  static String positionValue(JournalPosition position, JournalPosition floor) {
    return "2 " + position.token() + " " + floor.token();
  }

  /** A mark's key in the offsets topic: the publisher's name, a newline, the persistence id. */
  static byte[] markKey(String name, String persistenceId) {
    return bytes(name + "\n" + persistenceId);
  }

  /**
   * The resume state from the offsets topic's records (key, value; in log order, the last per key
   * counts). Empty when the publisher never committed. A position of the format before marks (a
   * bare token) resumes without rewind, and becomes the floor marks begin at.
   */
  static Optional<Resume> resume(String name, Iterable<Map.Entry<String, String>> records) {
    String prefix = name + "\n";
    String value = null;
    Map<String, Long> marks = new HashMap<>();
    for (Map.Entry<String, String> r : records) {
      if (r.getValue() == null) continue;
      if (r.getKey().equals(name)) value = r.getValue();
      else if (r.getKey().startsWith(prefix)) marks.put(r.getKey().substring(prefix.length()), Long.parseLong(r.getValue()));
    }
    if (value == null) return Optional.empty();
    String stored = value;
    String[] parts = stored.split(" ");
    if (parts.length == 3 && parts[0].equals("2")) {
      JournalPosition position = JournalPosition.parse(parts[1]).orElseThrow(() -> new IllegalStateException("bad position " + stored));
      JournalPosition floor = JournalPosition.parse(parts[2]).orElseThrow(() -> new IllegalStateException("bad position " + stored));
      return Optional.of(new Resume(position, floor, marks, true));
    }
    JournalPosition legacy = JournalPosition.parse(value).orElseThrow(() -> new IllegalStateException("bad position " + stored));
    return Optional.of(new Resume(legacy, legacy, Map.of(), false));
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

  /** This publisher's committed state: the offsets topic read to its end, committed records only. */
  Optional<Resume> committed() {
    Map<String, Object> c = new HashMap<>();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 10_000);
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts = consumer.partitionsFor(settings.offsetsTopic(), Duration.ofSeconds(30)).stream()
          .map(i -> new TopicPartition(i.topic(), i.partition())).toList();
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> end = consumer.endOffsets(parts, Duration.ofSeconds(30));
      Map<String, String> mine = new java.util.LinkedHashMap<>(); // the last value per key, as compaction keeps it
      String name = settings.name();
      while (parts.stream().anyMatch(tp -> consumer.position(tp, Duration.ofSeconds(30)) < end.get(tp))) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          if (r.key() == null) continue;
          String key = new String(r.key(), StandardCharsets.UTF_8);
          if (key.equals(name) || key.startsWith(name + "\n")) {
            mine.put(key, r.value() == null ? null : new String(r.value(), StandardCharsets.UTF_8));
          }
        }
      }
      return resume(name, mine.entrySet());
    }
  }

  private void ensureOffsetsTopic() {
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers()))) {
      // Compacted (the last value per key is the state); small segments, so that the log cleaner
      // keeps what a restarting publisher reads (a mark per twin, a position) small.
      admin.createTopics(List.of(new NewTopic(settings.offsetsTopic(), 1, (short) 1)
          .configs(Map.of("cleanup.policy", "compact", "segment.bytes", Integer.toString(16 << 20))))).all().get();
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
