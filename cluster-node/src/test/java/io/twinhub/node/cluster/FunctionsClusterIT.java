package io.twinhub.node.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.node.mqtt.MqttTestNodes;
import io.twinhub.twin.telemetry.TelemetryTags;
import io.twinhub.twin.entity.TwinTags;
import io.twinhub.twin.auth.SasToken;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Functions on a cluster of three node processes, two of them workers (issue #18): node 1 has the
 * api, twin, mqtt and query roles and no worker; nodes 2 and 3 every role (the cluster this class
 * shares with {@link ClusterFailoverIT} and {@link RollingRestartIT}, {@link SharedCluster}: node 3
 * is a twin member too, so its kill -9 also moves twin shards while the telemetry flows; the last
 * of the three, so its last kill -9 costs no node start).
 * One stream of telemetry from real MQTT devices (connected to nodes 1 and 2) runs through the
 * scenarios, in this order, while a function app compiled here writes every message it is
 * handed to a ledger file of its worker process (a line written before the function returns, so
 * it survives the process's kill -9 whenever the partition could have committed past it):
 * <ol>
 *   <li>the partitions are spread over both workers, telemetry partitions on each (the
 *   {@code twinhub_functions_partition} gauges on /metrics);</li>
 *   <li>the app is published through node 1 while telemetry flows: every message sent after the
 *   publish answered reaches the function, although the workers look for new apps only every 30 s
 *   here (the race of a worker committing past messages its not-yet-loaded app should get,
 *   closed by the publication's mark in the journal);</li>
 *   <li>node 3 is killed -9 mid-stream: its partitions move to node 2 and no message is lost;
 *   duplicates are counted and printed;</li>
 *   <li>version 2 is published while telemetry flows: nothing lost, later messages run on v2;</li>
 *   <li>node 3 starts again (a worker added): partitions spread to it and it runs functions;</li>
 * </ol>
 * and a timer function (every 5 s) fired once per occurrence across the cluster, not once per worker,
 * also when the worker running the timer is killed -9 (the last scenario: the singleton moves).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Order(3) // SharedCluster's users, first and in this order (junit-platform.properties)
class FunctionsClusterIT {
  static final int DEVICES = 4;
  static final Duration AWAIT = Duration.ofSeconds(120);
  static final String APP = "ledger";

  @TempDir
  static Path dir;

  static NodeProcesses cluster;
  static Path ledgers;
  static Path jar;

  @BeforeAll
  static void startCluster() throws Exception {
    jar = ledgerApp(dir.resolve("app"));
    // Workers look for new app versions only every 30 s (2 s by default, a JVM option of the shared
    // cluster): without the publication's mark, the messages of those 30 s would reach no function
    // (a race of 2 s that the journal's own read delay mostly hid on this box); with it, delivery
    // does not wait for the refresh.
    cluster = SharedCluster.acquire();
    ledgers = SharedCluster.ledgers();
  }

  /**
   * The test's function app: each telemetry message handed to {@code ledgerTelemetry} and each
   * firing of {@code ledgerTimer} is a line in {@code <ledger.dir>/<kind>-<pid>.txt}, with the
   * app version's JAR name ({@code ledger-<version>.jar}, as the worker stores it).
   */
  static Path ledgerApp(Path at) throws Exception {
    Path src = at.resolve("src/ledger/Ledger.java");
    Files.createDirectories(src.getParent());
    Files.writeString(src, """
        package ledger;
        import com.microsoft.azure.functions.ExecutionContext;
        import com.microsoft.azure.functions.annotation.*;
        import java.nio.charset.StandardCharsets;
        import java.nio.file.*;
        public class Ledger {
          static final long PID = ProcessHandle.current().pid();
          static String jar() {
            String p = Ledger.class.getProtectionDomain().getCodeSource().getLocation().getPath();
            return p.substring(p.lastIndexOf('/') + 1);
          }
          static synchronized void append(String kind, String line) throws Exception {
            Files.write(Path.of(System.getProperty("ledger.dir"), kind + "-" + PID + ".txt"),
                (line + "\\n").getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE, StandardOpenOption.APPEND);
          }
          @FunctionName("ledgerTelemetry")
          public void telemetry(@EventHubTrigger(name = "m", eventHubName = "messages/events", connection = "IoTHubConnection",
              cardinality = Cardinality.ONE) String message, ExecutionContext context) throws Exception {
            append("telemetry", message + " " + jar());
          }
          @FunctionName("ledgerTimer")
          public void timer(@TimerTrigger(name = "t", schedule = "*/5 * * * * *") String info, ExecutionContext context) throws Exception {
            append("timer", (System.currentTimeMillis() / 5000 * 5) + " " + jar());
          }
        }
        """);
    Path classes = Files.createDirectories(at.resolve("classes"));
    assertEquals(0, io.twinhub.functions.runtime.AppJars.compile(src, classes), "the ledger app compiles");
    Path out = at.resolve("ledger.jar");
    try (var jarOut = Files.newOutputStream(out)) {
      io.twinhub.functions.runtime.AppJars.jar(classes, jarOut);
    }
    return out;
  }

  /** One device sending telemetry over MQTT (QoS 1), one message after the other, each body sent once. */
  static final class Device implements Runnable {
    final String id;
    final NodeProcesses.Node node;
    /** Bodies whose PUBACK arrived, and from which sequence number on a body counts (see {@link #requireFrom}). */
    final List<String> acknowledged = new ArrayList<>();
    volatile int seq;
    volatile int required = Integer.MAX_VALUE;
    int failed;
    final AtomicBoolean stop = new AtomicBoolean();
    MqttClient client;

    Device(String id, NodeProcesses.Node node) {
      this.id = id;
      this.node = node;
    }

    /** Messages from the next one on must reach the function (their send starts after the caller's moment). */
    void requireFrom() {
      required = Math.min(required, seq + 1);
    }

    @Override
    public void run() {
      while (!stop.get()) {
        try {
          if (client == null || !client.isConnected()) client = connect(id, node);
          int n = ++seq;
          String body = id + ":" + n;
          MqttMessage m = new MqttMessage(body.getBytes(StandardCharsets.UTF_8));
          m.setQos(1);
          client.publish("devices/" + id + "/messages/events/", m);
          synchronized (acknowledged) {
            acknowledged.add(body);
          }
          Thread.sleep(40);
        } catch (InterruptedException e) {
          return;
        } catch (Exception e) {
          failed++; // unacknowledged: not required; its body is never sent again
          try {
            if (client != null) client.disconnectForcibly(1000, 1000);
          } catch (Exception ignored) {
            // already gone
          }
          client = null;
          try {
            Thread.sleep(500);
          } catch (InterruptedException ie) {
            return;
          }
        }
      }
    }

    List<String> required() {
      synchronized (acknowledged) {
        return acknowledged.stream().filter(b -> Integer.parseInt(b.substring(b.lastIndexOf(':') + 1)) >= required).toList();
      }
    }
  }

  static MqttClient connect(String device, NodeProcesses.Node node) throws Exception {
    MqttClient c = new MqttClient("ssl://" + MqttTestNodes.HOST + ":" + node.mqttPort(), device, new MemoryPersistence());
    MqttConnectOptions o = new MqttConnectOptions();
    o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
    o.setCleanSession(true);
    o.setAutomaticReconnect(false);
    o.setConnectionTimeout(30);
    o.setSocketFactory(cluster.tls.getSocketFactory());
    o.setUserName(MqttTestNodes.HOST + "/" + device + "/?api-version=2020-09-30");
    o.setPassword(SasToken.signForDevice(MqttTestNodes.HOST, device, null, MqttTestNodes.KEY1,
        System.currentTimeMillis() / 1000 + 3600).toCharArray());
    c.setTimeToWait(30_000);
    c.connect(o);
    return c;
  }

  /** Ledger lines of {@code kind} by worker pid. */
  static Map<Long, List<String>> ledger(String kind) throws IOException {
    Map<Long, List<String>> out = new TreeMap<>();
    try (Stream<Path> files = Files.list(ledgers)) {
      for (Path f : files.filter(p -> p.getFileName().toString().startsWith(kind + "-")).toList()) {
        String name = f.getFileName().toString();
        long pid = Long.parseLong(name.substring(kind.length() + 1, name.length() - 4));
        out.put(pid, Files.readAllLines(f).stream().filter(l -> !l.isBlank()).toList());
      }
    }
    return out;
  }

  /** The partitions a node's worker runs now, from its /metrics ({@code twinhub_functions_partition{partition=…} 1}). */
  static Set<String> partitions(NodeProcesses.Node node) {
    try {
      String metrics = cluster.http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.managementPort() + "/metrics"))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
      return metrics.lines().filter(l -> l.startsWith("twinhub_functions_partition{") && !l.endsWith(" 0.0"))
          .map(l -> l.substring(l.indexOf("partition=\"") + 11, l.indexOf('"', l.indexOf("partition=\"") + 11)))
          .collect(Collectors.toSet());
    } catch (IOException e) {
      return Set.of();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Set.of();
    }
  }

  /** The journal tag reads a node's worker started for partition {@code tag} ({@code twinhub_functions_tag_reads_total}). */
  static double tagReads(NodeProcesses.Node node, String tag) {
    String metrics;
    try {
      metrics = cluster.http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.managementPort() + "/metrics"))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    return metrics.lines().filter(l -> l.startsWith("twinhub_functions_tag_reads_total{") && l.contains("partition=\"" + tag + "\""))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  static double metric(NodeProcesses.Node node, String name) throws Exception {
    String metrics = cluster.http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.managementPort() + "/metrics"))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
    return metrics.lines().filter(l -> l.startsWith(name + " ") || l.startsWith(name + "{"))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  interface Condition {
    boolean holds() throws Exception;
  }

  /** Until {@code condition} holds; prints how long it took (where the class's time goes). */
  static void await(String what, Condition condition) throws Exception {
    long start = System.nanoTime();
    long deadline = start + AWAIT.toNanos();
    while (!condition.holds()) {
      if (System.nanoTime() > deadline) fail("not within " + AWAIT + ": " + what);
      Thread.sleep(250);
    }
    System.out.printf("FunctionsClusterIT: %s after %.1f s%n", what, (System.nanoTime() - start) / 1e9);
  }

  static long processedOn(long pid, String jarName) throws IOException {
    return ledger("telemetry").getOrDefault(pid, List.of()).stream().filter(l -> l.endsWith(" " + jarName)).count();
  }

  static HttpResponse<String> publish(NodeProcesses.Node via) throws Exception {
    return cluster.http.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + via.httpPort() + "/functions/apps/" + APP
                + "?api-version=2021-04-12"))
            .timeout(Duration.ofSeconds(60))
            .header("Authorization", cluster.ownerToken)
            .header("Content-Type", "application/java-archive")
            .PUT(HttpRequest.BodyPublishers.ofByteArray(Files.readAllBytes(jar))).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  @Order(1)
  void telemetryReachesFunctionsAcrossPublishKillUpdateAndJoinWithoutLoss() throws Exception {
    NodeProcesses.Node api = cluster.nodes.get(0);
    NodeProcesses.Node second = cluster.nodes.get(1);
    NodeProcesses.Node third = cluster.nodes.get(2);
    long t0 = System.nanoTime();
    long[] pids = {-1};

    // 1. The 16 partitions, spread over both workers, none on node 1.
    // Telemetry partitions on each worker: each kind of partition is spread on its own.
    await("the 16 partitions on nodes 2 and 3, telemetry ones on each", () -> {
      Set<String> on2 = partitions(second);
      Set<String> on3 = partitions(third);
      return on2.stream().anyMatch(TelemetryTags.ALL::contains) && on3.stream().anyMatch(TelemetryTags.ALL::contains)
          && on2.size() + on3.size() == 16 && partitions(api).isEmpty();
    });
    System.out.printf("FunctionsClusterIT: partitions at start: node 2 %s, node 3 %s%n", new java.util.TreeSet<>(partitions(second)),
        new java.util.TreeSet<>(partitions(third)));
    // No route is configured here: the twin-tag partitions run but never query the journal, while
    // every telemetry partition has started its tag read (a counter, not a wait for nothing to happen).
    await("every telemetry partition reads its tag", () -> TelemetryTags.ALL.stream()
        .allMatch(t -> tagReads(second, t) + tagReads(third, t) > 0));
    for (String t : TwinTags.ALL) {
      assertEquals(0, tagReads(second, t) + tagReads(third, t), "partition " + t + " read the journal without any route");
    }

    // Devices on nodes 1 and 2, sending from before the publication on.
    List<Device> devices = new ArrayList<>();
    for (int d = 0; d < DEVICES; d++) {
      String id = "fnc-" + d;
      var r = cluster.setUp(api, "PUT", "/devices/" + id, "{\"deviceId\":\"" + id + "\",\"authentication\":{\"type\":\"sas\","
          + "\"symmetricKey\":{\"primaryKey\":\"" + MqttTestNodes.KEY1 + "\",\"secondaryKey\":\"" + MqttTestNodes.KEY1 + "\"}}}");
      assertTrue(r.statusCode() == 200 || r.statusCode() == 409, r::body);
      devices.add(new Device(id, d % 2 == 0 ? api : second));
    }
    List<Thread> senders = new ArrayList<>();
    for (Device d : devices) {
      Thread t = new Thread(d, "telemetry-" + d.id);
      t.start();
      senders.add(t);
    }
    try {
      await("every device's telemetry acknowledged", () -> devices.stream().allMatch(d -> d.required().isEmpty() && d.seq > 5));

      // 2. Publish through node 1 (no worker): the workers learn of it only by refreshing; every
      // message sent after the answer must reach the function all the same.
      HttpResponse<String> v1 = publish(api);
      devices.forEach(Device::requireFrom);
      assertEquals(200, v1.statusCode(), v1::body);
      assertEquals(1, NodeProcesses.JSON.readTree(v1.body()).path("version").asInt(), v1::body);
      long pid2 = second.current().pid();
      long pid3 = third.current().pid();
      pids[0] = pid3;
      await("both workers run the function on telemetry (v1)", () -> processedOn(pid2, "ledger-1.jar") > 0
          && processedOn(pid3, "ledger-1.jar") > 0);

      // 3. kill -9 of worker 3 mid-stream; its partitions move to worker 2.
      long beforeKill = processedOn(pid3, "ledger-1.jar");
      await("node 3 keeps processing", () -> processedOn(pid3, "ledger-1.jar") >= beforeKill + 20);
      cluster.kill(third);
      await("the 16 partitions on node 2 after node 3's kill -9", () -> partitions(second).size() == 16);
      long afterMove = processedOn(pid2, "ledger-1.jar");
      await("node 2 processes after taking node 3's partitions", () -> processedOn(pid2, "ledger-1.jar") >= afterMove + 40);

      // 4. Version 2 while telemetry flows.
      HttpResponse<String> v2 = publish(api);
      assertEquals(200, v2.statusCode(), v2::body);
      assertEquals(2, NodeProcesses.JSON.readTree(v2.body()).path("version").asInt(), v2::body);
      await("telemetry runs on v2", () -> processedOn(pid2, "ledger-2.jar") >= 20);

      // 5. Node 3 again: a worker added takes partitions and runs functions (v2, its first load).
      cluster.start(third);
      cluster.awaitReady(third);
      cluster.awaitMembers(api, 3);
      long pid3b = third.current().pid();
      await("telemetry partitions moved to the added worker", () -> partitions(third).stream().anyMatch(TelemetryTags.ALL::contains));
      await("the added worker runs the function", () -> processedOn(pid3b, "ledger-2.jar") >= 20);
      System.out.printf("FunctionsClusterIT: partitions after the join: node 2 %d, node 3 %d%n", partitions(second).size(),
          partitions(third).size());
    } finally {
      devices.forEach(d -> d.stop.set(true));
      for (Thread t : senders) t.join(60_000);
      for (Device d : devices) {
        try {
          if (d.client != null) d.client.disconnectForcibly(1000, 1000);
        } catch (Exception ignored) {
          // gone
        }
      }
    }

    // Every message acknowledged after the first publication reached the function at least once.
    Map<String, Integer> seen = new HashMap<>();
    Map<String, Integer> required = new HashMap<>();
    for (Device d : devices) d.required().forEach(b -> required.put(b, 0));
    boolean all = NodeProcesses.eventually(AWAIT, () -> {
      seen.clear();
      try {
        for (List<String> lines : ledger("telemetry").values()) {
          for (String l : lines) seen.merge(l.substring(0, l.indexOf(' ')), 1, Integer::sum);
        }
      } catch (IOException e) {
        return false;
      }
      return seen.keySet().containsAll(required.keySet());
    });
    if (!all) {
      List<String> missing = required.keySet().stream().filter(b -> !seen.containsKey(b)).sorted().toList();
      fail(missing.size() + " of " + required.size() + " messages acknowledged after the publication never reached the function,"
          + " e.g. " + missing.subList(0, Math.min(20, missing.size())));
    }
    long duplicates = required.keySet().stream().filter(b -> seen.get(b) > 1).count();
    long extra = required.keySet().stream().mapToLong(b -> seen.get(b) - 1).sum();
    int unacknowledged = devices.stream().mapToInt(d -> d.failed).sum();
    Map<Long, Long> perWorker = new TreeMap<>();
    ledger("telemetry").forEach((pid, lines) -> perWorker.put(pid, (long) lines.size()));
    double held = metric(second, "twinhub_functions_events_held_total") + metric(third, "twinhub_functions_events_held_total");
    System.out.printf("FunctionsClusterIT: %d messages required (acknowledged after the first publication), all processed;"
            + " %d processed more than once (%d extra invocations); %d sends unacknowledged (not required);"
            + " ledger lines per worker pid %s (node 2 pid %d, node 3 pid %d before the kill -9, %d after);"
            + " partitions held at a publication mark %.0f time(s) (live workers); %.1f s%n",
        required.size(), duplicates, extra, unacknowledged, perWorker, second.current().pid(), pids[0], third.current().pid(),
        held, (System.nanoTime() - t0) / 1e9);
  }

  @Test
  @Order(2)
  void aTimerFiresOncePerOccurrenceAcrossTheCluster() throws Exception {
    // The timer (every 5 s) ran since the first publication, through node 3's kill and return.
    await("the timer fired a few times", () -> ledger("timer").values().stream().mapToInt(List::size).sum() >= 4);
    Map<String, List<Long>> bySlot = new TreeMap<>();
    ledger("timer").forEach((pid, lines) -> lines.forEach(l -> bySlot.computeIfAbsent(l.substring(0, l.indexOf(' ')),
        k -> new ArrayList<>()).add(pid)));
    Map<String, List<Long>> twice = bySlot.entrySet().stream().filter(e -> e.getValue().size() > 1)
        .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    System.out.printf("FunctionsClusterIT: timer fired %d time(s), by worker pid %s%n", bySlot.size(),
        bySlot.values().stream().flatMap(List::stream).collect(Collectors.groupingBy(p -> p, TreeMap::new, Collectors.counting())));
    assertTrue(twice.isEmpty(), "an occurrence fired more than once: " + twice);
  }

  @Test
  @Order(3)
  void theTimerKeepsFiringOncePerOccurrenceWhenTheWorkerRunningItIsKilled() throws Exception {
    NodeProcesses.Node second = cluster.nodes.get(1);
    NodeProcesses.Node third = cluster.nodes.get(2);
    long t0 = System.nanoTime();
    // The worker that runs the timer singleton: the one that wrote the newest firing.
    long[] newest = {0, -1};
    ledger("timer").forEach((pid, lines) -> lines.forEach(l -> {
      long slot = Long.parseLong(l.substring(0, l.indexOf(' ')));
      if (slot > newest[0]) {
        newest[0] = slot;
        newest[1] = pid;
      }
    }));
    NodeProcesses.Node running = second.current().pid() == newest[1] ? second : third;
    NodeProcesses.Node other = running == second ? third : second;
    assertEquals(newest[1], running.current().pid(), "the timer runs on a live worker");
    long otherPid = other.current().pid();
    long killedAt = System.currentTimeMillis() / 1000;
    cluster.kill(running);
    // The singleton moves to the other worker (once the killed one is downed) and fires there.
    await("the timer fires on the other worker after the kill -9", () ->
        ledger("timer").getOrDefault(otherPid, List.of()).stream()
            .filter(l -> Long.parseLong(l.substring(0, l.indexOf(' '))) > killedAt).count() >= 3);
    Map<String, List<Long>> bySlot = new TreeMap<>();
    ledger("timer").forEach((pid, lines) -> lines.forEach(l -> bySlot.computeIfAbsent(l.substring(0, l.indexOf(' ')),
        k -> new ArrayList<>()).add(pid)));
    Map<String, List<Long>> twice = bySlot.entrySet().stream().filter(e -> e.getValue().size() > 1)
        .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    List<Long> after = bySlot.keySet().stream().map(Long::parseLong).filter(x -> x > killedAt).toList();
    System.out.printf("FunctionsClusterIT: timer worker (pid %d) killed at %d; first firing on pid %d at %d (%d s later), %d firing(s)"
            + " since; %.1f s%n", newest[1], killedAt, otherPid, after.get(0), after.get(0) - killedAt, after.size(),
        (System.nanoTime() - t0) / 1e9);
    assertTrue(twice.isEmpty(), "an occurrence fired more than once across the failover: " + twice);
  }
}
