package io.twinhub.node.configurations;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.stream.KillSwitches;
import akka.stream.Materializer;
import akka.stream.RestartSettings;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.RestartSource;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.projections.streams.ChangeFeed;
import io.twinhub.projections.streams.HubMessage;
import io.twinhub.projections.streams.JournalPosition;
import io.twinhub.projections.streams.MessageSource;
import io.twinhub.query.TwinQueries;
import io.twinhub.twin.configuration.Configuration;
import io.twinhub.twin.configuration.ConfigurationJson;
import io.twinhub.twin.configuration.ConfigurationMerge;
import io.twinhub.twin.configuration.ConfigurationPaths;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.Twin;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.error.IotHubErrorCode;
import io.twinhub.twin.service.TwinService;
import io.twinhub.twin.domain.Author;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Applies configurations continuously, as IoT Hub does (one instance in the cluster, see
 * {@link ConfigurationManager}):
 * <ul>
 *   <li>it follows the journal ({@link ChangeFeed}: twin changes and identity creations), and
 *       re-evaluates a device whenever its tags (or, for conditions that read them, its reported
 *       properties) change or it or one of its modules is created;</li>
 *   <li>when a configuration is created, deleted, or its condition or priority change, the twins
 *       it targets (and targeted before) come from the query index once, plus the devices the
 *       journal showed in the last {@code recent-window} (which the index may not hold yet);</li>
 *   <li>it keeps every configuration's metrics, recounted from the index every
 *       {@code metrics-interval}.</li>
 * </ul>
 * Content reaches twins through {@link TwinService} like any back-end write (versions,
 * {@code $metadata}, notifications), only when it changes something, guarded by the twin's etag
 * (a concurrent write makes it re-read and re-decide).
 */
public final class ConfigurationApplier {
  private static final Logger log = LoggerFactory.getLogger(ConfigurationApplier.class);
  private static final int ATTEMPTS = 4;
  private static final int PAGE = 1000;

  private final ActorSystem<?> system;
  private final TwinService twins;
  private final ConfigurationService store;
  private final TwinQueries index;
  private final ChangeFeed feed;
  private final ConfigurationSettings settings;
  private final Materializer materializer;

  private volatile List<TargetCondition> targets = List.of();
  private volatile Map<String, Configuration> known = null;
  private final Map<String, ConfigurationJson.Metrics> metrics = new ConcurrentHashMap<>();
  /** Devices the journal showed lately (id → millis), for reconciliations the index may trail. */
  private final Map<String, Long> recent = new ConcurrentHashMap<>();
  private final AtomicBoolean polling = new AtomicBoolean();
  private final AtomicBoolean counting = new AtomicBoolean();
  private final AtomicReference<String> followed = new AtomicReference<>();
  private volatile UniqueKillSwitch follower;

  public ConfigurationApplier(ActorSystem<?> system, TwinService twins, ConfigurationService store, TwinQueries index,
                              ChangeFeed feed, ConfigurationSettings settings) {
    this.system = system;
    this.twins = twins;
    this.store = store;
    this.index = index;
    this.feed = feed;
    this.settings = settings;
    this.materializer = Materializer.matFromSystem(system);
  }

  // ------------------------------------------------------------------ following the journal

  /**
   * Follows the journal while configurations exist (a hub without any reads no extra journal
   * tags), from a little before now: the devices whose tags changed just before the first
   * configuration was created are applied too, and the first {@link #poll} reconciles everything
   * older from the index. A failed stream restarts after the last message it handled.
   */
  private synchronized void follow(boolean any) {
    if (any && follower == null) start();
    if (!any && follower != null) stop();
  }

  private void start() {
    JournalPosition from = feed.at(Instant.now().minus(settings.followOverlap()));
    ChangeFeed.Scope scope = new ChangeFeed.Scope(
        EnumSet.of(MessageSource.TWIN_CHANGE_EVENTS, MessageSource.DEVICE_LIFECYCLE_EVENTS), null);
    follower = RestartSource.withBackoff(RestartSettings.create(Duration.ofSeconds(1), Duration.ofSeconds(10), 0.2),
            () -> feed.messages(Optional.ofNullable(followed.get()).flatMap(JournalPosition::parse).orElse(from), scope,
                    this::relevant)
                .mapAsyncUnordered(settings.parallelism(), m -> {
                  recent.put(m.deviceId(), System.currentTimeMillis());
                  return applyToDevice(m.deviceId()).thenApply(d -> m);
                })
                .map(m -> {
                  followed.set(m.offset());
                  return m;
                }))
        .viaMat(KillSwitches.single(), Keep.right())
        .to(Sink.ignore())
        .run(materializer);
  }

