package io.twinhub.ops.bench.mqtt;

import io.twinhub.ops.bench.SasTokens;

import io.twinhub.ops.bench.BenchOptions;
import io.twinhub.ops.bench.BenchResult;
import io.twinhub.ops.bench.BenchRun;
import io.twinhub.ops.bench.ThreadCpu;
import io.twinhub.ops.bench.BenchTarget;
import io.twinhub.ops.bench.JdkTools;
import io.twinhub.ops.bench.JfrSummary;
import io.twinhub.ops.bench.NodeProbe;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * MQTT workloads against a running node (and the Mosquitto baseline), loopback only, bounded in
 * count and time:
 *
 * <ul>
 *   <li>{@code mqtt-idle}: N devices connect at a controlled rate and stay idle (keep-alive PINGREQs);
 *       with {@code --node-pid} the node's heap after a full GC before and with the N sessions gives
 *       the heap per idle session, and the class histogram diff shows what it is made of.
 *   <li>{@code mqtt-reported}: N connected devices send reported-property patches
 *       ({@code $iothub/twin/PATCH/properties/reported/?$rid=}); latency to the {@code res/204}.
 *       Open loop at {@code --rate}, or closed loop with {@code --concurrency} when the rate is 0.
 *   <li>{@code mqtt-notify}: N devices subscribed to desired changes; REST {@code PATCH /twins/{id}}
 *       of a desired property at {@code --rate}; latency from the REST answer to the device's receipt.
 *   <li>{@code mqtt-storm}: M devices connect as fast as the hub takes them; connects/s, CONNACK latency.
 *   <li>{@code mosquitto}: the same client, concurrency and payload against Mosquitto (Debian package)
 *       over TLS: QoS 1 PUBLISH → PUBACK, the MQTT limit of this box.
 * </ul>
 *
 * <pre>
 * ./twinhub bench mqtt-reported --url https://127.0.0.1:18443 --mqtt-port 18883 --ca /tmp/d/tls/ca.pem \
 *   --connection-string 'HostName=127.0.0.1;SharedAccessKeyName=iothubowner;SharedAccessKey=...' \
 *   --devices 10000 --rate 2000 --duration 30s
 * </pre>
 */
public final class MqttBench {
  /** The symmetric key the workloads give their devices (bench devices only). */
  static final String DEVICE_KEY = java.util.Base64.getEncoder().encodeToString(
      "twinhub-mqtt-bench-device-key-32".getBytes(StandardCharsets.US_ASCII));
  static final Pattern VERSION = Pattern.compile("\\$version=(\\d+)");
  static final Pattern RID = Pattern.compile("\\$rid=(\\d+)");
  static final Pattern SEQ = Pattern.compile("\"n\":(\\d+)");

  /** A run's options (see {@link #options}). */
  public record Options(String workload, String host, int mqttPort, URI url, Path ca, String keyName, String key,
                        int devices, boolean setup, String prefix, double connectRate, int connectInflight,
                        int keepAlive, double rate, int concurrency, Duration warmup, Duration duration, Duration hold,
                        int payloadBytes, long nodePid, int threads, boolean policyAuth, int restConnections,
                        int jfrSeconds, Path jfrFile, boolean reconnect, List<String> loads, int managementPort,
                        long cassandraPid, boolean threadCpu) {
    /**
     * The same run against {@code mqtt-storm}'s floor ({@link BareMqttServer} on {@code port}, process
     * {@code pid}): its devices need no creation, and it has no management port nor Cassandra.
     */
    public Options againstBare(int port, long pid) {
      return new Options(workload, host, port, url, ca, keyName, key, devices, false, prefix,
          connectRate, connectInflight, keepAlive, rate, concurrency, warmup, duration, hold, payloadBytes, pid, threads,
          policyAuth, restConnections, jfrSeconds, jfrFile, reconnect, loads, 0, -1, threadCpu);
    }
  }

  /** One measured figure of a run. */
  public record Figure(String name, String value) {}

  /** What a workload measured: every figure, and the row for the bench table. */
  public record Report(List<Figure> figures, BenchResult result, List<BenchResult> results) {
    public Report(List<Figure> figures, BenchResult result) {
      this(figures, result, List.of(result));
    }

    /** The same report with its (first) row's note replaced. */
    Report withNote(String note) {
      List<BenchResult> rows = new ArrayList<>(results);
      rows.set(0, result.withNote(note));
      return new Report(figures, rows.get(0), rows);
    }
  }

  /** Runs one workload, prints progress and its figures. */
  public static Report run(Options o) throws Exception {
    System.out.printf(Locale.ROOT, "%s: %s, load average %s%n", o.workload(), java.time.Instant.now(), BenchRun.loadAverage());
    Report r = switch (o.workload()) {
      case "mqtt-idle" -> idle(o);
      case "mqtt-reported" -> reported(o, false);
      // mqtt-reported's floor: the same load against BareMqttServer, which accepts every patch at once
      case "mqtt-reported-bare" -> reported(o, false);
      case "mqtt-notify" -> notify(o);
      case "mqtt-storm", "mqtt-bare" -> storm(o); // mqtt-bare: the storm against its floor (BareMqttServer)
      case "mosquitto" -> mosquitto(o);
      default -> throw new IllegalArgumentException("unknown workload " + o.workload());
    };
    List<Figure> all = new ArrayList<>(r.figures());
    all.add(new Figure("load average (1/5/15 min) at the end", BenchRun.loadAverage()));
    System.out.println();
    for (Figure f : all) System.out.printf(Locale.ROOT, "  %-42s %s%n", f.name(), f.value());
    String load = "; load avg " + BenchRun.loadAverage();
    return new Report(all, r.result().withNote(r.result().note() + load),
        r.results().stream().map(x -> x.withNote(x.note() + load)).toList());
  }

  // ---------------------------------------------------------------- workloads

  static Report idle(Options o) throws Exception {
    setupIfAsked(o);
    List<Figure> out = new ArrayList<>();
    BenchResult result;
    long heap0 = 0;
    long heap1 = -1;
    double perSession = Double.NaN;
    Map<String, long[]> histo0 = null;
    if (o.nodePid() > 0) {
      heap0 = JvmHeap.heapUsedAfterGc(o.nodePid());
      histo0 = JvmHeap.classHistogram(o.nodePid());
      System.out.printf(Locale.ROOT, "node heap after full GC before connecting: %.1f MB%n", heap0 / 1e6);
    }
    try (MqttLoadClient client = client(o)) {
      LongAdder closedByHub = new LongAdder();
      Connected c = connectAll(o, client, o.devices(), o.connectRate(), o.connectInflight(),
          List.of("$iothub/twin/res/#", "$iothub/twin/PATCH/properties/desired/#", "$iothub/methods/POST/#"),
          new MqttLoadClient.Listener() {
            @Override
            public void onClosed(MqttLoadClient.Device d) {
              closedByHub.increment();
            }
          });
      out.addAll(c.figures("connect"));
      Thread.sleep(10_000); // heartbeats, session store writes and first-access recoveries settle
      if (o.nodePid() > 0) {
        heap1 = JvmHeap.heapUsedAfterGc(o.nodePid());
        long open = c.devices.stream().filter(MqttLoadClient.Device::isOpen).count();
        perSession = (heap1 - heap0) / 1024.0 / Math.max(1, open);
        System.out.printf(Locale.ROOT, "node heap after full GC with %d sessions: %.1f MB%n", open, heap1 / 1e6);
        out.add(new Figure("node heap before / with sessions", String.format(Locale.ROOT, "%.1f MB / %.1f MB", heap0 / 1e6, heap1 / 1e6)));
        out.add(new Figure("heap per idle session", String.format(Locale.ROOT, "%.1f KB (%d sessions)", perSession, open)));
        out.add(new Figure("node RSS with sessions", String.format(Locale.ROOT, "%.0f MB", JvmHeap.rssBytes(o.nodePid()) / 1e6)));
        System.out.println("what the sessions are made of (class histogram diff, top 60, bytes per session):");
        System.out.print(JvmHeap.histogramDiff(histo0, JvmHeap.classHistogram(o.nodePid()), open, 60));
      }
      long holdStart = System.nanoTime();
      System.out.printf(Locale.ROOT, "holding %d idle sessions for %s ...%n", c.devices.size(), o.hold());
      Thread.sleep(o.hold().toMillis());
      long open = c.devices.stream().filter(MqttLoadClient.Device::isOpen).count();
      out.add(new Figure("sessions open after hold", String.format(Locale.ROOT, "%d of %d (%d closed by the hub during %s)",
          open, c.devices.size(), closedByHub.sum(), Duration.ofNanos(System.nanoTime() - holdStart).toSeconds() + " s")));
      if (o.nodePid() > 0) {
        // Steady state: with a hold longer than twinhub.mqtt.session-store-idle (30 s) the sessions'
        // store entities have left memory; what remains is what an idle session costs for hours.
        long heap2 = JvmHeap.heapUsedAfterGc(o.nodePid());
        out.add(new Figure("heap per idle session after the hold", String.format(Locale.ROOT, "%.1f KB (%d sessions; %.1f MB)",
            (heap2 - heap0) / 1024.0 / Math.max(1, open), open, heap2 / 1e6)));
      }
      result = c.result("mqtt-idle").withNode(Double.NaN, heap1).withNote(String.format(Locale.ROOT,
          "%d idle sessions (rate = connects/s, latency = CONNACK); heap per idle session %.1f KB (heap before %.0f MB); %d open after %s",
          c.devices.size() - c.failed(), perSession, heap0 / 1048576.0, open, o.hold()));
      disconnectAll(c.devices);
    }
    return new Report(out, result);
  }

