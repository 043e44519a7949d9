package io.twinhub.mqtt.codec;

/** Bytes that are not a valid MQTT 3.1.1 packet: the connection must be closed. */
public final class MqttProtocolException extends RuntimeException {
  public MqttProtocolException(String message) {
    super(message, null, false, false);
  }
}