  public synchronized void stop() {
    UniqueKillSwitch k = follower;
    follower = null;
    followed.set(null);
    if (k != null) k.shutdown();
  }

  /**
   * Changes that can move a twin into or out of a target set, or bring a twin a deployment names.
   * Tag changes count whatever the conditions say: the device joins {@link #recent}, so a
   * configuration created or changed right after covers it even when the index does not show it yet.
   */
  private boolean relevant(HubMessage m) {
    List<TargetCondition> ts = targets;
    if (m.source() == MessageSource.DEVICE_LIFECYCLE_EVENTS) {
      String op = m.properties().get("opType");
      return "createDeviceIdentity".equals(op) || "createModuleIdentity".equals(op);
    }
    if (m.body() == null) return false;
    return m.body().has("tags")
        || (m.body().path("properties").has("reported") && ts.stream().anyMatch(TargetCondition::readsReported));
  }

  // ------------------------------------------------------------------ applying to one device

  /** Brings the device's twin and its module twins to what the configurations targeting them add up to. */
  public CompletionStage<Done> applyToDevice(String deviceId) {
    return applyToDevice(deviceId, 1);
  }

  private CompletionStage<Done> applyToDevice(String deviceId, int attempt) {
    List<TargetCondition> ts = targets;
    if (ts.isEmpty()) return CompletableFuture.completedFuture(Done.getInstance());
    return twins.getTwin(deviceId, null).thenCompose(reply -> {
      if (!(reply instanceof TwinReply.Accepted a)) return retry(deviceId, attempt, reply);
      Twin device = a.twin();
      ObjectNode doc = TwinJson.serviceView(device);
      List<Configuration> deployments = ConfigurationMetrics.matching(ts, Configuration.Kind.EDGE, doc);
      Map<String, ObjectNode> edge = ConfigurationMerge.edgeDesired(deployments);
      boolean moduleConfigs = ts.stream().anyMatch(t -> t.configuration().kind() == Configuration.Kind.MODULE);
      List<CompletionStage<TwinReply>> writes = new ArrayList<>();
      writes.add(write(deviceId, null, device, ConfigurationMetrics.matching(ts, Configuration.Kind.DEVICE, doc), null, List.of()));
      for (String module : a.moduleIds()) {
        if (!moduleConfigs && !edge.containsKey(module)) continue;
        writes.add(twins.getTwin(deviceId, module).thenCompose(m -> m instanceof TwinReply.Accepted ma
            ? write(deviceId, module, ma.twin(),
                ConfigurationMetrics.matching(ts, Configuration.Kind.MODULE, TwinJson.serviceView(ma.twin())), edge.get(module),
                deployments)
            : CompletableFuture.completedFuture(m)));
      }
      return CompletableFuture.allOf(writes.stream().map(CompletionStage::toCompletableFuture).toArray(CompletableFuture[]::new))
          .thenCompose(v -> {
            for (CompletionStage<TwinReply> w : writes) {
              TwinReply r = w.toCompletableFuture().join();
              if (r instanceof TwinReply.Rejected) return retry(deviceId, attempt, r);
            }
            return CompletableFuture.completedFuture(Done.getInstance());
          });
    });
  }

  /**
   * After a concurrent write (412) or an unavailable twin (503) the device is read and decided
   * again, a few times; a twin that is gone (404) needs nothing; anything else (content the twin's
   * limits refuse) is logged.
   */
  private CompletionStage<Done> retry(String deviceId, int attempt, TwinReply reply) {
    IotHubErrorCode code = ((TwinReply.Rejected) reply).error().code();
    boolean again = code == IotHubErrorCode.PreconditionFailed || code == IotHubErrorCode.ServiceUnavailable;
    if (again && attempt < ATTEMPTS) {
      Duration delay = code == IotHubErrorCode.PreconditionFailed ? Duration.ZERO : Duration.ofSeconds(attempt);
      return akka.pattern.Patterns.after(delay, system.classicSystem().scheduler(), system.executionContext(),
          () -> applyToDevice(deviceId, attempt + 1));
    }
    if (code != IotHubErrorCode.DeviceNotFound && code != IotHubErrorCode.ModuleNotFound) {
      log.warn("configuration content not applied to device {}: {}", deviceId, ((TwinReply.Rejected) reply).error().message());
    }
    return CompletableFuture.completedFuture(Done.getInstance());
  }

