package io.twinhub.twin.telemetry;

import java.time.Instant;
import java.util.Map;

/**
 * A journaled device-to-cloud message as the stream readers see it. The MQTT gateway's
 * {@code TelemetryLog.TelemetryReceived} event implements it, so projections decode telemetry
 * without depending on the gateway, and the event's class name (its journal manifest) stays
 * what the journal already holds.
 *
 * <p>System property names are IoT Hub's without a prefix: {@code message-id},
 * {@code correlation-id}, {@code content-type}, {@code content-encoding},
 * {@code iothub-connection-device-id}, {@code iothub-enqueuedtime}, ...
 */
public interface TelemetryMessage {
  String deviceId();

  /** Null for a device's own messages. */
  String moduleId();

  Map<String, String> properties();

  Map<String, String> systemProperties();

  byte[] body();

  Instant enqueuedTime();
}
