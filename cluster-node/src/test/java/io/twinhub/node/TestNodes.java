package io.twinhub.node;

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
    return TwinhubNode.start(settings(dataDir, Map.of()));
  }

  public static NodeSettings settings(Path dataDir, Map<String, Object> extra) throws IOException {
    Map<String, Object> o = new HashMap<>();
    o.put("twinhub.data-dir", dataDir.toString());
    o.put("twinhub.http.port", SharedEmbeddedCassandra.freePort());
    o.put("twinhub.mqtt.port", SharedEmbeddedCassandra.freePort());
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
