package io.twinhub.node.amqp;

import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.persistence.cassandra.query.javadsl.CassandraReadJournal;
import akka.persistence.query.NoOffset;
import akka.persistence.query.Offset;
import akka.persistence.query.PersistenceQuery;
import akka.persistence.query.TimeBasedUUID;
import akka.stream.javadsl.Source;
import io.twinhub.twin.c2d.CloudToDeviceQueue;
import io.twinhub.twin.c2d.FeedbackCursor;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/**
 * The hub's feedback queue, read from the journal: every outcome a sender asked feedback for is a
 * {@link CloudToDeviceQueue.Settled} event tagged {@value CloudToDeviceQueue#FEEDBACK_TAG}; a
 * receiver reads them after the {@link FeedbackCursor} in batches, and completing a batch moves
 * the cursor past it. Nothing is written for feedback but the cursor (one event per completed
 * batch). At least once: a batch not completed (released, or the connection dropped) comes again.
 */
final class FeedbackFeed {
  record Batch(List<CloudToDeviceQueue.Settled> records, UUID lastOffset) {}

  private final ActorSystem<?> system;
  private final CassandraReadJournal journal;
  private final Duration askTimeout;
  private final AmqpSettings settings;

  FeedbackFeed(ActorSystem<?> system, String readJournalId, Duration askTimeout, AmqpSettings settings) {
    this.system = system;
    this.journal = PersistenceQuery.get(system).getReadJournalFor(CassandraReadJournal.class, readJournalId);
    this.askTimeout = askTimeout;
    this.settings = settings;
  }

  /** Batches after the completed cursor, live (the stream does not end). */
  CompletionStage<Source<Batch, NotUsed>> batches() {
    return cursor().ask(FeedbackCursor.Get::new, askTimeout).thenApply(state -> {
      Offset from = state.offset() == null ? NoOffset.getInstance() : Offset.timeBasedUUID(state.offset());
      return journal.eventsByTag(CloudToDeviceQueue.FEEDBACK_TAG, from)
          .filter(env -> env.event() instanceof CloudToDeviceQueue.Settled)
          .groupedWithin(settings.feedbackBatchSize(), settings.feedbackBatchWait())
          .map(envs -> new Batch(envs.stream().map(e -> (CloudToDeviceQueue.Settled) e.event()).toList(),
              ((TimeBasedUUID) envs.get(envs.size() - 1).offset()).value()));
    });
  }

  CompletionStage<FeedbackCursor.State> complete(UUID offset) {
    return cursor().ask(r -> new FeedbackCursor.Complete(offset, r), askTimeout);
  }

  private akka.cluster.sharding.typed.javadsl.EntityRef<FeedbackCursor.Command> cursor() {
    return ClusterSharding.get(system).entityRefFor(FeedbackCursor.TYPE_KEY, FeedbackCursor.HUB);
  }
}
