package io.twinhub.projections.streams;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Instant;
import java.util.Map;

/**
 * One message of a change stream, shaped like the messages IoT Hub routes: application
 * properties, system properties and a JSON body. {@code (twinId, sequenceNr)} is unique per
 * journal event, so consumers can deduplicate; {@code version} is the twin version where
 * the event has one.
 *
 * @param twinId       {@code deviceId} or {@code deviceId/moduleId}
 * @param sequenceNr   the event's number in its journal stream: the twin's for twin sources,
 *                     the device's (or module's) telemetry log for {@code deviceMessages}
 * @param bodyEncoding how a device message's body is embedded ({@link TelemetryBody}); null for
 *                     the hub's own JSON notifications
 * @param offset       opaque position to resume right after this message (set by the feed)
 */
public record HubMessage(
    MessageSource source,
    String deviceId,
    String moduleId,
    String twinId,
    long sequenceNr,
    Long version,
    Instant enqueuedTime,
    Map<String, String> properties,
    Map<String, String> systemProperties,
    JsonNode body,
    String bodyEncoding,
    String offset) {

  public HubMessage withOffset(String newOffset) {
    return new HubMessage(source, deviceId, moduleId, twinId, sequenceNr, version, enqueuedTime, properties,
        systemProperties, body, bodyEncoding, newOffset);
  }
}
