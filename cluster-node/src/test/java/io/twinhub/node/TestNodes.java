package io.twinhub.node;

import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** In-process nodes for integration tests: free ports, the JVM's shared embedded Cassandra. */
final class TestNodes {
  private TestNodes() {}

  static TwinhubNode start(Path dataDir) throws IOException {
    return TwinhubNode.start(settings(dataDir, Map.of()));
  }

  static NodeSettings settings(Path dataDir, Map<String, Object> extra) throws IOException {
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
}
