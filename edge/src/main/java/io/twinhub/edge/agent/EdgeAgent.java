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
import java.nio.file.Path;
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
  private boolean closed;

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
  }

  public void start() {
    loop.execute(this::connect);
  }

  // ------------------------------------------------------------------ the hub connection

  private void connect() {
    if (closed || hub != null) return;
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
      loop.schedule(this::connect, RECONNECT.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private void onDisconnected() {
    if (hub != null && !hub.isOpen()) {
      hub = null;
      if (!closed) loop.schedule(this::connect, RECONNECT.toMillis(), TimeUnit.MILLISECONDS);
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

  /** Reconciles the running modules to {@code desired} and reports the outcome. */
  void apply(JsonNode desired) {
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
      }
      try {
        identities.ensure(spec.name());
      } catch (IOException e) {
        failures.add("identity of " + spec.name() + ": " + e.getMessage());
        continue;
      }
      if (spec.status() == ModuleSpec.DesiredStatus.RUNNING && m.running == null && m.restart == null
          && !"failed".equals(m.runtimeStatus) && !"backoff".equals(m.runtimeStatus)) {
        startModule(m);
      } else if (spec.status() == ModuleSpec.DesiredStatus.STOPPED) {
        stop(m, "desired status is stopped");
      }
    }
    lastDesiredCode = failures.isEmpty() ? 200 : 500;
    lastDesiredDescription = String.join("; ", failures);
    log.info("deployment version {} applied: {} modules{}", d.version(), specs.size(),
        failures.isEmpty() ? "" : ", failures: " + lastDesiredDescription);
    scheduleReport();
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
    }
    m.runtimeStatus = "stopped";
    m.statusDescription = why;
  }

  private void onExit(Module m, ModuleRuntime.Running which, int code) {
    if (m.running != which || which == null) return; // stopped on purpose, or an earlier instance
    m.running = null;
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
    if (modules.get(m.spec.name()) != m || m.running != null || closed) return;
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

  private static String time(Instant t) {
    return t == null ? null : t.truncatedTo(ChronoUnit.MILLIS).toString();
  }

  @Override
  public void close() {
    try {
      loop.submit(() -> {
        closed = true;
        for (Module m : modules.values()) stop(m, "edge runtime stopping");
        if (hub != null) hub.close();
      }).get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("edgeAgent did not stop cleanly: {}", e.toString());
    }
    loop.shutdownNow();
  }
}
