package io.twinhub.functions.host;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.functions.runtime.FunctionApp;
import io.twinhub.functions.runtime.FunctionDefinition;
import io.twinhub.functions.runtime.InvalidAppException;
import io.twinhub.functions.runtime.InvocationInput;
import io.twinhub.functions.runtime.InvocationResult;
import io.twinhub.functions.runtime.Trigger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The function apps on one node (api and worker roles): the newest version of each app loaded in
 * its own class loader, refreshed from the {@link FunctionStore} every few seconds (a new version
 * replaces the old one between two invocations; the old loader is closed a grace period later),
 * and invocation: on a pool of its own, with a timeout that interrupts the function, outputs
 * carried out after it returned, and a record of each invocation in the store.
 */
public final class AppHost implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AppHost.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * An app as loaded on this node.
   *
   * @param key          the app's key (the host key of Azure's app: every FUNCTION-level function takes it)
   * @param functionKeys per function, its own keys (name to value)
   */
  public record LoadedApp(FunctionApp app, String key, Set<String> disabled, Map<String, Map<String, String>> functionKeys) {
    public LoadedApp(FunctionApp app, String key, Set<String> disabled) {
      this(app, key, disabled, Map.of());
    }

    public boolean enabled(String function) {
      return !disabled.contains(function);
    }

    /** The keys a FUNCTION-level call of {@code function} may present: its own and the app's. */
    public List<String> keysOf(String function) {
      List<String> keys = new ArrayList<>(functionKeys.getOrDefault(function, Map.of()).values());
      if (key != null) keys.add(key);
      return keys;
    }
  }

  /**
   * {@code @EventHubOutput} to a twinhub route: journals {@code bodies} as messages of
   * {@code route}, in order; completes with the error text when they could not be journaled.
   */
  public interface RouteSender {
    CompletionStage<Optional<String>> send(String app, String function, String route, List<byte[]> bodies);
  }

  /** A function of a loaded app. */
  public record Target(LoadedApp loaded, FunctionDefinition function) {
    public String app() {
      return loaded.app().name();
    }
  }

  /**
   * @param eventHubs the {@code eventHubName}s an {@code @EventHubTrigger} may name: {@code messages/events} and the route names
   */
  public record Settings(Path appDir, Duration refreshInterval, Duration timeout, int threads, Duration unloadGrace,
                         Set<String> eventHubs, MemoryGuard.Settings memoryGuard) {
    public Settings(Path appDir, Duration refreshInterval, Duration timeout, int threads, Duration unloadGrace, Set<String> eventHubs) {
      this(appDir, refreshInterval, timeout, threads, unloadGrace, eventHubs, MemoryGuard.Settings.DEFAULT);
    }
  }

  private final FunctionStore store;
  private final TwinPatcher twins;
  private final RouteSender routeSender;
  private final Settings settings;
  private final Map<String, LoadedApp> apps = new ConcurrentHashMap<>();
  /** Per app, the version and settings that failed to load (not tried again until either changes). */
  private final Map<String, String> loadFailures = new ConcurrentHashMap<>();
  private final ExecutorService pool;
  private final ScheduledExecutorService scheduler;
  /** Refreshes block on Cassandra: on a thread of their own, never on a dispatcher or driver thread. */
  private final ExecutorService refresher = Executors.newSingleThreadExecutor(r -> daemon(r, "function-apps-refresh"));
  private final AtomicLong invocations = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final SecureRandom random = new SecureRandom();
  private final MemoryGuard guard;
  /** Journals the mark of a stored publication ({@link AppPublications}); a no-op without one. */
  private final java.util.function.BiFunction<String, Integer, CompletionStage<?>> announcer;
  /** Counts app loads on this node; with {@link #loadedAt}, under {@link #loads} with {@link #apps}' changes. */
  private final AtomicLong generation = new AtomicLong();
  private final Map<String, Long> loadedAt = new ConcurrentHashMap<>();
  private final Object loads = new Object();
  /** The newest version of each app the store listed at the last successful refresh (loaded or not). */
  private volatile Map<String, Integer> registry = Map.of();

  public AppHost(FunctionStore store, TwinPatcher twins, Settings settings) {
    this(store, twins, NO_ROUTES, settings, (app, version) -> CompletableFuture.completedFuture(null));
  }

  /** @param announcer journals the mark of a stored publication; the publish answers after it */
  public AppHost(FunctionStore store, TwinPatcher twins, Settings settings,
                 java.util.function.BiFunction<String, Integer, CompletionStage<?>> announcer) {
    this(store, twins, NO_ROUTES, settings, announcer);
  }

  private static final RouteSender NO_ROUTES =
      (app, fn, route, bodies) -> CompletableFuture.completedFuture(Optional.of("no route sender on this node"));

  /** @param routeSender journals {@code @EventHubOutput} messages to routes */
  public AppHost(FunctionStore store, TwinPatcher twins, RouteSender routeSender, Settings settings,
                 java.util.function.BiFunction<String, Integer, CompletionStage<?>> announcer) {
    this.announcer = announcer;
    this.store = store;
    this.twins = twins;
    this.routeSender = routeSender;
    this.settings = settings;
    AtomicInteger n = new AtomicInteger();
    this.pool = Executors.newFixedThreadPool(settings.threads(), r -> daemon(r, "function-invocation-" + n.incrementAndGet()));
    AtomicInteger s = new AtomicInteger();
    java.util.concurrent.ScheduledThreadPoolExecutor timers =
        new java.util.concurrent.ScheduledThreadPoolExecutor(2, r -> daemon(r, "function-apps-timer-" + s.incrementAndGet()));
    timers.setRemoveOnCancelPolicy(true); // one timeout per invocation, cancelled when it ends
    this.scheduler = timers;
    this.guard = new MemoryGuard(settings.memoryGuard());
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** Loads what the store holds now, then keeps refreshing. */
  public AppHost start() {
    refresh();
    long ms = settings.refreshInterval().toMillis();
    scheduler.scheduleWithFixedDelay(() -> refresher.execute(this::refresh), ms, ms, TimeUnit.MILLISECONDS);
    return this;
  }

  /** A refresh now (after a publish, delete, enable or disable), completed when the loaded apps reflect the store. */
  public CompletionStage<Void> refreshNow() {
    return CompletableFuture.runAsync(this::refresh, refresher);
  }

  /**
   * Whether this node has caught up with {@code version} of {@code app}: it has loaded it or a
   * newer one, or found that version unloadable here.
   */
  public boolean caughtUp(String app, int version) {
    LoadedApp loaded = apps.get(app);
    if (loaded != null && loaded.app().version() >= version) return true;
    Integer v = unloadable.get(app);
    return v != null && v >= version;
  }

  /** Versions that failed to load here (an app valid at publish that this node cannot load). */
  private final Map<String, Integer> unloadable = new ConcurrentHashMap<>();

  /**
   * Completes when this node has caught up with {@code version} of {@code app}
   * ({@link #caughtUp}) or a refresh found the app deleted, refreshing from the store until then,
   * every {@code retry} while the store cannot be read or lists an older version.
   */
  public CompletionStage<Void> awaitVersion(String app, int version, Duration retry) {
    if (caughtUp(app, version)) return CompletableFuture.completedFuture(null);
    return CompletableFuture.supplyAsync(this::refreshed, refresher).thenCompose(ok ->
        caughtUp(app, version) || ok && !registry.containsKey(app)
            ? CompletableFuture.<Void>completedFuture(null)
            : after(retry).thenCompose(x -> awaitVersion(app, version, retry)));
  }

  /** Brings the loaded apps to the store's newest versions and states; never throws. */
  public void refresh() {
    refreshed();
  }

  /** {@link #refresh}; false when the store could not be read. */
  private synchronized boolean refreshed() {
    try {
      var versions = store.apps().toCompletableFuture().get(30, TimeUnit.SECONDS);
      var states = store.states().toCompletableFuture().get(30, TimeUnit.SECONDS);
      Set<String> present = new java.util.HashSet<>();
      Map<String, Integer> listed = new java.util.HashMap<>();
      for (FunctionStore.AppVersion v : versions) {
        present.add(v.app());
        listed.put(v.app(), v.version());
        FunctionStore.AppState state = states.getOrDefault(v.app(), FunctionStore.AppState.NONE);
        LoadedApp current = apps.get(v.app());
        // New settings load the same version again: binding expressions (%Name%) may resolve differently.
        if (current != null && current.app().version() >= v.version() && current.app().settings().equals(state.settings())) {
          if (!current.disabled().equals(state.disabled()) || !java.util.Objects.equals(current.key(), state.key())
              || !current.functionKeys().equals(state.functionKeys())) {
            apps.put(v.app(), new LoadedApp(current.app(), state.key(), state.disabled(), state.functionKeys()));
          }
          continue;
        }
        String failedBefore = loadFailures.get(v.app());
        String attempt = v.version() + " " + state.settings();
        if (attempt.equals(failedBefore)) continue; // the same version with the same settings: it would fail again
        Optional<byte[]> jar = store.jar(v.app(), v.version()).toCompletableFuture().get(60, TimeUnit.SECONDS);
        if (jar.isEmpty()) continue;
        try {
          FunctionApp app = FunctionApp.load(v.app(), v.version(), writeJar(v.app(), v.version(), jar.get()), state.settings());
          LoadedApp old;
          synchronized (loads) {
            old = apps.put(v.app(), new LoadedApp(app, state.key(), state.disabled(), state.functionKeys()));
            loadedAt.put(v.app(), generation.incrementAndGet());
          }
          loadFailures.remove(v.app());
          log.info("Function app {} version {} loaded: {}", v.app(), v.version(), app.functions().keySet());
          if (old != null) retire(old.app());
        } catch (InvalidAppException e) {
          loadFailures.put(v.app(), attempt);
          unloadable.merge(v.app(), v.version(), Math::max);
          log.warn("Function app {} version {} cannot be loaded here: {}", v.app(), v.version(), e.getMessage());
        }
      }
      for (String name : List.copyOf(apps.keySet())) {
        if (!present.contains(name)) {
          LoadedApp gone;
          synchronized (loads) {
            gone = apps.remove(name);
            loadedAt.remove(name);
          }
          if (gone != null) retire(gone.app());
          log.info("Function app {} unloaded (deleted)", name);
        }
      }
      registry = Map.copyOf(listed);
      return true;
    } catch (Exception e) {
      log.warn("Function apps not refreshed from Cassandra: {}", e.toString());
      return false;
    }
  }

  private void retire(FunctionApp old) {
    // Invocations of the old version may still run: close its loader after they had time to end.
    scheduler.schedule(old::close, settings.unloadGrace().toMillis(), TimeUnit.MILLISECONDS);
  }

  private Path writeJar(String app, int version, byte[] jar) throws IOException {
    Files.createDirectories(settings.appDir());
    Path p = settings.appDir().resolve(app + "-" + version + ".jar");
    if (!Files.exists(p) || Files.size(p) != jar.length) {
      Path tmp = Files.createTempFile(settings.appDir(), app, ".tmp");
      Files.write(tmp, jar);
      Files.move(tmp, p, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
    return p;
  }

  /** The result of a publish: the new version and its functions. */
  public record Published(String app, int version, List<FunctionDefinition> functions) {}

  /**
   * Checks the JAR by loading it (an {@link InvalidAppException} says what is wrong), stores it as
   * the app's next version, and loads it on this node at once (other nodes within a refresh).
   */
  public CompletionStage<Published> publish(String app, byte[] jar) throws InvalidAppException {
    Path check;
    try {
      Files.createDirectories(settings.appDir());
      check = Files.createTempFile(settings.appDir(), "publish-" + app, ".jar");
      Files.write(check, jar);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write the JAR to " + settings.appDir() + ": " + e.getMessage(), e);
    }
    List<FunctionDefinition> functions;
    Map<String, String> appSettings;
    try {
      appSettings = store.settings(app).toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("the app settings could not be read: " + e.getMessage(), e);
    }
    try (FunctionApp loaded = FunctionApp.load(app, 0, check, appSettings)) {
      functions = List.copyOf(loaded.functions().values());
      List<String> problems = new ArrayList<>();
      List<String> routes = settings.eventHubs().stream().filter(n -> !n.equals(TelemetryTriggers.BUILT_IN_ENDPOINT)).sorted().toList();
      for (FunctionDefinition f : functions) {
        if (f.trigger() instanceof Trigger.EventHub e && !settings.eventHubs().contains(e.eventHubName())) {
          problems.add("function '" + f.name() + "': eventHubName '" + e.eventHubName() + "' is neither messages/events nor a route"
              + " in twinhub.routes (routes: " + routes + ")");
        }
        for (FunctionDefinition.Output o : outputs(f)) {
          if ("eventHub".equals(o.kind()) && !routes.contains(o.target())) {
            problems.add("function '" + f.name() + "': @EventHubOutput '" + o.name() + "' names eventHubName '" + o.target()
                + "', which is not a route in twinhub.routes (routes: " + routes + ")");
          }
        }
      }
      if (!problems.isEmpty()) throw new InvalidAppException(problems);
    } finally {
      try {
        Files.deleteIfExists(check);
      } catch (IOException ignored) {
        // a temp file
      }
    }
    String summary = functionsJson(functions).toString();
    return store.state(app, newKey())
        .thenCompose(s -> store.publish(app, jar, sha256(jar), summary))
        .thenCompose(version -> announce(app, version))
        .thenCompose(version -> refreshNow().thenApply(v -> new Published(app, version, functions)));
  }

  private static List<FunctionDefinition.Output> outputs(FunctionDefinition f) {
    List<FunctionDefinition.Output> out = new ArrayList<>();
    for (FunctionDefinition.Param p : f.params()) if (p instanceof FunctionDefinition.OutputParam o) out.add(o.output());
    if (f.returnOutput() != null) out.add(f.returnOutput());
    return out;
  }

  /**
   * The journal's mark of the publication ({@link AppPublications}): trigger partitions hold the
   * events after it until their worker loaded this version. Should it not be written (journal
   * unavailable), the version is stored all the same and workers load it within a refresh; only
   * the events between publication and refresh are then not guaranteed to reach it, so say so.
   */
  private CompletionStage<Integer> announce(String app, int version) {
    CompletionStage<?> written;
    try {
      written = announcer.apply(app, version);
    } catch (RuntimeException e) {
      written = CompletableFuture.failedFuture(e);
    }
    return written.handle((d, e) -> {
      if (e != null) {
        log.warn("Function app {} version {} published, but its mark not journaled ({}): workers take it at their next"
            + " refresh, and telemetry until then may reach the previous version only", app, version, e.toString());
      }
      return version;
    });
  }

  /** A new random key (a function key, 32 bytes base64url as Azure's). */
  public String newKey() {
    byte[] b = new byte[32];
    random.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  private static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The functions of an app as the management API lists them. */
  public static ArrayNode functionsJson(List<FunctionDefinition> functions) {
    ArrayNode a = JSON.createArrayNode();
    for (FunctionDefinition f : functions) {
      ObjectNode o = a.addObject();
      o.put("name", f.name());
      o.put("trigger", f.trigger().kind());
      o.put("entryPoint", f.className() + "." + f.method().getName());
      if (f.trigger() instanceof Trigger.Http h) {
        o.put("route", "api/" + h.route());
        o.put("authLevel", h.authLevel());
        ArrayNode m = o.putArray("methods");
        h.methods().forEach(m::add);
      } else if (f.trigger() instanceof Trigger.EventHub e) {
        o.put("eventHubName", e.eventHubName());
        o.put("cardinality", e.many() ? "MANY" : "ONE");
      } else if (f.trigger() instanceof Trigger.Timer t) {
        o.put("schedule", t.schedule());
      }
      List<FunctionDefinition.Output> outs = outputs(f).stream().filter(x -> !"http".equals(x.kind())).toList();
      if (!outs.isEmpty()) {
        ArrayNode a2 = o.putArray("outputs");
        for (FunctionDefinition.Output x : outs) {
          ObjectNode b = a2.addObject().put("name", x.name()).put("type", x.kind());
          if (x.target() != null) b.put("eventHubName", x.target());
        }
      }
    }
    return a;
  }

  public Map<String, LoadedApp> apps() {
    return apps;
  }

  /** Enabled functions of every loaded app whose trigger is of {@code type}. */
  public <T extends Trigger> List<Target> targets(Class<T> type, java.util.function.Predicate<T> which) {
    List<Target> out = new ArrayList<>();
    for (LoadedApp a : apps.values()) {
      for (FunctionDefinition f : a.app().functions().values()) {
        if (type.isInstance(f.trigger()) && a.enabled(f.name()) && which.test(type.cast(f.trigger()))) out.add(new Target(a, f));
      }
    }
    return out;
  }

  /** How long a timed-out invocation's thread may go on ignoring its interrupt before it is stopped ({@code Thread.stop}). */
  static final Duration STOP_GRACE = Duration.ofSeconds(5);

  /** Enabled functions of {@code type} and the app generation they belong to (see {@link #loadedAt}). */
  public record Snapshot(long generation, List<Target> targets) {}

  /** {@link #targets} of {@code type}, with the number of app loads so far, taken together. */
  public <T extends Trigger> Snapshot snapshot(Class<T> type) {
    synchronized (loads) {
      return new Snapshot(generation.get(), targets(type, x -> true));
    }
  }

  /**
   * The app generation at which {@code app}'s current version (or settings) was loaded here: a
   * function of it is newer than a {@link Snapshot} of a smaller generation; 0 when not loaded.
   */
  public long loadedAt(String app) {
    return loadedAt.getOrDefault(app, 0L);
  }

  /**
   * One invocation of {@code target}: the function on the pool (interrupted after the timeout),
   * then its outputs; recorded in the store. Never fails: a failure is a failed result.
   */
  public CompletionStage<InvocationResult> invoke(Target target, InvocationInput input) {
    String id = UUID.randomUUID().toString();
    FunctionApp app = target.loaded().app();
    String name = target.function().name();
    CompletableFuture<InvocationResult> ran = new CompletableFuture<>();
    Future<?> running;
    try {
      running = pool.submit(() -> ran.complete(guard.run(app, name, input, id)));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      return CompletableFuture.completedFuture(failed(id, name, "the functions host is stopping"));
    }
    var timeout = scheduler.schedule(() -> {
      if (ran.complete(failed(id, name, "timed out after " + settings.timeout().toSeconds() + " s"))) {
        running.cancel(true);
        // A function that ignores the interrupt would hold its pool thread for ever (16 such hangs
        // and no function runs on this node): after a grace period its thread is stopped.
        scheduler.schedule(() -> guard.stopHung(id, "stopped " + STOP_GRACE.toSeconds() + " s after its timeout: it ignored the interrupt"),
            STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
      }
    }, settings.timeout().toMillis(), TimeUnit.MILLISECONDS);
    ran.whenComplete((r, e) -> timeout.cancel(false));
    return ran.thenCompose(r -> r.succeeded() ? applyOutputs(app, r) : CompletableFuture.completedFuture(r))
        .thenApply(r -> {
          invocations.incrementAndGet();
          if (!r.succeeded()) {
            failures.incrementAndGet();
            log.info("Function {}/{} invocation {} failed: {}", app.name(), name, id, r.error());
          }
          store.record(app.name(), target.function().trigger().kind(), r).whenComplete((d, e) -> {
            if (e != null) log.debug("invocation {} not recorded: {}", id, e.toString());
          });
          return r;
        });
  }

  private CompletionStage<InvocationResult> applyOutputs(FunctionApp app, InvocationResult r) {
    CompletionStage<Optional<String>> chain = CompletableFuture.completedFuture(Optional.empty());
    for (InvocationResult.OutputValue o : r.outputs()) {
      if ("twinPatch".equals(o.binding().kind())) {
        chain = chain.thenCompose(err -> err.isPresent() ? CompletableFuture.completedFuture(err) : twins.apply(o.value(), app.json()));
      } else if ("eventHub".equals(o.binding().kind())) {
        chain = chain.thenCompose(err -> {
          if (err.isPresent()) return CompletableFuture.completedFuture(err);
          List<byte[]> bodies;
          try {
            bodies = eventBodies(o.value(), app);
          } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(Optional.of("@EventHubOutput " + o.binding().name() + ": " + e.getMessage()));
          }
          return routeSender.send(app.name(), r.function(), o.binding().target(), bodies);
        });
      }
    }
    return chain.handle((err, e) -> {
      String error = e != null ? "output failed: " + e : err.orElse(null);
      if (error == null) return r;
      List<String> logs = new ArrayList<>(r.logs());
      logs.add("ERROR " + error);
      return new InvocationResult(r.invocationId(), r.function(), false, r.durationMicros(), error, logs, r.returnValue(), r.outputs());
    });
  }

  /**
   * What an {@code @EventHubOutput} value sends, as the Azure Functions Java worker does: a
   * String or byte[] is one event; an array or a List is one event per element; anything else is
   * one event of its JSON.
   */
  static List<byte[]> eventBodies(Object value, FunctionApp app) {
    if (value instanceof byte[] b) return List.of(b);
    if (value instanceof List<?> list) {
      List<byte[]> out = new ArrayList<>(list.size());
      for (Object e : list) out.addAll(eventBodies(e, app));
      return out;
    }
    if (value != null && value.getClass().isArray()) {
      List<byte[]> out = new ArrayList<>();
      int n = java.lang.reflect.Array.getLength(value);
      for (int i = 0; i < n; i++) out.addAll(eventBodies(java.lang.reflect.Array.get(value, i), app));
      return out;
    }
    if (value instanceof String s) return List.of(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    try {
      return List.of(app.json().writeValueAsBytes(value));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException("the value cannot be written as JSON (" + e.getOriginalMessage() + ")");
    }
  }

  private static InvocationResult failed(String id, String function, String error) {
    return new InvocationResult(id, function, false, 0, error, List.of("ERROR " + error), null, List.of());
  }

  public long invocations() {
    return invocations.get();
  }

  public long failures() {
    return failures.get();
  }

  public FunctionStore store() {
    return store;
  }

  /** Schedules {@code task} after {@code delay} on the host's scheduler (retries). */
  public CompletionStage<Void> after(Duration delay) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    scheduler.schedule(() -> f.complete(null), delay.toMillis(), TimeUnit.MILLISECONDS);
    return f;
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
    refresher.shutdownNow();
    pool.shutdownNow();
    apps.values().forEach(a -> a.app().close());
    apps.clear();
  }
}
