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
 * @param twinId    {@code deviceId} or {@code deviceId/moduleId}
 * @param offset    opaque position to resume right after this message (set by the feed)
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
    String offset) {

  public HubMessage withOffset(String newOffset) {
    return new HubMessage(source, deviceId, moduleId, twinId, sequenceNr, version, enqueuedTime, properties,
        systemProperties, body, newOffset);
  }
}
