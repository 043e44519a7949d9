package io.twinhub.edge.hub;

import akka.util.ByteString;
import io.twinhub.edge.EdgeSettings;
import io.twinhub.edge.mqtt.HubClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * edgeHub's side of the hub: one MQTT connection per module (or leaf device) it speaks for, as
 * that identity — so the hub records the module's own connection properties on its telemetry —
 * signed with the edge device's key (a device-scoped token, which the hub accepts for the
 * device's modules). The forwarder thread drains the {@link MessageStore} in order: a message
 * leaves the store only when the hub has acknowledged it; while the hub is unreachable it waits
 * and retries; messages older than the time to live are dropped.
 */
public final class Upstream implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Upstream.class);
  private static final Duration RETRY = Duration.ofSeconds(2);
  private static final Duration ACK_TIMEOUT = Duration.ofSeconds(30);

  private final EdgeSettings settings;
  private final SSLContext hubTls;
  private final MessageStore store;
  private final Map<String, HubClient> clients = new ConcurrentHashMap<>();
  /** Per module: the twin/method filters its local session subscribed, re-subscribed upstream on reconnect. */
  private final Map<String, Set<String>> filters = new ConcurrentHashMap<>();
  private final BiConsumer<String, Map.Entry<String, ByteString>> fromHub;
  private final Thread forwarder;
  private volatile Function<String, Optional<String>> leafKeys = leaf -> Optional.empty();
  private volatile long timeToLiveMillis = Duration.ofHours(2).toMillis();
  private volatile boolean closed;
  private volatile long forwarded;
  private volatile long expired;

  /** @param fromHub (client key {@code device[/module]}, (topic, payload)): desired patches and method requests the hub sends a module or leaf device */
  public Upstream(EdgeSettings settings, SSLContext hubTls, MessageStore store,
                  BiConsumer<String, Map.Entry<String, ByteString>> fromHub) {
    this.settings = settings;
    this.hubTls = hubTls;
    this.store = store;
    this.fromHub = fromHub;
    this.forwarder = new Thread(this::forwardLoop, "edgehub-upstream");
    this.forwarder.setDaemon(true);
  }

  public void start() {
    forwarder.start();
  }

  /** {@code storeAndForwardConfiguration.timeToLiveSecs} from {@code $edgeHub}'s desired properties. */
  public void timeToLive(Duration ttl) {
    timeToLiveMillis = ttl.toMillis();
  }

  /**
   * Leaf devices: the key edgeHub signs a leaf device's own connection with (as that device; the
   * edge device's key covers only the edge device and its modules).
   */
  public void leafKeys(Function<String, Optional<String>> leafKeys) {
    this.leafKeys = leafKeys;
  }

  /** The connection of {@code moduleId} of the edge device (null: the device itself), connecting when there is none. */
  public HubClient client(String moduleId) throws IOException {
    return client(settings.deviceId(), moduleId);
  }

  /** The connection of a module of the edge device or of a leaf device ({@code moduleId} null), connecting when there is none. */
  public HubClient client(String deviceId, String moduleId) throws IOException {
    String key = key(deviceId, moduleId);
    synchronized (clients) {
      HubClient c = clients.get(key);
      if (c != null && c.isOpen()) return c;
      String signingKey = deviceId.equals(settings.deviceId()) ? settings.deviceKey()
          : leafKeys.apply(deviceId).orElseThrow(() -> new IOException("no key for leaf device " + deviceId));
      HubClient.Target target = new HubClient.Target(settings.hostName(), settings.hostName(), settings.hubMqttPort(),
          hubTls, deviceId, moduleId, signingKey);
      HubClient[] self = new HubClient[1];
      c = HubClient.connect(target, (topic, payload) -> fromHub.accept(key, Map.entry(topic, payload)),
          () -> clients.remove(key, self[0]));
      self[0] = c;
      Set<String> wanted = filters.get(key);
      if (wanted != null && !wanted.isEmpty()) c.subscribe(List.copyOf(wanted), ACK_TIMEOUT);
      clients.put(key, c);
      return c;
    }
  }

  /** The connection of the client {@code key} ({@link #key}). */
  public HubClient clientByKey(String key) throws IOException {
    int slash = key.indexOf('/');
    return slash < 0 ? client(key, null) : client(key.substring(0, slash), key.substring(slash + 1));
  }

  /** What connections, filters and {@code fromHub} are keyed by: the MQTT client id, {@code device[/module]}. */
  public static String key(String deviceId, String moduleId) {
    return moduleId == null ? deviceId : deviceId + "/" + moduleId;
  }

  /** Subscribes {@code moduleId}'s upstream connection to twin/method topics (kept across reconnects). */
  public void subscribe(String moduleId, List<String> topicFilters) throws IOException {
    subscribe(settings.deviceId(), moduleId, topicFilters);
  }

  /** As above, for a module of the edge device or a leaf device. */
  public void subscribe(String deviceId, String moduleId, List<String> topicFilters) throws IOException {
    filters.computeIfAbsent(key(deviceId, moduleId), k -> ConcurrentHashMap.newKeySet()).addAll(topicFilters);
    client(deviceId, moduleId).subscribe(topicFilters, ACK_TIMEOUT);
  }

  /** Whether the connection of the client {@code key} to the hub is up right now. */
  public boolean isOpen(String key) {
    HubClient c = clients.get(key);
    return c != null && c.isOpen();
  }

  /** Whether some connection to the hub is up right now. */
  public boolean connected() {
    return clients.values().stream().anyMatch(HubClient::isOpen);
  }

  private void forwardLoop() {
    while (!closed) {
      try {
        Optional<MessageStore.Stored> next = store.next(1000);
        if (next.isEmpty()) continue;
        EdgeMessage m = next.get().message();
        if (System.currentTimeMillis() - m.enqueuedMillis() > timeToLiveMillis) {
          expired++;
          store.acknowledge(next.get().next());
          continue;
        }
        try {
          HubClient c = client(m.deviceId(), m.moduleId());
          HubClient.await(c.publish(telemetryTopic(m), ByteString.fromArrayUnsafe(m.body())), ACK_TIMEOUT);
          store.acknowledge(next.get().next());
          forwarded++;
        } catch (IOException e) {
          store.rewind();
          if (!closed) {
            log.info("upstream unavailable ({}); {} messages stored, retrying in {}", e.getMessage(), store.pending(), RETRY);
            Thread.sleep(RETRY.toMillis());
          }
        }
      } catch (InterruptedException e) {
        return;
      } catch (IOException | RuntimeException e) {
        if (!closed) log.warn("store and forward: {}", e.toString());
      }
    }
  }

  /** The module's telemetry topic with the message's system and application properties (output name as {@code $.on}). */
  static String telemetryTopic(EdgeMessage m) {
    String base = "devices/" + m.deviceId() + (m.moduleId() == null ? "" : "/modules/" + m.moduleId()) + "/messages/events/";
    Map<String, String> first = new LinkedHashMap<>();
    if (m.outputName() != null) first.put("$.on", m.outputName());
    return base + PropertyBag.encode(first, m.systemProperties(), m.properties());
  }

  public long forwarded() {
    return forwarded;
  }

  public long expired() {
    return expired;
  }

  @Override
  public void close() {
    closed = true;
    forwarder.interrupt();
    clients.values().forEach(HubClient::close);
  }
}
