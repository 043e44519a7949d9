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
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
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
 *
 * <p>What edgeHub acknowledged survives a kill of the runtime: a message is appended to the queue
 * of every endpoint its routes name ({@code $upstream}, or one {@link DurableQueue} per module input,
 * {@code input~<module>~<input>.log}) and forced to disk before the PUBACK (group commit: one
 * force covers what every connection appended while the previous one ran); a module input's queue is delivered in order with
 * QoS 1 and advances on the module's PUBACK; reported patches queued offline are on disk too
 * ({@link OfflineTwins}); the routes and time to live last read from {@code $edgeHub}'s twin are
 * kept in {@code edgehub-desired.json}, so a restart while the hub is unreachable routes as before.
 */
public final class EdgeHub implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EdgeHub.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  public static final String MODULE_ID = "$edgeHub";
  private static final int MAX_PACKET = 256 * 1024;
  /** QoS 1 messages delivered to one module input and not yet acknowledged by the module. */
  private static final int INPUT_WINDOW = 100;
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
  /** A relayed twin request that waited longer than this for its upstream connection is logged. */
  private static final Duration SLOW_RELAY = Duration.ofSeconds(5);
  /** How long a relayed twin request waits for the hub's answer ({@link TwinRelay}). */
  private final Duration twinRequestTimeout = TwinRelay.DEFAULT_TIMEOUT;

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
  private final Path storeDir;
  /** Per module input ({@code module + "/" + input}): its queue and delivery. */
  private final Map<String, InputEndpoint> inputEndpoints = new ConcurrentHashMap<>();
  private final Map<String, ObjectNode> clients = new ConcurrentHashMap<>();
  private final OfflineTwins offline;
  private volatile long timeToLiveMillis = Duration.ofHours(2).toMillis();
  /** Whether the routes came from the hub (not only from {@code edgehub-desired.json}). */
  private volatile boolean desiredFromHub;
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
  /**
   * Group commit: the queues appended to and the PUBACKs owed, of every module connection, taken
   * by {@link #commitLoop} — one force covers everything appended while the previous one ran, and
   * the sessions keep reading meanwhile.
   */
  private final Object commitLock = new Object();
  private Set<DurableQueue<?>> toSync = new HashSet<>();
  /** PUBACKs owed and, behind them, the twin answers that must follow them (MQTT's order). */
  private List<Map.Entry<Session, MqttPacket>> toAck = new ArrayList<>();
  private final Thread committer = new Thread(this::commitLoop, "edgehub-commit");

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
    this.storeDir = settings.dataDir().resolve("store");
    this.offline = new OfflineTwins(storeDir);
    openInputEndpoints();
    loadDesired();
    this.server = (SSLServerSocket) serverTls.getServerSocketFactory().createServerSocket();
    server.setReuseAddress(true);
    server.setEnabledProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
    server.bind(new InetSocketAddress(InetAddress.getByName(settings.edgeHubBind()), settings.edgeHubPort()), 64);
    this.acceptor = new Thread(this::acceptLoop, "edgehub-accept");
    acceptor.setDaemon(true);
  }

  public void start() {
    committer.setDaemon(true);
    committer.start();
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
    if (desiredFromHub && version < lastDesiredVersion) return;
    desiredFromHub = true;
    if (applyRoutes(desired)) saveDesired(desired);
    reportState();
  }

  /** Routes and time to live of {@code desired}; false (old ones kept) when a route is bad. */
  private boolean applyRoutes(JsonNode desired) {
    long version = desired.path("$version").asLong(0);
    lastDesiredVersion = version;
    try {
      List<Route> next = new ArrayList<>();
      desired.path("routes").fields().forEachRemaining(e -> {
        JsonNode v = e.getValue();
        next.add(Route.parse(e.getKey(), v.isTextual() ? v.textValue() : v.path("route").asText()));
      });
      routes = List.copyOf(next);
      JsonNode ttl = desired.path("storeAndForwardConfiguration").path("timeToLiveSecs");
      if (ttl.canConvertToLong()) {
        Duration d = Duration.ofSeconds(ttl.asLong());
        upstream.timeToLive(d);
        offline.timeToLive(d);
        timeToLiveMillis = d.toMillis();
      }
      lastDesiredCode = 200;
      lastDesiredDescription = "";
      log.info("edgeHub desired version {}: {} routes", version, next.size());
      return true;
    } catch (IllegalArgumentException e) {
      lastDesiredCode = 400;
      lastDesiredDescription = e.getMessage();
      log.warn("edgeHub desired version {} not applied: {}", version, e.getMessage());
      return false;
    }
  }

  private Path desiredFile() {
    return storeDir.resolve("edgehub-desired.json");
  }

  /** The routes last read from the hub, so that a restart while it is unreachable routes at once. */
  private void loadDesired() {
    Path f = desiredFile();
    if (!Files.exists(f)) return;
    try {
      applyRoutes(JSON.readTree(f.toFile()));
    } catch (IOException e) {
      log.warn("edgeHub could not read {}: {}", f, e.toString());
    }
  }

  private void saveDesired(JsonNode desired) {
    try {
      Path tmp = storeDir.resolve("edgehub-desired.json.tmp");
      Files.write(tmp, JSON.writeValueAsBytes(desired));
      Files.move(tmp, desiredFile(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      log.warn("edgeHub could not keep its desired properties: {}", e.toString());
    }
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
    if (topic.startsWith("$iothub/twin/PATCH/properties/desired/")) offline.desiredPatched(client, publish.getValue());
    Session s = sessions.get(client);
    if (s != null) s.send(Publish.qos0(topic, publish.getValue()));
  }

  // ------------------------------------------------------------------ routing

  /** Routes a message to the queues of its endpoints, durable on return. */
  void route(EdgeMessage m) throws IOException {
    Set<DurableQueue<?>> dirty = new HashSet<>();
    route(m, dirty);
    for (DurableQueue<?> q : dirty) q.sync();
  }

  /**
   * Routes a message: appended to the queue of every endpoint its routes name — {@code $upstream}
   * or a module input — not yet forced: the caller syncs {@code dirty} before acknowledging.
   */
  void route(EdgeMessage m, Set<DurableQueue<?>> dirty) throws IOException {
    boolean up = false;
    for (Route r : routes) {
      if (!r.matches(m)) continue;
      if (r.sink() instanceof Route.Upstream) {
        up = true;
      } else if (r.sink() instanceof Route.ModuleInput in) {
        InputEndpoint e = inputEndpoint(in.moduleId(), in.input());
        e.queue.appendUnsynced(m);
        dirty.add(e.queue);
      }
    }
    if (up) {
      store.queue().appendUnsynced(m);
      dirty.add(store.queue());
    }
    routed.incrementAndGet();
  }

  /** Hands what a session appended (and the PUBACK it owes, if any) to the committer. */
  private void toCommit(Set<DurableQueue<?>> dirty, Session s, int pubAckId) {
    synchronized (commitLock) {
      toSync.addAll(dirty);
      if (pubAckId > 0) toAck.add(Map.entry(s, PacketIdOnly.pubAck(pubAckId)));
      commitLock.notifyAll();
    }
    dirty.clear();
  }

  /**
   * Writes {@code p} to {@code s} behind every PUBACK it is owed so far: a twin answer does not
   * overtake the PUBACK of its request (still waiting for a force of the queues when the hub
   * answers fast), the order IoT Hub answers in. (The Java device SDK 2.5.0 does not depend on
   * it; the answers it lost in EdgeGatewayIT were its own race, Azure/azure-iot-sdk-java#1803.)
   */
  private void afterOwedAcks(Session s, MqttPacket p) {
    synchronized (commitLock) {
      toAck.add(Map.entry(s, p));
      commitLock.notifyAll();
    }
  }

  /** Forces the queues appended to, then sends the PUBACKs owed for them (and the answers behind them), in order. */
  private void commitLoop() {
    while (!closed) {
      Set<DurableQueue<?>> queues;
      List<Map.Entry<Session, MqttPacket>> acks;
      synchronized (commitLock) {
        while (toSync.isEmpty() && toAck.isEmpty() && !closed) {
          try {
            commitLock.wait(1000);
          } catch (InterruptedException e) {
            return;
          }
        }
        queues = toSync;
        acks = toAck;
        toSync = new HashSet<>();
        toAck = new ArrayList<>();
      }
      try {
        for (DurableQueue<?> q : queues) q.sync();
      } catch (IOException e) {
        if (closed) return;
        // Not on disk: no PUBACK; the modules' connections are closed so that they send again.
        log.warn("store and forward: force failed ({}); closing the connections that wait for it", e.toString());
        acks.forEach(a -> a.getKey().ps.close());
        continue;
      }
      for (Map.Entry<Session, MqttPacket> a : acks) a.getKey().ps.tryWrite(a.getValue());
    }
  }

  /** The topic edgeHub delivers {@code m} on to {@code module}'s {@code input}. */
  private String inputTopic(EdgeMessage m, String module, String input) {
    Map<String, String> first = new LinkedHashMap<>();
    first.put("$.cdid", m.deviceId());
    if (m.moduleId() != null) first.put("$.cmid", m.moduleId());
    Map<String, String> system = new LinkedHashMap<>(m.systemProperties());
    system.remove("iothub-outputname");
    return "devices/" + settings.deviceId() + "/modules/" + module + "/inputs/" + input + "/"
        + PropertyBag.encode(first, system, m.properties());
  }

  private static final String INPUT_PREFIX = "input~";

  private InputEndpoint inputEndpoint(String module, String input) throws IOException {
    String key = module + "/" + input;
    InputEndpoint e = inputEndpoints.get(key);
    if (e != null) return e;
    synchronized (inputEndpoints) {
      e = inputEndpoints.get(key);
      if (e == null) {
        e = new InputEndpoint(module, input);
        inputEndpoints.put(key, e);
        e.pump.start();
      }
      return e;
    }
  }

  /** The module input queues left on disk by an earlier run: their messages are delivered when the modules subscribe. */
  private void openInputEndpoints() throws IOException {
    Files.createDirectories(storeDir);
    try (var files = Files.list(storeDir)) {
      for (Path f : files.toList()) {
        String n = f.getFileName().toString();
        if (!n.startsWith(INPUT_PREFIX) || !n.endsWith(".log")) continue;
        String[] parts = n.substring(INPUT_PREFIX.length(), n.length() - 4).split("~", -1);
        if (parts.length != 2) continue;
        inputEndpoint(URLDecoder.decode(parts[0], StandardCharsets.UTF_8), URLDecoder.decode(parts[1], StandardCharsets.UTF_8));
      }
    }
  }

  /**
   * One module input (IoT Edge's endpoint {@code BrokeredEndpoint("/modules/m/inputs/i")}): its
   * queue on disk and a thread delivering it in order, with QoS 1, to the module's connection while
   * the module is subscribed to its inputs — up to {@link #INPUT_WINDOW} unacknowledged. The
   * queue advances only over a prefix the module has acknowledged; a new connection of the
   * module gets everything unacknowledged again (at least once). Messages older than the time to
   * live are dropped.
   */
  private final class InputEndpoint {
    final String module;
    final String input;
    final DurableQueue<EdgeMessage> queue;
    final Thread pump;
    /** Delivered to {@link #target} in order: packet id, where the queue continues after it, acknowledged yet. */
    private final Deque<long[]> inFlight = new ArrayDeque<>();
    private Session target;

    InputEndpoint(String module, String input) throws IOException {
      this.module = module;
      this.input = input;
      this.queue = new DurableQueue<>(storeDir, INPUT_PREFIX + URLEncoder.encode(module, StandardCharsets.UTF_8) + "~"
          + URLEncoder.encode(input, StandardCharsets.UTF_8), EdgeMessage.class);
      this.pump = new Thread(this::deliver, "edgehub-input-" + module + "-" + input);
      pump.setDaemon(true);
    }

    private void deliver() {
      while (!closed) {
        try {
          Session s = sessions.get(Upstream.key(settings.deviceId(), module));
          if (s == null || !s.inputs) {
            Thread.sleep(50);
            continue;
          }
          synchronized (this) {
            if (s != target) { // a new connection: everything not acknowledged goes again
              target = s;
              inFlight.clear();
              queue.rewind();
            }
            if (inFlight.size() >= INPUT_WINDOW) {
              wait(200);
              continue;
            }
          }
          Optional<DurableQueue.Entry<EdgeMessage>> e = queue.next(200);
          if (e.isEmpty()) continue;
          EdgeMessage m = e.get().value();
          boolean expired = System.currentTimeMillis() - m.enqueuedMillis() > timeToLiveMillis;
          int id = expired ? 0 : s.nextPacketId();
          synchronized (this) {
            if (s != target) continue; // the queue was rewound for the new connection
            inFlight.addLast(new long[] {id, e.get().next(), expired ? 1 : 0});
            if (expired) acknowledgePrefix();
            else s.awaiting.put(id, this);
          }
          if (!expired) {
            s.send(new Publish(false, 1, false, inputTopic(m, module, input), id, ByteString.fromArrayUnsafe(m.body())));
          }
        } catch (InterruptedException e) {
          return;
        } catch (IOException | RuntimeException e) {
          if (!closed) log.warn("delivery to {}/{}: {}", module, input, e.toString());
        }
      }
    }

    /** The module acknowledged packet {@code id} on connection {@code s}. */
    synchronized void acknowledged(Session s, int id) throws IOException {
      if (s != target) return;
      for (long[] f : inFlight) {
        if (f[0] == id && f[2] == 0) {
          f[2] = 1;
          break;
        }
      }
      acknowledgePrefix();
    }

    private void acknowledgePrefix() throws IOException {
      while (!inFlight.isEmpty() && inFlight.peekFirst()[2] == 1) queue.acknowledge(inFlight.pollFirst()[1]);
      notifyAll();
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
    /** Packet ids of input messages delivered here and not yet acknowledged. */
    final Map<Integer, InputEndpoint> awaiting = new ConcurrentHashMap<>();
    /** The queues the current publish was appended to (handed to the committer). */
    private final Set<DurableQueue<?>> dirty = new HashSet<>();

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
          else if (p instanceof PacketIdOnly ack && ack.type() == MqttPacket.PUBACK) onPubAck(ack.packetId());
          else if (p instanceof Subscribe sub) onSubscribe(sub);
          else if (p instanceof Unsubscribe u) ps.write(PacketIdOnly.unsubAck(u.packetId()));
          else if (p.type() == MqttPacket.PINGREQ) ps.write(Empty.PINGRESP_PACKET);
          else if (p.type() == MqttPacket.DISCONNECT) break;
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
      if (wantsInputs) inputs = true; // the input endpoints' pumps deliver to this connection now
    }

    private void onPubAck(int id) throws IOException {
      InputEndpoint e = awaiting.remove(id);
      if (e != null) e.acknowledged(this, id);
    }

    int nextPacketId() {
      return ids.updateAndGet(i -> i >= 65535 ? 1 : i + 1);
    }

    private void onPublish(Publish p) throws IOException {
      DeviceTopics.Inbound in = topics.classify(p.topic());
      if (in instanceof DeviceTopics.Telemetry t) {
        String output = t.systemProperties().get("iothub-outputname");
        route(new EdgeMessage(deviceId, moduleId, output, t.properties(), t.systemProperties(),
            p.payload().toArray(), clock.millis()), dirty);
        toCommit(dirty, this, p.qos() == 1 ? p.packetId() : 0);
      } else if (in instanceof DeviceTopics.TwinGet g) {
        relayTwin(p, "GET", g.rid());
      } else if (in instanceof DeviceTopics.TwinPatchReported r) {
        relayTwin(p, "PATCH/properties/reported", r.rid());
      } else if (in instanceof DeviceTopics.MethodResponse m) {
        if (p.qos() == 1) toCommit(dirty, this, p.packetId()); // PUBACKs in the order of the PUBLISHes
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
      long started = System.nanoTime();
      if (p.qos() == 1) toCommit(dirty, this, p.packetId()); // behind the telemetry PUBACKs owed: MQTT's order
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
      HubClient upstreamClient = c;
      String what = "twin " + op + " of " + key + " (rid " + rid + ")";
      long waited = Duration.ofNanos(System.nanoTime() - started).toMillis();
      if (waited > SLOW_RELAY.toMillis()) log.warn("edgeHub: {} waited {} ms before it went upstream", what, waited);
      CompletableFuture<HubClient.TwinResponse> relayed = TwinRelay.relay(op, () -> upstreamClient.twinRequest(op, p.payload()),
          twinRequestTimeout, what);
      relayed.handle((r, e) -> {
        if (e != null) {
          answerOffline(get, rid, p.payload());
          return null;
        }
        if (get && r.status() == 200 && r.body() != null) offline.remember(key, r.body());
        if (!get && r.status() == 204) offline.reportedAccepted(key, p.payload(), r.version());
        String topic = "$iothub/twin/res/" + r.status() + "/?$rid=" + rid + (r.version() >= 0 ? "&$version=" + r.version() : "");
        answer(Publish.qos0(topic, r.body() == null ? ByteString.emptyByteString() : ByteString.fromString(r.body().toString())));
        return null;
      }).whenComplete((x, failed) -> {
        // An exception in the answer's callback would otherwise vanish with the module left waiting.
        if (failed != null) log.warn("edgeHub: {} not answered: {}", what, failed.toString());
      });
    }

    private void answerOffline(boolean get, String rid, ByteString body) {
      if (get) {
        Optional<JsonNode> copy = offline.copy(key);
        answer(copy.isPresent()
            ? Publish.qos0("$iothub/twin/res/200/?$rid=" + rid, ByteString.fromString(copy.get().toString()))
            : Publish.qos0("$iothub/twin/res/503/?$rid=" + rid, ByteString.emptyByteString()));
      } else if (offline.queue(key, body)) {
        answer(Publish.qos0("$iothub/twin/res/204/?$rid=" + rid, ByteString.emptyByteString()));
      } else {
        answer(Publish.qos0("$iothub/twin/res/400/?$rid=" + rid, ByteString.emptyByteString()));
      }
    }

    /** A twin answer: behind the PUBACK of its request (and every other one owed), never before. */
    private void answer(Publish p) {
      afterOwedAcks(this, p);
    }

    void send(Publish p) {
      if (ps != null) ps.tryWrite(p);
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
    committer.interrupt();
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
    for (InputEndpoint e : inputEndpoints.values()) {
      e.pump.interrupt();
      try {
        e.queue.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
    offline.close();
  }
}
