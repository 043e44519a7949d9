package io.twinhub.query;

import io.twinhub.query.exec.ContinuationTokens;
import io.twinhub.query.exec.QueryExecutor;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.query.lang.Query;
import io.twinhub.query.lang.QueryException;
import io.twinhub.query.lang.QueryParser;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The query API over a {@link TwinIndex}: parse (cached), plan, execute one page, issue the
 * continuation token; optionally first wait until the index covers twin versions the caller
 * has seen ({@link ReadYourWrites}).
 *
 * <p>Errors: {@link QueryException} (syntax, type, bad continuation token: 400) and {@link
 * IndexBehindException} (read-your-writes wait timed out: 503).
 */
public final class QueryEngine implements TwinQueries, AutoCloseable {
  private final TwinIndex index;
  private final QuerySettings settings;
  private final ContinuationTokens tokens;
  private final Executor executor;
  private final ScheduledExecutorService timer;
  private final Map<String, Query> parsed;
  private final List<Waiter> waiters = new ArrayList<>();

  private record Waiter(ReadYourWrites ryw, CompletableFuture<Void> done) {}

  /** @param executor where queries run (CPU-bound Lucene work; not an Akka dispatcher thread that must not block) */
  public QueryEngine(TwinIndex index, QuerySettings settings, Executor executor) {
    this.index = index;
    this.settings = settings;
    this.tokens = settings.continuationKey() == null ? ContinuationTokens.random()
        : new ContinuationTokens(settings.continuationKey());
    this.executor = executor;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "twinhub-query-timer");
      t.setDaemon(true);
      return t;
    });
    int cacheSize = settings.parsedQueryCache();
    this.parsed = java.util.Collections.synchronizedMap(new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Query> eldest) {
        return size() > cacheSize;
      }
    });
    index.addRefreshListener(this::checkWaiters);
  }

  public QuerySettings settings() {
    return settings;
  }

  /** 0 (default): queries see what the index writer's own refreshes made visible. */
  private volatile long refreshOnQueryNanos;

  /**
   * Before each query, make the index's writes visible when some are not yet and the last refresh
   * is at least {@code minGap} old (refresh on demand, {@link TwinIndex#refreshIfStale}); zero: off.
   */
  public QueryEngine refreshOnQuery(java.time.Duration minGap) {
    this.refreshOnQueryNanos = minGap.toNanos();
    return this;
  }

  /**
   * One page of {@code sql}'s result, on the calling thread.
   *
   * @param maxItems     {@code x-ms-max-item-count}; &lt;= 0 for the default, capped at the maximum
   * @param continuation {@code x-ms-continuation} of the previous page, or null for the first
   * @throws QueryException for a syntax or type error or a bad continuation token
   */
  public QueryResult query(String sql, int maxItems, String continuation) {
    Query q = parse(sql);
    if (q.from() == Query.Collection.JOBS) {
      throw new QueryException(0, 0, "FROM devices.jobs is answered by the jobs of the hub, not by the twin index");
    }
    ContinuationTokens.Cursor cursor = tokens.decode(q.text(), continuation);
    int pageSize = settings.pageSize(maxItems);
    if (refreshOnQueryNanos > 0) index.refreshIfStale(refreshOnQueryNanos);
    QueryExecutor.Page page = index.withSearcher(s -> QueryExecutor.execute(s, q, pageSize, cursor));
    String next = page.next() == null ? null : tokens.encode(q.text(), page.next());
    return new QueryResult(page.items(), next, q.selectStar() ? "twin" : "raw");
  }

  /**
   * {@link #query(String, int, String)} on the engine's executor, after waiting (bounded by
   * {@code read-your-writes-timeout}) for the versions in {@code readYourWrites}.
   */
  @Override
  public CompletionStage<QueryResult> query(String sql, int maxItems, String continuation,
                                            Optional<ReadYourWrites> readYourWrites) {
    CompletionStage<Void> ready = readYourWrites.map(r -> awaitVisible(r, settings.readYourWritesTimeout()))
        .orElse(CompletableFuture.completedFuture(null));
    return ready.thenApplyAsync(ignored -> query(sql, maxItems, continuation), executor);
  }

  /** The parsed form of {@code sql} (cached). */
  public Query parse(String sql) {
    Query q = parsed.get(sql);
    if (q == null) {
      q = QueryParser.parse(sql);
      parsed.put(sql, q);
    }
    return q;
  }

  /** Completes when queries see every twin of {@code ryw} at its version or later; fails with IndexBehindException after {@code timeout}. */
  public CompletionStage<Void> awaitVisible(ReadYourWrites ryw, Duration timeout) {
    if (covered(ryw)) return CompletableFuture.completedFuture(null);
    Waiter w = new Waiter(ryw, new CompletableFuture<>());
    synchronized (waiters) {
      waiters.add(w);
    }
    // A refresh may have happened between the check and the registration.
    if (covered(ryw)) complete(w);
    else index.requestRefresh();
    timer.schedule(() -> {
      synchronized (waiters) {
        waiters.remove(w);
      }
      w.done().completeExceptionally(new IndexBehindException(ryw, timeout));
    }, timeout.toMillis(), TimeUnit.MILLISECONDS);
    return w.done();
  }

  private boolean covered(ReadYourWrites ryw) {
    for (ReadYourWrites.TwinVersion t : ryw.twins()) {
      if (index.visibleVersion(t.key()) < t.version()) return false;
    }
    return true;
  }

  private void checkWaiters() {
    List<Waiter> snapshot;
    synchronized (waiters) {
      if (waiters.isEmpty()) return;
      snapshot = new ArrayList<>(waiters);
    }
    boolean stillWaiting = false;
    for (Waiter w : snapshot) {
      if (covered(w.ryw())) complete(w);
      else stillWaiting = true;
    }
    // Their versions were not in the index yet: refresh again as soon as more arrives.
    if (stillWaiting) index.requestRefresh();
  }

  private void complete(Waiter w) {
    synchronized (waiters) {
      waiters.remove(w);
    }
    w.done().complete(null);
  }

  @Override
  public void close() {
    timer.shutdownNow();
    synchronized (waiters) {
      for (Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
        it.next().done().completeExceptionally(new IllegalStateException("query engine stopped"));
        it.remove();
      }
    }
  }

  /** The index did not reach the versions the caller has seen in time (503, retry). */
  public static final class IndexBehindException extends RuntimeException {
    public IndexBehindException(ReadYourWrites ryw, Duration timeout) {
      super("the query index has not caught up with " + ryw.toHeaderValue() + " within " + timeout.toMillis()
          + " ms; retry", null, false, false);
    }
  }
}
