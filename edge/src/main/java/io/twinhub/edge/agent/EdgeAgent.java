package io.twinhub.edge.agent;

import akka.util.ByteString;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.edge.EdgeSettings;
import io.twinhub.edge.mqtt.HubClient;
import io.twinhub.twin.auth.ConnectionString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * IoT Edge's edgeAgent: connected to the hub as the device's {@code $edgeAgent} module, it reads
 * the desired deployment (schema 1.1) from its module twin and reconciles the modules to it —
 * starts them in {@code startupOrder}, stops and removes what is gone, replaces what changed,
 * honours {@code status} and {@code restartPolicy} with IoT Edge's back-off — creates and removes
 * their identities in the hub, and reports its state under IoT Edge's names
 * ({@code lastDesiredVersion}, {@code lastDesiredStatus}, {@code runtime}, {@code systemModules},
 * {@code modules.<name>.runtimeStatus/exitCode/...}).
 *
 * <p>All state lives on one thread ({@code loop}): hub events, module exits and timers are
 * tasks on it, so the reconcile logic needs no locks. The hub being unreachable changes nothing
 * for running modules; the agent reconnects every few seconds and then reports its current state.
 *
 * <p>The processes it runs are listed in {@code <data-dir>/agent/modules.json} (pid, start time,
 * desired settings). A runtime killed without stopping its modules (kill -9) leaves them running,
 * as IoT Edge's containers outlive the agent; the next run adopts each one whose process and
 * desired settings are unchanged instead of starting a second instance, and stops the others.
 */
