package io.twinhub.node.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * kill -9 of one of three node processes, on the cluster this class shares with
 * {@link RollingRestartIT} and {@link FunctionsClusterIT} ({@link SharedCluster}; each test starts
 * with node 3 running again): while writers patch twins through every node, every acknowledged
 * write is there afterwards, versions never repeat, nothing is applied twice, the survivors serve
 * every twin again within 30 s, and the query index and change streams are complete and exact
 * after; while a job updates twins ({@link JobsFailover}), every selected twin is updated exactly
 * once; with cloud-to-device messages queued and in flight ({@link C2dFailover}), each
 * acknowledged send is delivered exactly once (these two share one kill); a network partition
 * ({@link PartitionFailover}) last, because it starts node 3 again itself and so leaves the cluster
 * whole for the next class.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Order(1) // SharedCluster's users, first and in this order (junit-platform.properties)
class ClusterFailoverIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final int DEVICES = 30;
  /** Writes each node acknowledges before the kill, and each survivor after the recovery. */
  static final int WARM_UP_WRITES = 30;
  /** Devices registered right after the kill, before node 3 is removed. */
  static final int NEW_DEVICES = 10;

  /** Node 1 is on the service SDK's AMQPS port, for C2dFailover's MessagingClient. */
  static NodeProcesses cluster;

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = SharedCluster.acquire();
  }

  /** The shared cluster stays up for the next class; what failure detection did meanwhile is printed. */
  @AfterAll
  static void printFailureDetection() {
    if (cluster != null) printFalseAlarms(cluster.nodes.get(0));
  }

  /**
   * What node 1 (never killed) saw of failure detection over all scenarios: every member that
   * became unreachable and then "reachable again" was a false alarm (a killed or cut-off node is
   * downed, never reachable again), and so was every downing or journal fence of nodes 1 and 2.
   * Printed, not asserted: the count depends on the box's load and the failure detector's settings
   * (docs/BENCHMARKS.md, "Failover").
   */
  static void printFalseAlarms(NodeProcesses.Node first) {
    List<String> lines = List.copyOf(first.output());
    String third = ":" + cluster.nodes.get(2).remotingPort();
    long unreachable = lines.stream().filter(l -> l.contains("cluster: member") && l.endsWith(" unreachable")).count();
    long flaps = lines.stream().filter(l -> l.contains("cluster: member") && l.endsWith("reachable again")).count();
    long wrongDowns = lines.stream().filter(l -> l.contains("cluster: member") && l.endsWith(" downed") && !l.contains(third + " ")).count();
    long fenced = lines.stream().filter(l -> l.contains("journal fenced: this member")).count();
    System.out.printf("ClusterFailoverIT: failure detection over all scenarios (node 1's log): %d unreachable events, "
        + "%d false alarms (reachable again), %d downings of a member not killed or cut off, node 1's journal fenced %d times%n",
        unreachable, flaps, wrongDowns, fenced);
  }

  /** Node 3 (the one the tests kill) running and the cluster whole again. */
  static void allNodesUp() throws Exception {
    SharedCluster.allNodesUp(cluster);
  }

  /**
   * One kill -9 of node 3 for two scenarios (a node start is the slowest step of this class): a job
   * a fifth done ({@link JobsFailover}) and cloud-to-device messages in flight and queued
   * ({@link C2dFailover}) when node 3 dies; each checks its own outcome afterwards.
   */
  @Test
  @Order(1)
  void aJobAndCloudToDeviceMessagesSurviveAKilledNodeExactlyOnce() throws Exception {
    allNodesUp();
    // The two set-ups are independent (devices of their own): the C2D one on a thread of its own meanwhile.
    java.util.concurrent.FutureTask<C2dFailover> c2dPrepared = new java.util.concurrent.FutureTask<>(() -> C2dFailover.prepare(cluster));
    new Thread(c2dPrepared, "c2d-prepare").start();
    JobsFailover jobs;
    try {
      jobs = JobsFailover.prepare(cluster);
    } catch (Throwable e) {
      c2dPrepared.cancel(true);
      throw e;
    }
    C2dFailover c2d = outcome(c2dPrepared);
    c2d.queueExpiring(); // expires 20 s from now, some seconds after the kill
    jobs.startJobs(); // returns with the job a fifth done and still running: the kill lands mid-job
    cluster.kill(cluster.nodes.get(2));
    Instant killedAt = Instant.now();
    c2d.afterKill(killedAt);
    jobs.afterKill();
  }

  /** What {@code task} returned, or what it threw (an assertion's failure as such). */
  private static <T> T outcome(java.util.concurrent.FutureTask<T> task) throws Exception {
    try {
      return task.get();
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof Error error) throw error;
      if (e.getCause() instanceof Exception exception) throw exception;
      throw e;
    }
  }

  /** Last: it restarts node 3 itself, so the next class finds the cluster whole. */
  @Test
  @Order(3)
  void aNodeCutOffByAPartitionAcknowledgesNoWriteWhileTheMajorityTakesOver() throws Exception {
    allNodesUp();
    PartitionFailover.run(cluster);
  }

  /**
   * One writer per node patches random twins and, like the SDKs, retries a write that got no
   * answer or a 503 ({@link #sdkBackoff}); node 3 is killed -9 once every writer has had writes
   * acknowledged, and its writer stops with it. Meanwhile a change stream opened on node 3 before
   * the writes (the direct path carrying events to every query node's index) is cut by the kill.
   * Afterwards: no acknowledged write is lost and no version repeated; every surviving node's
   * query index answers each twin at its final version (no read-your-writes token); and the
   * stream, resumed on node 1 from the last offset it delivered, has carried every version of
   * every twin exactly once, in per-device order. Prints the failover's figures: the longest gap
   * between acknowledged writes per surviving writer, when every twin was served again, and the
   * cluster events of node 1's log (unreachable, downed, removed) relative to the kill.
   */
  @Test
  @Order(2)
  void killingANodeUnderLoadLosesNoAcknowledgedWriteAndIndexAndStreamsStayExact() throws Exception {
    allNodesUp();
    String run = UUID.randomUUID().toString().substring(0, 8);
    {
      List<String> devices = new ArrayList<>();
      devices.addAll(devicesPartlyOn(cluster, cluster.nodes.get(2), "fo-" + run + "-", DEVICES));
      for (String id : devices) {
        var r = cluster.setUp(cluster.nodes.get(0), "PUT", "/devices/" + id, "{\"deviceId\":\"" + id + "\"}");
        assertTrue(r.statusCode() == 200 || r.statusCode() == 409, r::body); // 409: a retried create that did succeed
      }
      // The stream on the node that is killed, from before the first patch (creations are not
      // twin changes): it is cut mid-stream and resumed elsewhere.
      String streamFrom = Instant.now().minusSeconds(1).toString();
      LiveStream stream = LiveStream.open(cluster, cluster.nodes.get(2), "/streams/twinChangeEvents?from=" + streamFrom);

      Map<String, Set<Long>> acknowledged = new ConcurrentHashMap<>();
      AtomicInteger[] ackedBy = {new AtomicInteger(), new AtomicInteger(), new AtomicInteger()};
      AtomicInteger unknown = new AtomicInteger();
      AtomicInteger refused = new AtomicInteger();
      AtomicInteger repeated = new AtomicInteger();
      AtomicBoolean stop = new AtomicBoolean();
      long[][] longestGap = new long[3][]; // per writer {gap ns, its start ns, its end ns}
      @SuppressWarnings("unchecked")
      List<String>[] gapAttempts = new List[3]; // per writer: the attempts of its longest gap, timed from the kill
      java.util.concurrent.atomic.AtomicLong killNanos = new java.util.concurrent.atomic.AtomicLong(); // System.nanoTime() of the kill, 0 before
      List<Thread> writers = new ArrayList<>();
      for (NodeProcesses.Node node : cluster.nodes) {
        int n = node.index() - 1;
        longestGap[n] = new long[3];
        SdkLikeWriter.Listener gaps = new SdkLikeWriter.Listener() {
          long lastAck = System.nanoTime();
          final List<String> tries = new ArrayList<>(); // the attempts since the last acknowledged write

          @Override
          public void acknowledged(String twin, long version, long sent, long answered) {
            if (!acknowledged.computeIfAbsent(twin, k -> ConcurrentHashMap.newKeySet()).add(version)) {
              repeated.incrementAndGet(); // the same version acknowledged twice
            }
            ackedBy[n].incrementAndGet();
            long kill = killNanos.get();
            if (kill != 0) tries.add(String.format("%+d..%+d ms 200", (sent - kill) / 1_000_000, (answered - kill) / 1_000_000));
            long[] gap = longestGap[n];
            // Gaps ending after the kill only (not a slow start on a loaded box).
            if (kill != 0 && answered > kill && answered - lastAck > gap[0]) {
              gap[0] = answered - lastAck;
              gap[1] = lastAck;
              gap[2] = answered;
              gapAttempts[n] = List.copyOf(tries);
            }
            lastAck = answered;
            tries.clear();
          }

          @Override
          public void retrying(String twin, long sent, long answered, int status, String body) {
            unknown.incrementAndGet(); // 503 or no answer: may or may not have been applied
            long kill = killNanos.get();
            if (kill != 0) tries.add(String.format("%+d..%+d ms %s %s", (sent - kill) / 1_000_000, (answered - kill) / 1_000_000,
                status == 0 ? "no answer" : String.valueOf(status), body.substring(0, Math.min(90, body.length()))));
          }

          @Override
          public void refused(String twin, int status, String body) {
            refused.incrementAndGet();
          }
        };
        writers.add(new SdkLikeWriter(cluster, node, devices, "writer", node.index(), stop, gaps).start("writer-" + node.index()));
      }
      assertTrue(NodeProcesses.eventually(Duration.ofSeconds(60), () -> Arrays.stream(ackedBy).allMatch(a -> a.get() >= WARM_UP_WRITES)),
          "every node acknowledges writes before the kill: " + Arrays.toString(ackedBy));
      String coordinators = coordinatorsNode(cluster);
      Instant killedAt = Instant.now();
      long killedNanos = System.nanoTime();
      killNanos.set(killedNanos);
      cluster.kill(cluster.nodes.get(2));
      // Devices registered while node 3 lies dead and is not yet removed, through node 1: new twins,
      // some in shards nobody hosted yet, so the shard coordinator changes its state in that window
      // (session 19: with Akka's write consistency that change needed the dead member's
      // acknowledgement too and held the coordinator, the dead member's removal included, until a
      // retry after the removal: the held requests released then were answered 503 by the ask timeout).
      List<String> registered = new ArrayList<>();
      for (int k = 0; k < NEW_DEVICES; k++) registered.add("fo-" + run + "-new-" + k);
      java.util.concurrent.ExecutorService registering = java.util.concurrent.Executors.newFixedThreadPool(NEW_DEVICES);
      List<java.util.concurrent.Future<Long>> created = new ArrayList<>();
      for (String id : registered) {
        created.add(registering.submit(() -> {
          Thread.sleep(500);
          var r = cluster.setUp(cluster.nodes.get(0), "PUT", "/devices/" + id, "{\"deviceId\":\"" + id + "\"}");
          assertTrue(r.statusCode() == 200 || r.statusCode() == 409, id + ": " + r.statusCode() + " " + r.body());
          return (System.nanoTime() - killedNanos) / 1_000_000;
        }));
      }
      registering.shutdown();

      // The survivors serve every twin again: time until all answer through node 1. A request that
      // gets no answer in time (a loaded box) counts as not served yet.
      Duration recovery = null;
      while (recovery == null && Duration.between(killedAt, Instant.now()).toSeconds() < 60) {
        if (allServed(cluster, devices)) recovery = Duration.between(killedAt, Instant.now());
        else Thread.sleep(200);
      }
      // The survivors keep acknowledging writes after the recovery.
      int[] atRecovery = {ackedBy[0].get(), ackedBy[1].get()};
      boolean writesAfter = NodeProcesses.eventually(Duration.ofSeconds(60),
          () -> ackedBy[0].get() >= atRecovery[0] + WARM_UP_WRITES && ackedBy[1].get() >= atRecovery[1] + WARM_UP_WRITES);
      stop.set(true);
      for (Thread w : writers) w.join(30_000);
      stream.awaitEnd(Duration.ofSeconds(30)); // cut by the kill

      assertNotNull(recovery, "twins served again after the kill");
      assertTrue(recovery.toSeconds() < 30, "served again within 30 s, took " + recovery);
      assertTrue(writesAfter, "both survivors acknowledge writes again: " + Arrays.toString(ackedBy) + " " + Arrays.toString(atRecovery));
      long lastCreated = 0;
      for (var c : created) lastCreated = Math.max(lastCreated, c.get(90, java.util.concurrent.TimeUnit.SECONDS));
      for (String id : registered) {
        var r = cluster.send(cluster.nodes.get(1), "GET", "/devices/" + id, null);
        assertEquals(200, r.statusCode(), id + " registered after the kill: " + r.body());
      }
      assertEquals(0, refused.get(), "no write was refused as a client error");
      assertEquals(0, repeated.get(), "no version was acknowledged twice for a twin");

      long acked = 0;
      Map<String, Long> finalVersions = new java.util.LinkedHashMap<>();
      for (String id : devices) {
        JsonNode twin = JSON.readTree(cluster.send(cluster.nodes.get(1), "GET", "/twins/" + id, null).body());
        long finalVersion = twin.path("properties").path("desired").path("$version").asLong();
        finalVersions.put(id, finalVersion);
        Set<Long> versions = acknowledged.getOrDefault(id, Set.of());
        acked += versions.size();
        for (long v : versions) {
          assertTrue(v <= finalVersion, id + ": acknowledged version " + v + " lost, twin is at " + finalVersion);
        }
        // Each patch bumps desired $version by exactly 1 from 1: versions are contiguous, and
        // every applied patch is an acknowledged one or one whose answer was lost.
        long applied = finalVersion - 1;
        assertTrue(applied >= versions.size(), id + ": " + applied + " applied < " + versions.size() + " acknowledged");
        assertEquals(twin.path("version").asLong(), finalVersion, id + ": twin version follows desired $version");
      }

      long t0 = System.nanoTime();
      for (NodeProcesses.Node survivor : cluster.nodes.subList(0, 2)) assertIndexAtFinalVersions(survivor, finalVersions);
      double indexSeconds = (System.nanoTime() - t0) / 1e9;
      int cutAt = stream.messages.size();
      List<JsonNode> delivered = resume(stream, cluster.nodes.get(0), streamFrom, finalVersions);
      assertStreamExact(delivered, finalVersions, acknowledged);

      System.out.printf("ClusterFailoverIT: %d acknowledged writes, %d with unknown outcome, served again %d ms after kill -9%n",
          acked, unknown.get(), recovery.toMillis());
      System.out.printf("ClusterFailoverIT: %d devices registered through node 1 from +500 ms of the kill, the last created at %+d ms; "
          + "shard coordinators on %s at the kill%n", registered.size(), lastCreated, coordinators);
      for (int w = 0; w < 2; w++) {
        long[] g = longestGap[w];
        System.out.printf("ClusterFailoverIT: writer %d (node %d): longest gap between acknowledged writes %d ms, from %+d ms to %+d ms of the kill%n",
            w + 1, w + 1, g[0] / 1_000_000, (g[1] - killedNanos) / 1_000_000, (g[2] - killedNanos) / 1_000_000);
        System.out.printf("ClusterFailoverIT: writer %d's attempts in that gap (sent..answered, status): %s%n", w + 1, gapAttempts[w]);
      }
      System.out.printf("ClusterFailoverIT: index of nodes 1 and 2 at every final version %.1f s after the writes stopped; "
          + "stream cut after %d messages, %d after resuming on node 1, every version exactly once%n",
          indexSeconds, cutAt, delivered.size() - cutAt);
      printClusterEvents("node 1", cluster.nodes.get(0), killedAt);
      printRefusedDowning(killedAt);
      // Writer 2's gateway: its own view of the failover (when it held and released requests).
      printClusterEvents("node 2", cluster.nodes.get(1), killedAt);
    }
  }

  /**
   * Which node runs the shard coordinators (cluster singletons on the oldest member with the twin
   * role), as node 1's management API says: the kill of that node also moves them.
   */
  static String coordinatorsNode(NodeProcesses cluster) {
    try {
      var r = cluster.http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
          + cluster.nodes.get(0).managementPort() + "/cluster/members")).timeout(Duration.ofSeconds(10)).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      String oldest = JSON.readTree(r.body()).path("oldestPerRole").path("twin").asText();
      for (NodeProcesses.Node n : cluster.nodes) if (oldest.endsWith(":" + n.remotingPort())) return "node " + n.index();
      return "? (" + oldest + ")";
    } catch (Exception e) {
      return "? (" + e + ")";
    }
  }

  /**
   * {@code count} device ids with this prefix, a third of them twins whose shard node {@code n}
   * hosts (sharding's default extractor: |deviceId.hashCode() % number-of-shards|), so that a
   * scenario that kills or cuts off {@code n} always takes some of its twins with it. A node just
   * restarted hosts no shard until the coordinator rebalances some to it (a few every 10 s): waited for.
   */
  static List<String> devicesPartlyOn(NodeProcesses cluster, NodeProcesses.Node n, String prefix, int count) throws Exception {
    Set<Integer> hosted = new java.util.HashSet<>();
    boolean[] seeded = {false};
    assertTrue(NodeProcesses.eventually(Duration.ofSeconds(120), () -> {
      if (hosted.isEmpty() && !seeded[0]) {
        // A fresh cluster has allocated no shard yet: new twins' shards go to the least loaded regions.
        seeded[0] = true;
        for (int k = 0; k < 12; k++) {
          String id = prefix + "seed-" + k;
          try {
            cluster.setUp(cluster.nodes.get(0), "PUT", "/devices/" + id, "{\"deviceId\":\"" + id + "\"}");
          } catch (Exception e) {
            return false;
          }
        }
      }
      try {
        var r = cluster.http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + n.managementPort()
            + "/cluster/shards/Device")).timeout(Duration.ofSeconds(10)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        hosted.clear();
        if (r.statusCode() == 200) for (JsonNode region : JSON.readTree(r.body()).path("regions")) hosted.add(region.path("shardId").asInt());
        return !hosted.isEmpty();
      } catch (java.io.IOException e) {
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }), "node " + n.index() + " hosts twins' shards");
    List<String> on = new ArrayList<>();
    List<String> elsewhere = new ArrayList<>();
    for (int k = 0; on.size() + elsewhere.size() < count; k++) {
      String id = prefix + k;
      boolean local = hosted.contains(Math.abs(id.hashCode() % 256));
      if (local && on.size() < count / 3) on.add(id);
      else if (!local && elsewhere.size() < count - count / 3) elsewhere.add(id);
    }
    List<String> all = new ArrayList<>(on);
    all.addAll(elsewhere);
    return all;
  }

  /**
   * The SDKs' retry policy between attempts of one operation, as the Java device SDK's default
   * {@code ExponentialBackoffWithJitter} (2.5.0) computes it: the first retry at once, then
   * min(100 ms + (2^attempt - 1) × (100 ms ± 20 %), 10 s). (The Java service SDK retries nothing:
   * a 503 reaches the application, which retries as it sees fit.)
   */
  static long sdkBackoff(int attempt, Random random) {
    if (attempt == 0) return 0;
    double delta = 80 + random.nextInt(40);
    return (long) Math.min(100 + (Math.pow(2, Math.min(attempt, 20)) - 1) * delta, 10_000);
  }

  /** Every twin of {@code finalVersions} found by a query on {@code node} at its final version (awaited). */
  private static void assertIndexAtFinalVersions(NodeProcesses.Node node, Map<String, Long> finalVersions) throws Exception {
    String in = finalVersions.keySet().stream().map(id -> "'" + id + "'").collect(java.util.stream.Collectors.joining(","));
    String query = JSON.createObjectNode().put("query", "SELECT * FROM devices WHERE deviceId IN [" + in + "]").toString();
    Map<String, Long> seen = new ConcurrentHashMap<>();
    boolean exact = NodeProcesses.eventually(Duration.ofSeconds(90), () -> {
      try {
        var r = cluster.send(node, "POST", "/devices/query", query);
        if (r.statusCode() != 200) return false;
        seen.clear();
        for (JsonNode twin : JSON.readTree(r.body())) seen.put(twin.path("deviceId").asText(), twin.path("version").asLong());
        return seen.equals(finalVersions);
      } catch (java.io.IOException e) {
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    });
    assertTrue(exact, "node " + node.index() + "'s index at every final version: " + finalVersions + ", index: " + seen);
  }

  /**
   * The stream's messages, resumed on {@code node} from the last offset it delivered (finite
   * reads, each resuming from the previous one's last offset) until every twin's final version came.
   */
  private static List<JsonNode> resume(LiveStream stream, NodeProcesses.Node node, String from,
                                       Map<String, Long> finalVersions) throws Exception {
    List<JsonNode> all = new ArrayList<>(stream.messages);
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (!reachedFinal(all, finalVersions) && System.nanoTime() < deadline) {
      String offset = all.isEmpty() ? from : all.get(all.size() - 1).path("offset").asText();
      var r = cluster.http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("https://127.0.0.1:" + node.httpPort()
              + "/streams/twinChangeEvents?api-version=2021-04-12&to=now&from="
              + java.net.URLEncoder.encode(offset, java.nio.charset.StandardCharsets.UTF_8)))
          .timeout(Duration.ofSeconds(60)).header("Authorization", cluster.ownerToken)
          .header("Accept", "application/x-ndjson").build(), java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode(), r::body);
      for (String line : r.body().split("\n")) if (!line.isBlank()) all.add(JSON.readTree(line));
      if (!reachedFinal(all, finalVersions)) Thread.sleep(500);
    }
    return all;
  }

  private static boolean reachedFinal(List<JsonNode> messages, Map<String, Long> finalVersions) {
    Map<String, Long> last = new java.util.HashMap<>();
    for (JsonNode m : messages) last.merge(m.path("twinId").asText(), m.path("version").asLong(), Math::max);
    return finalVersions.entrySet().stream().allMatch(e -> e.getValue().equals(last.get(e.getKey())));
  }

  /** Each twin's versions 2..final (every patch, acknowledged or not) exactly once, in order. */
  private static void assertStreamExact(List<JsonNode> messages, Map<String, Long> finalVersions,
                                        Map<String, Set<Long>> acknowledged) {
    Map<String, List<Long>> perTwin = new java.util.HashMap<>();
    for (JsonNode m : messages) {
      String twin = m.path("twinId").asText();
      if (finalVersions.containsKey(twin)) perTwin.computeIfAbsent(twin, k -> new ArrayList<>()).add(m.path("version").asLong());
    }
    for (var e : finalVersions.entrySet()) {
      List<Long> expected = new ArrayList<>();
      for (long v = 2; v <= e.getValue(); v++) expected.add(v);
      List<Long> got = perTwin.getOrDefault(e.getKey(), List.of());
      assertEquals(expected, got, e.getKey() + ": every version once, in order");
      assertTrue(got.containsAll(acknowledged.getOrDefault(e.getKey(), Set.of())), e.getKey() + ": every acknowledged version");
    }
  }

  /**
   * Node {@code n}'s cluster event lines ({@code ClusterEventLog}, the Split Brain Resolver's, the
   * gateway's holding and release of requests by {@code UnreachableHomes}, the shard coordinator's
   * and regions' warnings: a state write not acknowledged in time, buffered messages dropped at a
   * hand-off), timed from the kill.
   */
  static void printClusterEvents(String label, NodeProcesses.Node n, Instant killedAt) {
    java.time.LocalTime kill = java.time.LocalTime.ofInstant(killedAt, java.time.ZoneId.systemDefault());
    for (String line : n.output()) {
      if (!(line.contains("cluster: member") || line.contains("SBR") || line.contains("fence")
          || line.contains("UnreachableHomes") || line.contains("ShardCoordinator") || line.contains("Dropping ["))) continue;
      try {
        java.time.LocalTime at = java.time.LocalTime.parse(line.substring(0, 12));
        long ms = Duration.between(kill, at).toMillis();
        if (ms >= 0) System.out.printf("ClusterFailoverIT: %s %+6d ms %s%n", label, ms, line.substring(13));
      } catch (RuntimeException notTimestamped) {
        // a continuation line
      }
    }
  }

  /** Whether the nodes run with twinhub.cluster.down-refused-members on (the default; the env var turns it off). */
  static boolean downRefusedMembers() {
    return !"off".equalsIgnoreCase(String.valueOf(System.getenv("TWINHUB_DOWN_REFUSED_MEMBERS")));
  }

  /** Node {@code n}'s log lines containing {@code text}, timestamped at or after {@code since}. */
  static List<String> linesSince(NodeProcesses.Node n, Instant since, String text) {
    java.time.LocalTime from = java.time.LocalTime.ofInstant(since, java.time.ZoneId.systemDefault());
    List<String> found = new ArrayList<>();
    for (String line : n.output()) {
      if (!line.contains(text)) continue;
      try {
        if (!java.time.LocalTime.parse(line.substring(0, 12)).isBefore(from)) found.add(line);
      } catch (RuntimeException notTimestamped) {
        // a continuation line
      }
    }
    return found;
  }

  /**
   * After a kill -9 the leader of the survivors (node 1 or 2) confirms node 3 dead by refused
   * connects to its Artery port and downs it at once (RefusedMemberDowner): printed as
   * "confirmed dead by refused connection +X ms, downed +Y ms" and asserted unless the env var
   * turned it off (then the Split Brain Resolver downs it after stable-after, as before).
   */
  private static void printRefusedDowning(Instant killedAt) {
    String third = ":" + cluster.nodes.get(2).remotingPort();
    java.time.LocalTime kill = java.time.LocalTime.ofInstant(killedAt, java.time.ZoneId.systemDefault());
    String confirmed = null;
    for (NodeProcesses.Node n : cluster.nodes.subList(0, 2)) {
      for (String line : linesSince(n, killedAt, "confirmed dead by refused connection")) {
        if (line.contains(third + " ") && confirmed == null) {
          confirmed = "confirmed dead by refused connection on node " + n.index() + " at "
              + String.format("%+d", Duration.between(kill, java.time.LocalTime.parse(line.substring(0, 12))).toMillis()) + " ms";
        }
      }
    }
    List<String> downed = linesSince(cluster.nodes.get(0), killedAt, "cluster: member").stream()
        .filter(l -> l.contains(third + " ") && l.endsWith(" downed")).toList();
    boolean sbr = cluster.nodes.subList(0, 2).stream().anyMatch(n -> !linesSince(n, killedAt, "SBR took decision").isEmpty());
    String downedAt = downed.isEmpty() ? "?"
        : String.format("%+d", Duration.between(kill, java.time.LocalTime.parse(downed.get(0).substring(0, 12))).toMillis());
    System.out.printf("ClusterFailoverIT: node 3 %s -> downed at %s ms (node 1's log)%s%n",
        confirmed != null ? confirmed
            : "not confirmed dead by refused connection (down-refused-members " + (downRefusedMembers() ? "on" : "off") + ")",
        downedAt, sbr ? ", by the Split Brain Resolver's decision" : ", no Split Brain Resolver decision");
    if (downRefusedMembers()) {
      assertNotNull(confirmed, "a survivor confirmed node 3 dead by refused connection and downed it");
    }
  }

  /** A live NDJSON stream read on a thread of its own until the connection ends. */
  static final class LiveStream {
    final List<JsonNode> messages = new java.util.concurrent.CopyOnWriteArrayList<>();
    private Thread reader;

    static LiveStream open(NodeProcesses cluster, NodeProcesses.Node node, String pathAndQuery) throws Exception {
      java.net.http.HttpRequest request = java.net.http.HttpRequest.newBuilder(java.net.URI.create(
              "https://127.0.0.1:" + node.httpPort() + pathAndQuery + "&api-version=2021-04-12"))
          .header("Authorization", cluster.ownerToken).header("Accept", "application/x-ndjson").build();
      var r = cluster.http.send(request, java.net.http.HttpResponse.BodyHandlers.ofInputStream());
      assertEquals(200, r.statusCode());
      LiveStream s = new LiveStream();
      s.reader = new Thread(() -> {
        try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(r.body(), java.nio.charset.StandardCharsets.UTF_8))) {
          for (String line; (line = lines.readLine()) != null; ) {
            if (line.isBlank()) continue; // keep-alive
            s.messages.add(JSON.readTree(line)); // a torn last line fails to parse: the stream ended there
          }
        } catch (java.io.IOException ended) {
          // cut by the kill
        }
      }, "stream-" + node.index());
      s.reader.setDaemon(true);
      s.reader.start();
      return s;
    }

    void awaitEnd(Duration timeout) throws InterruptedException {
      reader.join(timeout.toMillis());
    }
  }

  private static boolean allServed(NodeProcesses cluster, List<String> devices) throws InterruptedException {
    for (String id : devices) {
      try {
        if (cluster.send(cluster.nodes.get(0), "GET", "/twins/" + id, null).statusCode() != 200) return false;
      } catch (java.io.IOException e) {
        return false;
      }
    }
    return true;
  }
}