  private CompletionStage<TwinReply> write(String deviceId, String moduleId, Twin twin, List<Configuration> adm,
                                           ObjectNode edgeDesired, List<Configuration> deployments) {
    // The author journaled with the write: the configurations whose content it carries.
    List<Configuration> from = new ArrayList<>(edgeDesired == null ? List.of() : deployments);
    from.addAll(adm);
    Author by = Author.configuration(String.join(",", from.stream().map(Configuration::id).toList()));
    return contentWrite(twin.state().desired().values().toObjectNode(), adm, edgeDesired)
        .map(update -> twins.updateTwin(deviceId, moduleId, update, twin.etag(), by))
        .orElseGet(() -> CompletableFuture.completedFuture(new TwinReply.Accepted(twin, List.of())));
  }

  /**
   * The write that brings desired properties {@code current} to the content: for a module an IoT
   * Edge deployment names, its document replaces the desired properties (deployments own them);
   * otherwise the automatic configurations' paths are patched. Empty when nothing would change.
   */
  static Optional<TwinUpdate> contentWrite(ObjectNode current, List<Configuration> adm, ObjectNode edgeDesired) {
    if (edgeDesired != null) {
      ObjectNode target = ConfigurationMerge.desiredAfter(edgeDesired, adm);
      return target.equals(current) ? Optional.empty() : Optional.of(new TwinUpdate.ReplaceDesired(JsonDoc.of(target)));
    }
    if (adm.isEmpty()) return Optional.empty();
    ObjectNode patch = ConfigurationPaths.mergePatch(current, ConfigurationMerge.desiredAfter(current, adm));
    return patch.isEmpty() ? Optional.empty() : Optional.of(new TwinUpdate.PatchDesired(JsonDoc.of(patch)));
  }

  // ------------------------------------------------------------------ configuration changes

  /**
   * Reads the store; every configuration that is new, gone, or has a new condition or priority
   * is reconciled over the twins it targets (and targeted). The first read reconciles all.
   */
  public void poll() {
    if (!polling.compareAndSet(false, true)) return;
    long horizon = System.currentTimeMillis() - settings.recentWindow().toMillis();
    recent.values().removeIf(t -> t < horizon);
    store.list().thenCompose(list -> {
      Map<String, Configuration> before = known == null ? Map.of() : known;
      Map<String, Configuration> now = new HashMap<>();
      List<TargetCondition> compiled = new ArrayList<>();
      for (Configuration c : list) {
        now.put(c.id(), c);
        TargetCondition.Compiled cc = TargetCondition.compile(c);
        if (cc.compiled() != null) compiled.add(cc.compiled());
        else log.warn("configuration {} is not applied: {}", c.id(), cc.problem());
      }
      List<TargetCondition> oldTargets = targets;
      targets = List.copyOf(compiled);
      follow(!compiled.isEmpty());
      known = now;
      metrics.keySet().retainAll(now.keySet());
      List<CompletionStage<Done>> work = new ArrayList<>();
      for (TargetCondition t : compiled) {
        Configuration was = before.get(t.configuration().id());
        if (was == null || !was.targetCondition().equals(t.configuration().targetCondition())
            || was.priority() != t.configuration().priority()) {
          work.add(reconcile(t, find(oldTargets, t.configuration().id())));
        }
      }
      for (TargetCondition old : oldTargets) {
        if (!now.containsKey(old.configuration().id())) work.add(reconcile(null, old));
      }
      return CompletableFuture.allOf(work.stream().map(CompletionStage::toCompletableFuture).toArray(CompletableFuture[]::new));
    }).whenComplete((v, e) -> {
      polling.set(false);
      if (e != null) log.debug("configuration store not read: {}", e.toString());
    });
  }

