package io.twinhub.node;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.persistence.cassandra.KeyspaceAndTableStatements;
import akka.persistence.cassandra.PluginSettings;
import akka.stream.alpakka.cassandra.javadsl.CassandraSession;
import akka.stream.alpakka.cassandra.javadsl.CassandraSessionRegistry;
import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.cql.SimpleStatement;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Creates the journal and snapshot keyspaces and tables before anything persists. The journal
 * plugin's own autocreate runs each CREATE once with the driver's request timeout (5 s): on a
 * busy Cassandra a schema change can take longer, the plugin does not retry, and every entity
 * then fails its recovery with "table metadata does not exist" until the node restarts. Here
 * each statement gets a long timeout and is retried until {@code deadline}.
 */
final class JournalSchema {
  private static final Duration STATEMENT_TIMEOUT = Duration.ofSeconds(30);

  private JournalSchema() {}

  static void ensure(ActorSystem<?> system, Duration deadline) {
    var config = system.settings().config();
    if (!config.getBoolean("akka.persistence.cassandra.journal.tables-autocreate")) return;
    List<String> statements = statements(system);
    // A session of its own (Alpakka's default settings, same driver config): the journal's
    // session must be created by the journal, with its initialisation.
    CassandraSession session = CassandraSessionRegistry.get(system).sessionFor("alpakka.cassandra");
    long end = System.nanoTime() + deadline.toNanos();
    try {
      CqlSession cql = session.underlying().toCompletableFuture().get(deadline.toMillis(), TimeUnit.MILLISECONDS);
      for (String cqlText : statements) {
        executeWithRetries(cql, cqlText, end);
      }
    } catch (NodeStartException e) {
      throw e;
    } catch (Exception e) {
      throw new NodeStartException("cannot create the journal schema in Cassandra: " + e.getMessage(), e);
    } finally {
      session.close(system.executionContext());
    }
  }

  private static List<String> statements(ActorSystem<?> system) {
    var config = system.settings().config();
    var classic = Adapter.toClassic(system);
    var s = new KeyspaceAndTableStatements(system, PluginSettings.DefaultConfigPath(), PluginSettings.apply(classic));
    List<String> all = new ArrayList<>();
    if (config.getBoolean("akka.persistence.cassandra.journal.keyspace-autocreate")) all.add(s.createJournalKeyspaceStatement());
    all.addAll(s.getCreateJournalTablesStatements());
    if (config.getBoolean("akka.persistence.cassandra.snapshot.tables-autocreate")) {
      if (config.getBoolean("akka.persistence.cassandra.snapshot.keyspace-autocreate")) all.add(s.createSnapshotKeyspaceStatement());
      all.addAll(s.getCreateSnapshotTablesStatements());
    }
    return all;
  }

  private static void executeWithRetries(CqlSession cql, String statement, long endNanos) throws InterruptedException {
    Exception last;
    do {
      try {
        cql.execute(SimpleStatement.newInstance(statement).setTimeout(STATEMENT_TIMEOUT));
        return;
      } catch (RuntimeException e) {
        last = e;
        Thread.sleep(1000);
      }
    } while (System.nanoTime() < endNanos);
    throw new NodeStartException("Cassandra did not accept the journal schema in time (" + last.getMessage() + ")", last);
  }
}
