package io.twinhub.node;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.ConfigFactory;
import io.twinhub.ops.cassandra.EmbeddedCassandra;
import io.twinhub.projections.index.QueryIndexModule;
import io.twinhub.projections.index.Reindexer;

import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;

/**
 * {@code ./twinhub reindex} on a stopped node: holds the data-dir lock (so no node starts on it
 * meanwhile), starts the node's Cassandra when it is the embedded one, and rebuilds
 * {@code <data-dir>/index} from the journal with a local (non-cluster) ActorSystem.
 */
public final class OfflineReindex {
  private OfflineReindex() {}

  /** Empty when a node is running on the data dir (then ask that node instead). */
  public static Optional<Reindexer.Progress> runIfStopped(NodeSettings settings, PrintWriter out, Reindexer.Listener progress) {
    Optional<DataDirLock> lock = DataDirLock.tryAcquire(settings.dataDir());
    if (lock.isEmpty()) return Optional.empty();
    EmbeddedCassandra cassandra = null;
    ActorSystem<Void> system = null;
    try (DataDirLock held = lock.get()) {
      NodeSettings resolved = settings;
      if (settings.embeddedCassandra()) {
        out.println("starting the embedded Cassandra of " + settings.dataDir() + " ...");
        out.flush();
        cassandra = TwinhubNode.startEmbeddedCassandra(settings);
        resolved = settings.withCassandraContactPoints(List.of("127.0.0.1:" + cassandra.nativePort()));
      } else {
        resolved = settings.withCassandraContactPoints(settings.cassandraContactPoints());
      }
      // Only the journal is needed: no cluster, no remoting, no management.
      system = ActorSystem.create(Behaviors.empty(), "twinhub-reindex",
          ConfigFactory.parseString("akka.actor.provider = local").withFallback(resolved.config()));
      out.println("rebuilding the query index " + settings.queryIndexDir() + " from the journal");
      out.flush();
      return Optional.of(QueryIndexModule.reindexOffline(system, settings.queryIndexDir(), progress));
    } finally {
      TwinhubNode.stopQuietly(system, cassandra);
    }
  }
}
