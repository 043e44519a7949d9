package io.twinhub.projections.index;

import akka.persistence.query.EventEnvelope;
import akka.persistence.query.TimeBasedUUID;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.query.index.TwinKey;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.entity.TwinEvent;
import io.twinhub.twin.entity.TwinEventFeed;
import io.twinhub.twin.entity.TwinRecord;
import io.twinhub.twin.entity.TwinTags;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Applies journal events to the twin index on one thread, in the order each tag's stream
 * delivers them (a device and its modules share a tag, so each twin's events arrive in order).
 *
 * <p>The fold is the entity's own: {@link TwinRecord#apply}, from the state stored with the
 * twin's document. Each document remembers the journal sequence number it reflects:
 * <ul>
 *   <li>an event at or below it was applied already (a re-read after a restart) and is skipped
 *       — the sequence number orders every event of a twin, also identity and connection
 *       events that leave the twin {@code version} unchanged;</li>
 *   <li>an event more than one above it means events were not delivered (yet): they are read
 *       from the twin's own journal and applied first, so the fold never skips one.</li>
 * </ul>
 * Visibility ({@link TwinIndex#refresh}) follows between {@code min-refresh-interval} and
 * {@code refresh-interval}, as often as {@code refresh-budget} allows, or at once when a
 * read-your-writes query waits ({@link TwinIndex#requestRefresh}); durability
 * ({@link TwinIndex#commit}) every {@code commit-interval}, with each tag's offset in the same
 * Lucene commit, so a restart resumes exactly where the durable index is.
 */
final class TwinIndexWriter implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TwinIndexWriter.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Commit user data key: per tag {"offset": uuid, "at": epoch millis of the last applied event}. */
  static final String OFFSETS_KEY = "twinhub.projection.offsets";

  private final TwinIndex index;
  private final TwinStateCodec codec;
  private final JournalReader journal;
  private final IndexProjectionSettings settings;
  private final Clock clock;
  private final ScheduledExecutorService thread;

  // Written on the writer thread only; read by status() from any thread.
  private final UUID[] offsets = new UUID[TwinTags.COUNT];
  private final AtomicLongArray lastEventAt = new AtomicLongArray(TwinTags.COUNT);
  final AtomicLong applied = new AtomicLong();
  final AtomicLong duplicates = new AtomicLong();
  final AtomicLong gapsFilled = new AtomicLong();
  final AtomicLong failed = new AtomicLong();
  /** Lucene documents written (each replaces its twin's previous one): fewer than events applied when writes coalesce. */
  final AtomicLong documentsWritten = new AtomicLong();
  /** Events applied from the live feed (ahead of their tag read), and live events left to the tag read. */
  final AtomicLong liveApplied = new AtomicLong();
  final AtomicLong liveDropped = new AtomicLong();
  private final java.util.concurrent.atomic.AtomicInteger liveQueued = new java.util.concurrent.atomic.AtomicInteger();
  /** Live events waiting for the writer thread, applied in one go by one drain task (one refresh check per drain). */
  private final java.util.concurrent.ConcurrentLinkedQueue<Arrived> liveEvents = new java.util.concurrent.ConcurrentLinkedQueue<>();
  /** A live event and when it reached this node (System.nanoTime), for the lag stages. */
  private record Arrived(TwinEventFeed.Journaled live, long arrivedNanos) {}
  private final java.util.concurrent.atomic.AtomicBoolean liveDrainScheduled = new java.util.concurrent.atomic.AtomicBoolean();
  /** Whether a tag's read is catching up (far behind the journal): then a live event with a gap waits for it. */
  private volatile java.util.function.IntPredicate catchingUp = tag -> false;
  /** Which tag reads must run, and how far the live path may advance their offsets; null: the tag reads alone hold them. */
  private volatile LivePosition position;
  private volatile java.util.function.LongSupplier heardUntil = () -> Long.MAX_VALUE;
  private final AtomicLong lastCommit = new AtomicLong();
  private final Recorder visibleLag = new Recorder(3);
  /** Where the lag goes (status {@code stages}); also feeds {@link #visibleLag} as refreshes make batches visible. */
  final LagStages stages = new LagStages(visibleLag);
  /** Events applied and not yet handed to {@link #stages}: when each was journaled (epoch millis). */
  private long[] notYetVisible = new long[1024];
  private int notYetVisibleCount;
  /** Live events of the current drain: when the writer took each (System.nanoTime). */
  private long[] drainTaken = new long[256];
  private int drainTakenCount;
  /** The commit running on the commit thread ({@code commit-in-background}); null when none ran yet. */
  private CompletableFuture<Boolean> committing;
  private final java.util.concurrent.ExecutorService commitThread;
  /** The refresh running on the refresh thread ({@code refresh-in-background}); null when none ran yet. */
  private CompletableFuture<Boolean> refreshing;
  private final java.util.concurrent.ExecutorService refreshThread;
  /** The last folded state of recently written twins (writer thread only): saves reading it back from the index. */
  private final java.util.LinkedHashMap<TwinKey, Folded> recent;
  /**
   * Twins folded since their document was last written (writer thread only; {@code coalesce-writes}):
   * written once the writer has applied what it took in one go (a tag read's batch, or every live
   * event queued while it was busy), each from its last state, so N events of a twin in one go cost
   * one document. Not later: a query's refresh ({@link TwinIndex#refreshIfStale}) runs on its own
   * thread and sees only written documents.
   */
  private final java.util.LinkedHashMap<TwinKey, Folded> unwritten = new java.util.LinkedHashMap<>();
  /** When the index last refreshed, by whichever thread (the writer's, the refresh thread, a query's); read on the writer thread. */
  private volatile long lastRefresh;
  /** How long after the last refresh the next may run (adapts to what refreshing costs). */
  private volatile long refreshDelay;
  private boolean dirty;
  private boolean uncommitted;
  /** Clock millis of the last change applied; whether the idle merge ran since, and whether it is running. */
  private long lastChange;
  private boolean idleMergeDone = true;
  private boolean idleMerging;
  private long lastIdleMerge = Long.MIN_VALUE;
  final AtomicLong idleMerges = new AtomicLong();

  TwinIndexWriter(TwinIndex index, TwinStateCodec codec, JournalReader journal, IndexProjectionSettings settings, Clock clock) {
    this.index = index;
    this.codec = codec;
    this.journal = journal;
    this.settings = settings;
    this.clock = clock;
    this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "twinhub-index-writer");
      t.setDaemon(true);
      return t;
    });
    int cacheSize = settings.stateCacheSize();
    this.recent = new java.util.LinkedHashMap<>(Math.min(cacheSize, 1 << 16), 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<TwinKey, Folded> eldest) {
        return size() > cacheSize;
      }
    };
    this.commitThread = settings.commitInBackground() ? Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "twinhub-index-commit");
      t.setDaemon(true);
      return t;
    }) : null;
    this.refreshThread = settings.refreshInBackground() ? Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "twinhub-index-refresh");
      t.setDaemon(true);
      return t;
    }) : null;
    index.observe(stages);
    // Any refresh counts as the writer's own (queries' refresh-on-query, group refresh): the next
    // is due refresh-delay after the last one whoever ran it. Under queries that keep the index
    // fresh the writer then adds no reopens of its own: each is a flushed segment (≈ 19 ms of CPU
    // on the slow box, and merges 60 % more) that would not make a write visible any sooner
    // (docs/BENCHMARKS.md "Session 18: index lag").
    index.addRefreshListener(() -> lastRefresh = Math.max(lastRefresh, clock.millis()));
    readOffsets(index.committedData());
    // Short ticks, so a refresh a read-your-writes query asks for happens within ~20 ms; the
    // refresh intervals only bound how stale other queries may be.
    long tick = Math.max(10, Math.min(20, settings.minRefreshInterval().toMillis()));
    refreshDelay = settings.minRefreshInterval().toMillis();
    thread.scheduleWithFixedDelay(this::tick, tick, tick, TimeUnit.MILLISECONDS);
  }

  /** The offset of {@code tag} the index reflects (applied, maybe not yet committed); null before any. */
  synchronized UUID offset(int tag) {
    return offsets[tag];
  }

  /** Epoch millis of the last applied event of {@code tag} (0 before any). */
  long lastEventAt(int tag) {
    return lastEventAt.get(tag);
  }

  long lastCommitAt() {
    return lastCommit.get();
  }

  /** Applies a batch of one tag's events; completes when they are in the index (not yet visible). */
  CompletionStage<Void> apply(int tag, List<EventEnvelope> batch) {
    return CompletableFuture.runAsync(() -> {
      for (EventEnvelope env : batch) {
        boolean changed = applyEvent(env);
        advance(tag, env, changed);
      }
      writeUnwritten();
      handOverForVisibility();
      maybeRefresh(false);
      maybeCommit(false);
    }, thread);
  }

  /**
   * A live event ({@link TwinEventFeed}), applied ahead of its tag read (which then skips it by
   * sequence number); a gap before it is filled from the twin's journal as for a tag event. While
   * a tag's read catches up, its offsets stay the read's own; once {@link LivePosition} lets it stop,
   * commits advance them with the live path. Left to the tag read (a loss: the reads run again) when
   * the writer already has {@code live-queue} live events waiting, cannot apply it, or is closed.
   */
  void offerLive(TwinEventFeed.Journaled live) {
    if (liveQueued.incrementAndGet() > settings.liveQueue()) {
      liveQueued.decrementAndGet();
      dropLive();
      return;
    }
    long now = System.currentTimeMillis();
    LagStages.record(stages.arrive, (now - live.writtenAt()) * 1000);
    liveEvents.add(new Arrived(live, System.nanoTime()));
    if (liveDrainScheduled.compareAndSet(false, true)) {
      try {
        thread.execute(this::drainLive);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        // closed: what is queued stays unapplied, the tag reads have it
      }
    }
  }

  /** A live event left to the tag reads: they must run (again) until they have brought it. */
  private void dropLive() {
    liveDropped.incrementAndGet();
    LivePosition p = position;
    if (p != null) p.lossAt(clock.millis());
  }

  private void drainLive() {
    liveDrainScheduled.set(false); // an event added from here on schedules the next drain
    drainTakenCount = 0;
    for (Arrived arrived; (arrived = liveEvents.poll()) != null; ) {
      liveQueued.decrementAndGet();
      TwinEventFeed.Journaled live = arrived.live();
      long taken = System.nanoTime();
      LagStages.record(stages.queue, (taken - arrived.arrivedNanos()) / 1000);
      try {
        // While a tag read catches up (after a restart), twins are behind by many events: filling
        // each from its journal on the writer thread would slow the catch-up that brings them anyway.
        boolean fillGaps = !catchingUp.test(TwinTags.ALL.indexOf(live.tag()));
        if (applyEvent(live.persistenceId(), live.sequenceNr(), live.event(), fillGaps)) {
          liveApplied.incrementAndGet();
          notYetVisible(live.writtenAt());
          if (drainTakenCount == drainTaken.length) drainTaken = java.util.Arrays.copyOf(drainTaken, drainTakenCount * 2);
          drainTaken[drainTakenCount++] = taken;
        }
      } catch (RuntimeException e) {
        dropLive();
        log.warn("index: live event {} of {} not applied (its tag read will bring it): {}", live.sequenceNr(),
            live.persistenceId(), e.toString());
      }
    }
    writeUnwritten();
    long written = System.nanoTime();
    for (int i = 0; i < drainTakenCount; i++) LagStages.record(stages.write, (written - drainTaken[i]) / 1000);
    handOverForVisibility();
    maybeRefresh(false);
  }

  /** Hands the events applied since the last call (their documents written) to the stages, which record them once visible. */
  private void handOverForVisibility() {
    if (notYetVisibleCount == 0) return;
    stages.written(new LagStages.Batch(index.writeGeneration(), System.nanoTime(),
        java.util.Arrays.copyOf(notYetVisible, notYetVisibleCount), notYetVisibleCount), index.visibleGeneration());
    notYetVisibleCount = 0;
  }

  /** From now on the live path advances the offsets of tags whose reads {@code position} lets stop. */
  void livePosition(LivePosition position) {
    this.position = position;
  }

  /** Up to when the live feed's numbering shows nothing lost unnoticed (bounds {@link #advanceLive}). */
  void liveHeardUntil(java.util.function.LongSupplier heardUntil) {
    this.heardUntil = heardUntil;
  }

  /** Tells the writer which tag reads are catching up (see {@link #offerLive}). */
  void catchingUpWhen(java.util.function.IntPredicate tagCatchingUp) {
    this.catchingUp = tagCatchingUp;
  }

  /** Makes everything applied visible and durable now (on the writer thread). */
  CompletionStage<Void> flush() {
    return CompletableFuture.runAsync(() -> {
      maybeRefresh(true);
      maybeCommit(true);
    }, thread);
  }

  /** Index lag percentiles since the last call: event written → visible to queries, in ms. */
  Histogram takeVisibleLag() {
    return visibleLag.getIntervalHistogram();
  }

  // ------------------------------------------------------------------ the fold

  private record Folded(long seq, TwinRecord record) {}

  /** Applies one event of the journal (or the live feed); false when it was not new (skipped). */
  boolean applyEvent(EventEnvelope env) {
    return applyEvent(env.persistenceId(), env.sequenceNr(), env.event(), true);
  }

  /** {@code fillGaps} false: an event with earlier ones missing is left to its tag read (counted as a dropped live event). */
  private boolean applyEvent(String persistenceId, long seq, Object payload, boolean fillGaps) {
    TwinKey key = keyOf(persistenceId);
    if (key == null || !(payload instanceof TwinEvent event)) return false;
    Folded folded = unwritten.get(key);
    if (folded == null) folded = recent.get(key);
    Optional<TwinIndex.Stored> stored = folded != null ? Optional.empty() : index.lookup(key);
    long last = folded != null ? folded.seq() : stored.map(TwinIndex.Stored::seq).orElse(0L);
    if (seq <= last) {
      duplicates.incrementAndGet();
      return false;
    }
    try {
      TwinRecord record = folded != null ? folded.record()
          : stored.map(TwinIndex.Stored::state).map(codec::decode).orElse(TwinRecord.EMPTY);
      if (seq > last + 1) {
        if (!fillGaps) {
          dropLive();
          return false;
        }
        gapsFilled.incrementAndGet();
        for (EventEnvelope missing : journal.events(persistenceId, last + 1, seq - 1, settings.gapTimeout())) {
          if (missing.sequenceNr() > last && missing.sequenceNr() < seq && missing.event() instanceof TwinEvent m) {
            record = record.apply(m);
            applied.incrementAndGet(); // its own delivery (tag read) will be a duplicate
          }
        }
      }
      write(key, record.apply(event), seq);
    } catch (RuntimeException e) {
      refold(key, persistenceId, seq, e);
    }
    applied.incrementAndGet();
    return true;
  }

  /** The stored state could not take the event: fold the twin's whole journal from the start. */
  private void refold(TwinKey key, String persistenceId, long seq, RuntimeException cause) {
    log.warn("index: event {} of {} did not apply to the stored state ({}); refolding the twin from its journal",
        seq, persistenceId, cause.toString());
    try {
      TwinRecord record = TwinRecord.EMPTY;
      for (EventEnvelope e : journal.events(persistenceId, 1, seq, settings.gapTimeout())) {
        if (e.event() instanceof TwinEvent t) record = record.apply(t);
      }
      write(key, record, seq);
    } catch (RuntimeException e) {
      failed.incrementAndGet();
      log.error("index: cannot fold {} up to event {}; the twin stays as it was: {}", persistenceId, seq, e.toString());
    }
  }

  private void write(TwinKey key, TwinRecord record, long seq) {
    Folded folded = new Folded(seq, record);
    recent.put(key, folded);
    if (settings.coalesceWrites()) {
      unwritten.put(key, folded);
    } else {
      writeDocument(key, record, seq);
    }
    dirty = true;
    lastChange = clock.millis();
    idleMergeDone = false;
    uncommitted = true;
  }

  /** Writes the documents of the twins folded since their last write, before a refresh or commit. */
  private void writeUnwritten() {
    if (unwritten.isEmpty()) return;
    for (Map.Entry<TwinKey, Folded> e : unwritten.entrySet()) {
      try {
        writeDocument(e.getKey(), e.getValue().record(), e.getValue().seq());
      } catch (RuntimeException ex) {
        // As a refold that cannot be written: the twin's document stays as it was.
        failed.incrementAndGet();
        recent.remove(e.getKey());
        log.error("index: cannot write {} at event {}; the twin stays as it was: {}", e.getKey(),
            e.getValue().seq(), ex.toString());
      }
    }
    unwritten.clear();
  }

  private void writeDocument(TwinKey key, TwinRecord record, long seq) {
    byte[] state = codec.encode(record);
    documentsWritten.incrementAndGet();
    if (record.exists()) {
      index.put(key, TwinJson.serviceView(record.twin()),
          TwinJson.deltaIndexFields(io.twinhub.twin.domain.TwinDelta.of(record.twin().state())), seq, state);
    } else {
      index.putDeleted(key, seq, record.twin() == null ? 0 : record.twin().state().version(), state);
    }
  }

  /** "Device|dev1" → device dev1; "Module|dev1/mod1" → module mod1 of dev1; anything else null. */
  static TwinKey keyOf(String persistenceId) {
    int bar = persistenceId.indexOf('|');
    if (bar < 0) return null;
    String type = persistenceId.substring(0, bar);
    String id = persistenceId.substring(bar + 1);
    if (type.equals("Device")) return TwinKey.device(id);
    if (type.equals("Module")) {
      int slash = id.indexOf('/');
      return slash > 0 ? TwinKey.module(id.substring(0, slash), id.substring(slash + 1)) : null;
    }
    return null;
  }

  // ------------------------------------------------------------------ offsets, visibility, durability

  private synchronized void advance(int tag, EventEnvelope env, boolean changed) {
    if (env.offset() instanceof TimeBasedUUID t && (offsets[tag] == null || UUID_ORDER.compare(t.value(), offsets[tag]) > 0)) {
      offsets[tag] = t.value();
      lastEventAt.set(tag, env.timestamp());
      // Also when the event was a duplicate (applied live before): the offset must reach the commit.
      uncommitted = true;
    }
    if (changed) notYetVisible(env.timestamp());
  }

  /** Records an applied event written at {@code writtenAt}, for the lag figure at the next refresh. */
  private void notYetVisible(long writtenAt) {
    if (notYetVisibleCount == notYetVisible.length) notYetVisible = java.util.Arrays.copyOf(notYetVisible, notYetVisibleCount * 2);
    notYetVisible[notYetVisibleCount++] = writtenAt;
  }

  private void tick() {
    try {
      maybeRefresh(false);
      maybeCommit(false);
      maybeMergeIdle();
    } catch (RuntimeException e) {
      log.error("index: refresh/commit failed: {}", e.toString(), e);
    }
  }

  /** The shortest gap between refreshes that waiting read-your-writes queries ask for. */
  static final long READ_YOUR_WRITES_GAP_MS = 25;

  private void maybeRefresh(boolean force) {
    long now = clock.millis();
    // A waiting read-your-writes query asks for a refresh after each one until it is satisfied:
    // at most one per READ_YOUR_WRITES_GAP_MS (or min-refresh-interval if shorter), or each small
    // batch of live events would flush a segment; never the configured interval, which may be long.
    long requestedGap = Math.min(READ_YOUR_WRITES_GAP_MS, settings.minRefreshInterval().toMillis());
    // Forced (flush: stop, reindex swap, "visible now"): a refresh running beside the writer may
    // hold what was written before it, and it alone may have cleared dirty; if it failed, refresh here.
    if (force && refreshing != null && !refreshing.join()) dirty = true;
    if (!dirty || (!force && now - lastRefresh < (index.refreshRequested() ? requestedGap : refreshDelay))) {
      return;
    }
    if (refreshing != null && !refreshing.isDone()) return; // dirty stays set: the next drain or tick refreshes what came meanwhile
    writeUnwritten();
    handOverForVisibility();
    dirty = false;
    if (refreshThread == null || force) {
      long t0 = System.nanoTime();
      index.refresh();
      refreshDelay = settings.refreshDelayMillis(Duration.ofNanos(System.nanoTime() - t0));
      lastRefresh = clock.millis();
      return;
    }
    // The reopen (flushing a segment, applying deletes, opening its reader) runs beside the
    // writer, which goes on applying live events meanwhile; they are visible with the next one.
    lastRefresh = now;
    refreshing = beside(refreshThread, "refresh", () -> {
      long t0 = System.nanoTime();
      index.refresh();
      refreshDelay = settings.refreshDelayMillis(Duration.ofNanos(System.nanoTime() - t0));
      lastRefresh = clock.millis();
    }, () -> dirty = true);
  }

  /**
   * Runs {@code work} on {@code on} beside the writer; if it fails, logs it and runs
   * {@code onFailure} on the writer thread (unless the writer is closing) so the next tick retries.
   * Completes with whether {@code work} succeeded (never exceptionally).
   */
  private CompletableFuture<Boolean> beside(java.util.concurrent.Executor on, String what, Runnable work, Runnable onFailure) {
    return CompletableFuture.runAsync(work, on).thenApply(done -> true).exceptionally(e -> {
      log.error("index: {} failed: {}", what, e.toString());
      try {
        thread.execute(onFailure);
      } catch (java.util.concurrent.RejectedExecutionException closed) {
        // closing: what is not committed is re-read from the journal next time
      }
      return false;
    });
  }

  /**
   * Once the index is idle ({@code merge-when-idle.after} without a change), merges its segments
   * into one on Lucene's merge threads, then reopens the searcher on the result, so that queries
   * cost the same however the index was fed (the live path leaves a small segment per refresh).
   * Durable with the next commit, like any write. Writes arriving meanwhile are applied as usual.
   */
  private void maybeMergeIdle() {
    if (idleMerging) {
      if (index.merging()) return;
      idleMerging = false;
      // Counted before the reopen that shows the merged segment, so whoever sees one segment sees the count.
      idleMerges.incrementAndGet();
      index.refresh();
      return;
    }
    long after = settings.mergeWhenIdle().toMillis();
    long now = clock.millis();
    if (after <= 0 || idleMergeDone || dirty || now - lastChange < after) return;
    // Not yet done, only deferred: still idle once the interval has passed, it merges then.
    if (lastIdleMerge != Long.MIN_VALUE && now - lastIdleMerge < settings.mergeWhenIdleMinInterval().toMillis()) return;
    idleMergeDone = true;
    TwinIndex.Layout layout = index.layout();
    if (layout.segments() <= 1 && layout.deletedDocs() == 0) return;
    if (index.sizeOnDisk() > settings.mergeWhenIdleMaxBytes()) return;
    index.mergeSegments(1, false);
    idleMerging = true;
    lastIdleMerge = now;
  }

  private void maybeCommit(boolean force) {
    long now = clock.millis();
    // Forced (flush): a commit running beside the writer may be the only one holding what was
    // applied before it (it cleared uncommitted): durable now means after it.
    if (force && committing != null && !committing.join()) uncommitted = true;
    if (!uncommitted || (!force && now - lastCommit.get() < settings.commitInterval().toMillis())) return;
    if (committing != null && !committing.isDone()) return; // the next tick commits what came meanwhile
    advanceLive(now);
    writeUnwritten(); // the commit's offsets describe every event applied so far
    handOverForVisibility();
    Map<String, String> data = Map.of(OFFSETS_KEY, offsetsJson());
    uncommitted = false;
    if (commitThread == null || force) {
      index.commit(data);
      lastCommit.set(clock.millis());
      return;
    }
    // The commit (a flush, then copying and syncing files) runs beside the writer, which goes on
    // applying live events meanwhile. Its offsets were taken above, after every document they
    // describe was written: documents written during the commit may be in it too (ahead of its
    // offsets, skipped by sequence number after a restart), offsets are never ahead of documents.
    committing = beside(commitThread, "commit", () -> {
      index.commit(data);
      lastCommit.set(clock.millis());
    }, () -> uncommitted = true);
  }

  /**
   * Moves the offsets of tags whose reads are stopped to where the live path has brought them
   * (only with something else to commit: an idle index keeps its last offsets, with nothing after them).
   */
  private synchronized void advanceLive(long now) {
    LivePosition p = position;
    if (p == null || journal == null) return;
    Arrived oldest = liveEvents.peek();
    long waiting = oldest == null ? Long.MAX_VALUE : oldest.live().writtenAt();
    for (int t = 0; t < TwinTags.COUNT; t++) {
      long at = p.liveOffsetAt(t, now, waiting, heardUntil.getAsLong());
      if (at <= 0) continue;
      UUID offset = journal.offsetAt(at);
      if (offsets[t] == null || UUID_ORDER.compare(offset, offsets[t]) > 0) offsets[t] = offset;
    }
  }

  private synchronized String offsetsJson() {
    ObjectNode o = JSON.createObjectNode();
    for (int t = 0; t < TwinTags.COUNT; t++) {
      if (offsets[t] == null) continue;
      o.putObject(TwinTags.ALL.get(t)).put("offset", offsets[t].toString()).put("at", lastEventAt.get(t));
    }
    return o.toString();
  }

  private synchronized void readOffsets(Map<String, String> data) {
    String json = data.get(OFFSETS_KEY);
    if (json == null) return;
    try {
      JsonNode o = JSON.readTree(json);
      for (int t = 0; t < TwinTags.COUNT; t++) {
        JsonNode n = o.get(TwinTags.ALL.get(t));
        if (n == null) continue;
        offsets[t] = UUID.fromString(n.get("offset").asText());
        lastEventAt.set(t, n.path("at").asLong());
      }
    } catch (IOException | RuntimeException e) {
      throw new TwinIndex.IndexUnusableException("the index's stored offsets cannot be read: " + e);
    }
  }

  /** The committed offsets of an index, by tag index (null where none), for status and tests. */
  static Map<Integer, UUID> committedOffsets(TwinIndex index) {
    Map<Integer, UUID> out = new HashMap<>();
    String json = index.committedData().get(OFFSETS_KEY);
    if (json == null) return out;
    try {
      JsonNode o = JSON.readTree(json);
      for (int t = 0; t < TwinTags.COUNT; t++) {
        JsonNode n = o.get(TwinTags.ALL.get(t));
        if (n != null) out.put(t, UUID.fromString(n.get("offset").asText()));
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out;
  }

  /** Time-based UUIDs in time order (then by their other bits), as Cassandra orders timeuuids. */
  static final Comparator<UUID> UUID_ORDER = Comparator.comparingLong(UUID::timestamp)
      .thenComparing(u -> u.getLeastSignificantBits() ^ Long.MIN_VALUE);

  /** Stops the thread after a final refresh and commit. */
  @Override
  public void close() {
    try {
      flush().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("index: final commit failed: {}", e.toString());
    } finally {
      thread.shutdownNow();
      if (commitThread != null) commitThread.shutdownNow();
      if (refreshThread != null) refreshThread.shutdownNow();
    }
  }
}
