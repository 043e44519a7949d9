package io.twinhub.ops.bench;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchOptionsTest {

  @Test
  void defaultsAreBounded() {
    BenchOptions o = BenchOptions.parse("twin-get");
    assertEquals("twin-get", o.workload());
    assertEquals(Duration.ofSeconds(30), o.duration());
    assertEquals(Duration.ofSeconds(10), o.warmup());
    assertEquals(0, o.count());
    assertEquals(64, o.concurrency());
    assertEquals(10_000, o.twins());
    assertEquals(100_000, o.queryTwins());
    assertEquals(1, o.nodes());
    assertTrue(o.startsNodes());
    assertEquals(Map.of(), o.extra());
    assertEquals(Duration.ofSeconds(60), o.jitSettle());
    assertEquals(0, o.jfr());
    assertFalse(o.profiles("twin-patch"));
    assertEquals(Duration.ZERO, o.idle());
    assertEquals(4, o.seedCalls());
  }

  @Test
  void seedingKeepsFourBulkCallsInFlightPerNodeUnlessTold() {
    assertEquals(12, BenchOptions.parse("query-mix", "--nodes", "3").seedCalls());
    assertEquals(8, BenchOptions.parse("query-mix", "--url", "https://a:1,https://b:2", "--connection-string", "x",
        "--ca", "ca.pem").seedCalls());
    assertEquals(2, BenchOptions.parse("query-mix", "--nodes", "3", "--seed-calls", "2").forWorkload("twin-get").seedCalls());
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("query-mix", "--seed-calls", "0"));
  }

  @Test
  void nodeRolesGiveEachStartedNodeItsRolesAndQueriesGoToQueryNodes() {
    assertEquals(List.of(BenchTarget.Node.ALL_ROLES, BenchTarget.Node.ALL_ROLES), BenchOptions.parse("query-mix", "--nodes", "2").nodeRoles());
    BenchOptions o = BenchOptions.parse("query-mix", "--nodes", "3", "--node-roles", "1=api,query", "--node-roles", "3=twin,mqtt");
    assertEquals(List.of(List.of("api", "query"), BenchTarget.Node.ALL_ROLES, List.of("twin", "mqtt")), o.forWorkload("query-each").nodeRoles());
    // REST goes to the api nodes; queries to those of them with the query role.
    java.net.URI u = java.net.URI.create("https://127.0.0.1:1");
    BenchTarget t = new BenchTarget(List.of(
        new BenchTarget.Node(u, "h", 1, 2, 3, 4, List.of("api", "twin")),
        new BenchTarget.Node(java.net.URI.create("https://127.0.0.1:2"), "h", 1, 2, 3, 4, List.of("twin")),
        new BenchTarget.Node(java.net.URI.create("https://127.0.0.1:3"), "h", 1, 2, 3, 4, List.of("api", "query"))),
        java.nio.file.Path.of("ca.pem"), "x", java.util.Optional.empty(), java.nio.file.Path.of("."));
    assertEquals(List.of(u, java.net.URI.create("https://127.0.0.1:3")), t.restUrls());
    assertEquals(List.of(1), t.queryNodes());
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("query-mix", "--nodes", "2", "--node-roles", "1=twin,query"));
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("query-mix", "--nodes", "2", "--node-roles", "3=api"));
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("query-mix", "--nodes", "2", "--node-roles", "2=reader"));
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("query-mix", "--node-roles", "1=api,query"));
  }

  @Test
  void idlePhaseIsOptionalAndItsNoteNetsTheBackgroundOut() {
    assertEquals(Duration.ofSeconds(5), BenchOptions.parse("twin-get", "--idle", "5s").forWorkload("mixed").idle());
    // 40 % of a core for 10 s over 1,000 operations = 4 ms each; 10 % of it is there without load.
    assertEquals("server CPU without load 10.0 %, per op net of it 3000 µs",
        BenchRun.idleNote(10, 40, 1000, Duration.ofSeconds(10)));
    assertEquals("server CPU without load 50.0 %, per op net of it 0 µs",
        BenchRun.idleNote(50, 40, 1000, Duration.ofSeconds(10)));
  }

  @Test
  void profilesTwinPatchUnlessAnotherWorkloadIsNamed() {
    BenchOptions patch = BenchOptions.parse("all", "--jfr", "20");
    assertTrue(patch.profiles("twin-patch"));
    assertFalse(patch.profiles("twin-get"));
    BenchOptions get = BenchOptions.parse("http-bare,twin-get", "--jfr-workload", "twin-get", "--jfr", "15");
    assertEquals(15, get.jfr());
    assertTrue(get.forWorkload("twin-get").profiles("twin-get"));
    assertFalse(get.profiles("twin-patch"));
    assertFalse(get.profiles("http-bare"));
    // Named without --jfr: the whole measured phase.
    BenchOptions whole = BenchOptions.parse("http-bare", "--jfr-workload", "http-bare", "--duration", "40s");
    assertEquals(40, whole.jfr());
    assertTrue(whole.profiles("http-bare"));
    assertEquals(Map.of(), whole.extra());
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("twin-get", "--jfr-workload", "twin-delete"));
  }

  @Test
  void readsEveryOptionAndKeepsWorkloadOptionsByName() {
    BenchOptions o = BenchOptions.parse("mqtt-reported", "--duration", "2m", "--warmup", "500ms", "--count", "1_000",
        "--concurrency", "8", "--twins", "300", "--query-twins", "2000", "--nodes", "3", "--devices", "10000", "--jfr", "20");
    assertEquals(Duration.ofMinutes(2), o.duration());
    assertEquals(Duration.ofMillis(500), o.warmup());
    assertEquals(1000, o.count());
    assertEquals(8, o.concurrency());
    assertEquals(300, o.twins());
    assertEquals(2000, o.queryTwins());
    assertEquals(3, o.nodes());
    assertEquals(20, o.jfr());
    assertEquals(Map.of("devices", "10000"), o.extra());
    assertEquals("twin-patch", o.forWorkload("twin-patch").workload());
    assertEquals(Map.of("devices", "10000"), o.forWorkload("twin-patch").extra());
  }

  @Test
  void existingTargetNeedsItsCredentials() {
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("twin-get", "--url", "https://127.0.0.1:18443"));
    BenchOptions o = BenchOptions.parse("twin-get", "--url", "https://127.0.0.1:1,https://127.0.0.1:2",
        "--connection-string", "HostName=h;SharedAccessKeyName=k;SharedAccessKey=a2V5", "--ca", "/tmp/ca.pem", "--pid", "12,13");
    assertFalse(o.startsNodes());
    assertEquals(List.of("https://127.0.0.1:1", "https://127.0.0.1:2"), o.urls());
    assertEquals(List.of(12L, 13L), o.pids());
  }

  @Test
  void refusesMistakesWithAMessage() {
    assertTrue(assertThrows(IllegalArgumentException.class, BenchOptions::parse).getMessage().contains("WORKLOAD"));
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("--duration", "5s"));
    String many = assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("twin-get", "--concurrency", "many")).getMessage();
    assertTrue(many.contains("--concurrency") && many.contains("many"), many);
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("twin-get", "--concurrency", "0"));
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("twin-get", "--duration"));
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("twin-get", "--duration", "0s"));
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("twin-get", "--duration", "soon"));
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("twin-get", "stray"));
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("twin-get", "--thread-cpu", "maybe"));
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("twin-get", "--devcies", "3"), "a typo is refused");
  }

  @Test
  void kafkaOptionsReachTheWorkload() {
    BenchOptions o = BenchOptions.parse("kafka", "--kafka-batch", "500,2000", "--kafka-events", "1000", "--kafka-rate", "50",
        "--kafka-batch-wait", "20ms", "--kafka-bootstrap", "127.0.0.1:9", "--kafka-heap", "512m");
    assertEquals(Map.of("kafka-batch", "500,2000", "kafka-events", "1000", "kafka-rate", "50", "kafka-batch-wait", "20ms",
        "kafka-bootstrap", "127.0.0.1:9", "kafka-heap", "512m"), o.extra());
  }

  @Test
  void batchRowsReachTheWorkload() {
    BenchOptions o = BenchOptions.parse("cassandra-batch", "--batch-rows", "1,32");
    assertEquals(Map.of("batch-rows", "1,32"), o.extra());
    assertTrue(BenchMain.isKnown("cassandra-batch"));
    assertEquals(java.util.List.of(1, 32), JournalBatchBench.sizes(o.extra().get("batch-rows")));
  }

  @Test
  void knowsWhichWorkloadsExist() {
    assertTrue(BenchMain.isKnown("all"));
    assertTrue(BenchMain.isKnown("cassandra-insert,twin-patch"));
    assertTrue(BenchMain.isKnown("query-mix,query-each"));
    assertTrue(BenchMain.isKnown("mqtt-storm"));
    assertTrue(BenchMain.isKnown("mosquitto"));
    assertTrue(BenchMain.isKnown("kafka,kafka-publish,kafka-latency"));
    assertTrue(BenchMain.isKnown("c2d"));
    assertFalse(BenchMain.isKnown("twin-delete"));
    assertFalse(BenchMain.isKnown("twin-get,nope"));
    assertEquals(List.of("twin-get", "mixed"), BenchRun.workloads("twin-get,mixed"));
    assertEquals(BenchRun.ALL, BenchRun.workloads("all"));
  }

  @Test
  void jitSettleIsADurationAndZeroSwitchesItOff() {
    assertEquals(Duration.ZERO, BenchOptions.parse("twin-patch", "--jit-settle", "0s").jitSettle());
    assertEquals(Duration.ofMinutes(2), BenchOptions.parse("twin-patch", "--jit-settle", "2m").jitSettle());
    assertEquals(Duration.ofMinutes(2), BenchOptions.parse("twin-patch", "--jit-settle", "2m").forWorkload("twin-get").jitSettle());
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("twin-patch", "--jit-settle", "soon"));
  }

  @Test
  void jitNoteTakesTheCompilersOutOfTheCpuPerOperation() {
    // 50 % of a core for 10 s over 1,000 operations = 5,000 µs/op, of which 1 s (100 ticks) JIT.
    assertEquals("JIT compilers 1000 µs/op, server CPU net of them 4000 µs/op",
        BenchRun.jitNote(50, 100, 1000, Duration.ofSeconds(10)));
  }
}
