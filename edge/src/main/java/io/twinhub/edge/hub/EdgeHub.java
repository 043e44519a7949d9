package io.twinhub.edge.hub;

import akka.util.ByteString;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.edge.EdgeSettings;
import io.twinhub.edge.agent.ModuleIdentities;
import io.twinhub.edge.mqtt.HubClient;
import io.twinhub.edge.mqtt.PacketSocket;
import io.twinhub.mqtt.codec.MqttPacket;
import io.twinhub.mqtt.codec.MqttPacket.*;
import io.twinhub.mqtt.session.DeviceTopics;
import io.twinhub.twin.auth.SasOutcome;
import io.twinhub.twin.auth.SasVerifier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * IoT Edge's edgeHub: the local MQTT 3.1.1/TLS endpoint of the device's modules. A module
 * connects with the connection string the agent gave it (its own key; edgeHub checks the token
 * against the module identity the agent created). Its outputs
 * ({@code devices/{d}/modules/{m}/messages/events/} with {@code $.on}) go through the routes of
 * {@code $edgeHub}'s desired properties to other modules' inputs
 * ({@code devices/{d}/modules/{m}/inputs/{input}/}) and to {@code $upstream}, which is the
 * {@link MessageStore} (on disk before the PUBACK) drained in order by {@link Upstream}. Twin
 * requests, desired notifications and direct methods are relayed over the module's own upstream
 * connection.
 */
