package io.twinhub.ops.bench.mqtt;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslHandler;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import java.io.File;
import java.io.InputStream;
import java.nio.file.Files;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * MQTT-over-TLS devices for load tests: every connection is a Netty channel on a small event-loop
 * group (no thread per connection), TLS by the JDK's SSLEngine (as the device SDKs use it),
 * keep-alive PINGREQs on the channel's own loop. Each device reports what it reads to a
 * {@link Listener}; timestamps are {@code System.nanoTime()} at read.
 *
 * <p>Every device has a TLS client context of its own, as a real device has: its first connect is a
 * full handshake, and {@link #reconnect} offers the session (TLS 1.3 ticket) of its previous
 * connection, as a reconnecting device SDK does. One shared context would let every device resume
 * the last session anyone got (the JDK caches one per host and port), which no fleet does.
 */
public final class MqttLoadClient implements AutoCloseable {

  /** What a device reads. Called on its event loop: keep it short. */
  public interface Listener {
    default void onPublish(Device device, MqttWire.Publish publish, long nanos) {}

    default void onPubAck(Device device, int packetId, long nanos) {}

    default void onClosed(Device device) {}
  }

  private final NioEventLoopGroup group;
  private final Bootstrap bootstrap;
  private final TrustManager[] trust;
  private final String host;
  private final int port;

  public MqttLoadClient(String host, int port, File caPem, int threads) throws Exception {
    this.host = host;
    this.port = port;
    this.trust = trusting(caPem);
    this.group = new NioEventLoopGroup(threads, r -> {
      Thread t = new Thread(r, "mqtt-load");
      t.setDaemon(true);
      return t;
    });
    this.bootstrap = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 30_000);
  }

  private static TrustManager[] trusting(File caPem) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    try (InputStream in = Files.newInputStream(caPem.toPath())) {
      int i = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) ks.setCertificateEntry("ca-" + i++, c);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    return tmf.getTrustManagers();
  }

  private SSLContext newDeviceTls() {
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, trust, null);
      return ctx;
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** One device connection: TCP, TLS, CONNECT; {@link Device#connAck()} completes with the return code. */
  public Device connect(String clientId, String userName, String password, int keepAliveSeconds, Listener listener) {
    return connect(clientId, userName, password, keepAliveSeconds, listener, newDeviceTls());
  }

  /**
   * The device connects again (after {@code earlier} closed) with its own TLS context, so the JDK
   * offers the session ticket of the earlier connection: a resumed handshake if the hub accepts it.
   */
  public Device reconnect(Device earlier, String password, Listener listener) {
    return connect(earlier.clientId, earlier.userName, password, earlier.keepAliveSeconds, listener, earlier.tls);
  }

  private Device connect(String clientId, String userName, String password, int keepAliveSeconds, Listener listener,
                         SSLContext tls) {
    Device d = new Device(clientId, userName, listener, keepAliveSeconds, tls);
    Bootstrap b = bootstrap.clone().handler(new ChannelInitializer<SocketChannel>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        SSLEngine engine = tls.createSSLEngine(host, port); // host and port: the key of the JDK's client session cache
        engine.setUseClientMode(true);
        engine.setEnabledProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        ch.pipeline().addLast(new SslHandler(engine));
        ch.pipeline().addLast(new MqttWire.Decoder(1 << 20));
        ch.pipeline().addLast(d.handler());
      }
    });
    d.started = System.nanoTime();
    d.startedMillis = System.currentTimeMillis();
    ChannelFuture f = b.connect(host, port);
    d.channel = f.channel();
    // Whatever holds it up (TCP backlog, handshake, the hub), a device without CONNACK in time gives up.
    d.channel.eventLoop().schedule(() -> {
      if (!d.connAck.isDone()) {
        d.connAck.completeExceptionally(new java.util.concurrent.TimeoutException("no CONNACK within 60 s"));
        d.channel.close();
      }
    }, 60, TimeUnit.SECONDS);
    f.addListener(done -> {
      if (!done.isSuccess()) {
        d.connAck.completeExceptionally(done.cause());
        d.closed.complete(null);
        return;
      }
      // CONNECT once TLS is up: the SslHandler holds writes until its handshake completes.
      d.channel.writeAndFlush(MqttWire.connect(d.channel.alloc(), clientId, userName, password, keepAliveSeconds, false));
    });
    return d;
  }

  @Override
  public void close() {
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** A connected (or connecting) device. Publish and subscribe from any thread. */
  public static final class Device {
    public final String clientId;
    private final String userName;
    private final Listener listener;
    private final int keepAliveSeconds;
    private final SSLContext tls;
    private final CompletableFuture<Integer> connAck = new CompletableFuture<>();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private final ConcurrentHashMap<Integer, CompletableFuture<Void>> subAcks = new ConcurrentHashMap<>();
    private final AtomicInteger packetIds = new AtomicInteger();
    private volatile Channel channel;
    private volatile long started;
    private volatile long connAckNanos;
    private volatile long startedMillis;
    private volatile boolean resumed;
    private ScheduledFuture<?> pings;

    Device(String clientId, String userName, Listener listener, int keepAliveSeconds, SSLContext tls) {
      this.clientId = clientId;
      this.userName = userName;
      this.listener = listener;
      this.keepAliveSeconds = keepAliveSeconds;
      this.tls = tls;
    }

    /**
     * The TLS handshake of this connection resumed an earlier session: the JDK keeps a resumed
     * session's creation time, so it is older than this connect (a full handshake's is not).
     */
    public boolean resumedTls() {
      return resumed;
    }

    /** CONNACK return code; fails if the connection could not be made. */
    public CompletableFuture<Integer> connAck() {
      return connAck;
    }

    /** Nanoseconds from the TCP connect to the CONNACK read (TCP + TLS + CONNECT at the hub). */
    public long connectNanos() {
      return connAckNanos - started;
    }

    public CompletableFuture<Void> closed() {
      return closed;
    }

    public boolean isOpen() {
      return channel != null && channel.isActive() && !closed.isDone();
    }

    public CompletableFuture<Void> subscribe(List<String> filters, int qos) {
      int id = nextPacketId();
      CompletableFuture<Void> f = new CompletableFuture<>();
      subAcks.put(id, f);
      channel.writeAndFlush(MqttWire.subscribe(channel.alloc(), id, filters, qos));
      return f;
    }

    /** Writes a PUBLISH; returns its packet id (0 for QoS 0). */
    public int publish(String topic, int qos, byte[] payload) {
      int id = qos == 0 ? 0 : nextPacketId();
      channel.writeAndFlush(MqttWire.publish(channel.alloc(), topic, qos, id, payload));
      return id;
    }

    public void disconnect() {
      Channel c = channel;
      if (c == null) return;
      if (c.isActive()) c.writeAndFlush(MqttWire.disconnect(c.alloc())).addListener(x -> c.close());
      else c.close();
    }

    private int nextPacketId() {
      return packetIds.updateAndGet(i -> i >= 65535 ? 1 : i + 1);
    }

    SimpleChannelInboundHandler<MqttWire.Frame> handler() {
      return new SimpleChannelInboundHandler<>() {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, MqttWire.Frame f) {
          long now = System.nanoTime();
          switch (f.type()) {
            case MqttWire.CONNACK -> {
              connAckNanos = now;
              SslHandler tlsHandler = ctx.pipeline().get(SslHandler.class);
              resumed = tlsHandler != null && tlsHandler.engine().getSession().getCreationTime() < startedMillis;
              int code = MqttWire.connAckCode(f);
              if (code == 0 && keepAliveSeconds > 0) {
                pings = ctx.executor().scheduleAtFixedRate(() -> ctx.writeAndFlush(MqttWire.pingReq(ctx.alloc())),
                    keepAliveSeconds, keepAliveSeconds, TimeUnit.SECONDS);
              }
              connAck.complete(code);
            }
            case MqttWire.PUBLISH -> {
              MqttWire.Publish p = MqttWire.publish(f);
              if (p.qos() == 1) ctx.writeAndFlush(MqttWire.pubAck(ctx.alloc(), p.packetId()));
              listener.onPublish(Device.this, p, now);
            }
            case MqttWire.PUBACK -> listener.onPubAck(Device.this, MqttWire.packetId(f), now);
            case MqttWire.SUBACK -> {
              CompletableFuture<Void> s = subAcks.remove(MqttWire.packetId(f));
              if (s != null) s.complete(null);
            }
            default -> { } // PINGRESP and others: nothing to do
          }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
          if (pings != null) pings.cancel(false);
          connAck.completeExceptionally(new IllegalStateException("connection closed before CONNACK"));
          subAcks.values().forEach(s -> s.completeExceptionally(new IllegalStateException("connection closed")));
          closed.complete(null);
          listener.onClosed(Device.this);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
          ctx.close();
        }
      };
    }
  }
}
