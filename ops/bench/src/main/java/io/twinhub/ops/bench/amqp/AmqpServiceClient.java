package io.twinhub.ops.bench.amqp;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.twinhub.ops.amqp.ServiceAmqp;
import org.apache.qpid.proton.Proton;
import org.apache.qpid.proton.amqp.messaging.Accepted;
import org.apache.qpid.proton.amqp.messaging.Rejected;
import org.apache.qpid.proton.amqp.transport.DeliveryState;
import org.apache.qpid.proton.amqp.transport.ErrorCondition;
import org.apache.qpid.proton.engine.Collector;
import org.apache.qpid.proton.engine.Connection;
import org.apache.qpid.proton.engine.Delivery;
import org.apache.qpid.proton.engine.EndpointState;
import org.apache.qpid.proton.engine.Event;
import org.apache.qpid.proton.engine.Receiver;
import org.apache.qpid.proton.engine.Sasl;
import org.apache.qpid.proton.engine.Sender;
import org.apache.qpid.proton.engine.Session;
import org.apache.qpid.proton.engine.Transport;
import org.apache.qpid.proton.message.Message;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * A back end's AMQPS connection to the hub's service endpoint, as the service SDKs make it: TLS,
 * SASL ANONYMOUS, a {@code $cbs} put-token with a service SAS token, then a sender link to
 * {@code /messages/devicebound}. The official Java {@code MessagingClient} only connects to port
 * 5671, which a bench node on a shared box must not take; this client connects to any port.
 *
 * <p>A Proton-J engine per connection, driven on its Netty channel's event loop (every engine call
 * runs there); bytes out are written and flushed once per batch of engine work.
 */
public final class AmqpServiceClient implements AutoCloseable {

  /** A send's outcome: accepted (queued for the device), or the hub's error condition. */
  public record Outcome(boolean accepted, String condition, String description) {
    static Outcome of(DeliveryState s) {
      if (s instanceof Accepted) return new Outcome(true, null, null);
      if (s instanceof Rejected r && r.getError() != null) {
        ErrorCondition e = r.getError();
        return new Outcome(false, String.valueOf(e.getCondition()), e.getDescription());
      }
      return new Outcome(false, String.valueOf(s), null);
    }
  }

  private final Channel channel;
  private final Connection connection = Proton.connection();
  private final Transport transport = Proton.transport();
  private final Collector collector = Proton.collector();
  private final CompletableFuture<Void> ready = new CompletableFuture<>();
  private final Map<Delivery, CompletableFuture<Outcome>> pending = new HashMap<>();
  private final String token;
  private final String audience;
  private Session session;
  private Sender cbs;
  private Sender devicebound;
  private long tags;
  private volatile boolean closed;

  private AmqpServiceClient(Channel channel, String hostName, String token) {
    this.channel = channel;
    this.token = token;
    this.audience = hostName;
    transport.setMaxFrameSize(65536);
    ServiceAmqp.saslAnonymous(transport, outcome -> {
      if (outcome != Sasl.SaslOutcome.PN_SASL_OK) fail("SASL outcome " + outcome);
    });
    connection.setHostname(hostName);
    connection.setContainer("twinhub-bench-" + Long.toHexString(System.nanoTime()));
    connection.collect(collector);
    transport.bind(connection);
  }

