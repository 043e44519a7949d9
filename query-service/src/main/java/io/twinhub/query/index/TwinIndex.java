package io.twinhub.query.index;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.lucene.document.Document;
import org.apache.lucene.index.ConcurrentMergeScheduler;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.MergePolicy;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.Terms;
import org.apache.lucene.index.TermsEnum;
import org.apache.lucene.index.TieredMergePolicy;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.ReferenceManager;
import org.apache.lucene.search.SearcherFactory;
import org.apache.lucene.search.SearcherManager;
import org.apache.lucene.search.Sort;
import org.apache.lucene.search.SortField;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.BytesRef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * The local Lucene index of twins: written by one projection thread, read by any number of
 * query threads through near-real-time searchers.
 *
 * <p>Writes become visible to queries on {@link #refresh()} and durable on {@link
 * #commit(Map)}, which stores the caller's data (the projection's journal offsets) in the same
 * Lucene commit as the documents: after a crash the index is exactly as of its last commit,
 * offsets included. The writer never commits on its own (not on close either).
 *
 * <p>Besides the JSON a query returns, every document stores the writer's own state for the
 * twin ({@code state}: opaque bytes, the projection's fold state) and the journal sequence
 * number it reflects, so the projection resumes without any other store.
 */
public final class TwinIndex implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(TwinIndex.class);

  /** Bumped whenever the document model changes; an index of another schema is rebuilt. */
  public static final String SCHEMA = "1";
  public static final String SCHEMA_KEY = "twinhub.index.schema";

  static final Sort INDEX_SORT = new Sort(new SortField(TwinFields.ORDER, SortField.Type.STRING));
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path path;
  private final Directory directory;
  private final IndexWriter writer;
  private final SearcherManager searchers;
  private final Map<TwinKey, Pending> pending = new ConcurrentHashMap<>();
  private final AtomicLong writeGeneration = new AtomicLong();
  private final List<Runnable> refreshListeners = new CopyOnWriteArrayList<>();
  /** A reader waits for writes to become visible: the writer refreshes at its next tick instead of its interval. */
  private volatile boolean refreshWanted;
  /** The write generation the last refresh made visible, and when it ran (System.nanoTime). */
  private volatile long visibleGeneration;
  private volatile long lastRefreshNanos = System.nanoTime();
  private volatile Map<String, String> committed;
  /** Reopens that made new writes visible, and how many of them a query ran ({@link #refreshIfStale}). */
  private final AtomicLong refreshes = new AtomicLong();
  private final AtomicLong refreshesOnQuery = new AtomicLong();
  /**
   * One refresh at a time (group refresh): a thread that waited for the running one then needs a
   * reopen of its own only if none started after it asked. Reopens started under it, counted.
   */
  private final java.util.concurrent.locks.ReentrantLock refreshLock = new java.util.concurrent.locks.ReentrantLock();
  private volatile long refreshesStarted;
  /** Refreshes asked for that a reopen started after the ask covered (no reopen of their own). */
  private final AtomicLong refreshesShared = new AtomicLong();

  /**
   * Receives the index's own timings (the projection's lag stages, docs/BENCHMARKS.md "Session 16");
   * called on whichever thread did the work, so implementations must be thread-safe and cheap.
   */
  public interface Observer {
    /** A refresh made every write up to {@code generation} visible; it took {@code nanos} (waiting for another refresh included). */
    default void refreshed(long generation, long nanos, boolean onQuery) {}

    /**
     * Where a reopen's time went ({@link #refreshed} counts it whole): {@code lockNanos} waiting for
     * another thread's reopen to end, then {@code reopenNanos} of its own, of which {@code spent} on a
     * CPU and runnable but waiting for one (the rest: blocked on a lock or I/O); {@code spent} is null
     * where the kernel does not say ({@link ThreadTimes}).
     */
    default void reopenTimes(long lockNanos, long reopenNanos, ThreadTimes spent, boolean onQuery) {}

    /** A refresh asked for was covered by one another thread started after the ask (group refresh); waited {@code nanos}. */
    default void refreshShared(long nanos, boolean onQuery) {}

    default void committed(long nanos) {}

    /** A background merge ran for {@code nanos}. */
    default void merged(long nanos) {}

    /** A thread that wrote or refreshed was held {@code nanos} because merges were behind (Lucene's merge stall). */
    default void stalled(long nanos) {}
  }

  private static final Observer NO_OBSERVER = new Observer() {};
  private volatile Observer observer = NO_OBSERVER;

  /**
   * How Lucene writes and merges (twinhub.projections.index.lucene; docs/BENCHMARKS.md "Session 16").
   *
   * @param ramBufferMB      documents buffered in memory before a flush (a refresh flushes anyway)
   * @param mergeThreads     merges running at once; -1: Lucene's choice (half the cores, 1..4)
   * @param maxMerges        merges waiting before writing threads stall; -1: Lucene's choice (threads + 5)
   * @param mergeIoThrottle  Lucene's automatic merge write-rate throttle
   * @param segmentsPerTier  TieredMergePolicy: segments of one size before they are merged; -1: Lucene's (10)
   * @param floorSegmentMB   TieredMergePolicy: smaller segments count as this big; -1: Lucene's (2 MB)
   * @param nrtCacheMaxMergeMB NRTCachingDirectory: flushed or merged segments up to this size stay in memory
   * @param nrtCacheMaxMB    NRTCachingDirectory: in memory at most
   * @param compoundFiles    segments (flushed by refreshes and commits, and merged) packed into one compound file
   */
  public record Tuning(double ramBufferMB, int mergeThreads, int maxMerges, boolean mergeIoThrottle,
                       double segmentsPerTier, double floorSegmentMB, double nrtCacheMaxMergeMB, double nrtCacheMaxMB,
                       boolean compoundFiles) {
    /** What the index used before these were settings. */
    public static final Tuning DEFAULT = new Tuning(48, -1, -1, true, -1, -1, 8, 64, true);

    public Tuning withCompoundFiles(boolean on) {
      return new Tuning(ramBufferMB, mergeThreads, maxMerges, mergeIoThrottle, segmentsPerTier, floorSegmentMB, nrtCacheMaxMergeMB, nrtCacheMaxMB, on);
    }

    public Tuning withMergePolicy(double segmentsPerTier, double floorSegmentMB) {
      return new Tuning(ramBufferMB, mergeThreads, maxMerges, mergeIoThrottle, segmentsPerTier, floorSegmentMB, nrtCacheMaxMergeMB, nrtCacheMaxMB, compoundFiles);
    }
  }

  /** What the writer last stored for a twin. {@code deleted}: the twin is gone (the document stays as a marker). */
  public record Stored(long seq, long version, boolean deleted, byte[] state) {}

  private record Pending(long generation, Stored stored) {}

  private TwinIndex(Path path, Directory directory, Tuning tuning) throws IOException {
    this.path = path;
    this.directory = directory;
    TieredMergePolicy mergePolicy = new TieredMergePolicy();
    if (tuning.segmentsPerTier() > 0) mergePolicy.setSegmentsPerTier(tuning.segmentsPerTier());
    if (tuning.floorSegmentMB() > 0) mergePolicy.setFloorSegmentMB(tuning.floorSegmentMB());
    if (!tuning.compoundFiles()) mergePolicy.setNoCFSRatio(0);
    ConcurrentMergeScheduler scheduler = new ObservedMergeScheduler();
    if (tuning.mergeThreads() > 0 || tuning.maxMerges() > 0) {
      int threads = tuning.mergeThreads() > 0 ? tuning.mergeThreads() : Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors() / 2));
      scheduler.setMaxMergesAndThreads(tuning.maxMerges() > 0 ? Math.max(tuning.maxMerges(), threads) : threads + 5, threads);
    }
    if (!tuning.mergeIoThrottle()) scheduler.disableAutoIOThrottle();
    IndexWriterConfig config = new IndexWriterConfig()
        .setIndexSort(INDEX_SORT)
        // Off: a refresh's segment is written as its parts, not packed into one file after (NRTCachingDirectory keeps them in memory).
        .setUseCompoundFile(tuning.compoundFiles())
        .setCommitOnClose(false)
        .setRAMBufferSizeMB(tuning.ramBufferMB())
        .setMergeScheduler(scheduler)
        .setMergePolicy(mergePolicy);
    config.setOpenMode(IndexWriterConfig.OpenMode.CREATE_OR_APPEND);
    this.writer = new IndexWriter(directory, config);
    if (!DirectoryReader.indexExists(directory)) {
      writer.setLiveCommitData(Map.of(SCHEMA_KEY, SCHEMA).entrySet());
      writer.commit();
    }
    this.committed = readCommitData(directory);
    String schema = committed.get(SCHEMA_KEY);
    if (!SCHEMA.equals(schema)) {
      writer.rollback();
      directory.close();
      throw new IndexUnusableException("index at " + path + " has schema " + schema + ", this build writes " + SCHEMA);
    }
    this.searchers = new SearcherManager(writer, true, false, new SearcherFactory());
    this.searchers.addListener(new ReferenceManager.RefreshListener() {
      @Override
      public void beforeRefresh() {}

      @Override
      public void afterRefresh(boolean didRefresh) {
        if (didRefresh) {
          refreshes.incrementAndGet();
          refreshListeners.forEach(Runnable::run);
        }
      }
    });
  }

  /**
   * Opens (or creates) the index in {@code dir}. A missing index is created empty; one that
   * cannot be read (corrupt, truncated, another format or schema) is an {@link
   * IndexUnusableException}: the caller moves it aside and rebuilds from the journal.
   */
  public static TwinIndex open(Path dir) {
    return open(dir, Tuning.DEFAULT);
  }

  /** {@link #open(Path)} with how Lucene writes and merges. */
  public static TwinIndex open(Path dir, Tuning tuning) {
    try {
      Files.createDirectories(dir);
      // Small segments flushed by frequent near-real-time refreshes stay in memory until a commit
      // or a merge writes them out: a refresh then costs no file creation and mapping.
      org.apache.lucene.store.Directory directory = new CommitCopyDirectory(FSDirectory.open(dir),
          tuning.nrtCacheMaxMergeMB(), tuning.nrtCacheMaxMB());
      try {
        if (DirectoryReader.indexExists(directory)) {
          // Opening a reader verifies the commit point's checksum and every segment's headers and footers.
          DirectoryReader.open(directory).close();
        }
        return new TwinIndex(dir, directory, tuning);
      } catch (IndexUnusableException e) {
        throw e;
      } catch (IOException | RuntimeException e) {
        try {
          directory.close();
        } catch (IOException ignored) {
          // already failing
        }
        throw new IndexUnusableException("index at " + dir + " cannot be opened: " + e, e);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open index directory " + dir, e);
    }
  }

  /** An index in memory (tests, benchmarks). */
  public static TwinIndex inMemory() {
    try {
      return new TwinIndex(null, new ByteBuffersDirectory(), Tuning.DEFAULT);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The index directory, null for an in-memory index. */
  public Path path() {
    return path;
  }

  // ------------------------------------------------------------------ writing (one thread)

  /** Adds or replaces the twin's document. {@code view} is the service-view JSON. */
  public void put(TwinKey key, JsonNode view, long seq, byte[] state) {
    put(key, view, null, seq, state);
  }

  /**
   * ... with {@code indexedOnly}: pseudo-paths (the {@code delta} summary) that queries can test
   * but that are not part of the twin's JSON, so SELECT * answers as IoT Hub does; null: none.
   */
  public void put(TwinKey key, JsonNode view, JsonNode indexedOnly, long seq, byte[] state) {
    if (indexedOnly != null) {
      indexedOnly.fieldNames().forEachRemaining(name -> {
        if (!TwinFields.INDEXED_ONLY_ROOTS.contains(name)) {
          throw new IllegalArgumentException("indexed-only path '" + name + "' is not in TwinFields.INDEXED_ONLY_ROOTS");
        }
      });
    }
    try {
      byte[] json = JSON.writeValueAsBytes(view);
      long version = view.path("version").asLong();
      Document doc = TwinFields.twin(key, view, indexedOnly, json, seq, version, state);
      writer.updateDocument(new Term(TwinFields.KEY, key.term()), doc);
      pending.put(key, new Pending(writeGeneration.incrementAndGet(), new Stored(seq, version, false, state)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Replaces the twin's document by a deletion marker that no query finds. */
  public void putDeleted(TwinKey key, long seq, long version, byte[] state) {
    try {
      writer.updateDocument(new Term(TwinFields.KEY, key.term()), TwinFields.deleted(key, seq, version, state));
      pending.put(key, new Pending(writeGeneration.incrementAndGet(), new Stored(seq, version, true, state)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What was last written for {@code key}, refreshed or not; empty if never. */
  public Optional<Stored> lookup(TwinKey key) {
    Pending p = pending.get(key);
    if (p != null) return Optional.of(p.stored());
    return withSearcher(s -> storedOf(s, key));
  }

  /**
   * Asks the writer to make its writes visible soon rather than at its refresh interval: a
   * read-your-writes query is waiting. Stays asked until a refresh no longer leaves a waiter.
   */
  public void requestRefresh() {
    refreshWanted = true;
  }

  /** Whether a reader asked for a refresh (see {@link #requestRefresh()}). */
  public boolean refreshRequested() {
    return refreshWanted;
  }

  /** Makes every write so far visible to queries (near-real-time; not durable). Any thread. */
  public void refresh() {
    refresh(false);
  }

  /**
   * Group refresh: every thread that asks while a reopen runs waits for it, and then the first of
   * them reopens for all (its reopen starts after each of them asked, so it shows every write they
   * could want); the others return without a reopen of their own. Before, each waiting thread
   * reopened in turn, flushing a segment each time writes came meanwhile (docs/BENCHMARKS.md,
   * "Session 17: index lag"). True when this call reopened.
   */
  private boolean refresh(boolean onQuery) {
    long t0 = System.nanoTime();
    long asked = refreshesStarted; // reopens started so far: the one running now does not cover us
    refreshLock.lock();
    try {
      if (refreshesStarted > asked) {
        refreshesShared.incrementAndGet();
        observer.refreshShared(System.nanoTime() - t0, onQuery);
        return false;
      }
      refreshesStarted++;
      // Every write so far, also those of the threads now waiting behind this one.
      long generation = writeGeneration.get();
      // Cleared before the reopen: a reader still waiting afterwards asks again from its listener.
      refreshWanted = false;
      long locked = System.nanoTime();
      ThreadTimes before = ThreadTimes.now();
      try {
        searchers.maybeRefreshBlocking();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      lastRefreshNanos = System.nanoTime();
      ThreadTimes after = before == null ? null : ThreadTimes.now();
      observer.reopenTimes(locked - t0, lastRefreshNanos - locked, after == null ? null : after.since(before), onQuery);
      synchronized (this) {
        visibleGeneration = Math.max(visibleGeneration, generation);
      }
      pending.values().removeIf(p -> p.generation() <= generation);
      observer.refreshed(generation, lastRefreshNanos - t0, onQuery);
      return true;
    } finally {
      refreshLock.unlock();
    }
  }

  /** Threads waiting for the running refresh (an estimate, for tests and monitoring). */
  public int refreshesWaiting() {
    return refreshLock.getQueueLength();
  }

  /** Receives the index's timings from now on (one observer; null: none). */
  public void observe(Observer observer) {
    this.observer = observer == null ? NO_OBSERVER : observer;
  }

  /** Writes so far (each put, putDeleted or deleteAll counts one); compare with {@link #visibleGeneration()}. */
  public long writeGeneration() {
    return writeGeneration.get();
  }

  /** The write generation the last refresh made visible. */
  public long visibleGeneration() {
    return visibleGeneration;
  }

  /**
   * Refresh on demand, before a query: makes the writes so far visible when there are any not yet
   * visible and the last refresh is at least {@code minGapNanos} old (so a busy query node
   * refreshes at most once per gap, and an index without new writes never). True when it refreshed
   * (its own reopen, or one another thread started after it asked: group refresh).
   */
  public boolean refreshIfStale(long minGapNanos) {
    if (writeGeneration.get() <= visibleGeneration || System.nanoTime() - lastRefreshNanos < minGapNanos) return false;
    if (refresh(true)) refreshesOnQuery.incrementAndGet();
    return true;
  }

  /**
   * Makes every write so far durable together with {@code data} (merged over the schema key) as
   * the commit's user data. The caller must not write concurrently, so that the data describes
   * exactly the documents of the commit.
   */
  public void commit(Map<String, String> data) {
    Map<String, String> all = new HashMap<>(data);
    all.put(SCHEMA_KEY, SCHEMA);
    long t0 = System.nanoTime();
    try {
      writer.setLiveCommitData(all.entrySet());
      writer.commit();
      committed = Map.copyOf(all);
      observer.committed(System.nanoTime() - t0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The user data of the last commit (what {@link #commit} stored). */
  public Map<String, String> committedData() {
    return committed;
  }

  /**
   * Merges the index down to at most {@code maxSegments} segments (and drops the deleted
   * documents of those it merges), visible after the next refresh. With {@code wait} false the
   * merge runs on Lucene's merge threads and this returns at once. Not durable until the next commit.
   */
  public void mergeSegments(int maxSegments, boolean wait) {
    try {
      writer.forceMerge(maxSegments, wait);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Whether merges asked for are still waiting or running. */
  public boolean merging() {
    return writer.hasPendingMerges() || !writer.getMergingSegments().isEmpty();
  }

  /** Drops every document (a rebuild starts here); becomes durable with the next commit. */
  public void deleteAll() {
    try {
      writer.deleteAll();
      pending.clear();
      writeGeneration.incrementAndGet();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ------------------------------------------------------------------ reading (any thread)

  /** Runs {@code f} with the current searcher (released afterwards). */
  public <T> T withSearcher(Function<IndexSearcher, T> f) {
    IndexSearcher s;
    try {
      s = searchers.acquire();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      return f.apply(s);
    } finally {
      try {
        searchers.release(s);
      } catch (IOException e) {
        log.warn("cannot release searcher: {}", e.toString());
      }
    }
  }

  /** Called after each refresh that made new writes visible (read-your-writes waiters). */
  public void addRefreshListener(Runnable listener) {
    refreshListeners.add(listener);
  }

  /** The twin {@code version} queries see for {@code key} now (deleted twins too), or -1. */
  public long visibleVersion(TwinKey key) {
    return withSearcher(s -> storedOf(s, key).map(Stored::version).orElse(-1L));
  }

  /** Live twins (devices and modules) visible to queries. */
  public int twinCount() {
    return withSearcher(s -> {
      try {
        return s.count(new org.apache.lucene.search.TermQuery(new Term(TwinFields.KIND, TwinFields.KIND_DEVICE)))
            + s.count(new org.apache.lucene.search.TermQuery(new Term(TwinFields.KIND, TwinFields.KIND_MODULE)));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
  }

  /**
   * The layout queries see: segments of the current searcher, documents in them (deleted ones
   * included, each twin's older versions until a merge drops them), and the reopens so far.
   */
  public record Layout(int segments, int maxDoc, int deletedDocs, long refreshes, long refreshesOnQuery) {}

  public Layout layout() {
    return withSearcher(s -> {
      var reader = s.getIndexReader();
      return new Layout(reader.leaves().size(), reader.maxDoc(), reader.numDeletedDocs(), refreshes.get(), refreshesOnQuery.get());
    });
  }

  /** Bytes of all files of the index (0 in memory). */
  public long sizeOnDisk() {
    try {
      long total = 0;
      for (String f : directory.listAll()) {
        try {
          total += directory.fileLength(f);
        } catch (IOException gone) {
          // merged away while listing
        }
      }
      return total;
    } catch (IOException e) {
      return -1;
    }
  }

  private static Optional<Stored> storedOf(IndexSearcher s, TwinKey key) {
    BytesRef term = new BytesRef(key.term());
    try {
      List<LeafReaderContext> leaves = s.getIndexReader().leaves();
      for (int i = leaves.size() - 1; i >= 0; i--) {
        LeafReader r = leaves.get(i).reader();
        Terms terms = r.terms(TwinFields.KEY);
        if (terms == null) continue;
        TermsEnum te = terms.iterator();
        if (!te.seekExact(term)) continue;
        PostingsEnum pe = te.postings(null, PostingsEnum.NONE);
        Bits live = r.getLiveDocs();
        for (int doc = pe.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = pe.nextDoc()) {
          if (live != null && !live.get(doc)) continue;
          StoredFields fields = r.storedFields();
          Document d = fields.document(doc, java.util.Set.of(TwinFields.SEQ, TwinFields.STATE, TwinFields.KIND));
          NumericDocValues versions = r.getNumericDocValues(TwinFields.VERSION);
          long version = versions != null && versions.advanceExact(doc) ? versions.longValue() : -1;
          BytesRef state = d.getBinaryValue(TwinFields.STATE);
          return Optional.of(new Stored(d.getField(TwinFields.SEQ).numericValue().longValue(), version,
              TwinFields.KIND_DELETED.equals(d.get(TwinFields.KIND)),
              state == null ? null : BytesRef.deepCopyOf(state).bytes));
        }
      }
      return Optional.empty();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Map<String, String> readCommitData(Directory dir) throws IOException {
    return Map.copyOf(SegmentInfos.readLatestCommit(dir).getUserData());
  }

  /** Closes without committing: what is not committed is re-read from the journal next time. */
  @Override
  public void close() {
    try {
      searchers.close();
      writer.rollback();
    } catch (IOException e) {
      log.warn("closing the index: {}", e.toString());
    } finally {
      try {
        directory.close();
      } catch (IOException e) {
        log.warn("closing the index directory: {}", e.toString());
      }
    }
  }

  /** Lucene's merge scheduler, telling the observer how long merges run and how long they stall writers. */
  private final class ObservedMergeScheduler extends ConcurrentMergeScheduler {
    @Override
    protected void doMerge(MergeSource mergeSource, MergePolicy.OneMerge merge) throws IOException {
      long t0 = System.nanoTime();
      try {
        super.doMerge(mergeSource, merge);
      } finally {
        observer.merged(System.nanoTime() - t0);
      }
    }

    @Override
    protected synchronized void doStall() {
      long t0 = System.nanoTime();
      super.doStall();
      observer.stalled(System.nanoTime() - t0);
    }
  }

  /** The index on disk cannot be used and must be rebuilt. */
  public static final class IndexUnusableException extends RuntimeException {
    public IndexUnusableException(String message) {
      super(message);
    }

    public IndexUnusableException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
