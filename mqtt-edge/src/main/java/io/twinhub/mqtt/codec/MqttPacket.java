package io.twinhub.mqtt.codec;

import akka.util.ByteString;

import java.util.List;
import java.util.Objects;

/**
 * MQTT 3.1.1 control packets (OASIS standard, section 3) as immutable records. Only the fields
 * the protocol carries; validation of what a field may hold happens in {@link MqttCodec}.
 */
public sealed interface MqttPacket {

  int CONNECT = 1, CONNACK = 2, PUBLISH = 3, PUBACK = 4, PUBREC = 5, PUBREL = 6, PUBCOMP = 7,
      SUBSCRIBE = 8, SUBACK = 9, UNSUBSCRIBE = 10, UNSUBACK = 11, PINGREQ = 12, PINGRESP = 13, DISCONNECT = 14;

  /** The packet type of the fixed header (1..14). */
  int type();

  /**
   * CONNECT. {@code protocolName}/{@code protocolLevel} as sent ("MQTT"/4 for 3.1.1); the
   * decoder rejects other names but reports other levels, so the server can answer 0x01.
   */
  record Connect(String protocolName, int protocolLevel, String clientId, boolean cleanSession, int keepAliveSeconds,
                 Will will, String userName, ByteString password) implements MqttPacket {
    public int type() {
      return CONNECT;
    }

    /** The password as text (SAS tokens are ASCII), or null. */
    public String passwordText() {
      return password == null ? null : password.utf8String();
    }

    @Override
    public String toString() {
      return "Connect[" + protocolName + "/" + protocolLevel + ", clientId=" + clientId + ", clean=" + cleanSession
          + ", keepAlive=" + keepAliveSeconds + ", will=" + (will != null) + ", user=" + userName
          + ", password=" + (password == null ? "none" : "***") + "]";
    }
  }

  record Will(String topic, ByteString message, int qos, boolean retain) {}

  /** CONNACK return codes of MQTT 3.1.1 (3.2.2.3). */
  enum ConnectReturnCode {
    ACCEPTED(0), UNACCEPTABLE_PROTOCOL_VERSION(1), IDENTIFIER_REJECTED(2), SERVER_UNAVAILABLE(3),
    BAD_USERNAME_OR_PASSWORD(4), NOT_AUTHORIZED(5);

    public final int code;

    ConnectReturnCode(int code) {
      this.code = code;
    }

    public static ConnectReturnCode of(int code) {
      for (ConnectReturnCode c : values()) if (c.code == code) return c;
      throw new IllegalArgumentException("unknown CONNACK return code " + code);
    }
  }

  record ConnAck(boolean sessionPresent, ConnectReturnCode returnCode) implements MqttPacket {
    public int type() {
      return CONNACK;
    }
  }

  /** PUBLISH; {@code packetId} is 0 for QoS 0. */
  record Publish(boolean dup, int qos, boolean retain, String topic, int packetId, ByteString payload)
      implements MqttPacket {
    public Publish {
      Objects.requireNonNull(topic, "topic");
      payload = payload == null ? ByteString.emptyByteString() : payload;
    }

    public static Publish qos0(String topic, ByteString payload) {
      return new Publish(false, 0, false, topic, 0, payload);
    }

    public int type() {
      return PUBLISH;
    }

    @Override
    public String toString() {
      return "Publish[qos=" + qos + ", id=" + packetId + ", topic=" + topic + ", " + payload.size() + " bytes]";
    }
  }

  /** PUBACK, PUBREC, PUBREL, PUBCOMP and UNSUBACK: a type and a packet identifier. */
  record PacketIdOnly(int type, int packetId) implements MqttPacket {
    public static PacketIdOnly pubAck(int id) {
      return new PacketIdOnly(PUBACK, id);
    }

    public static PacketIdOnly unsubAck(int id) {
      return new PacketIdOnly(UNSUBACK, id);
    }
  }

  record TopicFilter(String filter, int qos) {}

  record Subscribe(int packetId, List<TopicFilter> filters) implements MqttPacket {
    public Subscribe {
      filters = List.copyOf(filters);
    }

    public int type() {
      return SUBSCRIBE;
    }
  }

  /** SUBACK: per filter the granted QoS (0..2) or {@link #FAILURE}. */
  record SubAck(int packetId, List<Integer> returnCodes) implements MqttPacket {
    public static final int FAILURE = 0x80;

    public SubAck {
      returnCodes = List.copyOf(returnCodes);
    }

    public int type() {
      return SUBACK;
    }
  }

  record Unsubscribe(int packetId, List<String> filters) implements MqttPacket {
    public Unsubscribe {
      filters = List.copyOf(filters);
    }

    public int type() {
      return UNSUBSCRIBE;
    }
  }

  /**
   * Not a packet: what {@link MqttFraming} emits, as its last element, for bytes that are not
   * MQTT (a stream failure would be logged as an error for every bad client).
   */
  record Malformed(String reason) implements MqttPacket {
    public int type() {
      return 0;
    }
  }

  /** PINGREQ, PINGRESP, DISCONNECT: nothing but the type. */
  record Empty(int type) implements MqttPacket {
    public static final Empty PINGREQ_PACKET = new Empty(PINGREQ);
    public static final Empty PINGRESP_PACKET = new Empty(PINGRESP);
    public static final Empty DISCONNECT_PACKET = new Empty(DISCONNECT);
  }
}
