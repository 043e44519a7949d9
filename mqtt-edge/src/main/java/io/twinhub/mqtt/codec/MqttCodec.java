package io.twinhub.mqtt.codec;

import akka.NotUsed;
import akka.stream.javadsl.BidiFlow;
import akka.stream.javadsl.Flow;
import akka.util.ByteString;
import akka.util.ByteStringBuilder;
import io.twinhub.mqtt.codec.MqttPacket.*;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * MQTT 3.1.1 wire format: {@link #decode} one whole packet (fixed header included), {@link #encode}
 * one packet, and {@link #bidi} as an Akka Streams {@code BidiFlow} (bytes from the socket ⇄
 * packets). Strict: everything the standard calls malformed is a {@link MqttProtocolException}
 * (reserved flags, bad remaining length, bad UTF-8 or U+0000 in strings, wildcards in a PUBLISH
 * topic, misplaced wildcards in filters, packet id 0, trailing bytes).
 */
public final class MqttCodec {
  /** The largest remaining length MQTT can express (4 length bytes). */
  public static final int MAX_REMAINING_LENGTH = 268_435_455;

  private MqttCodec() {}

  /**
   * Bytes in, packets out (top: socket → session), and packets in, bytes out (bottom: session →
   * socket). Packets whose remaining length exceeds {@code maxPacketSize} fail the stream as soon
   * as their header is read, before their body is buffered.
   */
  public static BidiFlow<ByteString, MqttPacket, MqttPacket, ByteString, NotUsed> bidi(int maxPacketSize) {
    return bidi(maxPacketSize, false);
  }

  /** As above; {@code serverSide}: the first packet must be a CONNECT (see {@link MqttFraming}). */
  public static BidiFlow<ByteString, MqttPacket, MqttPacket, ByteString, NotUsed> bidi(int maxPacketSize, boolean serverSide) {
    return BidiFlow.fromFlows(
        Flow.fromGraph(new MqttFraming(maxPacketSize, serverSide)),
        Flow.<MqttPacket>create().map(MqttCodec::encode));
  }

  // ------------------------------------------------------------------ decoding

  /** Decodes one complete packet: fixed header, remaining length and exactly that many bytes. */
  public static MqttPacket decode(ByteString packet) {
    if (packet.size() < 2) throw malformed("packet shorter than a fixed header");
    int first = packet.apply(0) & 0xff;
    int length = 0;
    int multiplier = 1;
    int i = 1;
    while (true) {
      if (i >= packet.size()) throw malformed("truncated remaining length");
      int b = packet.apply(i++) & 0xff;
      length += (b & 0x7f) * multiplier;
      if ((b & 0x80) == 0) break;
      if (i > 4) throw malformed("remaining length longer than 4 bytes");
      multiplier *= 128;
    }
    if (packet.size() - i != length) {
      throw malformed("remaining length " + length + " but " + (packet.size() - i) + " bytes follow");
    }
    return decodeBody(first, packet.drop(i));
  }

  /** Decodes a packet given its first header byte and its body (the remaining-length bytes). */
  public static MqttPacket decodeBody(int firstByte, ByteString body) {
    int type = (firstByte >> 4) & 0x0f;
    int flags = firstByte & 0x0f;
    Reader r = new Reader(body);
    MqttPacket p = switch (type) {
      case MqttPacket.CONNECT -> connect(flags(flags, 0, "CONNECT"), r);
      case MqttPacket.CONNACK -> connAck(flags(flags, 0, "CONNACK"), r);
      case MqttPacket.PUBLISH -> publish(flags, r);
      case MqttPacket.PUBACK, MqttPacket.PUBREC, MqttPacket.PUBCOMP, MqttPacket.UNSUBACK ->
          new PacketIdOnly(type, packetId(r, flags(flags, 0, name(type))));
      case MqttPacket.PUBREL -> new PacketIdOnly(type, packetId(r, flags(flags, 2, "PUBREL")));
      case MqttPacket.SUBSCRIBE -> subscribe(flags(flags, 2, "SUBSCRIBE"), r);
      case MqttPacket.SUBACK -> subAck(flags(flags, 0, "SUBACK"), r);
      case MqttPacket.UNSUBSCRIBE -> unsubscribe(flags(flags, 2, "UNSUBSCRIBE"), r);
      case MqttPacket.PINGREQ, MqttPacket.PINGRESP, MqttPacket.DISCONNECT -> {
        flags(flags, 0, name(type));
        yield new Empty(type);
      }
      default -> throw malformed("reserved packet type " + type);
    };
    if (r.remaining() != 0) throw malformed(name(type) + " has " + r.remaining() + " unexpected trailing bytes");
    return p;
  }

  private static int flags(int actual, int expected, String packet) {
    if (actual != expected) throw malformed(packet + " with reserved header flags " + actual);
    return actual;
  }

  private static Connect connect(int ignored, Reader r) {
    String protocol = r.string("protocol name");
    int level = r.u8("protocol level");
    if (!protocol.equals("MQTT") && !protocol.equals("MQIsdp")) {
      throw malformed("unknown protocol name '" + printable(protocol) + "'");
    }
    int cf = r.u8("connect flags");
    if ((cf & 0x01) != 0) throw malformed("CONNECT reserved flag set");
    boolean clean = (cf & 0x02) != 0;
    boolean willFlag = (cf & 0x04) != 0;
    int willQos = (cf >> 3) & 0x03;
    boolean willRetain = (cf & 0x20) != 0;
    boolean passwordFlag = (cf & 0x40) != 0;
    boolean userFlag = (cf & 0x80) != 0;
    if (willQos == 3) throw malformed("will QoS 3");
    if (!willFlag && (willQos != 0 || willRetain)) throw malformed("will QoS/retain without will flag");
    if (!userFlag && passwordFlag) throw malformed("password without user name");
    int keepAlive = r.u16("keep alive");
    String clientId = r.string("client identifier");
    Will will = null;
    if (willFlag) {
      String topic = r.string("will topic");
      checkTopicName(topic);
      will = new Will(topic, r.binary("will message"), willQos, willRetain);
    }
    String user = userFlag ? r.string("user name") : null;
    ByteString password = passwordFlag ? r.binary("password") : null;
    return new Connect(protocol, level, clientId, clean, keepAlive, will, user, password);
  }

  private static ConnAck connAck(int ignored, Reader r) {
    int ack = r.u8("acknowledge flags");
    if ((ack & 0xfe) != 0) throw malformed("CONNACK reserved flags");
    int code = r.u8("return code");
    if (code > 5) throw malformed("CONNACK return code " + code);
    return new ConnAck((ack & 1) != 0, ConnectReturnCode.of(code));
  }

  private static Publish publish(int flags, Reader r) {
    boolean dup = (flags & 0x08) != 0;
    int qos = (flags >> 1) & 0x03;
    boolean retain = (flags & 0x01) != 0;
    if (qos == 3) throw malformed("PUBLISH with QoS 3");
    if (qos == 0 && dup) throw malformed("PUBLISH QoS 0 with DUP set");
    String topic = r.string("topic name");
    checkTopicName(topic);
    int id = qos > 0 ? packetId(r, 0) : 0;
    return new Publish(dup, qos, retain, topic, id, r.rest());
  }

  private static Subscribe subscribe(int ignored, Reader r) {
    int id = packetId(r, 0);
    List<TopicFilter> filters = new ArrayList<>();
    while (r.remaining() > 0) {
      String filter = r.string("topic filter");
      checkTopicFilter(filter);
      int options = r.u8("requested QoS");
      if ((options & 0xfc) != 0 || (options & 0x03) == 3) throw malformed("SUBSCRIBE requested QoS byte " + options);
      filters.add(new TopicFilter(filter, options));
    }
    if (filters.isEmpty()) throw malformed("SUBSCRIBE without topic filters");
    return new Subscribe(id, filters);
  }

  private static SubAck subAck(int ignored, Reader r) {
    int id = packetId(r, 0);
    List<Integer> codes = new ArrayList<>();
    while (r.remaining() > 0) {
      int c = r.u8("return code");
      if (c > 2 && c != SubAck.FAILURE) throw malformed("SUBACK return code " + c);
      codes.add(c);
    }
    if (codes.isEmpty()) throw malformed("SUBACK without return codes");
    return new SubAck(id, codes);
  }

  private static Unsubscribe unsubscribe(int ignored, Reader r) {
    int id = packetId(r, 0);
    List<String> filters = new ArrayList<>();
    while (r.remaining() > 0) {
      String filter = r.string("topic filter");
      checkTopicFilter(filter);
      filters.add(filter);
    }
    if (filters.isEmpty()) throw malformed("UNSUBSCRIBE without topic filters");
    return new Unsubscribe(id, filters);
  }

  private static int packetId(Reader r, int ignored) {
    int id = r.u16("packet identifier");
    if (id == 0) throw malformed("packet identifier 0");
    return id;
  }

  /** A PUBLISH topic name: 1+ characters, no wildcards (MQTT-3.3.2-2, 4.7.3-1). */
  public static void checkTopicName(String topic) {
    if (topic.isEmpty()) throw malformed("empty topic name");
    if (topic.indexOf('+') >= 0 || topic.indexOf('#') >= 0) throw malformed("wildcard in topic name");
  }

  /** A topic filter: '#' only as the whole last level, '+' only as a whole level (4.7.1). */
  public static void checkTopicFilter(String filter) {
    if (filter.isEmpty()) throw malformed("empty topic filter");
    String[] levels = filter.split("/", -1);
    for (int i = 0; i < levels.length; i++) {
      String l = levels[i];
      if (l.indexOf('#') >= 0 && (!l.equals("#") || i != levels.length - 1)) throw malformed("misplaced '#' in filter");
      if (l.indexOf('+') >= 0 && !l.equals("+")) throw malformed("misplaced '+' in filter");
    }
  }

  // ------------------------------------------------------------------ encoding

  public static ByteString encode(MqttPacket packet) {
    ByteStringBuilder body = new ByteStringBuilder();
    int flags = 0;
    if (packet instanceof Connect c) {
      putString(body, c.protocolName());
      body.putByte((byte) c.protocolLevel());
      int cf = (c.cleanSession() ? 0x02 : 0) | (c.userName() != null ? 0x80 : 0) | (c.password() != null ? 0x40 : 0);
      if (c.will() != null) cf |= 0x04 | (c.will().qos() << 3) | (c.will().retain() ? 0x20 : 0);
      body.putByte((byte) cf);
      putU16(body, c.keepAliveSeconds());
      putString(body, c.clientId());
      if (c.will() != null) {
        putString(body, c.will().topic());
        putBinary(body, c.will().message());
      }
      if (c.userName() != null) putString(body, c.userName());
      if (c.password() != null) putBinary(body, c.password());
    } else if (packet instanceof ConnAck a) {
      body.putByte((byte) (a.sessionPresent() ? 1 : 0));
      body.putByte((byte) a.returnCode().code);
    } else if (packet instanceof Publish p) {
      flags = (p.dup() ? 0x08 : 0) | (p.qos() << 1) | (p.retain() ? 1 : 0);
      putString(body, p.topic());
      if (p.qos() > 0) putU16(body, p.packetId());
      body.append(p.payload());
    } else if (packet instanceof PacketIdOnly p) {
      if (p.type() == MqttPacket.PUBREL) flags = 2;
      putU16(body, p.packetId());
    } else if (packet instanceof Subscribe s) {
      flags = 2;
      putU16(body, s.packetId());
      for (TopicFilter f : s.filters()) {
        putString(body, f.filter());
        body.putByte((byte) f.qos());
      }
    } else if (packet instanceof SubAck s) {
      putU16(body, s.packetId());
      for (int c : s.returnCodes()) body.putByte((byte) c);
    } else if (packet instanceof Unsubscribe u) {
      flags = 2;
      putU16(body, u.packetId());
      for (String f : u.filters()) putString(body, f);
    }
    ByteString b = body.result();
    ByteStringBuilder out = new ByteStringBuilder();
    out.putByte((byte) ((packet.type() << 4) | flags));
    putRemainingLength(out, b.size());
    out.append(b);
    return out.result();
  }

  static void putRemainingLength(ByteStringBuilder out, int length) {
    if (length < 0 || length > MAX_REMAINING_LENGTH) throw new IllegalArgumentException("packet too large: " + length);
    do {
      int digit = length % 128;
      length /= 128;
      if (length > 0) digit |= 0x80;
      out.putByte((byte) digit);
    } while (length > 0);
  }

  private static void putU16(ByteStringBuilder b, int v) {
    b.putByte((byte) (v >> 8));
    b.putByte((byte) v);
  }

  private static void putString(ByteStringBuilder b, String s) {
    putBinary(b, ByteString.fromString(s, StandardCharsets.UTF_8));
  }

  private static void putBinary(ByteStringBuilder b, ByteString bytes) {
    if (bytes.size() > 65535) throw new IllegalArgumentException("string longer than 65535 bytes");
    putU16(b, bytes.size());
    b.append(bytes);
  }

  // ------------------------------------------------------------------ helpers

  static MqttProtocolException malformed(String message) {
    return new MqttProtocolException(message);
  }

  public static String name(int type) {
    return switch (type) {
      case 1 -> "CONNECT";
      case 2 -> "CONNACK";
      case 3 -> "PUBLISH";
      case 4 -> "PUBACK";
      case 5 -> "PUBREC";
      case 6 -> "PUBREL";
      case 7 -> "PUBCOMP";
      case 8 -> "SUBSCRIBE";
      case 9 -> "SUBACK";
      case 10 -> "UNSUBSCRIBE";
      case 11 -> "UNSUBACK";
      case 12 -> "PINGREQ";
      case 13 -> "PINGRESP";
      case 14 -> "DISCONNECT";
      default -> "type " + type;
    };
  }

  private static String printable(String s) {
    String t = s.length() > 32 ? s.substring(0, 32) : s;
    return t.replaceAll("[^\\x20-\\x7e]", "?");
  }

  /** Sequential reads over a packet body with bounds checks. */
  private static final class Reader {
    private final ByteString bytes;
    private int pos;

    Reader(ByteString bytes) {
      this.bytes = bytes;
    }

    int remaining() {
      return bytes.size() - pos;
    }

    int u8(String what) {
      if (remaining() < 1) throw malformed("truncated " + what);
      return bytes.apply(pos++) & 0xff;
    }

    int u16(String what) {
      if (remaining() < 2) throw malformed("truncated " + what);
      int v = ((bytes.apply(pos) & 0xff) << 8) | (bytes.apply(pos + 1) & 0xff);
      pos += 2;
      return v;
    }

    ByteString binary(String what) {
      int len = u16(what);
      if (remaining() < len) throw malformed("truncated " + what);
      ByteString b = bytes.slice(pos, pos + len);
      pos += len;
      return b;
    }

    /** A UTF-8 encoded string (1.5.3): well-formed, no U+0000, no control characters. */
    String string(String what) {
      ByteString b = binary(what);
      // Topics and ids are printable ASCII (the common case, every packet): no decoder, no second pass.
      if (printableAscii(b)) return b.decodeString(StandardCharsets.ISO_8859_1);
      String s;
      try {
        s = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(b.asByteBuffer()).toString();
      } catch (CharacterCodingException e) {
        throw malformed(what + " is not well-formed UTF-8");
      }
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        // U+0000 is forbidden (MQTT-1.5.3-2); other controls "SHOULD NOT" appear and we refuse them too.
        if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
          throw malformed(what + " contains control character U+" + String.format("%04X", (int) c));
        }
      }
      return s;
    }

    private static boolean printableAscii(ByteString b) {
      for (int i = 0, n = b.size(); i < n; i++) {
        int c = b.apply(i);
        if (c < 0x20 || c >= 0x7f) return false; // negative bytes (>= 0x80) too
      }
      return true;
    }

    ByteString rest() {
      ByteString b = bytes.drop(pos);
      pos = bytes.size();
      return b;
    }
  }
}
