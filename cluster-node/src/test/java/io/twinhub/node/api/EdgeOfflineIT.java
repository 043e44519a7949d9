package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.node.cli.TwinhubCli;
import io.twinhub.node.edge.CollectorModule;
import io.twinhub.node.edge.CounterModule;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Durability of the IoT Edge runtime, run as its own process ({@code twinhub edge run}, so kill -9
 * is real) against a hub node (the edge ITs' shared {@link EdgeTestHub}): a Java device SDK module sends 1,000 messages (to {@code $upstream}
 * and to a second SDK module's input) and reports its progress in its twin while the hub is
 * stopped: once 500 messages were acknowledged (by edgeHub, offline) the runtime is killed with
 * SIGKILL and started again, and the hub comes back once the restarted runtime acknowledged 100
 * more, still offline (conditions, not fixed times: a loaded box only makes the outage longer).
 * Afterwards every message the sender's SDK saw acknowledged is in the hub's
 * {@code deviceMessages} stream, in order, every acknowledged reported patch is in the module
 * twin's history in order (every report acknowledged but one the killed runtime took without
 * answering), every acknowledged message reached the other module's input, and the
 * restarted agent adopted the modules the killed runtime left running (one process each). Then a
 * changed deployment replaces a module's process.
 */
class EdgeOfflineIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String DEVICE = "gw-off";
  static final int COUNT = 1000;
  /** Messages acknowledged when the runtime is killed (the order check covers all but the last 100 of them). */
  static final int ACKED_AT_KILL = 500;
  /** Messages the restarted runtime acknowledges before the hub comes back. */
  static final int ACKED_AFTER_RESTART = 100;
  /** The flags of the launcher's {@code edge} case (./twinhub). */
  static final List<String> EDGE_JVM = List.of("-Xms16m", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
      "-XX:ReservedCodeCacheSize=32m", "-XX:MaxMetaspaceSize=96m", "-Xss512k");

  @TempDir
  static Path dir;
  static EdgeTestHub hub;
  static ApiClient api;
  static List<String> edgeCommand;
  static Process edge;
  static Path out;

  @BeforeAll
  static void start() throws Exception {
    hub = EdgeTestHub.acquire();
    api = hub.api;
    String key = hub.createEdgeDevice(DEVICE);
    String address = EdgeTestHub.freeLoopbackFor8883();
    out = Files.createDirectories(dir.resolve("out"));
    Path args = EdgeTestHub.classpathArgs(dir);
    Path logback = dir.resolve("logback-edge.xml");
    Files.writeString(logback, """
        <configuration>
          <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
            <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{36} - %msg%n</pattern></encoder>
          </appender>
          <root level="WARN"><appender-ref ref="OUT"/></root>
          <logger name="io.twinhub.edge" level="INFO"/>
        </configuration>
        """);
    edgeCommand = new ArrayList<>();
    edgeCommand.add(ProcessHandle.current().info().command().orElse("java"));
    edgeCommand.addAll(EDGE_JVM);
    edgeCommand.add("-Dlogback.configurationFile=" + logback);
    edgeCommand.addAll(List.of("@" + args, TwinhubCli.class.getName(), "edge", "run",
        "--connection-string", "HostName=127.0.0.1;DeviceId=" + DEVICE + ";SharedAccessKey=" + key,
        "--data-dir", dir.resolve("edge").toString(), "--ca", hub.node().api().tls().caPemPath().toString(),
        "--hub-mqtt-port", String.valueOf(hub.settings.mqttPort()), "--hub-https-port", String.valueOf(hub.node().api().httpsPort()),
        "--gateway-host-name", address, "--edgehub-port", "8883", "--restart-cool-off", "1"));
    edge = startEdge();
  }

  static Process startEdge() throws IOException {
    return new ProcessBuilder(edgeCommand).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("edge-runtime.log").toFile())).start();
  }

  @AfterAll
  static void stop() throws Exception {
    if (edge != null) {
      edge.destroy(); // SIGTERM: the runtime stops its modules
      if (!edge.waitFor(60, TimeUnit.SECONDS)) edge.destroyForcibly();
    }
    moduleProcesses(CounterModule.class).forEach(ProcessHandle::destroyForcibly);
    moduleProcesses(CollectorModule.class).forEach(ProcessHandle::destroyForcibly);
  }

  @Test
  void acknowledgedMessagesAndReportedPatchesSurviveAHubOutageAndAKillOfTheRuntime() throws Exception {
    long t0 = System.nanoTime();
    Instant started = Instant.now();
    awaitTrue(() -> rssKb(edge.pid()) > 0 && Files.exists(dir.resolve("edge/tls/ca.pem")), "the runtime started");
    Thread.sleep(3000);
    long idleRss = rssKb(edge.pid());
    apply(manifest("a"));
    awaitAgentReported(r -> "running".equals(r.at("/modules/counter/runtimeStatus").asText())
        && "running".equals(r.at("/modules/collector/runtimeStatus").asText()), "both modules running");
    awaitCounterMessages(1);
    phase("deployment running, first message upstream", t0);

    hub.stop();
    long down = System.nanoTime();
    phase("hub stopped", t0);
    awaitTrue(() -> distinct(lines("acked.txt")) >= ACKED_AT_KILL, Duration.ofMinutes(2),
        ACKED_AT_KILL + " messages acknowledged by edgeHub while the hub is down");
    long loadRss = rssKb(edge.pid());
    assertTrue(edge.destroyForcibly().waitFor(30, TimeUnit.SECONDS)); // SIGKILL
    int ackedAtKill = lines("acked.txt").size();
    // Reports the killed runtime may have taken (PUBACK) without answering: requested, not yet answered.
    Set<Integer> outstandingAtKill = new TreeSet<>(lines("requested.txt"));
    lines("reported.txt").forEach(outstandingAtKill::remove);
    edge = startEdge();
    phase("runtime killed -9 and started again, " + ackedAtKill + " messages acknowledged so far, reports "
        + outstandingAtKill + " outstanding", t0);
    int distinctAtKill = distinct(lines("acked.txt"));
    awaitTrue(() -> distinct(lines("acked.txt")) >= distinctAtKill + ACKED_AFTER_RESTART, Duration.ofMinutes(3),
        ACKED_AFTER_RESTART + " more messages acknowledged by the restarted runtime while the hub is down");
    hub.restart();
    phase("hub back after " + (System.nanoTime() - down) / 1_000_000_000 + " s", t0);

    awaitTrue(() -> lines("acked.txt").stream().distinct().count() == COUNT, Duration.ofMinutes(4),
        "the SDK saw all " + COUNT + " messages acknowledged");
    List<Integer> acked = lines("acked.txt");
    // Upstream: every acknowledged message; a message edgeHub had stored but not yet acknowledged
    // when it was killed is sent again by the SDK (at least once), never lost.
    List<Integer> upstream = awaitCounterMessages(COUNT);
    List<Integer> firsts = new ArrayList<>(new LinkedHashSet<>(upstream));
    assertEquals(new TreeSet<>(acked), new TreeSet<>(firsts), "each acknowledged message upstream: " + summary(upstream));
    int repeated = upstream.size() - firsts.size();
    phase("all " + COUNT + " messages upstream, " + repeated + " repeated", t0);
    assertTrue(repeated <= 100, "only what was in flight at the kill comes again: " + summary(upstream));
    // The module input: every acknowledged message reached the collector (at least once).
    awaitTrue(() -> new TreeSet<>(lines("received.txt")).containsAll(acked), Duration.ofMinutes(2),
        "every acknowledged message on the collector's input");
    // In order: both endpoints got the messages in the order edgeHub accepted them. (The SDK's own
    // order is not kept across its reconnection: it sends the messages it had in flight again in
    // an order of its own, which is the order edgeHub then accepts and keeps.)
    List<Integer> collected = new ArrayList<>(new LinkedHashSet<>(lines("received.txt")));
    assertEquals(collected, firsts, "upstream and the collector's input in the same (edgeHub's) order; upstream: "
        + summary(upstream) + "; collector: " + summary(lines("received.txt")));
    List<Integer> beforeKill = firsts.subList(0, Math.max(0, ackedAtKill - 100));
    assertEquals(beforeKill.stream().sorted().toList(), beforeKill, "in the order the module sent them before the kill");

    // Every report the module made (one per 50 messages, all acknowledged) was answered with a success
    // (offline ones by edgeHub), but those the killed runtime may have taken without answering: the
    // module takes the answer through SdkTwinCalls, so the SDK's #1803 cannot lose one.
    List<Integer> answerable = new ArrayList<>();
    for (int n = 0; n < COUNT; n += 50) if (!outstandingAtKill.contains(n)) answerable.add(n);
    awaitTrue(() -> lines("reported.txt").containsAll(answerable), Duration.ofMinutes(2),
        "the counter saw each of its reports " + answerable + " acknowledged");
    // Reported patches acknowledged to the module are in the twin, in order.
    List<Integer> reported = lines("reported.txt");
    List<Integer>[] history = new List[1];
    awaitTrue(() -> {
      history[0] = reportedProgress(started);
      return history[0].containsAll(reported);
    }, Duration.ofMinutes(2), "each acknowledged reported patch in the twin: " + reported);
    List<Integer> inOrder = history[0].stream().filter(reported::contains).distinct().toList();
    assertEquals(reported.stream().distinct().sorted().toList(), inOrder, "applied in the order they were made");
    phase("all " + reported.size() + " reported patches in the twin " + reported, t0);

    // edgeHub's copy of the counter's twin (taken when it brought the twin back in sync) is on disk,
    // for GETs after a restart while the hub is down, and it holds the hub's last report: the
    // module's last one, acknowledged (made long after the kill).
    int lastReported = reported.stream().max(Integer::compare).orElseThrow();
    assertEquals(COUNT - 50, lastReported, "the last report acknowledged");
    Path copy = dir.resolve("edge/store/twin~" + java.net.URLEncoder.encode(DEVICE + "/counter",
        java.nio.charset.StandardCharsets.UTF_8) + ".json");
    String[] seen = {"nothing yet"};
    try {
      awaitTrue(() -> {
        try {
          int hubHas = hub.moduleReported(DEVICE, "counter").path("progress").asInt(-1);
          JsonNode onDisk = Files.exists(copy) ? JSON.readTree(copy.toFile()) : null;
          seen[0] = "hub's progress " + hubHas + ", copy " + onDisk;
          return onDisk != null && hubHas >= lastReported && onDisk.at("/reported/progress").asInt(-1) == hubHas;
        } catch (IOException e) {
          return false;
        }
      }, Duration.ofMinutes(1), "edgeHub's copy of the counter's twin on disk with the hub's progress (>= " + lastReported + ")");
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + ": " + seen[0], e);
    }
    // The agent keeps the deployment it applied (read at a start while the hub is unreachable).
    assertEquals(manifest("a").at("/$edgeAgent/properties.desired/modules/counter"),
        JSON.readTree(dir.resolve("edge/agent/backup.json").toFile()).at("/modules/counter"));

    // The restarted agent adopted the processes the killed runtime left: one of each, still running.
    awaitAgentReported(r -> "running".equals(r.at("/modules/counter/runtimeStatus").asText())
        && "running".equals(r.at("/modules/collector/runtimeStatus").asText()), "both modules running");
    assertEquals(1, moduleProcesses(CounterModule.class).size(), "one counter process");
    List<ProcessHandle> collectors = moduleProcesses(CollectorModule.class);
    assertEquals(1, collectors.size(), "one collector process");

    // A changed deployment replaces the collector's process; the agent reports the new one running.
    apply(manifest("b"));
    awaitTrue(() -> moduleProcesses(CollectorModule.class).stream().anyMatch(p -> p.pid() != collectors.get(0).pid())
        && !collectors.get(0).isAlive(), Duration.ofMinutes(2), "the collector replaced");
    awaitAgentReported(r -> "running".equals(r.at("/modules/collector/runtimeStatus").asText())
        && "b".equals(r.at("/modules/collector/settings/command").asText().replaceAll(".* ", "")), "the new collector running");
    System.out.printf("EdgeOfflineIT: runtime RSS %d MB idle, %d MB under load (%s)%n", idleRss / 1024, loadRss / 1024,
        String.join(" ", EDGE_JVM));
  }

  // ------------------------------------------------------------------ helpers

  static ObjectNode manifest(String generation) throws IOException {
    ObjectNode modules = JSON.createObjectNode();
    modules.set("counter", processModule(CounterModule.class, "a"));
    modules.set("collector", processModule(CollectorModule.class, generation));
    return EdgeTestHub.deployment(modules, Map.of(
        "up", "FROM /messages/modules/counter/outputs/out1 INTO $upstream",
        "collect", "FROM /messages/modules/counter/outputs/out1 INTO BrokeredEndpoint(\"/modules/collector/inputs/in1\")"));
  }

  /** A process module running {@code main} with this test's classpath; {@code generation} ends its command line. */
  static ObjectNode processModule(Class<?> main, String generation) {
    String java = ProcessHandle.current().info().command().orElse("java");
    ObjectNode m = JSON.createObjectNode();
    m.put("type", "process").put("status", "running").put("restartPolicy", "always");
    m.putObject("settings").put("command", java + " -Xmx64m @" + dir.resolve("classpath.args") + " " + main.getName()
        + " " + generation);
    ObjectNode env = m.putObject("env");
    env.putObject("OUT_DIR").put("value", out.toString());
    env.putObject("COUNT").put("value", String.valueOf(COUNT));
    env.putObject("INTERVAL_MS").put("value", "25");
    return m;
  }

  static void apply(ObjectNode modulesContent) throws Exception {
    hub.apply(DEVICE, modulesContent);
  }

  /** The {@code n} of the counter's messages in the hub's stream, in stream order, once there are at least {@code atLeast}. */
  static List<Integer> awaitCounterMessages(int atLeast) throws Exception {
    long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
    List<Integer> ns = new ArrayList<>();
    while (System.nanoTime() < deadline) {
      ns.clear();
      try {
        for (JsonNode m : hub.deviceMessages(DEVICE)) {
          if ("counter".equals(m.at("/systemProperties/$iothub-connection-module-id").asText())) ns.add(m.at("/body/n").asInt());
        }
      } catch (IOException e) {
        // the hub is starting
      }
      if (new LinkedHashSet<>(ns).size() >= atLeast) return ns;
      Thread.sleep(1000);
    }
    throw new AssertionError("only " + ns.size() + " counter messages upstream: " + summary(ns));
  }

  /** progress of each reported change of the counter's module twin since {@code since}, oldest first. */
  static List<Integer> reportedProgress(Instant since) {
    try {
      ApiClient.Reply r = api.get("/twins/" + DEVICE + "/modules/counter/history?top=1000&from=" + since);
      if (r.status() != 200) return List.of();
      List<Integer> progress = new ArrayList<>();
      for (JsonNode c : r.json().path("changes")) {
        JsonNode v = c.at("/patch/properties/reported/progress");
        if (v.isInt()) progress.add(v.asInt());
      }
      return progress;
    } catch (Exception e) {
      return List.of();
    }
  }

  static JsonNode awaitAgentReported(Predicate<JsonNode> condition, String what) throws Exception {
    return hub.awaitAgentReported(DEVICE, Duration.ofMinutes(2), condition, what);
  }

  static List<Integer> lines(String file) {
    try {
      Path f = out.resolve(file);
      if (!Files.exists(f)) return List.of();
      String text = Files.readString(f);
      // Whole lines only: a module may be writing one ("10" of "100").
      return text.substring(0, text.lastIndexOf('\n') + 1).lines().filter(l -> !l.isBlank()).map(String::trim)
          .map(Integer::valueOf).toList();
    } catch (IOException | NumberFormatException e) {
      return List.of(); // a line being written
    }
  }

  static int distinct(List<Integer> ns) {
    return new java.util.HashSet<>(ns).size();
  }

  static String missing(List<Integer> expected, List<Integer> got) {
    Set<Integer> g = new TreeSet<>(got);
    return expected.stream().filter(n -> !g.contains(n)).limit(50).map(String::valueOf).collect(Collectors.joining(","));
  }

  /** Where a sequence of numbers does not go up by one: enough to see a loss or a repeat. */
  static String summary(List<Integer> ns) {
    StringBuilder b = new StringBuilder(ns.size() + " values");
    for (int i = 1; i < ns.size(); i++) {
      if (ns.get(i) != ns.get(i - 1) + 1) b.append("; ").append(ns.get(i - 1)).append("→").append(ns.get(i)).append(" at ").append(i);
    }
    return b.length() > 2000 ? b.substring(0, 2000) + "..." : b.toString();
  }

  static List<ProcessHandle> moduleProcesses(Class<?> main) {
    String marker = dir.resolve("classpath.args").toString();
    return ProcessHandle.allProcesses().filter(p -> p.isAlive() && p.info().commandLine()
        .map(c -> c.contains(main.getName()) && c.contains(marker)).orElse(false)).toList();
  }

  static long rssKb(long pid) {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (l.startsWith("VmRSS:")) return Long.parseLong(l.replaceAll("[^0-9]", ""));
      }
    } catch (IOException | NumberFormatException e) {
      // not Linux, or gone
    }
    return 0;
  }

  static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
    awaitTrue(condition, Duration.ofMinutes(2), what);
  }

  static void awaitTrue(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
    EdgeTestHub.awaitTrue(condition, timeout, what);
  }

  static void phase(String what, long t0) {
    System.out.printf("EdgeOfflineIT: %s after %.1f s%n", what, (System.nanoTime() - t0) / 1e9);
  }
}
