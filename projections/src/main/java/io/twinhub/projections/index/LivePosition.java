package io.twinhub.projections.index;

/**
 * Decides, per journal tag, whether the index's tag read has to run (catch up) or the live path
 * alone keeps the index complete, and how far the live path may advance the tag's durable offset.
 * Pure and thread-safe; times are epoch millis.
 *
 * <p>The live path ({@code TwinEventFeed}) brings every event a twin journals, one hop after the
 * journal's acknowledgement, except around a <em>loss</em>: the index (re)starting, a live event it
 * dropped (queue full, not applicable yet), a cluster membership change (a twin node that crashed
 * with events in flight, one that joined and does not list this subscriber yet). A loss at time
 * {@code t} means: events journaled up to {@code t + settle} may be missing (the settle covers the
 * receptionist spreading this node's subscription and tag rows made visible late). The tag read
 * then runs from the durable offset until it has covered that: it applied an event journaled at or
 * after {@code t + settle}, or the journal held nothing after its position when counted at or after
 * {@code t + settle}. Then it stops, and every event of the tag up to then is in the index.
 *
 * <p>While a tag's read is stopped, nothing it could bring is missing, so its durable offset may
 * follow the live path: {@link #liveOffsetAt} gives {@code now - margin} (the margin covers events
 * in flight and clock skew between nodes; a restart rewinds a further {@code restart-rewind}). A
 * restart or a later loss resumes the read from there, so the read never re-reads what the live
 * path applied while all was well, and after any loss the index still ends complete and exact
 * (events are applied once per twin by sequence number).
 */
final class LivePosition {
  private final long settleMillis;
  private final long marginMillis;
  private final boolean live;
  /** Per tag: events journaled up to here must still be brought by the tag read; 0 = read not needed. */
  private final long[] coverUntil;
  private long losses;

  /**
   * @param live whether the live path runs at all (off: the tag reads run for ever, as without it)
   * @param startedAt the index's start, itself a loss (what happened while it was down)
   */
  LivePosition(int tags, boolean live, long settleMillis, long marginMillis, long startedAt) {
    this.live = live;
    this.settleMillis = settleMillis;
    this.marginMillis = marginMillis;
    this.coverUntil = new long[tags];
    java.util.Arrays.fill(coverUntil, startedAt + settleMillis);
  }

  /** Something may have been missed at {@code at}: every tag's read must run until it covers {@code at + settle}. */
  synchronized void lossAt(long at) {
    losses++;
    for (int t = 0; t < coverUntil.length; t++) coverUntil[t] = Math.max(coverUntil[t], at + settleMillis);
  }

  /** Whether {@code tag}'s read has to run. */
  synchronized boolean catchingUp(int tag) {
    return !live || coverUntil[tag] != 0;
  }

  /** The tag read applied an event journaled at {@code eventAt}; true when that finished its catch-up. */
  synchronized boolean readReached(int tag, long eventAt) {
    return finishIf(tag, live && coverUntil[tag] != 0 && eventAt >= coverUntil[tag]);
  }

  /**
   * The journal held {@code behind} events of {@code tag} after the read's position, counted from
   * a query started at {@code countedAt}; true when that finished its catch-up.
   */
  synchronized boolean counted(int tag, long behind, long countedAt) {
    return finishIf(tag, live && coverUntil[tag] != 0 && behind == 0 && countedAt >= coverUntil[tag]);
  }

  private boolean finishIf(int tag, boolean done) {
    if (done) coverUntil[tag] = 0;
    return done;
  }

  /**
   * How far the live path has brought {@code tag} at {@code now}, as an event time the durable
   * offset may advance to; -1 while its read catches up. {@code oldestWaiting}: the write time of
   * the oldest live event received but not applied yet (Long.MAX_VALUE: none). {@code heardUntil}:
   * up to when the live feed's numbering shows nothing lost unnoticed ({@code LiveGaps#heardUntil};
   * a loss noticed later, e.g. by the next high-water mark, lies after it, so the read that it
   * resumes starts before the lost event).
   */
  synchronized long liveOffsetAt(int tag, long now, long oldestWaiting, long heardUntil) {
    if (catchingUp(tag)) return -1;
    return Math.min(Math.min(now, oldestWaiting), heardUntil) - marginMillis;
  }

  /** Losses reported since start (status). */
  synchronized long losses() {
    return losses;
  }
}
