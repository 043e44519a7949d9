package io.twinhub.node.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A network partition, not a crash: node 3 is cut off from nodes 1 and 2 (Artery's test blackhole,
 * {@link PartitionRoutes}) while its process, its HTTP API and its Cassandra connection stay up,
 * and one writer per node keeps patching the same {@value #DEVICES} twins, retrying like the SDKs.
 * The journal's majority fence ({@code MajorityFence}) is what keeps the isolated node from
 * acknowledging writes while the majority downs it and takes its twins over:
 * <ul>
 *   <li>node 3 fences its journal, and acknowledges no write sent to it after the fence went up;</li>
 *   <li>the majority downs and removes node 3 and serves every twin again, its writers go on;</li>
 *   <li>no version of a twin is acknowledged twice (by either side), none acknowledged is lost;</li>
 *   <li>node 3 downs itself (keep-majority: it is the minority), and a restart of it re-joins.</li>
 * </ul>
 * Prints the phases from both sides' logs. Timings are printed, never asserted.
 */
final class PartitionFailover {
  static final ObjectMapper JSON = new ObjectMapper();
  static final int DEVICES = 30;
  static final int WARM_UP_WRITES = 20;
  /** Test-only JVM options for every node of a cluster that runs this scenario. */
  static final List<String> JVM_OPTIONS = List.of("-Dakka.remote.artery.advanced.test-mode=on",
      "-Dakka.management.http.routes.partition=" + PartitionRoutes.class.getName());

  /** One acknowledged write: the twin, its desired $version, the node, when the request was sent. */
  record Ack(String twin, long version, int node, LocalTime sentAt) {}

  private PartitionFailover() {}

  static void run(NodeProcesses cluster) throws Exception {
    NodeProcesses.Node first = cluster.nodes.get(0);
    NodeProcesses.Node isolated = cluster.nodes.get(2);
    String run = UUID.randomUUID().toString().substring(0, 8);
    List<String> devices = new ArrayList<>();
    devices.addAll(ClusterFailoverIT.devicesPartlyOn(cluster, isolated, "pf-" + run + "-", DEVICES));
    for (String id : devices) {
      var r = cluster.setUp(first, "PUT", "/devices/" + id, "{\"deviceId\":\"" + id + "\"}");
      assertTrue(r.statusCode() == 200 || r.statusCode() == 409, r::body);
    }

    List<Ack> acks = new CopyOnWriteArrayList<>();
    AtomicInteger[] ackedBy = {new AtomicInteger(), new AtomicInteger(), new AtomicInteger()};
    AtomicInteger refused = new AtomicInteger();
    AtomicInteger journalRefused = new AtomicInteger(); // node 3's 503s saying its journal write failed
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> writers = new CopyOnWriteArrayList<>();
    for (NodeProcesses.Node node : cluster.nodes) {
      SdkLikeWriter.Listener count = new SdkLikeWriter.Listener() {
        @Override
        public void acknowledged(String twin, long version, long sent, long answered) {
          // The wall-clock time the request was sent, comparable with the nodes' log times.
          LocalTime at = LocalTime.now().minusNanos(System.nanoTime() - sent);
          acks.add(new Ack(twin, version, node.index(), at));
          ackedBy[node.index() - 1].incrementAndGet();
        }

        @Override
        public void refused(String twin, int status, String body) {
          refused.incrementAndGet();
        }
      };
      writers.add(new SdkLikeWriter(cluster, node, devices, "pwriter", 31L * node.index(), stop, count).start("pf-writer-" + node.index()));
    }
    try {
      assertTrue(NodeProcesses.eventually(Duration.ofSeconds(90), () -> java.util.Arrays.stream(ackedBy).allMatch(a -> a.get() >= WARM_UP_WRITES)),
          "every node acknowledges writes before the partition: " + java.util.Arrays.toString(ackedBy));

      Instant cutAt = Instant.now();
      for (NodeProcesses.Node peer : cluster.nodes.subList(0, 2)) {
        var r = management(cluster, isolated, "/test/blackhole?to=" + peer.remotingPort());
        assertEquals(200, r.statusCode(), r::body);
      }
      // Probes on the cut-off side: every twin patched through node 3 over and over, so the twins
      // it hosts are written before, at and after its fence (the writers above wait on one twin).
      for (String id : devices) {
        Thread p = new Thread(() -> probe(cluster, isolated, id, acks, journalRefused, stop), "pf-probe-" + id);
        p.start();
        writers.add(p);
      }
      // The majority downs and removes node 3, then serves all twins (node 3's included) again.
      cluster.awaitMembers(first, 2);
      Duration removed = Duration.between(cutAt, Instant.now());
      Duration served = null;
      while (served == null && Duration.between(cutAt, Instant.now()).toSeconds() < 90) {
        if (allServed(cluster, first, devices)) served = Duration.between(cutAt, Instant.now());
        else Thread.sleep(200);
      }
      assertNotNull(served, "the majority serves every twin again after the partition");
      int[] atServed = {ackedBy[0].get(), ackedBy[1].get()};
      assertTrue(NodeProcesses.eventually(Duration.ofSeconds(60),
              () -> ackedBy[0].get() >= atServed[0] + WARM_UP_WRITES && ackedBy[1].get() >= atServed[1] + WARM_UP_WRITES),
          "the majority goes on acknowledging writes: " + java.util.Arrays.toString(ackedBy));
      // The isolated node's Split Brain Resolver downs it (it is the minority): its actor system stops.
      assertTrue(NodeProcesses.eventually(Duration.ofSeconds(90), () -> has(isolated, "including myself")),
          "node 3 downs itself:\n" + String.join("\n", isolated.output()));
      stop.set(true);
      for (Thread w : writers) w.join(30_000);

      // Node 3 fenced its journal, and no write sent to it after that was acknowledged.
      LocalTime fencedAt = firstLineTime(isolated, "journal fenced: this member reaches no majority");
      assertNotNull(fencedAt, "node 3 fenced its journal:\n" + String.join("\n", isolated.output()));
      List<Ack> afterFence = acks.stream().filter(a -> a.node() == 3 && a.sentAt().isAfter(fencedAt.plusNanos(1_000_000))).toList();
      assertEquals(List.of(), afterFence, "node 3 acknowledged writes sent after its fence went up at " + fencedAt);
      // The fence was what refused them (Cassandra stayed reachable from node 3 all along).
      assertTrue(journalRefused.get() > 0, "node 3's journal refused writes after the cut");

      // No version acknowledged twice (a split brain would), none lost.
      Map<String, Set<Long>> perTwin = new ConcurrentHashMap<>();
      for (Ack a : acks) {
        assertTrue(perTwin.computeIfAbsent(a.twin(), k -> ConcurrentHashMap.newKeySet()).add(a.version()),
            a.twin() + ": version " + a.version() + " acknowledged twice");
      }
      for (String id : devices) {
        JsonNode twin = JSON.readTree(cluster.send(first, "GET", "/twins/" + id, null).body());
        long finalVersion = twin.path("properties").path("desired").path("$version").asLong();
        Set<Long> versions = perTwin.getOrDefault(id, Set.of());
        for (long v : versions) assertTrue(v <= finalVersion, id + ": acknowledged version " + v + " lost, twin is at " + finalVersion);
        assertTrue(finalVersion - 1 >= versions.size(), id + ": " + (finalVersion - 1) + " applied < " + versions.size() + " acknowledged");
      }
      assertEquals(0, refused.get(), "no write was refused as a client error");

      long node3After = acks.stream().filter(a -> a.node() == 3 && a.sentAt().isAfter(LocalTime.ofInstant(cutAt, java.time.ZoneId.systemDefault()))).count();
      System.out.printf("PartitionFailover: %d writes acknowledged (node 3: %d, %d of them sent after the cut, none after its fence at +%d ms); "
              + "node 3 removed by the majority %d ms and every twin served again %d ms after the cut; %d writes refused by node 3's journal%n",
          acks.size(), ackedBy[2].get(), node3After, Duration.between(LocalTime.ofInstant(cutAt, java.time.ZoneId.systemDefault()), fencedAt).toMillis(),
          removed.toMillis(), served.toMillis(), journalRefused.get());
      // Node 3's process still listens on its Artery port (the cut is Artery's blackhole, not the
      // kernel's), so a survivor's connect to it succeeds: never confirmed dead while it runs, the
      // resolver decides. (Once node 3 has downed itself and exited, its port does refuse.)
      LocalTime selfDowned = firstLineTime(isolated, "including myself");
      List<String> earlyDowns = new java.util.ArrayList<>();
      List<String> inconclusive = new java.util.ArrayList<>();
      for (NodeProcesses.Node n : cluster.nodes) {
        earlyDowns.addAll(ClusterFailoverIT.linesSince(n, cutAt, "confirmed dead by refused connection").stream()
            .filter(l -> LocalTime.parse(l.substring(0, 12)).isBefore(selfDowned)).toList());
        inconclusive.addAll(ClusterFailoverIT.linesSince(n, cutAt, "not confirmed dead"));
      }
      assertEquals(List.of(), earlyDowns, "nobody is confirmed dead by a refused connection in a partition");
      if (ClusterFailoverIT.downRefusedMembers()) {
        assertTrue(inconclusive.stream().anyMatch(l -> l.contains(":" + isolated.remotingPort() + " ")),
            "the majority's leader probed node 3 and found it listening: " + inconclusive);
      }
      System.out.printf("PartitionFailover: nothing confirmed dead by refused connection; the probes said: %s%n", inconclusive);
      ClusterFailoverIT.printClusterEvents("node 1", first, cutAt);
      ClusterFailoverIT.printClusterEvents("node 3", isolated, cutAt);
    } finally {
      stop.set(true);
      for (Thread w : writers) w.join(30_000);
    }
    // Downed cleanly: the process exits by itself (code 3, for a supervisor to restart it: a downed
    // member cannot come back in the same incarnation); restarted, it re-joins.
    assertTrue(isolated.current().waitFor(90, java.util.concurrent.TimeUnit.SECONDS),
        "node 3 exits after it downed itself:\n" + String.join("\n", isolated.output()));
    assertEquals(3, isolated.current().exitValue(), String.join("\n", isolated.output()));
    cluster.start(isolated);
    cluster.awaitReady(isolated);
    for (NodeProcesses.Node n : cluster.nodes) cluster.awaitMembers(n, 3);
  }

  /** Patches {@code id} through {@code node} every 200 ms until stopped; counts 503s from a failed journal write. */
  private static void probe(NodeProcesses cluster, NodeProcesses.Node node, String id, List<Ack> acks,
                            AtomicInteger journalRefused, AtomicBoolean stop) {
    int i = 0;
    while (!stop.get()) {
      LocalTime sentAt = LocalTime.now();
      try {
        var r = cluster.send(node, "PATCH", "/twins/" + id, "{\"properties\":{\"desired\":{\"probe\":" + (i++) + "}}}");
        if (r.statusCode() == 200) {
          acks.add(new Ack(id, JSON.readTree(r.body()).path("properties").path("desired").path("$version").asLong(), node.index(), sentAt));
        } else if (r.statusCode() == 503 && r.body().contains("journal write")) {
          journalRefused.incrementAndGet();
        }
      } catch (java.io.IOException e) {
        // no answer: its API stopped after it downed itself, or a timeout
      } catch (Exception e) {
        return;
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private static HttpResponse<String> management(NodeProcesses cluster, NodeProcesses.Node node, String path) throws Exception {
    return cluster.http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.managementPort() + path))
        .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static boolean allServed(NodeProcesses cluster, NodeProcesses.Node node, List<String> devices) throws InterruptedException {
    for (String id : devices) {
      try {
        if (cluster.send(node, "GET", "/twins/" + id, null).statusCode() != 200) return false;
      } catch (java.io.IOException e) {
        return false;
      }
    }
    return true;
  }

  private static boolean has(NodeProcesses.Node node, String text) {
    return node.output().stream().anyMatch(l -> l.contains(text));
  }

  /** The log time of {@code node}'s first line containing {@code text}, null if none. */
  private static LocalTime firstLineTime(NodeProcesses.Node node, String text) {
    for (String line : node.output()) {
      if (line.contains(text)) {
        try {
          return LocalTime.parse(line.substring(0, 12));
        } catch (RuntimeException e) {
          // not a timestamped line
        }
      }
    }
    return null;
  }
}