  /**
   * Connects, authenticates with {@code serviceToken} (a {@code SharedAccessSignature ...} string)
   * and opens the devicebound sender; the future completes when messages can be sent.
   */
  public static CompletableFuture<AmqpServiceClient> connect(EventLoopGroup group, SslContext ssl, String host, int port,
                                                             String hubHostName, String serviceToken) {
    CompletableFuture<AmqpServiceClient> result = new CompletableFuture<>();
    AmqpServiceClient[] holder = new AmqpServiceClient[1];
    Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 30_000)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            holder[0] = new AmqpServiceClient(ch, hubHostName, serviceToken);
            ch.pipeline().addLast(ssl.newHandler(ch.alloc(), host, port));
            ch.pipeline().addLast(holder[0].handler());
          }
        });
    b.connect(host, port).addListener(f -> {
      if (!f.isSuccess()) {
        result.completeExceptionally(f.cause());
        return;
      }
      AmqpServiceClient c = holder[0];
      c.channel.eventLoop().execute(c::open);
      c.ready.orTimeout(60, TimeUnit.SECONDS).whenComplete((x, e) -> {
        if (e == null) result.complete(c);
        else {
          c.close();
          result.completeExceptionally(e);
        }
      });
    });
    return result;
  }

  /**
   * Sends one C2D message to {@code deviceId} ({@code iothub-ack} none: no feedback record);
   * completes when the hub settles it (accepted = journaled in the device's queue).
   */
  public CompletionStage<Outcome> send(String deviceId, String messageId, byte[] body) {
    CompletableFuture<Outcome> f = new CompletableFuture<>();
    channel.eventLoop().execute(() -> {
      if (closed || devicebound == null) {
        f.completeExceptionally(new IllegalStateException("AMQP connection closed"));
        return;
      }
      Message m = ServiceAmqp.deviceboundMessage(messageId, deviceId, body);
      pending.put(send(devicebound, m), f);
      pump();
    });
    return f;
  }

  @Override
  public void close() {
    channel.eventLoop().execute(() -> {
      if (connection.getLocalState() != EndpointState.CLOSED) connection.close();
      pump();
      channel.close();
    });
  }

  // ------------------------------------------------------------------ on the event loop

  private void open() {
    connection.open();
    session = connection.session();
    session.open();
    cbs = ServiceAmqp.openCbs(session).sender();
    send(cbs, ServiceAmqp.putToken("put-token-1", audience, token));
    pump();
  }

  private void onCbsReply(Message reply) {
    Integer status = ServiceAmqp.statusCode(reply);
    if (status == null || status != 200) {
      fail("put-token answered " + status + " " + reply.getApplicationProperties());
      return;
    }
    devicebound = ServiceAmqp.openDevicebound(session, "c2d-" + Long.toHexString(System.nanoTime()), "bench");
  }

  private Delivery send(Sender s, Message m) {
    return ServiceAmqp.send(s, m, Long.toString(++tags).getBytes(StandardCharsets.US_ASCII));
  }

  private void handle(Event e) {
    switch (e.getType()) {
      case LINK_REMOTE_OPEN -> {
        if (e.getLink() == devicebound) {
          if (devicebound.getRemoteTarget() == null) fail("devicebound link refused: " + devicebound.getRemoteCondition());
          else ready.complete(null);
        }
      }
      case LINK_REMOTE_CLOSE -> fail("link " + e.getLink().getName() + " closed by the hub: " + e.getLink().getRemoteCondition());
      case CONNECTION_REMOTE_CLOSE -> fail("connection closed by the hub: " + connection.getRemoteCondition());
      case TRANSPORT_ERROR -> fail("transport error: " + transport.getCondition());
      case DELIVERY -> {
        Delivery d = e.getDelivery();
        if (d.getLink() instanceof Receiver r) {
          if (d.isPartial() || !d.isReadable()) return;
          Message reply = ServiceAmqp.receive(r, d);
          onCbsReply(reply);
        } else if (d.remotelySettled()) {
          CompletableFuture<Outcome> f = pending.remove(d);
          DeliveryState state = d.getRemoteState();
          d.settle();
          if (f != null) f.complete(Outcome.of(state));
        }
      }
      default -> { }
    }
  }

  private void fail(String why) {
    IllegalStateException e = new IllegalStateException(why);
    ready.completeExceptionally(e);
    if (!pending.isEmpty()) {
      pending.values().forEach(f -> f.completeExceptionally(e));
      pending.clear();
    }
    closed = true;
  }

  /** Engine events, then whatever the engine has to write, in one flush. */
  private void pump() {
    Event ev;
    while ((ev = collector.peek()) != null) {
      try {
        handle(ev);
      } finally {
        collector.pop();
      }
    }
    boolean wrote = false;
    while (transport.pending() > 0) {
      ByteBuffer head = transport.head();
      int n = head.remaining();
      ByteBuf buf = Unpooled.buffer(n);
      buf.writeBytes(head);
      transport.pop(n);
      channel.write(buf);
      wrote = true;
    }
    if (wrote) channel.flush();
  }

  private ChannelInboundHandlerAdapter handler() {
    return new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        try {
          while (in.isReadable()) {
            int capacity = transport.capacity();
            if (capacity <= 0) {
              fail("the AMQP transport closed its input");
              break;
            }
            int n = Math.min(capacity, in.readableBytes());
            transport.tail().put(in.nioBuffer(in.readerIndex(), n));
            in.skipBytes(n);
            transport.process();
          }
        } catch (RuntimeException e) {
          fail("AMQP input: " + e);
        } finally {
          in.release();
        }
        pump();
      }

      @Override
      public void channelInactive(ChannelHandlerContext ctx) {
        fail("connection closed");
      }

      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        fail("connection failed: " + cause);
        ctx.close();
      }
    };
  }
}