public final class EdgeAgent implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EdgeAgent.class);
  public static final String MODULE_ID = "$edgeAgent";
  private static final Duration STOP_GRACE = Duration.ofSeconds(10);
  private static final Duration RECONNECT = Duration.ofSeconds(3);
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

  private final EdgeSettings settings;
  private final SSLContext hubTls;
  private final ModuleIdentities identities;
  private final Map<String, ModuleRuntime> runtimes;
  private final Path edgeCaPem;
  private volatile URI workloadUri;
  private final Clock clock;
  private final Instant started;
  private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "edge-agent");
    t.setDaemon(true);
    return t;
  });

  private final Map<String, Module> modules = new LinkedHashMap<>();
  /** Module names in the hub's reported properties: a name that disappears is reported as null (removed). */
  private final Set<String> reportedNames = new HashSet<>();
  private HubClient hub;
  private JsonNode runtimeDesired = JsonNodeFactory.instance.objectNode();
  private long lastDesiredVersion;
  private int lastDesiredCode = 200;
  private String lastDesiredDescription = "";
  private boolean reportScheduled;
  /**
   * Set by {@link #close} before its task is queued, read on the loop: work already queued ahead of
   * that task (a reconnect, a deployment read, a module's restart) starts nothing new.
   */
  private volatile boolean closing;
  private final Path stateFile;
  /** The last deployment applied ({@code $edgeAgent}'s desired), IoT Edge's {@code backup.json}. */
  private final Path backupFile;
  /** A deployment was applied in this run (from the hub or from the backup). */
  private boolean applied;
  private JsonNode lastBackup;
  /** Modules an earlier run left running (from {@code modules.json}): adopted or stopped at the first deployment. */
  private final Map<String, JsonNode> leftovers = new LinkedHashMap<>();

  /** What the agent knows of one deployed module. */
  private static final class Module {
    ModuleSpec spec;
    ModuleRuntime.Running running;
    String runtimeStatus = "unknown";
    Integer exitCode;
    String statusDescription;
    Instant lastStart;
    Instant lastExit;
    Instant lastRestart;
    int restartCount;
    ScheduledFuture<?> restart;

    Module(ModuleSpec spec) {
      this.spec = spec;
    }
  }

  public EdgeAgent(EdgeSettings settings, SSLContext hubTls, ModuleIdentities identities, List<ModuleRuntime> runtimes,
                   Path edgeCaPem, Clock clock) {
    this.settings = settings;
    this.hubTls = hubTls;
    this.identities = identities;
    this.runtimes = new LinkedHashMap<>();
    for (ModuleRuntime r : runtimes) this.runtimes.put(r.type(), r);
    this.edgeCaPem = edgeCaPem;
    this.clock = clock;
    this.started = clock.instant();
    this.stateFile = settings.dataDir().resolve("agent").resolve("modules.json");
    this.backupFile = settings.dataDir().resolve("agent").resolve("backup.json");
    try {
      if (Files.exists(stateFile)) com.fasterxml.jackson.databind.json.JsonMapper.builder().build()
          .readTree(stateFile.toFile()).fields().forEachRemaining(e -> leftovers.put(e.getKey(), e.getValue()));
    } catch (IOException e) {
      log.warn("edgeAgent could not read {}: {}", stateFile, e.toString());
    }
  }

  public void start() {
    loop.execute(this::connect);
  }

  // ------------------------------------------------------------------ the hub connection

  private void connect() {
    if (closing || hub != null) return;
    HubClient.Target target = new HubClient.Target(settings.hostName(), settings.hostName(), settings.hubMqttPort(),
        hubTls, settings.deviceId(), MODULE_ID, settings.deviceKey());
    try {
      HubClient c = HubClient.connect(target, (topic, payload) -> loop.execute(() -> onHubPublish(topic)),
          () -> loop.execute(this::onDisconnected));
      c.subscribe(List.of("$iothub/twin/res/#", "$iothub/twin/PATCH/properties/desired/#"), REQUEST_TIMEOUT);
      hub = c;
      log.info("edgeAgent connected to {}:{}", settings.hostName(), settings.hubMqttPort());
      fetchDesired();
      scheduleReport();
    } catch (IOException e) {
      log.info("edgeAgent cannot reach the hub ({}); retrying in {}", e.getMessage(), RECONNECT);
      if (!applied) applyBackup();
      loop.schedule(this::connect, RECONNECT.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private void onDisconnected() {
    if (hub != null && !hub.isOpen()) {
      hub = null;
      if (!closing) loop.schedule(this::connect, RECONNECT.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private void onHubPublish(String topic) {
    // A desired change: read the whole desired document (the reconcile works on the full deployment).
    if (topic.startsWith("$iothub/twin/PATCH/properties/desired/")) fetchDesired();
  }

  private void fetchDesired() {
    HubClient c = hub;
    if (c == null) return;
    c.getTwin().whenComplete((r, e) -> loop.execute(() -> {
      if (e != null || r.status() != 200 || r.body() == null) {
        log.warn("edgeAgent could not read its twin: {}", e != null ? e.toString() : r.status());
        return;
      }
      apply(r.body().path("desired"));
    }));
  }

  // ------------------------------------------------------------------ reconcile

  /**
   * The hub cannot be reached and nothing was applied yet in this run: the deployment last applied
   * (kept in {@code backup.json}, as IoT Edge's agent keeps its backup config) is reconciled, so the
   * modules run (or the ones still running are adopted) without the hub. The hub's deployment,
   * once read, is applied over it as usual.
   */
  private void applyBackup() {
    if (!Files.exists(backupFile)) return;
    try {
      JsonNode desired = com.fasterxml.jackson.databind.json.JsonMapper.builder().build().readTree(backupFile.toFile());
      log.info("edgeAgent: hub unreachable, running the saved deployment version {} from {}",
          desired.path("$version").asLong(), backupFile);
      apply(desired);
    } catch (IOException e) {
      log.warn("edgeAgent could not read {}: {}", backupFile, e.toString());
      applied = true; // a damaged backup is not read again in this run: the hub's deployment is awaited
    }
  }

  /** Keeps the deployment just applied for {@link #applyBackup}: temp file forced, then renamed over the old one. */
  private void saveBackup(JsonNode desired) {
    try {
      Files.createDirectories(backupFile.getParent());
      Path tmp = backupFile.resolveSibling("backup.json.tmp");
      try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(desired.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        while (b.hasRemaining()) ch.write(b);
        ch.force(true);
      }
      Files.move(tmp, backupFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      log.warn("edgeAgent could not write {}: {}", backupFile, e.toString());
    }
  }

  /** Reconciles the running modules to {@code desired} and reports the outcome. */
  void apply(JsonNode desired) {
    if (closing) return; // read before close was asked: nothing new starts now
    Deployment d = Deployment.read(desired);
    if (d.version() < lastDesiredVersion) return; // an older read overtaken by a newer one
    lastDesiredVersion = d.version();
    if (d instanceof Deployment.Invalid invalid) {
      lastDesiredCode = 400;
      lastDesiredDescription = invalid.reason();
      log.warn("deployment version {} not applied: {}", d.version(), invalid.reason());
      scheduleReport();
      return;
    }
    runtimeDesired = desired.path("runtime");
    applied = true;
    if (!desired.equals(lastBackup)) {
      saveBackup(desired);
      lastBackup = desired.deepCopy();
    }
    List<ModuleSpec> specs = ((Deployment.Valid) d).modules();
    Set<String> names = new HashSet<>();
    specs.forEach(s -> names.add(s.name()));
    List<String> failures = new ArrayList<>();
    for (String gone : List.copyOf(modules.keySet())) {
      if (names.contains(gone)) continue;
      stop(modules.remove(gone), "removed from the deployment");
      try {
        identities.remove(gone);
      } catch (IOException e) {
        failures.add("identity of removed module " + gone + ": " + e.getMessage());
      }
    }
    for (ModuleSpec spec : specs) {
      Module m = modules.get(spec.name());
      if (m != null && !m.spec.desired().equals(spec.desired())) {
        stop(m, "replaced by a changed deployment");
        m = null;
      }
      if (m == null) {
        m = new Module(spec);
        modules.put(spec.name(), m);
        adopt(m);
      }
      try {
        identities.ensure(spec.name());
      } catch (IOException e) {
        failures.add("identity of " + spec.name() + ": " + e.getMessage());
        if (identities.known(spec.name()).isEmpty()) continue; // else: the identity kept on disk
      }
      if (spec.status() == ModuleSpec.DesiredStatus.RUNNING && m.running == null && m.restart == null
          && !"failed".equals(m.runtimeStatus) && !"backoff".equals(m.runtimeStatus)) {
        startModule(m);
      } else if (spec.status() == ModuleSpec.DesiredStatus.STOPPED) {
        stop(m, "desired status is stopped");
      }
    }
    leftovers.keySet().forEach(name -> stopLeftover(name, "not in the deployment"));
    leftovers.clear();
    saveState();
    lastDesiredCode = failures.isEmpty() ? 200 : 500;
    lastDesiredDescription = String.join("; ", failures);
    log.info("deployment version {} applied: {} modules{}", d.version(), specs.size(),
        failures.isEmpty() ? "" : ", failures: " + lastDesiredDescription);
    scheduleReport();
  }

  /** Takes over the process an earlier run left for this module, if its desired settings did not change. */
  private void adopt(Module m) {
    JsonNode l = leftovers.get(m.spec.name());
    if (l == null) return;
    ModuleRuntime runtime = runtimes.get(m.spec.type());
    if (!l.path("desired").equals(m.spec.desired()) || runtime == null) {
      stopLeftover(m.spec.name(), "its deployment changed");
      leftovers.remove(m.spec.name());
      return;
    }
    leftovers.remove(m.spec.name());
    ModuleRuntime.Running[] self = new ModuleRuntime.Running[1];
    runtime.adopt(l.path("pid").asLong(), l.path("started").asLong(),
        code -> loop.execute(() -> onExit(m, self[0], code))).ifPresent(r -> {
      self[0] = r;
      m.running = r;
      m.runtimeStatus = "running";
      m.statusDescription = "running (adopted after a restart of the runtime)";
      m.lastStart = java.time.Instant.ofEpochMilli(l.path("started").asLong());
      m.restartCount = l.path("restartCount").asInt(0);
    });
  }

  private void stopLeftover(String name, String why) {
    JsonNode l = leftovers.get(name);
    if (l == null) return;
    ProcessHandle.of(l.path("pid").asLong())
        .filter(p -> p.info().startInstant().map(i -> i.toEpochMilli() == l.path("started").asLong()).orElse(false))
        .ifPresent(p -> {
          log.info("stopping process {} left by an earlier run for module {}: {}", p.pid(), name, why);
          p.destroy();
          try {
            p.onExit().get(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
          } catch (Exception e) {
            p.destroyForcibly();
          }
        });
  }

  /** The processes running now, for the next run to adopt (written before anything else can happen to them). */
  private void saveState() {
    ObjectNode all = JsonNodeFactory.instance.objectNode();
    for (Module m : modules.values()) {
      ModuleRuntime.Running r = m.running;
      if (r == null) continue;
      java.util.Optional<Instant> startedAt = ProcessHandle.of(r.pid()).flatMap(p -> p.info().startInstant());
      if (startedAt.isEmpty()) continue;
      ObjectNode o = all.putObject(m.spec.name());
      o.put("pid", r.pid()).put("started", startedAt.get().toEpochMilli()).put("restartCount", m.restartCount);
      o.set("desired", m.spec.desired());
    }
    leftovers.forEach(all::set); // not yet adopted: still theirs
    try {
      Files.createDirectories(stateFile.getParent());
      Path tmp = stateFile.resolveSibling("modules.json.tmp");
      Files.writeString(tmp, all.toString());
      Files.move(tmp, stateFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      log.warn("edgeAgent could not write {}: {}", stateFile, e.toString());
    }
  }

  private void startModule(Module m) {
    ModuleRuntime runtime = runtimes.get(m.spec.type());
    try {
      ModuleRuntime.Running[] self = new ModuleRuntime.Running[1];
      self[0] = runtime.start(m.spec, moduleEnvironment(m.spec), code -> loop.execute(() -> onExit(m, self[0], code)));
      m.running = self[0];
      m.runtimeStatus = "running";
      m.statusDescription = "running";
      m.lastStart = clock.instant();
      saveState();
    } catch (IOException | RuntimeException e) {
      m.runtimeStatus = "failed";
      m.statusDescription = "could not start: " + e.getMessage();
      m.lastExit = clock.instant();
      log.warn("module {} could not start: {}", m.spec.name(), e.toString());
    }
  }

  /** Stops the module if it runs and cancels a pending restart; its state becomes {@code stopped}. */
  private void stop(Module m, String why) {
    if (m.restart != null) {
      m.restart.cancel(false);
      m.restart = null;
    }
    ModuleRuntime.Running r = m.running;
    m.running = null; // its exit is expected: onExit ignores it
    if (r != null) {
      log.info("stopping module {}: {}", m.spec.name(), why);
      r.stop(STOP_GRACE);
      m.lastExit = clock.instant();
      saveState();
    }
    m.runtimeStatus = "stopped";
    m.statusDescription = why;
  }

  private void onExit(Module m, ModuleRuntime.Running which, int code) {
    if (m.running != which || which == null) return; // stopped on purpose, or an earlier instance
    m.running = null;
    saveState();
    m.exitCode = code;
    m.lastExit = clock.instant();
    m.runtimeStatus = code == 0 ? "stopped" : "failed";
    m.statusDescription = "exited with code " + code;
    log.info("module {} exited with code {}", m.spec.name(), code);
    if (m.spec.status() == ModuleSpec.DesiredStatus.RUNNING && m.spec.restartPolicy().restarts(code)) {
      if (m.restartCount < settings.maxRestartCount()) {
        Duration wait = RestartPolicy.coolOff(settings.coolOffUnit(), m.restartCount);
        m.runtimeStatus = "backoff";
        m.restart = loop.schedule(() -> restart(m), wait.toMillis(), TimeUnit.MILLISECONDS);
      } else {
        m.runtimeStatus = "failed";
        m.statusDescription = "exited with code " + code + "; restarted " + m.restartCount + " times, not restarted again";
      }
    }
    scheduleReport();
  }

  private void restart(Module m) {
    m.restart = null;
    if (modules.get(m.spec.name()) != m || m.running != null || closing) return;
    m.restartCount++;
    m.lastRestart = clock.instant();
    startModule(m);
    scheduleReport();
  }

  /** The workload API modules sign their tokens with ({@code IOTEDGE_WORKLOADURI}); null: none. */
  public void workloadUri(URI uri) {
    this.workloadUri = uri;
  }

  /**
   * IoT Edge's module environment, after the deployment's {@code env}: the ids and host names,
   * the workload API ({@code IOTEDGE_WORKLOADURI}, {@code IOTEDGE_AUTHSCHEME=sasToken},
   * {@code IOTEDGE_APIVERSION}) and, unless the deployment's env sets it to "", a connection
   * string to edgeHub with the module's own key and edgeHub's CA — the SDKs'
   * {@code createFromEnvironment}/{@code fromEnvironment} take the connection string when there
   * is one, else the workload API, as under IoT Edge, which gives modules no key.
   */
  Map<String, String> moduleEnvironment(ModuleSpec spec) {
    Map<String, String> env = new LinkedHashMap<>(spec.env());
    ModuleIdentities.ModuleIdentity id = identities.known(spec.name()).orElseThrow(() ->
        new IllegalStateException("no identity for module " + spec.name()));
    env.put("IOTEDGE_IOTHUBHOSTNAME", settings.hostName());
    env.put("IOTEDGE_DEVICEID", settings.deviceId());
    env.put("IOTEDGE_MODULEID", spec.name());
    env.put("IOTEDGE_GATEWAYHOSTNAME", settings.gatewayHostName());
    env.put("IOTEDGE_MODULEGENERATIONID", id.generationId());
    URI workload = workloadUri;
    if (workload != null) {
      env.put("IOTEDGE_WORKLOADURI", workload.toString());
      env.put("IOTEDGE_AUTHSCHEME", "sasToken");
      env.put("IOTEDGE_APIVERSION", WorkloadApi.API_VERSION);
    }
    if (workload != null && "".equals(spec.env().get("EdgeHubConnectionString"))) {
      // As under IoT Edge: no key in the environment; the SDK signs through the workload API.
      env.remove("EdgeHubConnectionString");
    } else {
      env.put("EdgeHubConnectionString", new ConnectionString(settings.hostName(), null, id.keys().primaryKey(), null,
          settings.deviceId(), spec.name(), settings.gatewayHostName()).format());
    }
    env.put("EdgeModuleCACertificateFile", edgeCaPem.toAbsolutePath().toString());
    return env;
  }

  // ------------------------------------------------------------------ reported properties

  /** Reports soon, once: bursts of changes (a deployment starting many modules) become one patch. */
  private void scheduleReport() {
    if (reportScheduled) return;
    reportScheduled = true;
    loop.schedule(this::report, 200, TimeUnit.MILLISECONDS);
  }

  private void report() {
    reportScheduled = false;
    HubClient c = hub;
    if (c == null) return; // reported again once connected
    ObjectNode patch = reported();
    Set<String> names = new HashSet<>(modules.keySet());
    c.patchReported(patch).whenComplete((r, e) -> loop.execute(() -> {
      if (e != null || r.status() != 204) {
        log.warn("edgeAgent could not report: {}", e != null ? e.toString() : r.status() + " " + r.body());
        if (hub != null) loop.schedule(this::scheduleReport, RECONNECT.toMillis(), TimeUnit.MILLISECONDS);
        return;
      }
      reportedNames.retainAll(names);
      reportedNames.addAll(names);
    }));
  }

  /** The reported properties IoT Edge's agent writes (AgentState), as a merge patch. */
  ObjectNode reported() {
    ObjectNode r = JsonNodeFactory.instance.objectNode();
    r.put("schemaVersion", "1.1");
    r.putObject("version").put("version", "twinhub-edge").put("build", "").put("commit", "");
    r.put("lastDesiredVersion", lastDesiredVersion);
    r.putObject("lastDesiredStatus").put("code", lastDesiredCode).put("description", lastDesiredDescription);
    ObjectNode runtime = r.putObject("runtime");
    runtime.put("type", runtimeDesired.path("type").asText("docker"));
    runtime.putObject("platform").put("os", System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT))
        .put("architecture", System.getProperty("os.arch"));
    ObjectNode system = r.putObject("systemModules");
    // edgeAgent and edgeHub run in this process: running since it started.
    for (String name : List.of("edgeAgent", "edgeHub")) {
      ObjectNode s = system.putObject(name);
      s.put("type", "docker");
      s.put("runtimeStatus", "running");
      s.put("exitCode", 0);
      s.put("statusDescription", "running in the twinhub edge runtime process");
      s.put("lastStartTimeUtc", time(started));
      s.put("lastExitTimeUtc", (String) null);
      if (name.equals("edgeHub")) {
        s.put("restartCount", 0);
        s.put("lastRestartTimeUtc", (String) null);
        s.put("status", "running");
        s.put("restartPolicy", "always");
      }
    }
    ObjectNode ms = r.putObject("modules");
    for (Module m : modules.values()) {
      ObjectNode o = ms.putObject(m.spec.name());
      o.put("type", m.spec.type());
      o.put("status", m.spec.status().wire());
      o.put("restartPolicy", m.spec.restartPolicy().wire());
      if (m.spec.desired().has("version")) o.set("version", m.spec.desired().get("version"));
      o.set("settings", m.spec.desired().path("settings"));
      o.put("runtimeStatus", m.runtimeStatus);
      if (m.exitCode == null) o.putNull("exitCode");
      else o.put("exitCode", m.exitCode);
      o.put("statusDescription", m.statusDescription);
      o.put("lastStartTimeUtc", time(m.lastStart));
      o.put("lastExitTimeUtc", time(m.lastExit));
      o.put("restartCount", m.restartCount);
      o.put("lastRestartTimeUtc", time(m.lastRestart));
    }
    for (String gone : reportedNames) {
      if (!modules.containsKey(gone)) ms.putNull(gone);
    }
    return r;
  }

  /** Runs {@code task} on the agent's thread and waits for it (tests: the state is the loop's). */
  <T> T onLoop(java.util.concurrent.Callable<T> task) throws Exception {
    return loop.submit(task).get(2, TimeUnit.MINUTES);
  }

  private static String time(Instant t) {
    return t == null ? null : t.truncatedTo(ChronoUnit.MILLIS).toString();
  }

  /**
   * Stops the modules and the hub connection on the agent's thread and returns once that thread has
   * ended, so no state file is written after close (the loop may first finish a blocking connect:
   * at most the connect and subscribe timeouts; stopping a module is bounded by its grace).
   */
  @Override
  public void close() {
    closing = true;
    try {
      loop.submit(() -> {
        for (Module m : modules.values()) stop(m, "edge runtime stopping");
        if (hub != null) hub.close();
      }).get(3, TimeUnit.MINUTES);
    } catch (Exception e) {
      log.warn("edgeAgent did not stop cleanly: {}", e.toString());
    }
    loop.shutdownNow();
    try {
      if (!loop.awaitTermination(1, TimeUnit.MINUTES)) log.warn("edgeAgent's thread is still running after close");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
