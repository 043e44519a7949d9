package io.twinhub.projections.index;

import akka.actor.typed.ActorSystem;
import akka.cluster.typed.Cluster;
import io.twinhub.query.QuerySettings;
import io.twinhub.query.index.TwinIndex;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.store.Lock;
import org.apache.lucene.store.LockObtainFailedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Wiring of the query index into a node. On every node with the {@code query} role:
 * <pre>
 *   QueryIndex index = QueryIndexModule.start(system, dataDir.resolve("query-index"));
 *   Route query = index.route(inner -> sasAuth(ServiceConnect | RegistryRead, inner)); // POST /devices/query
 *   Route status = index.statusRoute();                                               // GET /query-index/status
 *   ...
 *   index.stop();   // on shutdown, before the ActorSystem terminates
 * </pre>
 * Start-up opens the index and resumes each tag from the offset stored in it. A missing index,
 * or one that cannot be read (corrupt, truncated, another schema), is moved aside and rebuilt:
 * the projections then start from the beginning of the journal.
 */
public final class QueryIndexModule {
  private static final Logger log = LoggerFactory.getLogger(QueryIndexModule.class);
  public static final String QUERY_ROLE = "query";

  private QueryIndexModule() {}

  public static QueryIndex start(ActorSystem<?> system, Path indexDir) {
    if (system.settings().config().getString("akka.actor.provider").contains("cluster")
        && !Cluster.get(system).selfMember().hasRole(QUERY_ROLE)) {
      throw new IllegalStateException("the query index runs on nodes with the '" + QUERY_ROLE + "' role; this node has "
          + Cluster.get(system).selfMember().getRoles());
    }
    IndexProjectionSettings settings = IndexProjectionSettings.from(system.settings().config());
    QuerySettings querySettings = QuerySettings.from(system.settings().config());
    if (querySettings.continuationKey() == null) {
      // One key for the life of this node, also across a reindex (which replaces the engine).
      byte[] key = new byte[32];
      new SecureRandom().nextBytes(key);
      querySettings = querySettings.withContinuationKey(key);
    }
    String startedFrom = null;
    TwinIndex index;
    try {
      index = openWithOffsets(indexDir, settings.lucene());
    } catch (TwinIndex.IndexUnusableException e) {
      Path aside = moveAside(indexDir);
      log.warn("query index unusable ({}); moved to {} and rebuilding from the journal", e.getMessage(), aside);
      startedFrom = "rebuild: " + e.getMessage();
      index = TwinIndex.open(indexDir, settings.lucene());
    }
    if (startedFrom == null) {
      startedFrom = TwinIndexWriter.committedOffsets(index).isEmpty() ? "rebuild: no index at " + indexDir : "offsets";
    }
    if (startedFrom.startsWith("rebuild")) log.info("query index: {}", startedFrom);
    else log.info("query index resumes from its stored offsets ({} twins)", index.twinCount());
    JournalReader journal = new JournalReader(system, settings.readJournal());
    return new QueryIndex(system, indexDir, index, journal, new TwinStateCodec(system), settings, querySettings,
        queryThreads(), startedFrom);
  }

  /**
   * {@code ./twinhub reindex}: rebuilds the index of a stopped node from the journal, telling
   * {@code listener} how far it got, then replaces {@code indexDir} with the result. Refused while a
   * running node holds the index (use {@link QueryIndex#reindex} there).
   */
  public static Reindexer.Progress reindexOffline(ActorSystem<?> system, Path indexDir, Reindexer.Listener listener) {
    try {
      Files.createDirectories(indexDir);
      try (FSDirectory d = FSDirectory.open(indexDir); Lock ignored = d.obtainLock("write.lock")) {
        // free: no node is using it
      } catch (LockObtainFailedException e) {
        throw new IllegalStateException("the query index at " + indexDir + " is in use by a running node; stop it first");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    IndexProjectionSettings settings = IndexProjectionSettings.from(system.settings().config());
    JournalReader journal = new JournalReader(system, settings.readJournal());
    Path rebuilt = indexDir.resolveSibling(indexDir.getFileName() + ".rebuild");
    Reindexer.Progress p = Reindexer.build(system, journal, new TwinStateCodec(system), settings, rebuilt, listener);
    Reindexer.swap(rebuilt, indexDir);
    return p;
  }

  /** Opens the index and checks that its stored offsets can be read; either failing makes it unusable. */
  private static TwinIndex openWithOffsets(Path dir, TwinIndex.Tuning tuning) {
    TwinIndex index = TwinIndex.open(dir, tuning);
    try {
      TwinIndexWriter.committedOffsets(index);
      return index;
    } catch (RuntimeException e) {
      index.close();
      throw new TwinIndex.IndexUnusableException("the index's stored offsets cannot be read: " + e.getMessage(), e);
    }
  }

  private static Path moveAside(Path dir) {
    Path aside = dir.resolveSibling(dir.getFileName() + ".unusable-" + Instant.now().toString().replace(':', '-'));
    try {
      Files.move(dir, aside, StandardCopyOption.ATOMIC_MOVE);
      return aside;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot move the unusable query index out of the way: " + dir, e);
    }
  }

  private static ExecutorService queryThreads() {
    AtomicInteger n = new AtomicInteger();
    return Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
      Thread t = new Thread(r, "twinhub-query-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }
}
