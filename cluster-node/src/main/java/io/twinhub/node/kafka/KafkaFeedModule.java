package io.twinhub.node.kafka;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.ClusterSingleton;
import akka.cluster.typed.SingletonActor;
import com.typesafe.config.Config;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Metrics;
import io.twinhub.ops.kafka.EmbeddedKafka;
import io.twinhub.projections.kafka.KafkaFeedPublisher;
import io.twinhub.projections.kafka.KafkaTopics;
import io.twinhub.projections.streams.RouteConditions;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The change feed on Kafka in a node (docs/KAFKA.md): the embedded broker when asked for, and the
 * publisher as a cluster singleton, so exactly one runs in the cluster and it moves to another
 * node when its node leaves or dies (its {@code initTransactions} fences a predecessor that is
 * still alive). Lag and counts go to the metrics registry on the node that runs it.
 */
public final class KafkaFeedModule {
  // Not the actor's context logger: that one is named after an Akka class when the singleton
  // manager spawns the behavior, and akka.cluster logs at WARN only (logback.xml).
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(KafkaFeedModule.class);
  public static final String EMBEDDED = "embedded";

  private KafkaFeedModule() {}

  /** The embedded broker under {@code <data-dir>/kafka} when {@code twinhub.kafka.bootstrap-servers = embedded}, else null. */
  public static EmbeddedKafka startEmbedded(Config config, Path dataDir, Duration startTimeout) {
    if (!EMBEDDED.equals(config.getString("twinhub.kafka.bootstrap-servers"))) return null;
    Config e = config.getConfig("twinhub.kafka.embedded");
    return new EmbeddedKafka(dataDir.resolve("kafka"), e.getInt("port"), e.getInt("controller-port"), e.getString("heap"),
        startTimeout).start();
  }

  /** Starts the singleton publisher when Kafka is configured; {@code embedded}: the broker started with this node. */
  public static void start(ActorSystem<?> system, String hubName, Config config, EmbeddedKafka embedded) {
    String bootstrap = config.getString("twinhub.kafka.bootstrap-servers");
    if (bootstrap.isBlank()) return;
    if (EMBEDDED.equals(bootstrap)) bootstrap = embedded.bootstrapServers();
    String readJournal = config.getString("twinhub.kafka.read-journal");
    var settings = settings(config, bootstrap);
    AtomicReference<KafkaFeedPublisher> here = new AtomicReference<>();
    Gauge.builder("twinhub.kafka.feed.lag.seconds", here, r -> lagSeconds(r.get()))
        .description("Now minus the enqueued time of the newest message committed to Kafka (NaN where the publisher does not run)")
        .register(Metrics.globalRegistry);
    Gauge.builder("twinhub.kafka.feed.published", here, r -> r.get() == null ? Double.NaN : r.get().published())
        .description("Feed messages committed to Kafka by the publisher on this node")
        .register(Metrics.globalRegistry);
    ClusterSingleton.get(system).init(SingletonActor.of(publisher(hubName, readJournal, settings, here), "kafka-feed-publisher"));
  }

  /** The publisher's settings from {@code twinhub.kafka}: name, topics, batches, producer properties. */
  public static KafkaFeedPublisher.Settings settings(Config config, String bootstrap) {
    Config k = config.getConfig("twinhub.kafka");
    java.util.Map<String, String> producer = new java.util.HashMap<>();
    k.getConfig("producer").entrySet().forEach(e -> producer.put(e.getKey(), String.valueOf(e.getValue().unwrapped())));
    return KafkaFeedPublisher.Settings.withTopics(k.getString("publisher-name"), bootstrap, k.getString("topic-prefix"),
            topics(config), io.twinhub.projections.streams.JournalPosition.start())
        .withBatches(k.getInt("batch-size"), k.getDuration("batch-window"))
        .withRestartRewind(k.getDuration("restart-rewind"))
        .withLiveFeed(k.getBoolean("live-feed"))
        .withProducer(producer);
  }

  /**
   * {@code twinhub.kafka.topics} over {@code twinhub.routes}: which topics a message goes to.
   * @throws IllegalArgumentException a bad entry (fails the node's start with it named)
   */
  public static java.util.function.Function<io.twinhub.projections.streams.HubMessage, java.util.List<String>> topics(Config config) {
    return KafkaTopics.of(config.getString("twinhub.kafka.topic-prefix"), config.getStringList("twinhub.kafka.topics"),
        RouteConditions.fromConfig(config));
  }

  private static double lagSeconds(KafkaFeedPublisher p) {
    if (p == null || p.lastPublishedEnqueuedMillis() == 0) return Double.NaN;
    return (System.currentTimeMillis() - p.lastPublishedEnqueuedMillis()) / 1000.0;
  }

  private static Behavior<Object> publisher(String hubName, String readJournal, KafkaFeedPublisher.Settings settings,
                                            AtomicReference<KafkaFeedPublisher> here) {
    return Behaviors.setup(ctx -> {
      KafkaFeedPublisher p = new KafkaFeedPublisher(ctx.getSystem(), hubName, readJournal, settings);
      var running = p.run();
      here.set(p);
      log.info("Kafka feed publisher {} runs on this node ({})", settings.name(), settings.bootstrapServers());
      return Behaviors.receive(Object.class)
          .onSignal(PostStop.class, s -> {
            running.first().shutdown();
            here.set(null);
            return Behaviors.same();
          })
          .build();
    });
  }
}
