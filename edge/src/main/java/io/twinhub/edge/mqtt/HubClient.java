package io.twinhub.edge.mqtt;

import akka.util.ByteString;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.mqtt.codec.MqttPacket;
import io.twinhub.mqtt.codec.MqttPacket.*;
import io.twinhub.twin.auth.SasToken;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

/**
 * One MQTT/TLS connection to the hub as a device or module identity, speaking IoT Hub's device
 * topics: telemetry (QoS 1, completes on PUBACK), twin GET and reported PATCH (completes on the
 * {@code $iothub/twin/res/} answer), desired notifications and direct methods to a listener.
 * Connection loss fails what is pending and calls {@code onClosed}; reconnecting is the owner's
 * choice (the agent and the upstream forwarder each retry with their own pacing).
 */
public final class HubClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HubClient.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  public static final String API_VERSION = "2020-09-30";
  private static final Duration KEEP_ALIVE = Duration.ofSeconds(60);

  /**
   * Where to connect and as whom. {@code key} is the edge device's: the token is device-scoped
   * ({@code sr=<host>/devices/<id>}), which the hub accepts for the device and its modules — so
   * the runtime speaks for each module without holding the module's key.
   */
  public record Target(String hostName, String connectHost, int port, SSLContext tls, String deviceId, String moduleId,
                       String key) {
    String clientId() {
      return moduleId == null ? deviceId : deviceId + "/" + moduleId;
    }
  }

  private final Target target;
  private final PacketSocket socket;
  private final AtomicInteger ids = new AtomicInteger();
  private final Map<Integer, CompletableFuture<Void>> acks = new ConcurrentHashMap<>();
  private final Map<String, CompletableFuture<TwinResponse>> twinRequests = new ConcurrentHashMap<>();
  private final BiConsumer<String, ByteString> onPublish;
  private final Runnable onClosed;
  private final Thread reader;
  private final java.util.concurrent.ScheduledExecutorService pinger;
  private volatile boolean closed;

  /** A twin response: status and body (empty for 204), with {@code $version} of a reported patch. */
  public record TwinResponse(int status, JsonNode body, long version) {}

  private HubClient(Target target, PacketSocket socket, BiConsumer<String, ByteString> onPublish, Runnable onClosed) {
    this.target = target;
    this.socket = socket;
    this.onPublish = onPublish;
    this.onClosed = onClosed;
    this.reader = new Thread(this::readLoop, "hub-client-" + target.clientId());
    this.reader.setDaemon(true);
    this.pinger = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "hub-ping-" + target.clientId());
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Connects and waits for CONNACK; publishes that are not answers go to {@code onPublish}
   * (topic, payload) on the reader thread.
   *
   * @throws IOException when the hub is unreachable or refuses the connection
   */
  public static HubClient connect(Target target, BiConsumer<String, ByteString> onPublish, Runnable onClosed)
      throws IOException {
    SSLSocket s = (SSLSocket) target.tls().getSocketFactory().createSocket();
    try {
      s.connect(new InetSocketAddress(target.connectHost(), target.port()), 10_000);
      SSLParameters p = s.getSSLParameters();
      p.setEndpointIdentificationAlgorithm("HTTPS"); // the hub's certificate must name the host we dialled
      s.setSSLParameters(p);
      s.setSoTimeout(30_000);
      PacketSocket ps = new PacketSocket(s, 1 << 20);
      String token = SasToken.signForDevice(target.hostName(), target.deviceId(), null, target.key(),
          System.currentTimeMillis() / 1000 + 3600);
      String user = target.hostName() + "/" + target.clientId() + "/?api-version=" + API_VERSION;
      ps.write(new Connect("MQTT", 4, target.clientId(), true, (int) KEEP_ALIVE.toSeconds(), null, user,
          ByteString.fromString(token)));
      MqttPacket answer = ps.read();
      if (!(answer instanceof ConnAck a) || a.returnCode() != ConnectReturnCode.ACCEPTED) {
        throw new IOException("hub refused " + target.clientId() + ": " + answer);
      }
      s.setSoTimeout(0);
      HubClient c = new HubClient(target, ps, onPublish, onClosed);
      c.reader.start();
      c.pinger.scheduleAtFixedRate(() -> c.socket.tryWrite(Empty.PINGREQ_PACKET),
          KEEP_ALIVE.toSeconds() / 2, KEEP_ALIVE.toSeconds() / 2, TimeUnit.SECONDS);
      return c;
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e instanceof IOException io ? io : new IOException(e);
    }
  }

  public Target target() {
    return target;
  }

  public boolean isOpen() {
    return !closed;
  }

  /** Subscribes and waits for SUBACK. */
  public void subscribe(List<String> filters, Duration timeout) throws IOException {
    int id = nextId();
    CompletableFuture<Void> acked = new CompletableFuture<>();
    acks.put(id, acked);
    socket.write(new Subscribe(id, filters.stream().map(f -> new TopicFilter(f, 1)).toList()));
    await(acked, timeout);
  }

  /** Publishes at QoS 1; completes when the hub acknowledged (the message is durable there). */
  public CompletableFuture<Void> publish(String topic, ByteString payload) {
    int id = nextId();
    CompletableFuture<Void> acked = new CompletableFuture<>();
    acks.put(id, acked);
    if (closed || !socket.tryWrite(new Publish(false, 1, false, topic, id, payload))) {
      acks.remove(id);
      acked.completeExceptionally(new IOException("connection to the hub is closed"));
    }
    return acked;
  }

  /** A twin request on {@code $iothub/twin/<op>/?$rid=}; completes with the hub's answer. */
  public CompletableFuture<TwinResponse> twinRequest(String operation, ByteString body) {
    String rid = Integer.toString(nextId());
    CompletableFuture<TwinResponse> answer = new CompletableFuture<>();
    twinRequests.put(rid, answer);
    // Ended from outside too (a caller's timeout): the rid is no longer waited for.
    answer.whenComplete((r, e) -> twinRequests.remove(rid, answer));
    if (closed || !socket.tryWrite(Publish.qos0("$iothub/twin/" + operation + "/?$rid=" + rid, body))) {
      twinRequests.remove(rid);
      answer.completeExceptionally(new IOException("connection to the hub is closed"));
    }
    return answer;
  }

  public CompletableFuture<TwinResponse> getTwin() {
    return twinRequest("GET", ByteString.emptyByteString());
  }

  public CompletableFuture<TwinResponse> patchReported(JsonNode patch) {
    return twinRequest("PATCH/properties/reported", ByteString.fromString(patch.toString()));
  }

  /** Answers a direct method the hub sent on {@code $iothub/methods/POST/<name>/?$rid=}. */
  public void answerMethod(int status, String rid, ByteString payload) {
    socket.tryWrite(Publish.qos0("$iothub/methods/res/" + status + "/?$rid=" + rid, payload));
  }

  private int nextId() {
    return ids.updateAndGet(i -> i >= 65535 ? 1 : i + 1);
  }

  private void readLoop() {
    try {
      while (!closed) {
        MqttPacket p = socket.read();
        if (p instanceof PacketIdOnly ack && ack.type() == MqttPacket.PUBACK) {
          CompletableFuture<Void> f = acks.remove(ack.packetId());
          if (f != null) f.complete(null);
        } else if (p instanceof SubAck s) {
          CompletableFuture<Void> f = acks.remove(s.packetId());
          if (f != null) f.complete(null);
        } else if (p instanceof Publish pub) {
          if (pub.qos() == 1) socket.tryWrite(PacketIdOnly.pubAck(pub.packetId()));
          if (pub.topic().startsWith("$iothub/twin/res/")) twinAnswer(pub);
          else onPublish.accept(pub.topic(), pub.payload());
        }
      }
    } catch (IOException | RuntimeException e) {
      if (!closed) log.info("connection of {} to the hub ended: {}", target.clientId(), e.toString());
    } finally {
      close();
    }
  }

  /** {@code $iothub/twin/res/<status>/?$rid=<rid>[&$version=<v>]}. */
  private void twinAnswer(Publish pub) {
    String rest = pub.topic().substring("$iothub/twin/res/".length());
    int slash = rest.indexOf('/');
    int status = Integer.parseInt(rest.substring(0, slash));
    Map<String, String> q = query(rest.substring(slash + 1));
    CompletableFuture<TwinResponse> f = twinRequests.remove(q.getOrDefault("$rid", ""));
    if (f == null) return;
    try {
      JsonNode body = pub.payload().isEmpty() ? null : JSON.readTree(pub.payload().toArrayUnsafe());
      f.complete(new TwinResponse(status, body, Long.parseLong(q.getOrDefault("$version", "-1"))));
    } catch (IOException e) {
      f.completeExceptionally(e);
    }
  }

  /** The parameters of {@code ?a=1&b=2} (also without '?'). */
  public static Map<String, String> query(String s) {
    Map<String, String> out = new java.util.LinkedHashMap<>();
    String q = s.startsWith("?") ? s.substring(1) : s;
    for (String pair : q.split("&")) {
      int eq = pair.indexOf('=');
      if (eq > 0) out.put(pair.substring(0, eq), pair.substring(eq + 1));
    }
    return out;
  }

  public static <T> T await(CompletableFuture<T> f, Duration timeout) throws IOException {
    try {
      return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
    } catch (TimeoutException e) {
      throw new IOException("no answer from the hub within " + timeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted");
    }
  }

  @Override
  public void close() {
    if (closed) return;
    closed = true;
    socket.tryWrite(Empty.DISCONNECT_PACKET);
    socket.close();
    pinger.shutdownNow();
    IOException gone = new IOException("connection to the hub closed");
    acks.values().forEach(f -> f.completeExceptionally(gone));
    twinRequests.values().forEach(f -> f.completeExceptionally(gone));
    acks.clear();
    twinRequests.clear();
    onClosed.run();
  }
}
