package io.twinhub.projections.index;

import com.typesafe.config.Config;

import java.time.Duration;

/**
 * {@code twinhub.projections.index} (defaults in this module's reference.conf).
 *
 * @param readJournal       plugin id of the Cassandra read journal the projection reads with (its
 *                          own tuning of the tag reads, see reference.conf)
 * @param batchSize         events applied to the index in one go at most
 * @param batchWindow       how long a batch waits to fill up
 * @param refreshInterval   how often applied events become visible to queries
 * @param commitInterval    how often the index and its offsets are made durable together
 * @param restartRewind     how far before its stored offset a (re)started tag read begins, to pick
 *                          up events the journal made visible late; re-read events are recognised
 *                          by their sequence number and skipped
 * @param minBackoff        restart back-off of a failed tag read
 * @param maxBackoff        restart back-off cap
 * @param behindInterval    how often "events behind" is counted in the journal
 * @param behindCap         counting stops here ("at least")
 * @param gapTimeout        how long filling a twin's missing events from the journal may take
 * @param stateCacheSize    twins whose folded state the writer keeps in memory (saves reading it
 *                          back from the index for the next event)
 */
public record IndexProjectionSettings(
    String readJournal,
    int batchSize,
    Duration batchWindow,
    Duration refreshInterval,
    Duration commitInterval,
    Duration restartRewind,
    Duration minBackoff,
    Duration maxBackoff,
    Duration behindInterval,
    int behindCap,
    Duration gapTimeout,
    int stateCacheSize) {

  public static IndexProjectionSettings from(Config root) {
    Config c = root.getConfig("twinhub.projections.index");
    return new IndexProjectionSettings(
        c.getString("read-journal"),
        c.getInt("batch-size"),
        c.getDuration("batch-window"),
        c.getDuration("refresh-interval"),
        c.getDuration("commit-interval"),
        c.getDuration("restart-rewind"),
        c.getDuration("restart-backoff.min"),
        c.getDuration("restart-backoff.max"),
        c.getDuration("events-behind.interval"),
        c.getInt("events-behind.cap"),
        c.getDuration("gap-timeout"),
        c.getInt("state-cache-size"));
  }
}
