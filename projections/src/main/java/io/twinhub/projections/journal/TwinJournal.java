package io.twinhub.projections.journal;

import akka.persistence.PersistentRepr;
import akka.persistence.cassandra.journal.CassandraJournal;
import com.typesafe.config.Config;
import scala.Function1;
import scala.concurrent.Future;
import scala.runtime.BoxedUnit;

/**
 * The Cassandra journal plugin, with a recovery that reads both writes of the last sequence
 * number when there are two (see {@link NewestWriter}).
 *
 * <p>Akka bounds a recovery's replay by the journal's highest sequence number, and the plugin's
 * read stops at the first event with that number. When a late write of an old incarnation sorts
 * first there (its write time is older), the entity recovered that unacknowledged event and
 * never saw the acknowledged one written after it: an acknowledged change was gone until the
 * twin's next write ({@code StaleWriteIT}). Reading one number further delivers both, so Akka's
 * replay filter ({@code repair-by-discard-old}, on by default) keeps the newer incarnation's, as
 * it does for any sequence number before the last. Nothing beyond the bound reaches the entity.
 */
public class TwinJournal extends CassandraJournal {
  public TwinJournal(Config cfg, String cfgPath) {
    super(cfg, cfgPath);
  }

  @Override
  public Future<BoxedUnit> asyncReplayMessages(String persistenceId, long fromSequenceNr, long toSequenceNr, long max,
                                               Function1<PersistentRepr, BoxedUnit> replayCallback) {
    if (toSequenceNr == Long.MAX_VALUE) return super.asyncReplayMessages(persistenceId, fromSequenceNr, toSequenceNr, max, replayCallback);
    return super.asyncReplayMessages(persistenceId, fromSequenceNr, toSequenceNr + 1, max, event -> {
      if (event.sequenceNr() <= toSequenceNr) replayCallback.apply(event);
      return BoxedUnit.UNIT;
    });
  }
}
