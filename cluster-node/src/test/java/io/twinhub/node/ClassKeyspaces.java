package io.twinhub.node;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.config.DefaultDriverOption;
import com.datastax.oss.driver.api.core.config.DriverConfigLoader;
import com.datastax.oss.driver.api.core.cql.Row;
import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Drops, when an IT class has finished, the keyspaces it created in the JVM's shared Cassandra
 * (its own journal, snapshot and functions keyspaces: {@link TestNodes#ownKeyspace} and the like),
 * so that the schema of ~40 classes does not pile up in one Cassandra's heap. Registered for every
 * test class by {@code META-INF/services} and {@code junit-platform.properties}; runs after the
 * class's {@code @AfterAll} (its nodes are stopped by then). What a class created is what it
 * finds in Cassandra at its end and did not at its start.
 *
 * <p>Kept: the default journal keyspaces (shared on purpose by the ITs that need no keyspace of
 * their own: re-creating their tables would cost each later class seconds), and the keyspaces
 * of a fixture that several classes share ({@link #keepAcrossClasses}), which its owner drops
 * with {@link #drop} when it stops. The drops are asynchronous: the next class does not wait.
 */
public final class ClassKeyspaces implements BeforeAllCallback, AfterAllCallback {
  private static final Set<String> DEFAULTS = Set.of("twinhub", "twinhub_snapshot", "twinhub_functions", "akka_projection");
  private static final Set<String> kept = ConcurrentHashMap.newKeySet();
  private static Set<String> atStart = Set.of();
  private static CqlSession session;

  /** Keyspaces starting with {@code journalKeyspace} survive the class that created them (until {@link #drop}). */
  public static void keepAcrossClasses(String journalKeyspace) {
    kept.add(journalKeyspace);
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    atStart = SharedEmbeddedCassandra.running() ? keyspaces() : Set.of();
    Set<String> own = new java.util.TreeSet<>(atStart);
    own.removeIf(k -> k.startsWith("system"));
    if (!own.isEmpty()) System.out.println("ClassKeyspaces: " + context.getRequiredTestClass().getSimpleName() + " starts with " + own);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (!SharedEmbeddedCassandra.running()) return;
    Set<String> dropped = new java.util.TreeSet<>();
    for (String keyspace : keyspaces()) {
      if (atStart.contains(keyspace) || DEFAULTS.contains(keyspace) || keyspace.startsWith("system")) continue;
      if (kept.stream().anyMatch(keyspace::startsWith)) continue;
      dropAsync(keyspace);
      dropped.add(keyspace);
    }
    if (!dropped.isEmpty()) {
      System.out.println("ClassKeyspaces: " + context.getRequiredTestClass().getSimpleName() + " created " + dropped + ": dropped");
    }
  }

  /** Drops the keyspaces starting with {@code journalKeyspace} (a shared fixture's, when it stops). */
  public static synchronized void drop(String journalKeyspace) {
    kept.remove(journalKeyspace);
    if (!SharedEmbeddedCassandra.running()) return;
    for (String keyspace : keyspaces()) {
      if (!keyspace.startsWith(journalKeyspace)) continue;
      dropAsync(keyspace);
      System.out.println("ClassKeyspaces: dropped the shared fixture's " + keyspace);
    }
  }

  private static synchronized void dropAsync(String keyspace) {
    session().executeAsync("DROP KEYSPACE IF EXISTS \"" + keyspace + "\"").whenComplete((r, e) -> {
      if (e != null) System.err.println("ClassKeyspaces: could not drop keyspace " + keyspace + ": " + e);
    });
  }

  private static synchronized Set<String> keyspaces() {
    Set<String> out = new HashSet<>();
    for (Row row : session().execute("SELECT keyspace_name FROM system_schema.keyspaces")) out.add(row.getString(0));
    return out;
  }

  private static synchronized CqlSession session() {
    if (session == null || session.isClosed()) {
      var cassandra = SharedEmbeddedCassandra.get();
      session = CqlSession.builder()
          .addContactPoint(new InetSocketAddress(cassandra.address(), cassandra.nativePort()))
          .withLocalDatacenter("datacenter1")
          .withConfigLoader(DriverConfigLoader.programmaticBuilder()
              // A schema change on a loaded box takes seconds; the driver's 2 s would give up on it.
              .withDuration(DefaultDriverOption.REQUEST_TIMEOUT, Duration.ofSeconds(60))
              .withDuration(DefaultDriverOption.CONTROL_CONNECTION_AGREEMENT_TIMEOUT, Duration.ofSeconds(60))
              .build())
          .build();
      Runtime.getRuntime().addShutdownHook(new Thread(session::close, "class-keyspaces-close"));
    }
    return session;
  }
}
