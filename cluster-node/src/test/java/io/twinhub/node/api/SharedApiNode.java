package io.twinhub.node.api;

import io.twinhub.node.ClassKeyspaces;
import io.twinhub.node.TestNodes;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * One node for the API ITs that need no settings, keyspace or restart of their own ({@link #USERS}),
 * instead of a node start and stop each (~7 s in CI). It has the settings every user needs (a plain
 * HTTP listener for {@link RestApiIT}) and a journal keyspace of its own, which outlives each class
 * and is dropped when the node stops. The users' device ids do not meet (each class its prefixes or
 * random suffixes), and what they read of the whole registry (a query's pages) holds with another
 * class's devices beside theirs. Classes that count the whole registry (BadInputIT,
 * ServiceSdkIT's statistics) or change settings keep their own node.
 *
 * <p>The users run one after the other ({@code @Order(SharedApiNode.ORDER)}, junit-platform.properties);
 * the node stops when a class that is not a user starts ({@link StopForOtherTests}: two nodes in one
 * JVM would share the JVM-wide meters) and when the JVM exits.
 */
final class SharedApiNode {
  /** The users' {@code @Order}: after SharedCluster's users (1-3), before the unordered classes. */
  static final int ORDER = 10;
  static final Set<Class<?>> USERS = Set.of(CliCommandsIT.class, RestApiIT.class, TwinHistoryIT.class);

  private static ApiTestNode shared;
  private static Path dataDir;
  private static int plainPort;
  private static String keyspace;

  private SharedApiNode() {}

  /** The running shared node (started by the first user). */
  static synchronized ApiTestNode acquire() throws Exception {
    if (shared == null) {
      Map<String, Object> o = new HashMap<>(TestNodes.ownKeyspace("api_shared"));
      keyspace = (String) o.get("akka.persistence.cassandra.journal.keyspace");
      ClassKeyspaces.keepAcrossClasses(keyspace);
      plainPort = ApiTestNode.freePort();
      o.put("twinhub.http.plain-port", String.valueOf(plainPort));
      dataDir = Files.createTempDirectory("twinhub-api-node");
      ApiTestNode node = ApiTestNode.start(dataDir, o);
      shared = node;
      // At the JVM's exit only the node stops (the keyspace goes with the embedded Cassandra's data).
      Runtime.getRuntime().addShutdownHook(new Thread(() -> closeQuietly(node), "shared-api-node-stop"));
    }
    return shared;
  }

  /** The node's data directory (its keys and CA, for the CLI's {@code --data-dir}). */
  static synchronized Path dataDir() {
    return dataDir;
  }

  /** The node's plain HTTP port ({@code twinhub.http.plain-port}). */
  static synchronized int plainPort() {
    return plainPort;
  }

  /** Stops the shared node if it runs and drops its keyspaces (a later {@link #acquire()} starts a new one). */
  static synchronized void stopShared() {
    if (shared == null) return;
    closeQuietly(shared);
    shared = null;
    ClassKeyspaces.drop(keyspace);
  }

  private static void closeQuietly(ApiTestNode node) {
    try {
      node.close();
    } catch (Exception e) {
      System.err.println("SharedApiNode: stopping the node failed: " + e);
    }
  }

  /**
   * Stops the shared node before any other test class runs (a JUnit extension registered for every
   * class by {@code META-INF/services} and {@code junit-platform.properties}).
   */
  public static final class StopForOtherTests implements BeforeAllCallback {
    @Override
    public void beforeAll(ExtensionContext context) {
      if (!USERS.contains(context.getRequiredTestClass())) stopShared();
    }
  }
}
