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

  /** An app as loaded on this node. */
  public record LoadedApp(FunctionApp app, String key, Set<String> disabled) {
    public boolean enabled(String function) {
      return !disabled.contains(function);
    }
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
                         Set<String> eventHubs) {}

  private final FunctionStore store;
  private final TwinPatcher twins;
  private final Settings settings;
  private final Map<String, LoadedApp> apps = new ConcurrentHashMap<>();
  private final ExecutorService pool;
  private final ScheduledExecutorService scheduler;
  /** Refreshes block on Cassandra: on a thread of their own, never on a dispatcher or driver thread. */
  private final ExecutorService refresher = Executors.newSingleThreadExecutor(r -> daemon(r, "function-apps-refresh"));
  private final AtomicLong invocations = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final SecureRandom random = new SecureRandom();
  /** Journals the mark of a stored publication ({@link AppPublications}); a no-op without one. */
  private final java.util.function.BiFunction<String, Integer, CompletionStage<?>> announcer;
  /** The newest version of each app the store listed at the last successful refresh (loaded or not). */
  private volatile Map<String, Integer> registry = Map.of();

  public AppHost(FunctionStore store, TwinPatcher twins, Settings settings) {
    this(store, twins, settings, (app, version) -> CompletableFuture.completedFuture(null));
  }

  /** @param announcer journals the mark of a stored publication; the publish answers after it */
  public AppHost(FunctionStore store, TwinPatcher twins, Settings settings,
                 java.util.function.BiFunction<String, Integer, CompletionStage<?>> announcer) {
    this.announcer = announcer;
    this.store = store;
    this.twins = twins;
    this.settings = settings;
    AtomicInteger n = new AtomicInteger();
    this.pool = Executors.newFixedThreadPool(settings.threads(), r -> daemon(r, "function-invocation-" + n.incrementAndGet()));
    AtomicInteger s = new AtomicInteger();
    java.util.concurrent.ScheduledThreadPoolExecutor timers =
        new java.util.concurrent.ScheduledThreadPoolExecutor(2, r -> daemon(r, "function-apps-timer-" + s.incrementAndGet()));
    timers.setRemoveOnCancelPolicy(true); // one timeout per invocation, cancelled when it ends
    this.scheduler = timers;
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
        FunctionStore.AppState state = states.getOrDefault(v.app(), new FunctionStore.AppState(null, Set.of()));
        LoadedApp current = apps.get(v.app());
        if (current != null && current.app().version() >= v.version()) {
          if (!current.disabled().equals(state.disabled()) || !java.util.Objects.equals(current.key(), state.key())) {
            apps.put(v.app(), new LoadedApp(current.app(), state.key(), state.disabled()));
          }
          continue;
        }
        Optional<byte[]> jar = store.jar(v.app(), v.version()).toCompletableFuture().get(60, TimeUnit.SECONDS);
        if (jar.isEmpty()) continue;
        try {
          FunctionApp app = FunctionApp.load(v.app(), v.version(), writeJar(v.app(), v.version(), jar.get()));
          LoadedApp old = apps.put(v.app(), new LoadedApp(app, state.key(), state.disabled()));
          log.info("Function app {} version {} loaded: {}", v.app(), v.version(), app.functions().keySet());
          if (old != null) retire(old.app());
        } catch (InvalidAppException e) {
          unloadable.merge(v.app(), v.version(), Math::max);
          log.warn("Function app {} version {} cannot be loaded here: {}", v.app(), v.version(), e.getMessage());
        }
      }
      for (String name : List.copyOf(apps.keySet())) {
        if (!present.contains(name)) {
          LoadedApp gone = apps.remove(name);
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
    try (FunctionApp loaded = FunctionApp.load(app, 0, check)) {
      functions = List.copyOf(loaded.functions().values());
      List<String> problems = new ArrayList<>();
      for (FunctionDefinition f : functions) {
        if (f.trigger() instanceof Trigger.EventHub e && !settings.eventHubs().contains(e.eventHubName())) {
          problems.add("function '" + f.name() + "': eventHubName '" + e.eventHubName() + "' is neither messages/events nor a route"
              + " in twinhub.routes (routes: " + settings.eventHubs().stream().filter(n -> !n.equals("messages/events")).sorted().toList() + ")");
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

  private String newKey() {
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
      running = pool.submit(() -> ran.complete(app.invoke(name, input, id)));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      return CompletableFuture.completedFuture(failed(id, name, "the functions host is stopping"));
    }
    var timeout = scheduler.schedule(() -> {
      if (ran.complete(failed(id, name, "timed out after " + settings.timeout().toSeconds() + " s"))) running.cancel(true);
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
      if (!"twinPatch".equals(o.binding().kind())) continue;
      chain = chain.thenCompose(err -> err.isPresent() ? CompletableFuture.completedFuture(err) : twins.apply(o.value(), app.json()));
    }
    return chain.handle((err, e) -> {
      String error = e != null ? "output failed: " + e : err.orElse(null);
      if (error == null) return r;
      List<String> logs = new ArrayList<>(r.logs());
      logs.add("ERROR " + error);
      return new InvocationResult(r.invocationId(), r.function(), false, r.durationMicros(), error, logs, r.returnValue(), r.outputs());
    });
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
