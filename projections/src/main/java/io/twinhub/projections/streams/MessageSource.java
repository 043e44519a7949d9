package io.twinhub.projections.streams;

import java.util.Arrays;
import java.util.Optional;

/** IoT Hub's message sources, as routes and consumers name them. */
public enum MessageSource {
  TWIN_CHANGE_EVENTS("twinChangeEvents"),
  DEVICE_LIFECYCLE_EVENTS("deviceLifecycleEvents"),
  DEVICE_CONNECTION_STATE_EVENTS("deviceConnectionStateEvents"),
  DEVICE_MESSAGES("deviceMessages");

  private final String wire;

  MessageSource(String wire) {
    this.wire = wire;
  }

  public String wire() {
    return wire;
  }

  public static Optional<MessageSource> fromWire(String s) {
    return Arrays.stream(values()).filter(v -> v.wire.equalsIgnoreCase(s)).findFirst();
  }
}
