package io.twinhub.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/** In-process nodes for integration tests: free ports, the JVM's shared embedded Cassandra. */
public final class TestNodes {
  private TestNodes() {}

  public static TwinhubNode start(Path dataDir) throws IOException {
    return startOnFreePorts(() -> settings(dataDir, Map.of()));
  }

  /** Settings that pick their ports anew each time they are made (as {@link #settings} does). */
  public interface FreshSettings {
    NodeSettings make() throws IOException;
  }

  /**
   * Starts a node on the free ports {@code settings} picks, and on new ones when another process
   * took one between the pick and the bind (a box shared by several builds): the node refuses a
   * taken port before it starts anything, so a second try starts clean.
   */
  public static TwinhubNode startOnFreePorts(FreshSettings settings) throws IOException {
    for (int attempt = 1; ; attempt++) {
      try {
        return TwinhubNode.start(settings.make());
      } catch (NodeStartException e) {
        if (attempt == 3 || !String.valueOf(e.getMessage()).contains("already in use")) throw e;
      }
    }
  }

  /**
   * Waits of a loaded 2-core CI box (four JVMs and Cassandra on two cores): an entity that takes
   * longer than the product's 5 s to answer is slowness there, not what these tests look for.
   * Tests about timeouts put back {@link #productTimeouts()}.
   */
  public static final Map<String, Object> LOADED_BOX = Map.of(
      "twinhub.twin.ask-timeout", "20s",
      "twinhub.twin.admission.deadline", "10s",
      "twinhub.mqtt.ask-timeout", "20s");

  /** The product's values of what {@link #LOADED_BOX} changes. */
  public static Map<String, Object> productTimeouts() {
    Config product = ConfigFactory.load();
    Map<String, Object> o = new HashMap<>();
    for (String key : LOADED_BOX.keySet()) o.put(key, product.getString(key));
    return o;
  }

  /** Free ports, the shared Cassandra, {@link #LOADED_BOX}, then {@code extra}. */
  public static NodeSettings settings(Path dataDir, Map<String, Object> extra) throws IOException {
    Map<String, Object> o = new HashMap<>(LOADED_BOX);
    o.put("twinhub.data-dir", dataDir.toString());
    o.put("twinhub.http.port", SharedEmbeddedCassandra.freePort());
    o.put("twinhub.mqtt.port", SharedEmbeddedCassandra.freePort());
    o.put("twinhub.amqp.port", SharedEmbeddedCassandra.freePort());
    o.put("twinhub.management.port", SharedEmbeddedCassandra.freePort());
    o.put("twinhub.remoting.port", SharedEmbeddedCassandra.freePort());
    o.put("twinhub.cassandra.contact-points", SharedEmbeddedCassandra.contactPoint());
    o.putAll(extra);
    return NodeSettings.fromConfig(o);
  }

  /**
   * Journal and snapshot keyspaces of the test's own, so what reads the whole journal (registry
   * statistics, the query index, streams) sees only this test's twins.
   */
  public static Map<String, Object> ownKeyspace(String prefix) {
    String keyspace = prefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    return Map.of("akka.persistence.cassandra.journal.keyspace", keyspace,
        "akka.persistence.cassandra.snapshot.keyspace", keyspace + "_snapshot");
  }
}