  /**
   * Reported patches from N connected devices ({@code mosquitto}: plain QoS 1 publishes, same
   * client, rate, concurrency and payload size, to measure the MQTT limit).
   */
  static Report reported(Options o, boolean plainBroker) throws Exception {
    if (!plainBroker) setupIfAsked(o);
    List<Figure> out = new ArrayList<>();
    BenchResult result;
    Recorder latency = new Recorder(60_000_000L, 3);
    // By answer: accepted (204 / PUBACK) and refused (429, 503, ...), so goodput's latency shows apart from refusals'.
    Recorder acceptedLatency = new Recorder(60_000_000L, 3);
    Recorder refusedLatency = new Recorder(60_000_000L, 3);
    // Accepted patches split by what preceded them on their device: sent within the node's
    // throttle-pause after a refusal (the node does not read that socket meanwhile, so the packet
    // may wait there before the node sees it) or not (its latency is the node's queueing and work).
    Recorder acceptedAfterRefusal = new Recorder(60_000_000L, 3);
    Recorder acceptedFresh = new Recorder(60_000_000L, 3);
    // Requests awaiting their answer, by $rid (or device and packet id); each device has at most one:
    // a device SDK awaits a twin operation's answer before its next (and backs off on 429), so a
    // refusal is measured from the node's answer, never behind packets the bench pipelined.
    ConcurrentHashMap<Integer, Pending> sentAt = new ConcurrentHashMap<>();
    Map<String, LongAdder> statuses = new ConcurrentHashMap<>();
    LongAdder done = new LongAdder();
    // Offered while every device was awaiting an answer: not sent (a fleet of SDK devices cannot send it either).
    LongAdder notSent = new LongAdder();
    AtomicLong seq = new AtomicLong();
    byte[] pad = "x".repeat(Math.max(0, o.payloadBytes() - 30)).getBytes(StandardCharsets.US_ASCII);
    List<MqttLoadClient.Device>[] holder = new List[1];
    IdleDevices[] idle = new IdleDevices[1];
    long[][] refusedAt = new long[1][];
    AppliedCheck[] check = new AppliedCheck[1];
    // A closed-loop device refused with 429 backs off before the fleet's next request, as the SDKs do,
    // instead of spinning on refusals: the closed loop then measures goodput, like the baseline's.
    java.util.concurrent.ScheduledExecutorService backOff = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "bench-back-off");
      t.setDaemon(true);
      return t;
    });
    // One request: a reported patch with a fresh $rid (or a QoS 1 publish to Mosquitto) from the next idle device.
    Runnable[] sendNext = new Runnable[1];
    sendNext[0] = () -> {
      List<MqttLoadClient.Device> ds = holder[0];
      int index = idle[0].acquire(i -> ds.get(i).isOpen());
      if (index < 0) {
        notSent.increment();
        return;
      }
      MqttLoadClient.Device d = ds.get(index);
      long n = seq.incrementAndGet();
      byte[] body = payload(n, pad);
      if (plainBroker) {
        // One publish in flight per device: its PUBACK answers it (keyed before the write, which may be answered at once).
        sentAt.put(key(d), new Pending(index, System.nanoTime()));
        d.publish("bench/" + d.clientId + "/reported", 1, body);
      } else {
        int rid = (int) (n & 0x7fffffff);
        long now = System.nanoTime();
        long last = refusedAt[0][index];
        sentAt.put(rid, new Pending(index, now, last != 0 && now - last < AFTER_REFUSAL_NANOS));
        d.publish("$iothub/twin/PATCH/properties/reported/?$rid=" + rid, 1, body);
      }
    };
    MqttLoadClient.Listener listener = new MqttLoadClient.Listener() {
      @Override
      public void onPublish(MqttLoadClient.Device d, MqttWire.Publish p, long nanos) {
        if (plainBroker || !p.topic().startsWith("$iothub/twin/res/")) return;
        Matcher m = RID.matcher(p.topic());
        if (!m.find()) return;
        Pending sent = sentAt.remove(Integer.parseInt(m.group(1)));
        if (sent == null) return;
        String status = p.topic().substring("$iothub/twin/res/".length(), p.topic().indexOf('/', "$iothub/twin/res/".length()));
        if (status.equals("204")) {
          Matcher v = VERSION.matcher(p.topic());
          check[0].accepted(sent.device(), v.find() ? Long.parseLong(v.group(1)) : -1);
        } else {
          check[0].notAccepted(sent.device(), status);
        }
        complete(sent, status, nanos);
      }

      @Override
      public void onPubAck(MqttLoadClient.Device d, int packetId, long nanos) {
        if (!plainBroker) return;
        Pending sent = sentAt.remove(key(d));
        if (sent != null) complete(sent, "PUBACK", nanos);
      }

      private void complete(Pending sent, String status, long nanos) {
        long micros = Math.min((nanos - sent.nanos()) / 1000, 60_000_000L);
        latency.recordValue(micros);
        boolean accepted = status.equals("204") || status.equals("PUBACK");
        (accepted ? acceptedLatency : refusedLatency).recordValue(micros);
        if (accepted) (sent.afterRefusal() ? acceptedAfterRefusal : acceptedFresh).recordValue(micros);
        if (refusedAt[0] != null) refusedAt[0][sent.device()] = status.equals("429") ? nanos : 0;
        statuses.computeIfAbsent(status, s -> new LongAdder()).increment();
        done.increment();
        idle[0].release(sent.device());
        if (closedLoop && running) {
          if (accepted) sendNext[0].run();
          else backOff.schedule(() -> {
            if (closedLoop && running) sendNext[0].run();
          }, CLOSED_LOOP_BACK_OFF_MS, TimeUnit.MILLISECONDS);
        }
      }
    };
    try (MqttLoadClient client = client(o)) {
      Connected c = connectAll(o, client, o.devices(), o.connectRate(), o.connectInflight(),
          plainBroker ? List.of() : List.of("$iothub/twin/res/#"), listener);
      out.addAll(c.figures("connect"));
      holder[0] = c.devices.stream().filter(MqttLoadClient.Device::isOpen).collect(Collectors.toCollection(ArrayList::new));
      Collections.shuffle(holder[0]);
      if (holder[0].isEmpty()) throw new IllegalStateException("no device connected");
      idle[0] = new IdleDevices(holder[0].size());
      refusedAt[0] = new long[holder[0].size()];
      check[0] = new AppliedCheck(holder[0].size());
      // Each load in turn on the same connected devices; "Nx" = N × the closed-loop goodput measured before it,
      // or for the floor (mqtt-reported-bare) × the node's, measured by mqtt-reported earlier in this run:
      // the floor is then offered the node's packet rates.
      boolean floor = o.workload().equals("mqtt-reported-bare");
      double capacity = floor ? nodeCapacity : Double.NaN;
      List<BenchResult> rows = new ArrayList<>();
      for (String load : o.loads()) {
        double rate = offeredRate(load, capacity);
        boolean closed = rate <= 0;
        closedLoop = closed;
        String offered = closed ? o.concurrency() + " in flight" : load.endsWith("x")
            ? String.format(Locale.ROOT, "offered %.0f/s (%s capacity)", rate, load) : "offered " + (long) rate + "/s";
        System.out.printf(Locale.ROOT, "warm-up %s (%s) ...%n", o.warmup(), offered);
        running = true;
        drive(o, sendNext[0], closed, rate, o.warmup());
        Thread.sleep(500);
        latency.reset();
        acceptedLatency.reset();
        refusedLatency.reset();
        acceptedAfterRefusal.reset();
        acceptedFresh.reset();
        statuses.clear();
        done.reset();
        notSent.reset();
        NodeProbe probe = new NodeProbe(o.nodePid() > 0 ? List.of(o.nodePid()) : List.of());
        NodeProbe.Mark mark = probe.mark();
        NodeProbe cassandraProbe = new NodeProbe(o.cassandraPid() > 0 ? List.of(o.cassandraPid()) : List.of());
        NodeProbe clientProbe = new NodeProbe(List.of(ProcessHandle.current().pid()));
        NodeProbe.Mark cassandraMark = cassandraProbe.mark();
        NodeProbe.Mark clientMark = clientProbe.mark();
        double[] admission0 = plainBroker ? null : admissionCounters(o);
        ThreadCpu.Probe threads = o.threadCpu() ? threadProbe(o) : null;
        if (threads != null) threads.start();
        long cpu0 = o.nodePid() > 0 ? JvmHeap.cpuNanos(o.nodePid()) : 0;
        long lost0 = sentAt.size();
        boolean profiling = !plainBroker && rows.isEmpty() && startJfr(o);
        long t0 = System.nanoTime();
        System.out.printf(Locale.ROOT, "measuring %s (%s) ...%n", o.duration(), offered);
        // Closed loop: the warm-up's --concurrency chains go on into the measured phase (each answer
        // sends the next); starting as many again would double what is in flight (sessions 9-13 did).
        if (closed) Thread.sleep(o.duration().toMillis());
        else drive(o, sendNext[0], false, rate, o.duration());
        long elapsed = System.nanoTime() - t0;
        running = false;
        long completed = done.sum();
        // Answers of the measured phase only: later ones (in flight at its end) would count as errors below.
        Map<String, Long> answered = statuses.entrySet().stream()
            .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().sum()));
        Histogram h = latency.getIntervalHistogram();
        Histogram ok = acceptedLatency.getIntervalHistogram();
        Histogram no = refusedLatency.getIntervalHistogram();
        Histogram okAfterRefusal = acceptedAfterRefusal.getIntervalHistogram();
        Histogram okFresh = acceptedFresh.getIntervalHistogram();
        double cpuPercent = probe.cpuPercentSince(mark);
        double cassandraPercent = cassandraProbe.cpuPercentSince(cassandraMark);
        double clientPercent = clientProbe.cpuPercentSince(clientMark);
        double[] admission1 = plainBroker ? null : admissionCounters(o);
        long cpu = o.nodePid() > 0 ? JvmHeap.cpuNanos(o.nodePid()) - cpu0 : 0;
        long unanswered = Math.max(0, sentAt.size() - lost0);
        String admission = plainBroker ? "" : admissionState(o);
        String what = plainBroker ? "QoS 1 PUBLISH → PUBACK" : "reported PATCH → res/204";
        String phase = o.loads().size() > 1 ? "[" + load + "] " : "";
        long good = answered.getOrDefault(plainBroker ? "PUBACK" : "204", 0L);
        double goodput = good * 1e9 / elapsed;
        if (closed && Double.isNaN(capacity)) {
          capacity = goodput;
          if (!floor && !plainBroker) nodeCapacity = goodput;
        }
        out.add(new Figure(phase + what + " throughput", String.format(Locale.ROOT, "%.0f /s (%d in %.1f s, %s)",
            completed * 1e9 / elapsed, completed, elapsed / 1e9, offered)));
        out.add(new Figure(phase + what + " latency", latencyLine(h)));
        out.add(new Figure(phase + "goodput (accepted answers)", String.format(Locale.ROOT, "%.0f /s%s", goodput,
            closed || Double.isNaN(capacity) ? "" : String.format(Locale.ROOT, " = %.2f × capacity (%.0f /s)", goodput / capacity, capacity))));
        out.add(new Figure(phase + "latency of accepted", latencyLine(ok)));
        out.add(new Figure(phase + "latency of refused", latencyLine(no)));
        out.add(new Figure(phase + "answers", answered.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
            .sorted().collect(Collectors.joining(" ")) + "; unanswered at the end " + unanswered
            + (closed ? "" : "; not sent (every device awaiting an answer) " + notSent.sum())));
        if (cpu > 0) {
          out.add(new Figure(phase + (plainBroker ? "broker" : "node") + " CPU per request",
              String.format(Locale.ROOT, "%.2f ms (%.0f %% of one core)", cpu / 1e6 / Math.max(1, completed), cpuPercent)));
          // Where the box's 2 cores went in this phase, and the node's work per CPU-second it got: if
          // that holds at overload while goodput falls, the node lost CPU to the others (the client's TLS).
          out.add(new Figure(phase + "CPU (% of one core)", String.format(Locale.ROOT,
              "node %.0f, Cassandra %s, load client %.0f; goodput per node CPU-second %.0f",
              cpuPercent, Double.isNaN(cassandraPercent) ? "n/a" : String.format(Locale.ROOT, "%.0f", cassandraPercent),
              clientPercent, good / (cpu / 1e9))));
        }
        if (!plainBroker) {
          out.add(new Figure(phase + "accepted, sent ≥ " + AFTER_REFUSAL_NANOS / 1_000_000 + " ms after no refusal", latencyLine(okFresh)));
          out.add(new Figure(phase + "accepted, sent < " + AFTER_REFUSAL_NANOS / 1_000_000 + " ms after a 429", latencyLine(okAfterRefusal)));
          String inNode = admissionDelta(admission0, admission1);
          if (!inNode.isEmpty()) out.add(new Figure(phase + "admitted writes in the node", inNode));
        }
        if (threads != null) System.out.print(phase + "by thread group:\n" + threads.end(Math.max(1, good), elapsed / 1e9));
        // The row's latency is the accepted answers' (the baseline's are all accepted); refusals are in its note.
        rows.add(BenchResult.of(plainBroker ? "mosquitto" : o.workload(), completed, Math.max(0, completed - good),
                Duration.ofNanos(elapsed), ok)
            .withNode(cpuPercent, plainBroker ? -1 : probe.heapAfterGc())
            .withNote(String.format(Locale.ROOT, "%d devices, %s, %d B payload, QoS 1%s%s", holder[0].size(), offered,
                o.payloadBytes(), plainBroker ? "; PUBLISH → PUBACK" : "; PATCH → res/204" + admission,
                closed ? String.format(Locale.ROOT, "; rate, latency and CPU/op of accepted patches; not accepted %d "
                    + "(p50 %.0f ms, p99 %.0f ms; %s), unanswered %d", no.getTotalCount(), no.getValueAtPercentile(50) / 1000.0,
                    no.getValueAtPercentile(99) / 1000.0, statusesOtherThan(answered, plainBroker ? "PUBACK" : "204"), unanswered)
                : String.format(Locale.ROOT, "; goodput %.0f/s%s, accepted p99 %.0f ms, refused %d (p50 %.0f ms, p99 %.0f ms; %s), "
                    + "unanswered %d, not sent %d", goodput,
                    Double.isNaN(capacity) ? "" : String.format(Locale.ROOT, " = %.2f × capacity", goodput / capacity),
                    ok.getValueAtPercentile(99) / 1000.0, no.getTotalCount(), no.getValueAtPercentile(50) / 1000.0,
                    no.getValueAtPercentile(99) / 1000.0, statusesOtherThan(answered, plainBroker ? "PUBACK" : "204"),
                    unanswered, notSent.sum()))));
        if (profiling) printProfile(o);
        // The next load starts from a drained node: the answers still due arrive (or are given up on) first.
        for (int i = 0; i < 300 && sentAt.size() > lost0; i++) Thread.sleep(100);
      }
      if (!plainBroker) {
        // Refused patches are never applied: what the devices saw, settled by reading back the twins
        // whose last patches were not accepted.
        for (Pending p : sentAt.values()) check[0].unanswered(p.device());
        String applied;
        try {
          readBack(o, holder[0], check[0]);
          applied = check[0].summary();
        } catch (Exception e) { // the phases' rows stand without it
          applied = "not settled, the read-back failed: " + e + "; so far " + check[0].summary();
        }
        out.add(new Figure("refused never applied (whole run)", applied));
        BenchResult last = rows.get(rows.size() - 1);
        rows.set(rows.size() - 1, last.withNote(last.note() + "; whole run: " + applied));
      }
      backOff.shutdownNow();
      result = rows.get(0);
      disconnectAll(c.devices);
      return new Report(out, result, rows);
    }
  }

  /** The last closed-loop goodput of {@code mqtt-reported} in this JVM: what the floor's "Nx" loads multiply. */
  private static volatile double nodeCapacity = Double.NaN;

  /** How long a closed-loop device refused with 429 waits before the fleet's next request (the node's throttle-pause). */
  static final long CLOSED_LOOP_BACK_OFF_MS = 100;

  /**
   * The node's admission limit and writes in flight at the end of a phase (its /metrics on the
   * management port), e.g. {@code "; admission limit 41, 41 in flight"}; empty when unknown.
   */
  static String admissionState(Options o) {
    if (o.managementPort() <= 0) return "";
    try {
      String body = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                  URI.create("http://127.0.0.1:" + o.managementPort() + "/metrics")).timeout(Duration.ofSeconds(10)).build(),
              java.net.http.HttpResponse.BodyHandlers.ofString()).body();
      double limit = io.twinhub.ops.bench.BenchRun.metric(body, "twinhub_twin_admission_limit");
      double inFlight = io.twinhub.ops.bench.BenchRun.metric(body, "twinhub_twin_admission_in_flight");
      double waiting = io.twinhub.ops.bench.BenchRun.metric(body, "twinhub_twin_admission_waiting");
      if (Double.isNaN(limit)) return "; admission off";
      return String.format(Locale.ROOT, "; admission limit %.0f, %.0f in flight%s at the end", limit, inFlight,
          Double.isNaN(waiting) ? "" : String.format(Locale.ROOT, ", %.0f waiting", waiting));
    } catch (Exception e) {
      return "";
    }
  }

  /** {@code 429=12 503=1}: the answers other than the accepted one. */
  static String statusesOtherThan(Map<String, Long> answered, String accepted) {
    String s = answered.entrySet().stream().filter(e -> !e.getKey().equals(accepted)).map(e -> e.getKey() + "=" + e.getValue())
        .sorted().collect(Collectors.joining(" "));
    return s.isEmpty() ? "none" : s;
  }

  /** Reads back the reported {@code $version} of the twins {@link AppliedCheck#toReadBack} names, on 4 connections. */
  private static void readBack(Options o, List<MqttLoadClient.Device> devices, AppliedCheck check) throws Exception {
    List<Integer> todo = check.toReadBack();
    if (todo.isEmpty()) return;
    long t0 = System.nanoTime();
    String token = serviceToken(o);
    SSLContext ssl = HubRest.trusting(o.ca());
    AtomicInteger next = new AtomicInteger();
    LongAdder failed = new LongAdder();
    Pattern reported = Pattern.compile("\"reported\"\\s*:");
    Pattern version = Pattern.compile("\"\\$version\"\\s*:\\s*(\\d+)");
    List<CompletableFuture<Void>> workers = new ArrayList<>();
    for (int w = 0; w < 4; w++) {
      workers.add(CompletableFuture.runAsync(() -> {
        // A connection the loaded node resets costs that twin one more try on a new connection, not the
        // run's whole summary (session 16 lost one to a Connection reset here); reads are idempotent.
        HubRest rest = null;
        try {
          for (int i = next.getAndIncrement(); i < todo.size(); i = next.getAndIncrement()) {
            int device = todo.get(i);
            HubRest.Response r = null;
            for (int attempt = 0; attempt < 2 && r == null; attempt++) {
              try {
                if (rest == null) rest = new HubRest(ssl, o.url().getHost(), o.url().getPort());
                r = rest.exchange("GET", "/twins/" + devices.get(device).clientId + "?" + HubRest.API_VERSION, token, null);
              } catch (IOException e) {
                if (rest != null) rest.close();
                rest = null;
              }
            }
            long reportedVersion = r == null || r.status() != 200 ? -1 : reportedVersion(r.body(), reported, version);
            if (reportedVersion >= 0) check.readBack(device, reportedVersion);
            else failed.increment();
          }
        } finally {
          if (rest != null) rest.close();
        }
      }));
    }
    CompletableFuture.allOf(workers.toArray(CompletableFuture[]::new)).get(10, TimeUnit.MINUTES);
    System.out.printf(Locale.ROOT, "read back %d twins in %.1f s (%d not read)%n", todo.size(), (System.nanoTime() - t0) / 1e9,
        failed.sum());
  }

  /** The {@code $version} of a twin's {@code reported} section in its JSON, or -1. */
  private static long reportedVersion(String twinJson, Pattern reported, Pattern version) {
    Matcher at = reported.matcher(twinJson);
    Matcher v = version.matcher(twinJson);
    return at.find() && v.find(at.end()) ? Long.parseLong(v.group(1)) : -1;
  }

  /**
   * JFR (profile settings) on the node for the first {@code --jfr} seconds of the measured phase
   * (mqtt-storm, mqtt-bare: of the resumed reconnects, stopped when they end).
   */
  private static boolean startJfr(Options o) {
    if (o.jfrSeconds() <= 0 || o.nodePid() <= 0) return false;
    long seconds = o.reconnect() ? o.jfrSeconds() : Math.min(o.jfrSeconds(), Math.max(1, o.duration().toSeconds()));
    return JdkTools.run(Duration.ofMinutes(2), JdkTools.tool("jcmd"), Long.toString(o.nodePid()), "JFR.start",
        "name=mqtt-bench", "settings=profile", "duration=" + seconds + "s", "filename=" + o.jfrFile()) != null;
  }

  /** The hottest threads, owners and top frames of the profile; the .jfr file stays for jfr/JMC. */
  private static void printProfile(Options o) throws InterruptedException, IOException {
    Path file = o.jfrFile();
    for (int i = 0; i < 60 && !(Files.exists(file) && Files.size(file) > 0); i++) Thread.sleep(1000);
    Thread.sleep(1000); // written, then closed
    String printed = JdkTools.run(Duration.ofMinutes(2), JdkTools.tool("jfr"), "print", "--events",
        "jdk.ExecutionSample", "--stack-depth", "64", file.toString());
    if (printed == null) return;
    System.out.println("JFR profile of the node during " + o.workload() + " (" + file + "):");
    System.out.print(JfrSummary.render(printed, 20));
  }

  private static volatile boolean running;
  /** The phase under way keeps {@code --concurrency} requests in flight (a closed loop). */
  private static volatile boolean closedLoop;

  /**
   * A load of {@code --rate}: requests per second, 0 for the closed loop, or {@code Nx}: N times the
   * {@code capacity} (the closed-loop goodput measured earlier in the same run).
   */
  public static double offeredRate(String load, double capacity) {
    if (!load.endsWith("x")) return Double.parseDouble(load);
    if (Double.isNaN(capacity)) throw new IllegalArgumentException("--rate " + load + " needs a closed-loop load (0) before it");
    return Double.parseDouble(load.substring(0, load.length() - 1)) * capacity;
  }

  /** Open loop: {@code rate} requests per second, paced; closed loop: {@code --concurrency} in flight. */
  private static void drive(Options o, Runnable send, boolean closedLoop, double rate, Duration length) throws InterruptedException {
    long end = System.nanoTime() + length.toNanos();
    if (closedLoop) {
      for (int i = 0; i < o.concurrency(); i++) send.run();
      while (System.nanoTime() < end) Thread.sleep(50);
      return;
    }
    long interval = (long) (1e9 / rate);
    long next = System.nanoTime();
    while (next < end) {
      long now = System.nanoTime();
      while (next <= now) {
        send.run();
        next += interval;
      }
      long sleep = next - System.nanoTime();
      if (sleep > 200_000) Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
    }
  }

  static Report notify(Options o) throws Exception {
    setupIfAsked(o);
    List<Figure> out = new ArrayList<>();
    BenchResult result = null;
    Recorder fromAck = new Recorder(60_000_000L, 3);
    Recorder fromRequest = new Recorder(60_000_000L, 3);
    Recorder restLatency = new Recorder(60_000_000L, 3);
    // seq → {sent, acked, received} nanos; the notification may arrive before the REST answer is read.
    ConcurrentHashMap<Long, long[]> inFlight = new ConcurrentHashMap<>();
    LongAdder received = new LongAdder();
    LongAdder restFailed = new LongAdder();
    MqttLoadClient.Listener listener = new MqttLoadClient.Listener() {
      @Override
      public void onPublish(MqttLoadClient.Device d, MqttWire.Publish p, long nanos) {
        if (!p.topic().startsWith("$iothub/twin/PATCH/properties/desired/")) return;
        Matcher m = SEQ.matcher(new String(p.payload(), StandardCharsets.UTF_8));
        if (!m.find()) return;
        long[] t = inFlight.get(Long.parseLong(m.group(1)));
        if (t == null) return;
        received.increment();
        synchronized (t) {
          t[2] = nanos;
          record(t, fromAck, fromRequest, inFlight, Long.parseLong(m.group(1)));
        }
      }
    };
    try (MqttLoadClient client = client(o)) {
      Connected c = connectAll(o, client, o.devices(), o.connectRate(), o.connectInflight(),
          List.of("$iothub/twin/res/#", "$iothub/twin/PATCH/properties/desired/#"), listener);
      out.addAll(c.figures("connect"));
      List<MqttLoadClient.Device> open = c.devices.stream().filter(MqttLoadClient.Device::isOpen).toList();
      SSLContext ssl = HubRest.trusting(o.ca());
      AtomicLong seq = new AtomicLong();
      for (boolean measuring : new boolean[] {false, true}) {
        Duration length = measuring ? o.duration() : o.warmup();
        System.out.printf(Locale.ROOT, "%s %s: %s desired patches/s over %d REST connections to %d devices ...%n",
            measuring ? "measuring" : "warm-up", length, o.rate(), o.restConnections(), open.size());
        fromAck.reset();
        fromRequest.reset();
        restLatency.reset();
        received.reset();
        long sent0 = seq.get();
        long t0 = System.nanoTime();
        long end = t0 + length.toNanos();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < o.restConnections(); i++) {
          double perConnection = o.rate() / o.restConnections();
          Thread t = new Thread(() -> restLoop(o, ssl, open, seq, inFlight, perConnection, end, restLatency, fromAck,
              fromRequest, restFailed), "bench-rest-" + i);
          t.start();
          threads.add(t);
        }
        for (Thread t : threads) t.join();
        Thread.sleep(1000); // late notifications
        long sent = seq.get() - sent0;
        if (measuring) {
          double secs = (System.nanoTime() - t0 - 1e9) / 1e9;
          Histogram h = fromAck.getIntervalHistogram();
          result = BenchResult.of("mqtt-notify", sent, sent - h.getTotalCount(), Duration.ofNanos((long) (secs * 1e9)), h)
              .withNote(String.format(Locale.ROOT, "%d devices; REST PATCH answer → device receives (rate = desired PATCHes/s offered %.0f); %d REST failures",
                  open.size(), o.rate(), restFailed.sum()));
          out.add(new Figure("notification latency from REST answer", latencyLine(h)));
          out.add(new Figure("desired PATCHes (REST)", String.format(Locale.ROOT, "%d in %.1f s = %.0f /s; REST failures %d",
              sent, secs, sent / secs, restFailed.sum())));
          out.add(new Figure("REST PATCH latency", latencyLine(restLatency.getIntervalHistogram())));
          out.add(new Figure("notification latency from REST request", latencyLine(fromRequest.getIntervalHistogram())));
          out.add(new Figure("notifications received", received.sum() + " of " + sent));
        }
      }
      disconnectAll(c.devices);
    }
    return new Report(out, result);
  }

  private static void record(long[] t, Recorder fromAck, Recorder fromRequest, Map<Long, long[]> inFlight, long seq) {
    if (t[1] == 0 || t[2] == 0) return;
    // Received before the answer was read: the device had it no later than the back end, i.e. 0.
    fromAck.recordValue(Math.max(0, Math.min((t[2] - t[1]) / 1000, 60_000_000L)));
    fromRequest.recordValue(Math.min((t[2] - t[0]) / 1000, 60_000_000L));
    inFlight.remove(seq);
  }

  private static void restLoop(Options o, SSLContext ssl, List<MqttLoadClient.Device> devices, AtomicLong seq,
                               ConcurrentHashMap<Long, long[]> inFlight, double rate, long end, Recorder restLatency,
                               Recorder fromAck, Recorder fromRequest, LongAdder failed) {
    long interval = (long) (1e9 / rate);
    long next = System.nanoTime();
    String token = serviceToken(o);
    HubRest rest = null;
    while (next < end) {
      try {
        long sleep = next - System.nanoTime();
        if (sleep > 0) Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
        next += interval;
        if (rest == null) rest = new HubRest(ssl, o.url().getHost(), o.url().getPort());
        MqttLoadClient.Device d = devices.get(ThreadLocalRandom.current().nextInt(devices.size()));
        long n = seq.incrementAndGet();
        long[] t = new long[3];
        inFlight.put(n, t);
        t[0] = System.nanoTime();
        HubRest.Response r = rest.exchange("PATCH", "/twins/" + d.clientId + "?" + HubRest.API_VERSION, token,
            io.twinhub.ops.bench.RestWorkloads.patchBody(n));
        long acked = System.nanoTime();
        restLatency.recordValue(Math.min((acked - t[0]) / 1000, 60_000_000L));
        if (r.status() != 200) {
          failed.increment();
          inFlight.remove(n);
          continue;
        }
        synchronized (t) {
          t[1] = acked;
          record(t, fromAck, fromRequest, inFlight, n);
        }
      } catch (Exception e) {
        failed.increment();
        if (rest != null) rest.close();
        rest = null;
      }
    }
    if (rest != null) rest.close();
  }

  /**
   * M devices connect at once (full TLS handshakes: each device's first connection), then, unless
   * {@code --reconnect false}, all disconnect and connect again twice: with full handshakes, then
   * offering their TLS session of the previous connection, as reconnecting devices do (resumed
   * handshakes). Every phase is reported.
   */
  static Report storm(Options o) throws Exception {
    setupIfAsked(o);
    try (MqttLoadClient client = client(o)) {
      NodeProbe probe = new NodeProbe(o.nodePid() > 0 ? List.of(o.nodePid()) : List.of());
      NodeProbe.Mark mark = probe.mark();
      long cql = cqlRequests(o);
      Connected c = connectAll(o, client, o.devices(), 0, o.connectInflight(), List.of(), new MqttLoadClient.Listener() {});
      double cpu = probe.cpuPercentSince(mark);
      List<Figure> out = new ArrayList<>(c.figures("storm"));
      addCpuPerConnect(out, "storm", cpu, c);
      addCqlPerConnect(out, "storm", cql, cqlRequests(o), c);
      // A reconnect cycle (disconnect, pause, connect again) is measured from before the disconnect:
      // a disconnect's own journal work (Disconnected, now or after the hub's disconnect grace) counts.
      NodeProbe.Mark cycleMark = probe.mark();
      long cycleCql = cqlRequests(o);
      long cycleStart = System.nanoTime();
      disconnectAll(c.devices);
      BenchResult result = c.result(o.workload()).withNode(cpu, -1);
      String note = String.format(Locale.ROOT,
          "%d devices connecting at once, at most %d in progress (rate = connects/s, latency = TCP+TLS+CONNECT → CONNACK); "
              + "first connects: %d of %d TLS sessions resumed",
          o.devices(), o.connectInflight(), c.resumed(), c.devices().size() - c.failed());
      List<BenchResult> phases = new ArrayList<>();
      if (o.reconnect()) {
        // Twice more with the twins and sessions warm: once with fresh TLS contexts (full handshakes,
        // as after a device restart), once offering each device's session of its previous connect.
        Map<String, MqttLoadClient.Device> earlier = new HashMap<>();
        for (MqttLoadClient.Device d : c.devices()) earlier.put(d.clientId, d);
        for (boolean resume : new boolean[] {false, true}) {
          Thread.sleep(3_000); // the hub detaches the closed sessions from their twins
          String what = resume ? "reconnect resumed" : "reconnect full";
          // The server's CPU with nothing connecting, just before the resumed phase: what it spends per
          // second whatever the connects (a node's projections' polls, cluster and sharding ticks), which
          // a phase's CPU per connect includes at that phase's rate.
          double idle = resume ? idleCpu(probe, IDLE_WINDOW) : Double.NaN;
          mark = probe.mark();
          long rcql = cqlRequests(o);
          // --thread-cpu on: where the server's CPU of this phase goes, by thread group, per connect.
          ThreadCpu.Probe threads = o.threadCpu() ? threadProbe(o) : null;
          if (threads != null) threads.start();
          // --jfr N: a profile of the server during the resumed phase (at most N s), where node and floor differ most.
          boolean profiling = resume && startJfr(o);
          Connected r = connectAll(o, o.devices(), 0, o.connectInflight(), id -> List.of(), (id, password) -> resume
              ? client.reconnect(earlier.get(id), password, new MqttLoadClient.Listener() {})
              : client.connect(id, o.host() + "/" + id + "/?api-version=2021-04-12", password, o.keepAlive(),
                  new MqttLoadClient.Listener() {}));
          double rcpu = probe.cpuPercentSince(mark);
          if (profiling) {
            JdkTools.run(Duration.ofMinutes(2), JdkTools.tool("jcmd"), Long.toString(o.nodePid()), "JFR.stop", "name=mqtt-bench");
            printProfile(o);
          }
          if (threads != null) System.out.print(what + " by thread group:\n" + threads.end(Math.max(1, r.devices().size() - r.failed()),
              r.elapsedNanos() / 1e9));
          out.addAll(r.figures(what));
          addCpuPerConnect(out, what, rcpu, r);
          addIdle(out, what, idle, rcpu, r);
          addCqlPerConnect(out, what, rcql, cqlRequests(o), r);
          addCycle(out, what, probe.cpuPercentSince(cycleMark), System.nanoTime() - cycleStart, cycleCql, cqlRequests(o), r);
          cycleMark = probe.mark();
          cycleCql = cqlRequests(o);
          cycleStart = System.nanoTime();
          disconnectAll(r.devices);
          for (MqttLoadClient.Device d : r.devices()) earlier.put(d.clientId, d);
          // A row of its own per reconnect phase, so the table compares each with its floor's (mqtt-bare).
          phases.add(r.result(o.workload() + (resume ? RESUMED : FULL)).withNode(rcpu, -1).withNote(String.format(Locale.ROOT,
              "%s of the same devices: %d of %d TLS sessions resumed", what, r.resumed(), r.devices().size() - r.failed())));
          note += String.format(Locale.ROOT, "; %s: %.0f connects/s, %d of %d TLS sessions resumed, node CPU %.2f ms per connect",
              what, (r.devices().size() - r.failed()) * 1e9 / r.elapsedNanos(), r.resumed(), r.devices().size() - r.failed(),
              rcpu / 100 * r.elapsedNanos() / 1e6 / Math.max(1, r.devices().size()));
        }
      }
      List<BenchResult> rows = new ArrayList<>(List.of(result.withNote(note)));
      rows.addAll(phases);
      return new Report(out, rows.get(0), rows);
    }
  }

  /** The table rows of {@code mqtt-storm}'s (and {@code mqtt-bare}'s) reconnect phases: the workload's name and this. */
  public static final String FULL = "/full", RESUMED = "/resumed";

  /**
   * Journal round trips of a phase: the node's CQL requests ({@code twinhub_cassandra_requests_total}
   * on its management port: journal and tag writes, recoveries, and the projections' polls, which run
   * without load too) per connect; -1 when the node does not answer.
   */
  private static void addCqlPerConnect(List<Figure> out, String what, long before, long after, Connected c) {
    if (before >= 0 && after >= before) {
      out.add(new Figure(what + ": node CQL requests per connect", String.format(Locale.ROOT, "%.2f (%d in %.1f s)",
          (after - before) / (double) Math.max(1, c.devices().size()), after - before, c.elapsedNanos() / 1e9)));
    }
  }

  /** Node CPU and CQL requests of a whole reconnect cycle (the previous disconnect, the pause, this connect) per device. */
  private static void addCycle(List<Figure> out, String what, double cpuPercent, long nanos, long cqlBefore, long cqlAfter,
                               Connected c) {
    int n = Math.max(1, c.devices().size());
    String cql = cqlBefore >= 0 && cqlAfter >= cqlBefore
        ? String.format(Locale.ROOT, ", %.2f CQL requests", (cqlAfter - cqlBefore) / (double) n) : "";
    if (!Double.isNaN(cpuPercent)) {
      out.add(new Figure(what + ": per reconnect cycle (disconnect + connect)", String.format(Locale.ROOT,
          "node CPU %.2f ms%s (%.1f s from the disconnects)", cpuPercent / 100 * nanos / 1e6 / n, cql, nanos / 1e9)));
    }
  }

  /** The node's CQL request count so far, -1 if its management port does not answer. */
  static long cqlRequests(Options o) {
    if (o.managementPort() <= 0) return -1;
    try {
      var http = java.net.http.HttpClient.newHttpClient();
      var body = http.send(java.net.http.HttpRequest.newBuilder(
              URI.create("http://" + o.url().getHost() + ":" + o.managementPort() + "/metrics")).timeout(Duration.ofSeconds(30)).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).body();
      return prometheusTotal(body, "twinhub_cassandra_requests_total");
    } catch (Exception e) {
      return -1;
    }
  }

  /** The sum of a Prometheus counter's samples (all label sets), -1 if absent. */
  static long prometheusTotal(String body, String name) {
    double sum = 0;
    boolean found = false;
    for (String line : body.split("\n")) {
      if (line.startsWith(name) && (line.length() == name.length() || line.charAt(name.length()) == ' ' || line.charAt(name.length()) == '{')) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        found = true;
      }
    }
    return found ? (long) sum : -1;
  }

  /** How long {@code mqtt-storm}'s server is measured idle before the resumed phase. */
  static final Duration IDLE_WINDOW = Duration.ofSeconds(5);

  /** The server's CPU (% of one core) over {@code window} with no load; NaN without a pid. */
  private static double idleCpu(NodeProbe probe, Duration window) throws InterruptedException {
    NodeProbe.Mark m = probe.mark();
    Thread.sleep(window.toMillis());
    return probe.cpuPercentSince(m);
  }

  /**
   * The server's idle CPU, and the phase's CPU per connect net of it: {@link #netOfIdleMillis}.
   */
  private static void addIdle(List<Figure> out, String what, double idle, double cpu, Connected c) {
    if (Double.isNaN(idle) || Double.isNaN(cpu)) return;
    double gross = cpu / 100 * c.elapsedNanos() / 1e6 / Math.max(1, c.devices().size());
    out.add(new Figure(what + ": node CPU idle before it", String.format(Locale.ROOT,
        "%.1f %% of one core (%d s, nothing connecting); per connect net of idle %.2f ms (gross %.2f)",
        idle, IDLE_WINDOW.toSeconds(), netOfIdleMillis(cpu, idle, c.elapsedNanos(), c.devices().size()), gross)));
  }

  /**
   * CPU per operation in ms net of the server's idle: ({@code cpuPercent} − {@code idlePercent}) of a
   * core over {@code nanos}, per operation. The idle part is a cost per second, not per connect: it
   * weighs 10 × less per connect at 10 × the rate.
   */
  static double netOfIdleMillis(double cpuPercent, double idlePercent, long nanos, int operations) {
    return Math.max(0, cpuPercent - idlePercent) / 100 * nanos / 1e6 / Math.max(1, operations);
  }

  private static void addCpuPerConnect(List<Figure> out, String what, double cpu, Connected c) {
    if (!Double.isNaN(cpu)) {
      out.add(new Figure(what + ": node CPU per connect", String.format(Locale.ROOT, "%.2f ms (%.0f %% of one core)",
          cpu / 100 * c.elapsedNanos() / 1e6 / Math.max(1, c.devices().size()), cpu)));
    }
  }

  /** The same QoS 1 workload against Mosquitto over TLS on a free loopback port. */
  static Report mosquitto(Options o) throws Exception {
    try (Mosquitto m = Mosquitto.start()) {
      Options b = new Options(o.workload(), "127.0.0.1", m.port(), o.url(), m.caPem(), o.keyName(), o.key(), o.devices(),
          false, o.prefix(), o.connectRate(), o.connectInflight(), o.keepAlive(), o.rate(), o.concurrency(), o.warmup(),
          o.duration(), o.hold(), o.payloadBytes(), m.pid(), o.threads(), o.policyAuth(), o.restConnections(), 0, null, false,
          o.loads(), 0, -1, false);
      Report r = reported(b, true);
      List<Figure> out = new ArrayList<>();
      out.add(new Figure("broker", m.version()));
      out.addAll(r.figures());
      return new Report(out, r.result(), r.results().stream().map(x -> x.withNote(m.version() + "; " + x.note())).toList());
    }
  }

  // ---------------------------------------------------------------- connecting

  record Connected(List<MqttLoadClient.Device> devices, Histogram connectMicros, long failed, Map<String, Long> reasons,
                   long elapsedNanos) {
    /** Connected devices whose TLS handshake resumed an earlier session. */
    long resumed() {
      return devices.stream().filter(d -> d.connAck().isDone() && !d.connAck().isCompletedExceptionally()
          && d.connAck().join() == 0 && d.resumedTls()).count();
    }

    List<Figure> figures(String what) {
      long ok = devices.size() - failed;
      return List.of(
          new Figure(what + ": devices connected", String.format(Locale.ROOT, "%d of %d in %.1f s = %.0f connects/s",
              ok, devices.size(), elapsedNanos / 1e9, ok * 1e9 / elapsedNanos)),
          new Figure(what + ": TLS handshakes", String.format(Locale.ROOT, "%d resumed, %d full", resumed(), ok - resumed())),
          new Figure(what + ": failures", failed + (reasons.isEmpty() ? "" : " " + reasons)),
          new Figure(what + ": CONNACK latency (TCP+TLS+CONNECT)", latencyLine(connectMicros)));
    }

    BenchResult result(String workload) {
      return BenchResult.of(workload, devices.size(), failed, Duration.ofNanos(elapsedNanos), connectMicros);
    }
  }

  /**
   * Connects {@code n} devices at {@code rate} per second (0 = as fast as possible) with at most
   * {@code inflight} connects in progress, then subscribes each to {@code filters}.
   */
  static Connected connectAll(Options o, MqttLoadClient client, int n, double rate, int inflight, List<String> filters,
                              MqttLoadClient.Listener listener) throws InterruptedException {
    return connectAll(o, client, n, rate, inflight, id -> filters, listener);
  }

  /** The same with topic filters of each device's own (e.g. {@code devices/{id}/messages/devicebound/#}). */
  static Connected connectAll(Options o, MqttLoadClient client, int n, double rate, int inflight,
                              java.util.function.Function<String, List<String>> filtersOf,
                              MqttLoadClient.Listener listener) throws InterruptedException {
    return connectAll(o, n, rate, inflight, filtersOf,
        (id, password) -> client.connect(id, o.host() + "/" + id + "/?api-version=2021-04-12", password, o.keepAlive(), listener));
  }

  /** The same, each device's connection made by {@code connector(deviceId, password)}. */
  static Connected connectAll(Options o, int n, double rate, int inflight,
                              java.util.function.Function<String, List<String>> filtersOf,
                              java.util.function.BiFunction<String, String, MqttLoadClient.Device> connector)
      throws InterruptedException {
    Semaphore slots = new Semaphore(inflight);
    Histogram h = new Histogram(600_000_000L, 3);
    LongAdder failed = new LongAdder();
    Map<String, Long> reasons = new ConcurrentHashMap<>();
    List<MqttLoadClient.Device> devices = Collections.synchronizedList(new ArrayList<>(n));
    long expiry = System.currentTimeMillis() / 1000 + 6 * 3600;
    String policyToken = o.policyAuth() ? SasTokens.sign(o.host(), o.key(), o.keyName(), expiry) : null;
    long t0 = System.nanoTime();
    long interval = rate > 0 ? (long) (1e9 / rate) : 0;
    long lastReport = t0;
    for (int i = 0; i < n; i++) {
      if (interval > 0) {
        long due = t0 + i * interval - System.nanoTime();
        if (due > 0) TimeUnit.NANOSECONDS.sleep(due);
      }
      if (!slots.tryAcquire(3, TimeUnit.MINUTES)) throw stuck(devices, inflight - slots.availablePermits());
      String id = o.prefix() + i;
      String password = policyToken != null ? policyToken : SasTokens.sign(o.host() + "/devices/" + id, DEVICE_KEY, null, expiry);
      MqttLoadClient.Device d = connector.apply(id, password);
      devices.add(d);
      List<String> filters = filtersOf.apply(id);
      d.connAck().whenComplete((code, err) -> {
        String reason = err != null ? err.getClass().getSimpleName() : code != 0 ? "CONNACK " + code : null;
        if (reason != null || filters.isEmpty()) {
          finishConnect(d, reason, h, failed, reasons, slots);
        } else {
          d.subscribe(filters, 1).orTimeout(60, TimeUnit.SECONDS)
              .whenComplete((x, e) -> finishConnect(d, e == null ? null : "SUBSCRIBE failed", h, failed, reasons, slots));
        }
      });
      if (System.nanoTime() - lastReport > 5_000_000_000L) {
        lastReport = System.nanoTime();
        System.out.printf(Locale.ROOT, "  %d started, %d failed, %.0f s%n", i + 1, failed.sum(), (lastReport - t0) / 1e9);
      }
    }
    // Every connect finished (each ends within the hub's connect timeout or the SUBSCRIBE timeout).
    if (!slots.tryAcquire(inflight, 3, TimeUnit.MINUTES)) throw stuck(devices, inflight - slots.availablePermits());
    long elapsed = System.nanoTime() - t0;
    slots.release(inflight);
    synchronized (h) {
      return new Connected(List.copyOf(devices), h.copy(), failed.sum(), new LinkedHashMap<>(reasons), elapsed);
    }
  }

  /** Every connect ends within the client's timeouts (60 s); if some do not, say which state they are in. */
  private static IllegalStateException stuck(List<MqttLoadClient.Device> devices, int unfinished) {
    synchronized (devices) {
      long noConnAck = devices.stream().filter(d -> !d.connAck().isDone()).count();
      long open = devices.stream().filter(MqttLoadClient.Device::isOpen).count();
      return new IllegalStateException(unfinished + " connects unfinished after 3 minutes; " + noConnAck
          + " devices without CONNACK, " + open + " connections open of " + devices.size());
    }
  }

  private static void finishConnect(MqttLoadClient.Device d, String failure, Histogram h, LongAdder failed,
                                    Map<String, Long> reasons, Semaphore slots) {
    try {
      finishConnect(d, failure, h, failed, reasons);
    } finally {
      slots.release();
    }
  }

  private static void finishConnect(MqttLoadClient.Device d, String failure, Histogram h, LongAdder failed,
                                    Map<String, Long> reasons) {
    if (failure != null) {
      failed.increment();
      reasons.merge(failure, 1L, Long::sum);
      d.disconnect();
    } else {
      synchronized (h) {
        h.recordValue(Math.max(0, Math.min(d.connectNanos() / 1000, 600_000_000L)));
      }
    }
  }

  static void disconnectAll(List<MqttLoadClient.Device> devices) throws InterruptedException {
    List<CompletableFuture<Void>> closing = new ArrayList<>();
    for (MqttLoadClient.Device d : devices) {
      d.disconnect();
      closing.add(d.closed());
    }
    try {
      CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      System.out.println("some connections did not close within 60 s: " + e);
    }
  }

  // ---------------------------------------------------------------- setup and plumbing

  static final int SETUP_ATTEMPTS = 5;

  /** Creates the bench devices (bulk createOrUpdate, 100 per call) with the bench key. */
  static void setupIfAsked(Options o) throws Exception {
    if (!o.setup()) return;
    long t0 = System.nanoTime();
    String token = serviceToken(o);
    int failedCalls = 0;
    HubRest rest = new HubRest(HubRest.trusting(o.ca()), o.url().getHost(), o.url().getPort());
    try {
      for (int from = 0; from < o.devices(); from += 100) {
        String body = IntStream.range(from, Math.min(from + 100, o.devices()))
            .mapToObj(i -> "{\"id\":\"" + o.prefix() + i + "\",\"importMode\":\"createOrUpdate\",\"authentication\":"
                + "{\"type\":\"sas\",\"symmetricKey\":{\"primaryKey\":\"" + DEVICE_KEY + "\",\"secondaryKey\":\"" + DEVICE_KEY + "\"}}}")
            .collect(Collectors.joining(",", "[", "]"));
        // A fresh node on a loaded box may answer its first bulk calls 503 after 15 s and close the
        // connection: retried on a new connection as an SDK would (createOrUpdate is idempotent).
        HubRest.Response r = null;
        for (int attempt = 1; r == null; attempt++) {
          try {
            r = rest.exchange("POST", "/devices?" + HubRest.API_VERSION, token, body);
            if (r.status() == 503 && attempt < SETUP_ATTEMPTS) {
              System.out.println("bulk call: 503, retrying (attempt " + attempt + ")");
              r = null;
            }
          } catch (java.io.IOException e) {
            if (attempt >= SETUP_ATTEMPTS) throw e;
            System.out.println("bulk call: " + e + ", retrying on a new connection (attempt " + attempt + ")");
          }
          if (r == null) {
            rest.close();
            Thread.sleep(1000);
            rest = new HubRest(HubRest.trusting(o.ca()), o.url().getHost(), o.url().getPort());
          }
        }
        if (r.status() != 200 || r.body().contains("\"isSuccessful\":false")) {
          failedCalls++;
          if (failedCalls <= 3) System.out.println("bulk call: " + r.status() + " " + r.body().substring(0, Math.min(300, r.body().length())));
        }
      }
    } finally {
      rest.close();
    }
    System.out.printf(Locale.ROOT, "setup: %d devices in %.1f s (%d bulk calls not fully successful)%n",
        o.devices(), (System.nanoTime() - t0) / 1e9, failedCalls);
  }

  static String serviceToken(Options o) {
    return SasTokens.sign(o.host(), o.key(), o.keyName(), System.currentTimeMillis() / 1000 + 6 * 3600);
  }

  static MqttLoadClient client(Options o) throws Exception {
    return new MqttLoadClient(o.host(), o.mqttPort(), o.ca().toFile(), o.threads());
  }

  /** {@code --rate} of mqtt-reported: one load or several separated by commas (rates, 0, Nx). */
  static List<String> loads(String rate) {
    List<String> loads = Arrays.stream(rate.split(",")).map(String::strip).toList();
    double capacity = Double.NaN;
    for (String l : loads) {
      double r = offeredRate(l, capacity); // fails early on "2x" without a "0" before it, or on a non-number
      if (r <= 0) capacity = 1;
    }
    return loads;
  }

  /** A request awaiting its answer: the index of its device (busy until then) and when it was sent. */
  record Pending(int device, long nanos, boolean afterRefusal) {
    Pending(int device, long nanos) {
      this(device, nanos, false);
    }
  }

  /** An accepted patch sent sooner than this after its device's 429 may have waited in the socket behind the node's throttle-pause (100 ms). */
  static final long AFTER_REFUSAL_NANOS = 150_000_000L;

  /** {@code --thread-cpu on}: node 1, its Cassandra and this load client by thread group. */
  static ThreadCpu.Probe threadProbe(Options o) {
    Map<String, Long> pids = new java.util.LinkedHashMap<>();
    if (o.nodePid() > 0) pids.put("node-1", o.nodePid());
    if (o.cassandraPid() > 0) pids.put("cassandra", o.cassandraPid());
    pids.put("load client", ProcessHandle.current().pid());
    return new ThreadCpu.Probe(pids);
  }

  /** Node 1's admission counters (answered, their summed admission → answer seconds, slow ones); null if unknown. */
  static double[] admissionCounters(Options o) {
    if (o.managementPort() <= 0) return null;
    try {
      String body = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                  URI.create("http://127.0.0.1:" + o.managementPort() + "/metrics")).timeout(Duration.ofSeconds(10)).build(),
              java.net.http.HttpResponse.BodyHandlers.ofString()).body();
      double[] c = {io.twinhub.ops.bench.BenchRun.metric(body, "twinhub_twin_admission_answered_total"),
          io.twinhub.ops.bench.BenchRun.metric(body, "twinhub_twin_admission_answered_seconds_total"),
          io.twinhub.ops.bench.BenchRun.metric(body, "twinhub_twin_admission_answered_slow_total"),
          io.twinhub.ops.bench.BenchRun.metric(body, "twinhub_twin_admission_journaled_total"),
          io.twinhub.ops.bench.BenchRun.metric(body, "twinhub_twin_admission_journal_seconds_total"),
          io.twinhub.ops.bench.BenchRun.metric(body, "twinhub_twin_admission_refused_behind_total"),
          io.twinhub.ops.bench.BenchRun.metric(body, "twinhub_twin_admission_journal_capped_windows_total")};
      return Double.isNaN(c[0]) ? null : c;
    } catch (Exception e) {
      return null;
    }
  }

  /** "N answered, mean M ms from admission to answer, K slower than target-latency"; empty when unknown. */
  static String admissionDelta(double[] before, double[] after) {
    if (before == null || after == null) return "";
    double n = after[0] - before[0];
    if (n <= 0) return "none answered";
    String s = String.format(Locale.ROOT, "%.0f answered, mean %.0f ms from admission to answer, %.0f slower than target-latency",
        n, (after[1] - before[1]) * 1000 / n, after[2] - before[2]);
    // The journal's part (entity command → journal acknowledgement), from nodes that report it.
    if (before.length > 4 && !Double.isNaN(after[3]) && !Double.isNaN(before[3]) && after[3] - before[3] > 0) {
      double j = after[3] - before[3];
      s += String.format(Locale.ROOT, "; journal mean %.0f ms (%.0f writes)", (after[4] - before[4]) * 1000 / j, j);
    }
    if (before.length > 5 && !Double.isNaN(after[5]) && !Double.isNaN(before[5]) && after[5] - before[5] > 0) {
      s += String.format(Locale.ROOT, "; %.0f refused with slots free, the node behind (max-node-lag)", after[5] - before[5]);
    }
    if (before.length > 6 && !Double.isNaN(after[6]) && !Double.isNaN(before[6]) && after[6] - before[6] > 0) {
      s += String.format(Locale.ROOT, "; limit capped by journal-target in %.0f one-second windows", after[6] - before[6]);
    }
    return s;
  }

  /** A Mosquitto device's key among the pending requests (negative: $rids are not). */
  private static int key(MqttLoadClient.Device d) {
    int digits = d.clientId.length();
    while (digits > 0 && Character.isDigit(d.clientId.charAt(digits - 1))) digits--;
    return -1 - Integer.parseInt(d.clientId.substring(digits)); // ids are prefix + index
  }

  static byte[] payload(long n, byte[] pad) {
    byte[] head = ("{\"bench\":{\"n\":" + n + ",\"p\":\"").getBytes(StandardCharsets.US_ASCII);
    byte[] b = Arrays.copyOf(head, head.length + pad.length + 3);
    System.arraycopy(pad, 0, b, head.length, pad.length);
    b[b.length - 3] = '"';
    b[b.length - 2] = '}';
    b[b.length - 1] = '}';
    return b;
  }

  static String latencyLine(Histogram h) {
    if (h.getTotalCount() == 0) return "no samples";
    return String.format(Locale.ROOT, "p50 %.2f ms, p90 %.2f, p99 %.2f, p99.9 %.2f, max %.2f (n=%d)",
        h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(90) / 1000.0, h.getValueAtPercentile(99) / 1000.0,
        h.getValueAtPercentile(99.9) / 1000.0, h.getMaxValue() / 1000.0, h.getTotalCount());
  }

  static int freePort() {
    return io.twinhub.ops.net.FreePorts.next();
  }

  static boolean listening(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * The options of a run of {@code ./twinhub bench mqtt-*|mosquitto} ({@code BenchCommand} declares
   * them): node 1 of the target, the harness's phases, concurrency and JFR request, and the MQTT
   * workload options by name. Devices are created first unless {@code --setup false}.
   */
  public static Options options(BenchOptions b, BenchTarget t) {
    return options(b, t, -1);
  }

  /** @param cassandraPid the node's Cassandra process when the bench started it (-1: unknown), for its CPU per phase */
  public static Options options(BenchOptions b, BenchTarget t, long cassandraPid) {
    Map<String, String> a = b.extra();
    Map<String, String> cs = new HashMap<>();
    for (String part : t.ownerConnectionString().split(";")) {
      int eq = part.indexOf('=');
      if (eq > 0) cs.put(part.substring(0, eq).strip(), part.substring(eq + 1).strip());
    }
    BenchTarget.Node node = t.nodes().get(0);
    String workload = b.workload();
    boolean storm = workload.equals("mqtt-storm") || workload.equals("mqtt-bare");
    boolean notify = workload.equals("mqtt-notify");
    try {
      return new Options(workload, cs.getOrDefault("HostName", node.restUrl().getHost()), node.mqttPort(), node.restUrl(),
          t.caPem(), cs.get("SharedAccessKeyName"), cs.get("SharedAccessKey"),
          Integer.parseInt(a.getOrDefault("devices", "10000")), !"false".equals(a.get("setup")),
          a.getOrDefault("prefix", "mqtt-bench-"),
          Double.parseDouble(a.getOrDefault("connect-rate", "200")),
          Integer.parseInt(a.getOrDefault("connect-inflight", storm ? "1000" : "200")),
          Integer.parseInt(a.getOrDefault("keep-alive", "60")),
          Double.parseDouble(a.getOrDefault("rate", notify ? "200" : "2000").split(",")[0].replaceAll("x$", "")),
          b.concurrency(), b.warmup(), b.duration(),
          BenchOptions.duration(a.getOrDefault("hold", "30s")),
          Integer.parseInt(a.getOrDefault("payload-bytes", "64")),
          t.pids().isEmpty() ? 0 : t.pids().get(0),
          Integer.parseInt(a.getOrDefault("threads", "2")),
          "true".equals(a.get("policy-auth")),
          Integer.parseInt(a.getOrDefault("rest-connections", "8")),
          b.jfr(), t.workDir().resolve(workload + "-node1.jfr"),
          !"false".equals(a.getOrDefault("reconnect", storm ? "true" : "false")),
          loads(a.getOrDefault("rate", notify ? "200" : "2000")), node.managementPort(), cassandraPid, b.threadCpu());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("an MQTT workload option is not a number: " + e.getMessage());
    }
  }


}
