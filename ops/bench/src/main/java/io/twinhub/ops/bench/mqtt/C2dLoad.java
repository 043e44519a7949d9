package io.twinhub.ops.bench.mqtt;

import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.twinhub.ops.bench.BenchOptions;
import io.twinhub.ops.bench.BenchTarget;
import io.twinhub.ops.bench.SasTokens;
import io.twinhub.ops.bench.amqp.AmqpServiceClient;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The {@code c2d} workload's load: devices {@code c2d-bench-0..N-1} connected over MQTT (node 1,
 * subscribed to their devicebound topic; the load client PUBACKs every QoS 1 PUBLISH as it reads
 * it) and back-end AMQPS connections ({@link AmqpServiceClient}, round robin over the nodes' AMQP
 * ports). One operation: a C2D message to a random device, done when the hub accepted it (journaled
 * in the device's queue) and the device read it and sent its PUBACK.
 */
public final class C2dLoad implements AutoCloseable {

  private final MqttLoadClient mqtt;
  private final NioEventLoopGroup amqpGroup;
  private final List<AmqpServiceClient> senders = new ArrayList<>();
  private final List<String> devices = new ArrayList<>();
  private final ConcurrentHashMap<String, CompletableFuture<Void>> awaiting = new ConcurrentHashMap<>();
  private final Map<String, Long> refusals = new ConcurrentHashMap<>();
  private final LongAdder lost = new LongAdder();
  private final AtomicLong seq = new AtomicLong();
  private final String run = Long.toHexString(System.nanoTime());
  private final byte[] body;
  private List<MqttLoadClient.Device> connected = List.of();

  private C2dLoad(MqttBench.Options o) throws Exception {
    this.mqtt = MqttBench.client(o);
    this.amqpGroup = new NioEventLoopGroup(1, r -> {
      Thread t = new Thread(r, "amqp-load");
      t.setDaemon(true);
      return t;
    });
    this.body = new byte[o.payloadBytes()];
    java.util.Arrays.fill(body, (byte) 'c');
  }

  /** The MQTT options of the c2d workload: {@code --devices} 1000 and prefix {@code c2d-bench-} unless given. */
  static MqttBench.Options options(BenchOptions b, BenchTarget t) {
    Map<String, String> extra = new HashMap<>(b.extra());
    extra.putIfAbsent("devices", "1000");
    extra.putIfAbsent("prefix", "c2d-bench-");
    BenchOptions c = new BenchOptions(b.workload(), b.duration(), b.warmup(), b.count(), b.concurrency(), b.twins(),
        b.queryTwins(), b.nodes(), b.urls(), b.connectionString(), b.ca(), b.cassandra(), b.pids(), b.nodeJavaOpts(),
        b.jfr(), b.jfrWorkload(), b.idle(), b.seedCalls(), Map.copyOf(extra));
    return MqttBench.options(c, t);
  }

  /** Creates and connects the devices, opens {@code --amqp-connections} senders. */
  public static C2dLoad start(BenchOptions b, BenchTarget t) throws Exception {
    MqttBench.Options o = options(b, t);
    int connections = Integer.parseInt(b.extra().getOrDefault("amqp-connections", "4"));
    C2dLoad load = new C2dLoad(o);
    try {
      load.connect(o, t, connections);
      return load;
    } catch (Exception e) {
      load.close();
      throw e;
    }
  }

  private void connect(MqttBench.Options o, BenchTarget t, int connections) throws Exception {
    MqttBench.setupIfAsked(o);
    MqttLoadClient.Listener listener = new MqttLoadClient.Listener() {
      @Override
      public void onPublish(MqttLoadClient.Device d, MqttWire.Publish p, long nanos) {
        String mid = messageId(p.topic());
        CompletableFuture<Void> f = mid == null ? null : awaiting.remove(mid);
        if (f != null) f.complete(null);
      }
    };
    MqttBench.Connected c = MqttBench.connectAll(o, mqtt, o.devices(), o.connectRate(), o.connectInflight(),
        id -> List.of("devices/" + id + "/messages/devicebound/#"), listener);
    connected = c.devices();
    for (MqttLoadClient.Device d : connected) if (d.isOpen()) devices.add(d.clientId);
    System.out.printf(Locale.ROOT, "bench: c2d: %d of %d devices connected and subscribed to their devicebound topic%n",
        devices.size(), o.devices());
    if (devices.isEmpty()) throw new IllegalStateException("no device connected");
    SslContext ssl = SslContextBuilder.forClient().sslProvider(SslProvider.JDK).trustManager(o.ca().toFile())
        .protocols("TLSv1.3", "TLSv1.2").build();
    String token = SasTokens.sign(o.host(), o.key(), o.keyName(), System.currentTimeMillis() / 1000 + 6 * 3600);
    for (int i = 0; i < connections; i++) {
      BenchTarget.Node node = t.nodes().get(i % t.nodes().size());
      senders.add(AmqpServiceClient.connect(amqpGroup, ssl, node.mqttHost(), node.amqpPort(), o.host(), token)
          .get(90, TimeUnit.SECONDS));
    }
    System.out.printf(Locale.ROOT, "bench: c2d: %d AMQPS connections over %d node(s)%n", senders.size(), t.nodes().size());
  }

  /** {@code %24.mid=<id>&...} in a devicebound topic's property bag. */
  static String messageId(String topic) {
    int at = topic.indexOf("%24.mid=");
    if (at < 0) return null;
    int from = at + "%24.mid=".length();
    int end = topic.indexOf('&', from);
    return topic.substring(from, end < 0 ? topic.length() : end);
  }

  /** One C2D message to a random connected device: true once accepted and PUBACKed. */
  public CompletionStage<Boolean> send(long i) {
    String device = devices.get(ThreadLocalRandom.current().nextInt(devices.size()));
    String mid = run + "-" + seq.incrementAndGet();
    CompletableFuture<Void> arrived = new CompletableFuture<>();
    awaiting.put(mid, arrived);
    return senders.get((int) (i % senders.size())).send(device, mid, body).thenCompose(outcome -> {
      if (!outcome.accepted()) {
        awaiting.remove(mid);
        refusals.merge(outcome.condition() + " " + outcome.description(), 1L, Long::sum);
        return CompletableFuture.completedFuture(false);
      }
      return arrived.orTimeout(60, TimeUnit.SECONDS).handle((x, e) -> {
        if (e == null) return true;
        awaiting.remove(mid);
        lost.increment();
        return false;
      });
    });
  }

  /** Devices, connections and any refusal or message not delivered within 60 s. */
  public String describe() {
    return String.format(Locale.ROOT, "%d MQTT devices (node 1), %d AMQPS connections, %d B body, iothub-ack none%s%s",
        devices.size(), senders.size(), body.length, refusals.isEmpty() ? "" : "; refused " + refusals,
        lost.sum() == 0 ? "" : "; not delivered within 60 s: " + lost.sum());
  }

  @Override
  public void close() throws Exception {
    for (AmqpServiceClient s : senders) s.close();
    MqttBench.disconnectAll(connected);
    mqtt.close();
    amqpGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
