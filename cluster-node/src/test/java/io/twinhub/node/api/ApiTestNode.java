package io.twinhub.node.api;

import io.twinhub.node.TestNodes;
import io.twinhub.node.TwinhubNode;
import io.twinhub.node.security.SharedAccessPolicies;
import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real node for API integration tests: free ports, the JVM's shared embedded Cassandra, HTTPS
 * with the generated CA, and a journal keyspace of its own, so the registry view (statistics,
 * lists) sees exactly this node's devices.
 */
final class ApiTestNode implements AutoCloseable {

  final TwinhubNode node;
  final ApiClient client;

  private ApiTestNode(TwinhubNode node) throws Exception {
    this.node = node;
    this.client = new ApiClient("https://127.0.0.1:" + node.api().httpsPort(), node.api().tls().caPemPath(),
        node.policies(), node.settings().hostName());
  }

  static ApiTestNode start(Path dataDir) throws Exception {
    return start(dataDir, Map.of());
  }

  static ApiTestNode start(Path dataDir, Map<String, Object> extra) throws Exception {
    Map<String, Object> o = new HashMap<>(TestNodes.ownKeyspace("api_it"));
    o.putAll(extra);
    return new ApiTestNode(TestNodes.startOnFreePorts(() -> TestNodes.settings(dataDir, o)));
  }

  SharedAccessPolicies policies() {
    return node.policies();
  }

  @Override
  public void close() throws Exception {
    node.stop().toCompletableFuture().get(90, TimeUnit.SECONDS);
  }

  static int freePort() throws IOException {
    return SharedEmbeddedCassandra.freePort();
  }
}
