package io.twinhub.projections.journal;

import akka.persistence.PersistentRepr;
import akka.persistence.cassandra.journal.CassandraJournal;
import akka.stream.alpakka.cassandra.javadsl.CassandraSession;
import akka.stream.alpakka.cassandra.javadsl.CassandraSessionRegistry;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.typesafe.config.Config;
import scala.Function1;
import scala.concurrent.Future;
import scala.jdk.javaapi.FutureConverters;
import scala.runtime.BoxedUnit;

import java.util.concurrent.CompletionStage;

/**
 * The Cassandra journal plugin, with a recovery that reads both writes of the last sequence
 * number when there are two (see {@link NewestWriter}).
 *
 * <p>Akka bounds a recovery's replay by the journal's highest sequence number, and the plugin's
 * read stops at the first event with that number. When a late write of an old incarnation sorts
 * first there (its write time is older), the entity recovered that unacknowledged event and
 * never saw the acknowledged one written after it: an acknowledged change was gone until the
 * twin's next write ({@code StaleWriteIT}). When the last number was written twice, the replay
 * reads one number further, so that Akka's replay filter ({@code repair-by-discard-old}, on by
 * default) sees both and keeps the newer incarnation's, as it does for any number before the
 * last; nothing beyond the bound reaches the entity. Only then: a replay that reads beyond the
 * bound would also hand a late write numbered one past it to the plugin's tag recovery.
 */
public class TwinJournal extends CassandraJournal {
  private final CassandraSession session;
  private final String readProfile;
  private final long partitionSize;
  private final String writesOfCql;
  /** Read and replaced from replays' future callbacks (see {@link #writtenTwice}), so volatile. */
  private volatile CompletionStage<PreparedStatement> writesOf;

  /** This member is on the losing side of a partition or downed ({@link MajorityFence}): nothing is journaled. */
  private final java.util.concurrent.atomic.AtomicBoolean fenced = new java.util.concurrent.atomic.AtomicBoolean();

  public TwinJournal(Config cfg, String cfgPath) {
    super(cfg, cfgPath);
    if (context().system().provider() instanceof akka.cluster.ClusterActorRefProvider) {
      context().actorOf(MajorityFence.watcher(fenced), "majority-fence");
    }
    // The plugin's shared session and settings ("akka.persistence.cassandra.journal" → "akka.persistence.cassandra").
    String shared = cfgPath.replaceAll("\\.journal$", "");
    Config plugin = context().system().settings().config().getConfig(shared);
    this.session = CassandraSessionRegistry.get(context().system()).sessionFor(shared);
    this.readProfile = plugin.getString("read-profile");
    this.partitionSize = plugin.getLong("journal.target-partition-size");
    this.writesOfCql = "SELECT timestamp FROM " + plugin.getString("journal.keyspace") + "." + plugin.getString("journal.table")
        + " WHERE persistence_id = ? AND partition_nr = ? AND sequence_nr = ? LIMIT 2";
  }

  /**
   * Fails the whole batch while {@link #fenced}: the entity's persist fails (its request is
   * answered 503 and was not applied) instead of a write the surviving side may not see. A write
   * already under way when the fence went up is failed too when it completes, even if Cassandra
   * stored it: the entity then answers 503 (outcome unknown) and recovers it, and for the surviving
   * side it is an old incarnation's unacknowledged late write like any timed-out one (see above).
   * So this member acknowledges nothing from its fence on, and the surviving side's stable-after
   * need not also cover the driver's 5 s write timeout (README, "Failover").
   */
  @Override
  public Future<scala.collection.immutable.Seq<scala.util.Try<BoxedUnit>>> asyncWriteMessages(
      scala.collection.immutable.Seq<akka.persistence.AtomicWrite> messages) {
    if (fenced.get()) return scala.concurrent.Future$.MODULE$.failed(fencedFailure());
    // On the completing thread (parasitic): no extra hop per write.
    return super.asyncWriteMessages(messages).map(written -> {
      if (fenced.get()) throw fencedFailure();
      return written;
    }, scala.concurrent.ExecutionContext.parasitic$.MODULE$);
  }

  private static IllegalStateException fencedFailure() {
    return new IllegalStateException(
        "journal fenced: this member reaches no majority of the cluster (Split Brain Resolver's losing side)");
  }

  @Override
  public Future<BoxedUnit> asyncReplayMessages(String persistenceId, long fromSequenceNr, long toSequenceNr, long max,
                                               Function1<PersistentRepr, BoxedUnit> replayCallback) {
    if (toSequenceNr == Long.MAX_VALUE) {
      return super.asyncReplayMessages(persistenceId, fromSequenceNr, toSequenceNr, max, replayCallback);
    }
    return FutureConverters.asScala(writtenTwice(persistenceId, toSequenceNr).thenCompose(twice -> FutureConverters.asJava(twice
        ? super.asyncReplayMessages(persistenceId, fromSequenceNr, toSequenceNr + 1, max, event -> {
            if (event.sequenceNr() <= toSequenceNr) replayCallback.apply(event);
            return BoxedUnit.UNIT;
          })
        : super.asyncReplayMessages(persistenceId, fromSequenceNr, toSequenceNr, max, replayCallback))));
  }

  private CompletionStage<Boolean> writtenTwice(String persistenceId, long sequenceNr) {
    // Akka's AsyncWriteJournal calls asyncReplayMessages from a future callback (after the highest
    // sequence number is read), not on the journal actor's thread; so do we, after the check. The
    // statement is prepared on first use and again after a failure (Cassandra was away); two
    // replays preparing it at once is harmless (the driver prepares a statement once).
    CompletionStage<PreparedStatement> prepared = writesOf;
    if (prepared == null || prepared.toCompletableFuture().isCompletedExceptionally()) {
      prepared = session.prepare(writesOfCql);
      writesOf = prepared;
    }
    return prepared.thenCompose(statement -> session.selectAll(statement
            .bind(persistenceId, (sequenceNr - 1) / partitionSize, sequenceNr).setExecutionProfileName(readProfile)))
        .thenApply(rows -> rows.size() > 1);
  }
}
