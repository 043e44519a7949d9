package io.twinhub.ops.bench;

import com.datastax.oss.driver.api.core.CqlSession;
import io.twinhub.node.NodeSettings;
import io.twinhub.node.TwinhubNode;
import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The harness against a real node (in process, on the JVM's shared embedded Cassandra, HTTPS with
 * its generated CA): tiny bounded runs of the REST workloads and the three baselines (the bare
 * endpoint in a JVM of its own, also as the durable-write baseline storing each PATCH body in the
 * same Cassandra; inserts into that Cassandra). Checks counts, that nothing failed and that the
 * durable-write baseline's rows are in Cassandra; never timings.
 */
class BenchIT {

  /**
   * The baselines' own JVMs (bare endpoints): as the suite's other child JVMs, C1 only and no bytecode
   * verification (root pom, twinhub.test.no-verify); half of such a start is class loading, and these
   * tests count answers, never speed.
   */
  static final String BASELINE_JAVA_OPTS = "-Xmx256m -XX:TieredStopAtLevel=1 -XX:+UnlockDiagnosticVMOptions -XX:-BytecodeVerificationRemote";

  @TempDir
  static Path dir;
  static TwinhubNode node;
  static String keyspace;

  @BeforeAll
  static void startNode() throws Exception {
    keyspace = "bench_it_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    Map<String, Object> o = new HashMap<>();
    o.put("twinhub.data-dir", dir.resolve("node").toString());
    // Every listener on port 0, as the bench starts its nodes: the node reports what it bound.
    for (String port : List.of("http", "mqtt", "amqp", "management", "remoting")) o.put("twinhub." + port + ".port", 0);
    o.put("twinhub.cassandra.contact-points", SharedEmbeddedCassandra.contactPoint());
    o.put("akka.persistence.cassandra.journal.keyspace", keyspace);
    o.put("akka.persistence.cassandra.snapshot.keyspace", keyspace + "_snapshot");
    // A loaded CI box: an entity slower than the product's 5 s is not what this test looks for (it counts errors).
    o.put("twinhub.twin.ask-timeout", "20s");
    node = TwinhubNode.start(NodeSettings.fromConfig(o));
  }

  @AfterAll
  static void stopNode() throws Exception {
    if (node != null) node.stop().toCompletableFuture().get(90, TimeUnit.SECONDS);
  }

  /** Listeners configured on port 0 bind one the OS picks, and the node says which (its banner prints these). */
  @Test
  void listenersOnPortZeroReportWhatTheyBound() throws Exception {
    var l = node.listening();
    for (int port : new int[] {node.api().httpsPort(), l.mqtt(), l.amqp(), l.management(), l.remoting()}) {
      assertTrue(port > 0, "bound port " + port + " in " + l);
      try (java.net.Socket s = new java.net.Socket()) {
        s.connect(new java.net.InetSocketAddress("127.0.0.1", port), 10_000); // refused if nothing listens there
      }
    }
  }

