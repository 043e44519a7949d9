package io.twinhub.ops.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bench's cluster as {@code ./twinhub bench --nodes 2} starts it: a shared embedded Cassandra on
 * picked ports, node 1 on port 0 everywhere, node 2 joining node 1 at the remoting port node 1's
 * banner names; the target holds the ports the nodes bound. No load: the workloads are BenchIT's.
 */
class BenchNodesIT {
  @TempDir
  Path dir;

  @Test
  void aClusterOnPortZeroNamesThePortsItsNodesBound() throws Exception {
    try (BenchNodes nodes = BenchNodes.start(2, "-Xmx384m -XX:TieredStopAtLevel=1 -Dtwinhub.startup-timeout=600s", dir)) {
      BenchTarget t = nodes.target();
      assertEquals(2, t.nodes().size());
      HttpClient http = HttpClient.newHttpClient();
      for (BenchTarget.Node n : t.nodes()) {
        for (int port : new int[] {n.restUrl().getPort(), n.mqttPort(), n.amqpPort(), n.managementPort()}) {
          assertTrue(port > 0, "port " + port + " of " + n);
          try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 10_000); // refused if nothing listens there
          }
        }
        // Both members are up in one cluster: each one's management endpoint lists two members.
        URI uri = URI.create("http://127.0.0.1:" + n.managementPort() + "/cluster/members");
        long deadline = System.nanoTime() + 120_000_000_000L; // gossip reaches both within seconds; a loaded box
        String members;
        do {
          members = http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()).body();
          if (BenchNodes.occurrences(members, "\"status\":\"Up\"") == 2) break;
          Thread.sleep(500);
        } while (System.nanoTime() < deadline);
        assertEquals(2, BenchNodes.occurrences(members, "\"status\":\"Up\""), members);
      }
      assertTrue(t.cassandra().orElseThrow().getPort() > 0);
    }
  }
}