public final class EdgeHub implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EdgeHub.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  public static final String MODULE_ID = "$edgeHub";
  private static final int MAX_PACKET = 256 * 1024;
  private static final int MAX_QUEUED_PER_MODULE = 10_000;
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

  private final EdgeSettings settings;
  private final ModuleIdentities identities;
  private final LeafDevices leaves;
  private final MessageStore store;
  private final Upstream upstream;
  private final SasVerifier verifier;
  private final Clock clock;
  private final SSLServerSocket server;
  private final Thread acceptor;
  private final Map<String, Session> sessions = new ConcurrentHashMap<>();
  /** Messages for a module's input while it is not connected, delivered when it subscribes. */
  private final Map<String, Deque<Map.Entry<String, ByteString>>> waiting = new ConcurrentHashMap<>();
  private final Map<String, ObjectNode> clients = new ConcurrentHashMap<>();
  private final OfflineTwins offline = new OfflineTwins();
  private final java.util.concurrent.ScheduledExecutorService resync = java.util.concurrent.Executors
      .newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "edgehub-resync");
        t.setDaemon(true);
        return t;
      });
  private volatile List<Route> routes = List.of();
  private volatile long lastDesiredVersion;
  private volatile int lastDesiredCode = 200;
  private volatile String lastDesiredDescription = "";
  private volatile boolean closed;
  private final AtomicInteger routed = new AtomicInteger();

  public EdgeHub(EdgeSettings settings, SSLContext serverTls, SSLContext hubTls, ModuleIdentities identities,
                 MessageStore store, Clock clock) throws IOException {
    this.settings = settings;
    this.identities = identities;
    this.store = store;
    this.clock = clock;
    this.verifier = new SasVerifier(List.of(settings.hostName()), clock);
    this.upstream = new Upstream(settings, hubTls, store, this::fromHub);
    this.leaves = new LeafDevices(settings.hostName(), settings.hubHttpsPort(), hubTls, settings.deviceId(),
        settings.deviceKey());
    upstream.leafKeys(leaf -> leaves.known(leaf).or(() -> leaves.keys(leaf)).map(io.twinhub.twin.auth.SymmetricKeyPair::primaryKey));
    this.server = (SSLServerSocket) serverTls.getServerSocketFactory().createServerSocket();
    server.setReuseAddress(true);
    server.setEnabledProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
    server.bind(new InetSocketAddress(InetAddress.getByName(settings.edgeHubBind()), settings.edgeHubPort()), 64);
    this.acceptor = new Thread(this::acceptLoop, "edgehub-accept");
    acceptor.setDaemon(true);
  }

  public void start() {
    acceptor.start();
    upstream.start();
    Thread twin = new Thread(this::followOwnTwin, "edgehub-twin");
    twin.setDaemon(true);
    twin.start();
    resync.scheduleWithFixedDelay(this::resyncOfflineModules, 2, 2, java.util.concurrent.TimeUnit.SECONDS);
    log.info("edgeHub listening on {} for modules of {}", server.getLocalSocketAddress(), settings.deviceId());
  }

  public InetSocketAddress localAddress() {
    return (InetSocketAddress) server.getLocalSocketAddress();
  }

  public Upstream upstream() {
    return upstream;
  }

  // ------------------------------------------------------------------ $edgeHub's twin: routes, store and forward

  /** Connects as {@code $edgeHub}, reads its desired properties on start and on every change. */
  private void followOwnTwin() {
    while (!closed) {
      try {
        upstream.subscribe(MODULE_ID, List.of("$iothub/twin/res/#", "$iothub/twin/PATCH/properties/desired/#"));
        readDesired();
        return; // later changes arrive through fromHub
      } catch (IOException e) {
        log.info("edgeHub cannot read its twin yet ({}); retrying", e.getMessage());
        sleep(Duration.ofSeconds(3));
      }
    }
  }

  private void readDesired() throws IOException {
    HubClient.TwinResponse r = HubClient.await(upstream.client(MODULE_ID).getTwin(), REQUEST_TIMEOUT);
    if (r.status() != 200 || r.body() == null) throw new IOException("twin GET answered " + r.status());
    applyDesired(r.body().path("desired"));
  }

  /** Routes and time to live from {@code $edgeHub}'s desired properties; a bad route keeps the old ones. */
  void applyDesired(JsonNode desired) {
    long version = desired.path("$version").asLong(0);
    if (version < lastDesiredVersion) return;
    lastDesiredVersion = version;
    try {
      List<Route> next = new ArrayList<>();
      desired.path("routes").fields().forEachRemaining(e -> {
        JsonNode v = e.getValue();
        next.add(Route.parse(e.getKey(), v.isTextual() ? v.textValue() : v.path("route").asText()));
      });
      routes = List.copyOf(next);
      JsonNode ttl = desired.path("storeAndForwardConfiguration").path("timeToLiveSecs");
      if (ttl.canConvertToLong()) upstream.timeToLive(Duration.ofSeconds(ttl.asLong()));
      lastDesiredCode = 200;
      lastDesiredDescription = "";
      log.info("edgeHub desired version {}: {} routes", version, next.size());
    } catch (IllegalArgumentException e) {
      lastDesiredCode = 400;
      lastDesiredDescription = e.getMessage();
      log.warn("edgeHub desired version {} not applied: {}", version, e.getMessage());
    }
    reportState();
  }

  /** {@code $edgeHub} reported: the desired version it runs and the clients connected to it. */
  private void reportState() {
    ObjectNode r = JsonNodeFactory.instance.objectNode();
    r.put("schemaVersion", "1.1");
    r.put("lastDesiredVersion", lastDesiredVersion);
    r.putObject("lastDesiredStatus").put("code", lastDesiredCode).put("description", lastDesiredDescription);
    r.set("clients", JSON.valueToTree(Map.copyOf(clients)));
    try {
      upstream.client(MODULE_ID).patchReported(r);
    } catch (IOException e) {
      // reported again with the next change once the hub is back
    }
  }

  /** Something the hub sent on the upstream connection of a module or leaf device (its client key). */
  private void fromHub(String client, Map.Entry<String, ByteString> publish) {
    String topic = publish.getKey();
    if (client.equals(Upstream.key(settings.deviceId(), MODULE_ID))) {
      if (topic.startsWith("$iothub/twin/PATCH/properties/desired/")) {
        Thread t = new Thread(() -> {
          try {
            readDesired();
          } catch (IOException e) {
            log.warn("edgeHub could not re-read its twin: {}", e.getMessage());
          }
        }, "edgehub-desired");
        t.setDaemon(true);
        t.start();
      }
      return;
    }
    Session s = sessions.get(client);
    if (s != null) s.send(Publish.qos0(topic, publish.getValue()));
  }

  // ------------------------------------------------------------------ routing

  /** Routes a module's message: to inputs now, to the store for {@code $upstream} (durable on return). */
  void route(EdgeMessage m) throws IOException {
    boolean up = false;
    for (Route r : routes) {
      if (!r.matches(m)) continue;
      if (r.sink() instanceof Route.Upstream) {
        up = true;
      } else if (r.sink() instanceof Route.ModuleInput in) {
        deliverToInput(m, in);
      }
    }
    if (up) store.append(m);
    routed.incrementAndGet();
  }

  private void deliverToInput(EdgeMessage m, Route.ModuleInput in) {
    Map<String, String> first = new LinkedHashMap<>();
    first.put("$.cdid", m.deviceId());
    if (m.moduleId() != null) first.put("$.cmid", m.moduleId());
    Map<String, String> system = new LinkedHashMap<>(m.systemProperties());
    system.remove("iothub-outputname");
    String topic = "devices/" + settings.deviceId() + "/modules/" + in.moduleId() + "/inputs/" + in.input() + "/"
        + PropertyBag.encode(first, system, m.properties());
    ByteString body = ByteString.fromArrayUnsafe(m.body());
    Session s = sessions.get(Upstream.key(settings.deviceId(), in.moduleId()));
    if (s != null && s.inputs) {
      s.sendQos1(topic, body);
    } else {
      Deque<Map.Entry<String, ByteString>> q = waiting.computeIfAbsent(in.moduleId(), k -> new ArrayDeque<>());
      synchronized (q) {
        if (q.size() >= MAX_QUEUED_PER_MODULE) q.pollFirst();
        q.addLast(Map.entry(topic, body));
      }
    }
  }

  // ------------------------------------------------------------------ module connections

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket s = server.accept();
        Thread t = new Thread(() -> new Session(s).run(), "edgehub-session-" + s.getPort());
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        if (!closed) log.warn("edgeHub accept failed: {}", e.toString());
      }
    }
  }

  /**
   * One module's or leaf device's MQTT connection to edgeHub (a thread reading it; writes are
   * serialized by the socket). {@code key} is its client id, {@code device[/module]}.
   */
  private final class Session {
    private final Socket socket;
    private PacketSocket ps;
    private String key;
    private String deviceId;
    private String moduleId;
    private DeviceTopics topics;
    private volatile boolean inputs;
    private volatile boolean followsDesired;
    private final AtomicInteger ids = new AtomicInteger();

    Session(Socket socket) {
      this.socket = socket;
    }

    void run() {
      try {
        socket.setSoTimeout(30_000);
        ps = new PacketSocket(socket, MAX_PACKET);
        if (!connect(ps.read())) return;
        socket.setSoTimeout(0);
        while (!closed) {
          MqttPacket p = ps.read();
          if (p instanceof Publish pub) onPublish(pub);
          else if (p instanceof Subscribe sub) onSubscribe(sub);
          else if (p instanceof Unsubscribe u) ps.write(PacketIdOnly.unsubAck(u.packetId()));
          else if (p.type() == MqttPacket.PINGREQ) ps.write(Empty.PINGRESP_PACKET);
          else if (p.type() == MqttPacket.DISCONNECT) break;
          // PUBACKs of what edgeHub delivered: delivery to inputs is at most once per connection
        }
      } catch (IOException | RuntimeException e) {
        if (key != null && !closed) log.debug("{} connection ended: {}", key, e.toString());
      } finally {
        if (ps != null) ps.close();
        if (key != null && sessions.remove(key, this)) {
          clients.put(key, client("Disconnected"));
          reportState();
        }
      }
    }

    private boolean connect(MqttPacket first) throws IOException {
      if (!(first instanceof Connect c)) return false;
      String cid = c.clientId();
      int slash = cid.indexOf('/');
      String dev = slash < 0 ? cid : cid.substring(0, slash);
      String mod = slash < 0 ? null : cid.substring(slash + 1);
      boolean module = dev.equals(settings.deviceId()) && mod != null;
      boolean leaf = !dev.equals(settings.deviceId()) && mod == null;
      if (!module && !leaf) {
        // The edge device itself, or a module of a leaf device: not served here.
        ps.write(new ConnAck(false, ConnectReturnCode.NOT_AUTHORIZED));
        return false;
      }
      // A module: the keys of the identity the agent made. A leaf device: the hub's answer whether
      // it is behind this gateway (its parentScopes hold our deviceScope), with its keys.
      Optional<io.twinhub.twin.auth.SymmetricKeyPair> keys = module
          ? identities.known(mod).map(ModuleIdentities.ModuleIdentity::keys)
          : leaves.keys(dev);
      SasOutcome outcome = verifier.verifyDevice(c.passwordText(), dev, mod, (d, m) ->
          d.equals(dev) && java.util.Objects.equals(m, mod) ? keys : Optional.empty());
      if (!(outcome instanceof SasOutcome.Valid)) {
        log.info("edgeHub refused {}: {}", cid, leaf && keys.isEmpty() ? "not a device behind " + settings.deviceId() : outcome);
        ps.write(new ConnAck(false, ConnectReturnCode.NOT_AUTHORIZED));
        return false;
      }
      deviceId = dev;
      moduleId = mod;
      key = Upstream.key(dev, mod);
      topics = new DeviceTopics(dev, mod);
      Session previous = sessions.put(key, this);
      if (previous != null) previous.ps.close();
      ps.write(new ConnAck(false, ConnectReturnCode.ACCEPTED));
      clients.put(key, client("Connected"));
      reportState();
      return true;
    }

    private ObjectNode client(String status) {
      ObjectNode n = JsonNodeFactory.instance.objectNode().put("status", status);
      n.put(status.equals("Connected") ? "lastConnectedTimeUtc" : "lastDisconnectedTimeUtc",
          clock.instant().truncatedTo(ChronoUnit.MILLIS).toString());
      return n;
    }

    private void onSubscribe(Subscribe s) throws IOException {
      List<Integer> granted = new ArrayList<>();
      List<String> relayed = new ArrayList<>();
      boolean wantsInputs = false;
      String inputsFilter = "devices/" + settings.deviceId() + "/modules/" + moduleId + "/inputs/#";
      for (TopicFilter f : s.filters()) {
        if (moduleId != null && f.filter().equals(inputsFilter)) {
          wantsInputs = true;
          granted.add(1);
        } else if (topics.subscription(f.filter()).isPresent()) {
          relayed.add(f.filter());
          if (f.filter().startsWith("$iothub/twin/PATCH/properties/desired/")) followsDesired = true;
          granted.add(Math.min(f.qos(), 1));
        } else {
          granted.add(SubAck.FAILURE);
        }
      }
      if (!relayed.isEmpty()) {
        try {
          upstream.subscribe(deviceId, moduleId, relayed);
        } catch (IOException e) {
          // Offline: kept, and subscribed upstream when the module's connection comes back.
        }
      }
      ps.write(new SubAck(s.packetId(), granted));
      if (wantsInputs) {
        inputs = true;
        Deque<Map.Entry<String, ByteString>> q = waiting.remove(moduleId);
        if (q != null) {
          synchronized (q) {
            for (Map.Entry<String, ByteString> e : q) sendQos1(e.getKey(), e.getValue());
          }
        }
      }
    }

    private void onPublish(Publish p) throws IOException {
      DeviceTopics.Inbound in = topics.classify(p.topic());
      if (in instanceof DeviceTopics.Telemetry t) {
        String output = t.systemProperties().get("iothub-outputname");
        route(new EdgeMessage(deviceId, moduleId, output, t.properties(), t.systemProperties(),
            p.payload().toArray(), clock.millis()));
        if (p.qos() == 1) ps.write(PacketIdOnly.pubAck(p.packetId()));
      } else if (in instanceof DeviceTopics.TwinGet g) {
        relayTwin(p, "GET", g.rid());
      } else if (in instanceof DeviceTopics.TwinPatchReported r) {
        relayTwin(p, "PATCH/properties/reported", r.rid());
      } else if (in instanceof DeviceTopics.MethodResponse m) {
        if (p.qos() == 1) ps.write(PacketIdOnly.pubAck(p.packetId()));
        try {
          upstream.clientByKey(key).answerMethod(m.status(), m.rid(), p.payload());
        } catch (IOException e) {
          log.info("method answer of {} lost: hub unreachable", key);
        }
      } else {
        log.info("edgeHub closes {}: {}", key, ((DeviceTopics.Refused) in).reason());
        ps.close();
      }
    }

    /**
     * A twin request relayed over the module's upstream connection; the answer goes back with the
     * module's rid. While the hub is unreachable, GET is answered from edgeHub's copy and a
     * reported patch is queued (and applied to the copy) for {@link #resyncOfflineModules}.
     */
    private void relayTwin(Publish p, String op, String rid) throws IOException {
      if (p.qos() == 1) ps.write(PacketIdOnly.pubAck(p.packetId()));
      boolean get = op.equals("GET");
      HubClient c = null;
      if (!offline.hasQueued(key)) { // queued patches go first, in order
        try {
          c = upstream.clientByKey(key);
        } catch (IOException e) {
          c = null;
        }
      }
      if (c == null) {
        answerOffline(get, rid, p.payload());
        return;
      }
      c.twinRequest(op, p.payload()).whenComplete((r, e) -> {
        if (e != null) {
          answerOffline(get, rid, p.payload());
          return;
        }
        if (get && r.status() == 200 && r.body() != null) offline.remember(key, r.body());
        if (!get && r.status() == 204) offline.reportedAccepted(key, p.payload());
        String topic = "$iothub/twin/res/" + r.status() + "/?$rid=" + rid + (r.version() >= 0 ? "&$version=" + r.version() : "");
        send(Publish.qos0(topic, r.body() == null ? ByteString.emptyByteString() : ByteString.fromString(r.body().toString())));
      });
    }

    private void answerOffline(boolean get, String rid, ByteString body) {
      if (get) {
        Optional<JsonNode> copy = offline.copy(key);
        send(copy.isPresent()
            ? Publish.qos0("$iothub/twin/res/200/?$rid=" + rid, ByteString.fromString(copy.get().toString()))
            : Publish.qos0("$iothub/twin/res/503/?$rid=" + rid, ByteString.emptyByteString()));
      } else if (offline.queue(key, body)) {
        send(Publish.qos0("$iothub/twin/res/204/?$rid=" + rid, ByteString.emptyByteString()));
      } else {
        send(Publish.qos0("$iothub/twin/res/400/?$rid=" + rid, ByteString.emptyByteString()));
      }
    }

    void send(Publish p) {
      if (ps != null) ps.tryWrite(p);
    }

    void sendQos1(String topic, ByteString payload) {
      int id = ids.updateAndGet(i -> i >= 65535 ? 1 : i + 1);
      send(new Publish(false, 1, false, topic, id, payload));
    }
  }

  /**
   * For each module connected here whose twin went offline: once the hub answers again, the queued
   * reported patches are sent in order, then the twin is read and a desired change made meanwhile
   * is delivered to the module as one desired patch (the difference to edgeHub's copy).
   */
  private void resyncOfflineModules() {
    // A module following its desired properties whose upstream connection dropped may have missed changes.
    sessions.forEach((module, session) -> {
      if (session.followsDesired && !upstream.isOpen(module)) offline.markStale(module);
    });
    for (String module : offline.pendingModules()) {
      Session s = sessions.get(module);
      try {
        HubClient c = upstream.clientByKey(module);
        while (true) {
          Optional<ByteString> patch = offline.nextQueued(module);
          if (patch.isEmpty()) break;
          HubClient.TwinResponse r = HubClient.await(c.patchReported(JSON.readTree(patch.get().toArrayUnsafe())), REQUEST_TIMEOUT);
          if (r.status() >= 500) throw new IOException("reported patch answered " + r.status());
          offline.dequeue(module); // 4xx: the hub refuses it for good; dropped, as IoT Edge drops it
        }
        HubClient.TwinResponse twin = HubClient.await(c.getTwin(), REQUEST_TIMEOUT);
        if (twin.status() != 200 || twin.body() == null) throw new IOException("twin GET answered " + twin.status());
        Optional<JsonNode> desiredChange = offline.resynced(module, twin.body());
        if (s != null && desiredChange.isPresent()) {
          long v = twin.body().path("desired").path("$version").asLong();
          s.send(Publish.qos0("$iothub/twin/PATCH/properties/desired/?$version=" + v,
              ByteString.fromString(desiredChange.get().toString())));
        }
        log.info("twin of {} in sync with the hub again", module);
      } catch (IOException e) {
        // still unreachable: next round
      }
    }
  }

  /** Messages routed since start. */
  public int routedCount() {
    return routed.get();
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    closed = true;
    resync.shutdownNow();
    try {
      server.close();
    } catch (IOException ignored) {
      // closing
    }
    sessions.values().forEach(s -> {
      if (s.ps != null) s.ps.close();
    });
    upstream.close();
  }
}