  @Test
  void boundedRunsOfRestWorkloadsAndBaselinesAnswerEveryOperation() throws Exception {
    long storedBefore = bareEndpointRows();
    BenchOptions o = BenchOptions.parse("twin-get,twin-patch,mixed,http-bare,cassandra-insert,http-cassandra",
        "--url", "https://127.0.0.1:" + node.api().httpsPort(),
        "--connection-string", node.policies().ownerConnectionString(node.settings().hostName()),
        "--ca", node.api().tls().caPemPath().toString(),
        "--cassandra", SharedEmbeddedCassandra.contactPoint(),
        "--journal-keyspace", keyspace,
        "--pid", Long.toString(ProcessHandle.current().pid()),
        "--node-java-opts", BASELINE_JAVA_OPTS,
        "--count", "200", "--warmup", "0s", "--duration", "120s", "--twins", "50", "--concurrency", "8");
    BenchTable table = BenchRun.run(o);
    List<BenchResult> rows = table.rows();
    assertEquals(List.of("twin-get", "twin-patch", "mixed", "http-bare", "cassandra-insert", "http-cassandra"),
        rows.stream().map(BenchResult::workload).toList());
    for (BenchResult r : rows) {
      assertEquals(200, r.operations(), r.workload());
      assertEquals(0, r.errors(), r.workload());
      assertTrue(r.rate() > 0 && r.p50Micros() > 0 && r.p50Micros() <= r.p99Micros() && r.p99Micros() <= r.p999Micros(),
          r.toString());
    }
    // The REST rows measured this JVM (the node is in process); the ratios exist because both
    // baselines ran in the same table.
    assertTrue(rows.get(0).nodeHeapBytes() > 0, rows.get(0).toString());
    assertTrue(table.ratio(rows.get(0)).isPresent());
    assertTrue(table.ratio(rows.get(1)).isPresent());
    assertTrue(table.markdown().contains("| twin-patch | 200 | 0 |"), table.markdown());
    // Every PATCH the durable-write baseline acknowledged was one row inserted before the answer.
    assertEquals(200, bareEndpointRows() - storedBefore);
    assertTrue(table.ratio(rows.get(5)).isPresent(), "http-cassandra is compared with cassandra-insert");
  }

  /**
   * {@code mqtt-storm}'s floor: the bare MQTT endpoint in a JVM of its own (the node's TLS transport,
   * CONNACK after the SAS HMAC) takes every connect of the three storm phases, the reconnects resume
   * their TLS sessions, and each phase is a row of the table.
   */
  @Test
  void theConnectFloorAnswersEveryConnectOfTheStormPhases() throws Exception {
    BenchOptions o = BenchOptions.parse("mqtt-bare",
        "--url", "https://127.0.0.1:" + node.api().httpsPort(),
        "--connection-string", node.policies().ownerConnectionString(node.settings().hostName()),
        "--ca", node.api().tls().caPemPath().toString(),
        "--pid", Long.toString(ProcessHandle.current().pid()),
        "--node-java-opts", BASELINE_JAVA_OPTS,
        // 50 devices, 20 connecting at once: every phase still has connects waiting for others (200 took ~15 s more in CI).
        "--devices", "50", "--connect-inflight", "20");
    BenchTable table = BenchRun.run(o);
    List<BenchResult> rows = table.rows();
    assertEquals(List.of("mqtt-bare", "mqtt-bare/full", "mqtt-bare/resumed"), rows.stream().map(BenchResult::workload).toList());
    for (BenchResult r : rows) {
      assertEquals(50, r.operations(), r.toString());
      assertEquals(0, r.errors(), r.toString());
      assertTrue(r.nodeCpuPercent() > 0, "the floor's own CPU is measured: " + r);
    }
    assertTrue(rows.get(0).note().contains("server = bare MQTT endpoint (TLS compact stage"), rows.get(0).note());
    assertTrue(rows.get(1).note().contains("0 of 50 TLS sessions resumed"), rows.get(1).note());
    assertTrue(rows.get(2).note().contains("50 of 50 TLS sessions resumed"), rows.get(2).note());
  }

  /**
   * Rows the bare endpoint stored (its partition key is the request path, /twins/bench-N, of one of
   * the 50 twins; cassandra-insert's are bench-N), read straight from Cassandra.
   */
  static long bareEndpointRows() {
    InetSocketAddress cql = BareHttpServer.address(SharedEmbeddedCassandra.contactPoint());
    try (CqlSession s = CqlSession.builder().addContactPoint(cql).withLocalDatacenter("datacenter1").build()) {
      if (s.getMetadata().getKeyspace(CassandraBaseline.KEYSPACE).flatMap(k -> k.getTable("events")).isEmpty()) return 0;
      long n = 0;
      for (int i = 0; i < 50; i++) {
        n += s.execute("SELECT COUNT(*) FROM " + CassandraBaseline.KEYSPACE + ".events WHERE id = ?",
            "/twins/" + RestWorkloads.id(i)).one().getLong(0);
      }
      return n;
    }
  }
}
