package io.twinhub.ops.bench.mqtt;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.CorruptedFrameException;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The few MQTT 3.1.1 packets a device sends and reads, as bytes: what the load client needs and
 * nothing more (no dependency on the hub's codec, so the benchmark measures the hub from outside).
 */
public final class MqttWire {
  public static final int CONNECT = 1, CONNACK = 2, PUBLISH = 3, PUBACK = 4, SUBSCRIBE = 8, SUBACK = 9,
      PINGREQ = 12, PINGRESP = 13, DISCONNECT = 14;

  private MqttWire() {}

  /** One packet as read: fixed-header type and flags, and the variable header + payload. */
  public record Frame(int type, int flags, byte[] body) {}

  /** A PUBLISH as read from the server. */
  public record Publish(String topic, int qos, int packetId, byte[] payload) {}

  public static ByteBuf connect(ByteBufAllocator a, String clientId, String userName, String password,
                                int keepAliveSeconds, boolean cleanSession) {
    byte[] cid = utf8(clientId), user = utf8(userName), pass = utf8(password);
    int flags = 0x80 | 0x40 | (cleanSession ? 0x02 : 0);
    int remaining = 10 + 2 + cid.length + 2 + user.length + 2 + pass.length;
    ByteBuf b = header(a, CONNECT << 4, remaining);
    writeString(b, utf8("MQTT"));
    b.writeByte(4).writeByte(flags).writeShort(keepAliveSeconds);
    writeString(b, cid);
    writeString(b, user);
    writeString(b, pass);
    return b;
  }

  public static ByteBuf publish(ByteBufAllocator a, String topic, int qos, int packetId, byte[] payload) {
    byte[] t = utf8(topic);
    int remaining = 2 + t.length + (qos > 0 ? 2 : 0) + payload.length;
    ByteBuf b = header(a, (PUBLISH << 4) | (qos << 1), remaining);
    writeString(b, t);
    if (qos > 0) b.writeShort(packetId);
    b.writeBytes(payload);
    return b;
  }

  public static ByteBuf subscribe(ByteBufAllocator a, int packetId, List<String> filters, int qos) {
    int remaining = 2;
    for (String f : filters) remaining += 2 + utf8(f).length + 1;
    ByteBuf b = header(a, (SUBSCRIBE << 4) | 0x02, remaining);
    b.writeShort(packetId);
    for (String f : filters) {
      writeString(b, utf8(f));
      b.writeByte(qos);
    }
    return b;
  }

  public static ByteBuf pubAck(ByteBufAllocator a, int packetId) {
    return header(a, PUBACK << 4, 2).writeShort(packetId);
  }

  public static ByteBuf pingReq(ByteBufAllocator a) {
    return header(a, PINGREQ << 4, 0);
  }

  public static ByteBuf disconnect(ByteBufAllocator a) {
    return header(a, DISCONNECT << 4, 0);
  }

  /** The CONNACK return code (0 = accepted). */
  public static int connAckCode(Frame f) {
    return f.body().length >= 2 ? f.body()[1] & 0xff : -1;
  }

  /** The packet id of a PUBACK or SUBACK. */
  public static int packetId(Frame f) {
    return f.body().length >= 2 ? ((f.body()[0] & 0xff) << 8) | (f.body()[1] & 0xff) : -1;
  }

  public static Publish publish(Frame f) {
    byte[] b = f.body();
    int len = ((b[0] & 0xff) << 8) | (b[1] & 0xff);
    String topic = new String(b, 2, len, StandardCharsets.UTF_8);
    int qos = (f.flags() >> 1) & 3;
    int pos = 2 + len;
    int id = 0;
    if (qos > 0) {
      id = ((b[pos] & 0xff) << 8) | (b[pos + 1] & 0xff);
      pos += 2;
    }
    byte[] payload = new byte[b.length - pos];
    System.arraycopy(b, pos, payload, 0, payload.length);
    return new Publish(topic, qos, id, payload);
  }

  /** Bytes → {@link Frame}s (fixed header with variable-length remaining length). */
  public static final class Decoder extends ByteToMessageDecoder {
    private final int maxRemaining;

    public Decoder(int maxRemaining) {
      this.maxRemaining = maxRemaining;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
      while (true) {
        Frame f = tryRead(in, maxRemaining);
        if (f == null) return;
        out.add(f);
      }
    }
  }

  /** Reads one whole packet from {@code in}, or nothing (reader index unchanged) when it is incomplete. */
  static Frame tryRead(ByteBuf in, int maxRemaining) {
    int start = in.readerIndex();
    if (in.readableBytes() < 2) return null;
    int first = in.getUnsignedByte(start);
    int remaining = 0;
    int multiplier = 1;
    int i = start + 1;
    while (true) {
      if (i >= in.writerIndex()) return null;
      int digit = in.getUnsignedByte(i++);
      remaining += (digit & 0x7f) * multiplier;
      if ((digit & 0x80) == 0) break;
      multiplier *= 128;
      if (multiplier > 128 * 128 * 128) throw new CorruptedFrameException("remaining length longer than 4 bytes");
    }
    if (remaining > maxRemaining) throw new CorruptedFrameException("packet of " + remaining + " bytes");
    if (in.writerIndex() - i < remaining) return null;
    byte[] body = new byte[remaining];
    in.getBytes(i, body);
    in.readerIndex(i + remaining);
    return new Frame(first >> 4, first & 0x0f, body);
  }

  private static ByteBuf header(ByteBufAllocator a, int first, int remaining) {
    ByteBuf b = a.buffer(5 + remaining);
    b.writeByte(first);
    int r = remaining;
    do {
      int digit = r % 128;
      r /= 128;
      b.writeByte(r > 0 ? digit | 0x80 : digit);
    } while (r > 0);
    return b;
  }

  private static void writeString(ByteBuf b, byte[] s) {
    b.writeShort(s.length).writeBytes(s);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