  private static TargetCondition find(List<TargetCondition> ts, String id) {
    return ts.stream().filter(t -> t.configuration().id().equals(id)).findFirst().orElse(null);
  }

  /** Applies to every device {@code now} targets, {@code before} targeted, or the journal showed lately. */
  private CompletionStage<Done> reconcile(TargetCondition now, TargetCondition before) {
    Set<String> devices = new LinkedHashSet<>(recent.keySet());
    CompletionStage<Void> read = CompletableFuture.completedFuture(null);
    for (TargetCondition t : new TargetCondition[] {now, before}) {
      if (t == null || t.targetsNothing()) continue;
      read = read.thenCompose(v -> all(t.indexQuery("deviceId")).thenAccept(rows ->
          rows.forEach(r -> devices.add(r.path("deviceId").asText()))));
    }
    return read.thenCompose(v -> Source.from(new ArrayList<>(devices))
            .mapAsyncUnordered(settings.parallelism(), this::applyToDevice)
            .runWith(Sink.ignore(), materializer))
        .whenComplete((d, e) -> {
          if (e != null) log.warn("reconciling configuration {} failed: {}",
              (now != null ? now : before).configuration().id(), e.toString());
        });
  }

  /** Every row of {@code sql}, page by page. */
  private CompletionStage<List<ObjectNode>> all(String sql) {
    return pages(sql, null, new ArrayList<>());
  }

  private CompletionStage<List<ObjectNode>> pages(String sql, String continuation, List<ObjectNode> acc) {
    return index.query(sql, PAGE, continuation, Optional.empty()).thenCompose(r -> {
      acc.addAll(r.json());
      return r.continuationToken().map(c -> pages(sql, c, acc)).orElse(CompletableFuture.completedFuture(acc));
    });
  }

  // ------------------------------------------------------------------ metrics

  /** The last counted metrics of configuration {@code id}. */
  public ConfigurationJson.Metrics metrics(String id) {
    return metrics.getOrDefault(id, ConfigurationJson.Metrics.NONE);
  }

  /** Recounts every configuration's metrics from the index, one configuration after the other. */
  public void refreshMetrics() {
    List<TargetCondition> ts = targets;
    if (ts.isEmpty() || !counting.compareAndSet(false, true)) return;
    boolean edge = ts.stream().anyMatch(t -> t.configuration().kind() == Configuration.Kind.EDGE);
    CompletionStage<Map<String, JsonNode>> agents = edge
        ? all(ConfigurationMetrics.edgeAgentsQuery()).thenApply(rows -> {
            Map<String, JsonNode> byDevice = new HashMap<>();
            rows.forEach(r -> byDevice.put(r.path("deviceId").asText(), r));
            return byDevice;
          })
        : CompletableFuture.completedFuture(Map.of());
    agents.thenCompose(byDevice -> {
      CompletionStage<Void> chain = CompletableFuture.completedFuture(null);
      for (TargetCondition t : ts) chain = chain.thenCompose(v -> count(t, ts, byDevice));
      return chain;
    }).whenComplete((v, e) -> {
      counting.set(false);
      if (e != null) log.debug("configuration metrics not counted: {}", e.toString());
    });
  }

  private CompletionStage<Void> count(TargetCondition t, List<TargetCondition> all, Map<String, JsonNode> agents) {
    CompletionStage<List<ObjectNode>> targeted = t.targetsNothing()
        ? CompletableFuture.completedFuture(List.of()) : all(t.indexQuery("*"));
    return targeted.thenCompose(docs -> {
      Map<String, Long> system = ConfigurationMetrics.system(t, new ArrayList<>(docs), all, agents);
      Map<String, Long> custom = new ConcurrentHashMap<>();
      CompletionStage<Void> chain = CompletableFuture.completedFuture(null);
      for (Map.Entry<String, String> q : t.configuration().metricQueries().entrySet()) {
        chain = chain.thenCompose(v -> all(q.getValue())
            .thenAccept(rows -> custom.put(q.getKey(), (long) rows.size()))
            .exceptionally(e -> null)); // a query the index refuses counts nothing
      }
      return chain.thenAccept(v -> metrics.put(t.configuration().id(),
          new ConfigurationJson.Metrics(system, ConfigurationMetrics.systemQueries(t), Map.copyOf(custom))));
    });
  }
}
