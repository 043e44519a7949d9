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
 * @param refreshInterval   applied events become visible to queries at least this often
 * @param minRefreshInterval and at most this often
 * @param refreshBudget     between the two, the share of the writer's time refreshes may take: the
 *                          next refresh waits its last one's duration divided by this
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
 * @param liveFeed          apply the entities' live events ({@code TwinEventFeed}) ahead of the tag reads
 * @param liveQueue         live events waiting for the writer at most; beyond, they are left to the tag reads
 * @param liveGapFillMaxBehind a live event whose twin misses earlier events is filled from the twin's
 *                          journal only while its tag read is at most this many events behind
 * @param liveSettle        after a loss (start, a dropped live event, a membership change) the tag
 *                          reads run until they have covered the events journaled up to this long after it
 * @param liveMargin        while the tag reads are stopped, their offsets follow the live path this far behind now
 * @param refreshOnQuery    a query first makes pending writes visible when the last refresh is at least this old (0: off)
 * @param mergeWhenIdle     once no event was applied for this long, an index of several segments (or with deleted
 *                          documents) is merged into one in the background and reopened (0: off)
 * @param mergeWhenIdleMaxBytes ... only while the index is at most this big
 * @param mergeWhenIdleMinInterval ... and at most once in this long (each merge rewrites the whole index)
 * @param coalesceWrites    a twin's Lucene document is built and written once per batch the writer applies in
 *                          one go, from its last folded state, however many of its events the batch held; off: once per event
 * @param commitInBackground commits run on their own thread while the writer goes on applying events (off: on the writer's thread)
 * @param refreshInBackground the writer's refreshes run on their own thread while it goes on applying events (off: on its thread)
 * @param lucene            how Lucene writes and merges ({@code lucene} block)
 */
public record IndexProjectionSettings(
    String readJournal,
    int batchSize,
    Duration batchWindow,
    Duration refreshInterval,
    Duration minRefreshInterval,
    double refreshBudget,
    Duration commitInterval,
    Duration restartRewind,
    Duration minBackoff,
    Duration maxBackoff,
    Duration behindInterval,
    int behindCap,
    Duration gapTimeout,
    int stateCacheSize,
    boolean liveFeed,
    int liveQueue,
    int liveGapFillMaxBehind,
    Duration liveSettle,
    Duration liveMargin,
    Duration refreshOnQuery,
    Duration mergeWhenIdle,
    long mergeWhenIdleMaxBytes,
    Duration mergeWhenIdleMinInterval,
    boolean coalesceWrites,
    boolean commitInBackground,
    boolean refreshInBackground,
    io.twinhub.query.index.TwinIndex.Tuning lucene) {

  public IndexProjectionSettings {
    if (minRefreshInterval.compareTo(refreshInterval) > 0 || refreshBudget <= 0 || refreshBudget > 1) {
      throw new IllegalArgumentException("need min-refresh-interval <= refresh-interval and 0 < refresh-budget <= 1");
    }
  }

  /**
   * How long after a refresh that took {@code lastRefresh} the next may run: long enough that
   * refreshing takes at most {@link #refreshBudget} of the writer's time, within the two bounds.
   * A refresh flushes a Lucene segment (later merged) whatever its size, so under write load
   * fewer, larger refreshes save most of the index's CPU, while an idle index stays fresh.
   */
  public long refreshDelayMillis(Duration lastRefresh) {
    long byBudget = (long) (lastRefresh.toNanos() / refreshBudget / 1_000_000);
    return Math.max(minRefreshInterval.toMillis(), Math.min(refreshInterval.toMillis(), byBudget));
  }

  public static IndexProjectionSettings from(Config root) {
    Config c = root.getConfig("twinhub.projections.index");
    return new IndexProjectionSettings(
        c.getString("read-journal"),
        c.getInt("batch-size"),
        c.getDuration("batch-window"),
        c.getDuration("refresh-interval"),
        c.getDuration("min-refresh-interval"),
        c.getDouble("refresh-budget"),
        c.getDuration("commit-interval"),
        c.getDuration("restart-rewind"),
        c.getDuration("restart-backoff.min"),
        c.getDuration("restart-backoff.max"),
        c.getDuration("events-behind.interval"),
        c.getInt("events-behind.cap"),
        c.getDuration("gap-timeout"),
        c.getInt("state-cache-size"),
        c.getBoolean("live-feed"),
        c.getInt("live-queue"),
        c.getInt("live-gap-fill-max-behind"),
        c.getDuration("live-position.settle"),
        c.getDuration("live-position.margin"),
        c.getDuration("refresh-on-query"),
        c.getDuration("merge-when-idle.after"),
        c.getBytes("merge-when-idle.max-size"),
        c.getDuration("merge-when-idle.min-interval"),
        c.getBoolean("coalesce-writes"),
        c.getBoolean("commit-in-background"),
        c.getBoolean("refresh-in-background"),
        lucene(c.getConfig("lucene")));
  }

  private static io.twinhub.query.index.TwinIndex.Tuning lucene(Config c) {
    return new io.twinhub.query.index.TwinIndex.Tuning(
        c.getDouble("ram-buffer-mb"),
        c.getInt("merge-threads"),
        c.getInt("max-merges"),
        c.getBoolean("merge-io-throttle"),
        c.getDouble("segments-per-tier"),
        c.getDouble("floor-segment-mb"),
        c.getDouble("nrt-cache.max-merge-mb"),
        c.getDouble("nrt-cache.max-mb"),
        c.getBoolean("compound-files"));
  }
}
