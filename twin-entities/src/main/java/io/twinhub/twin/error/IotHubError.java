package io.twinhub.twin.error;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.UUID;

/**
 * An error as the hub reports it: a code from {@link IotHubErrorCode} and a human message.
 * Used by the REST API (status + body + {@code iothub-errorcode} header) and by MQTT (status in
 * the result topic).
 *
 * <p>The body is IoT Hub's, double-encoded: {@code Message} holds a JSON <em>string</em> with
 * {@code errorCode}, {@code trackingId}, {@code message}, {@code timestampUtc}; {@code
 * ExceptionMessage} is empty. The Java service SDK ({@code ErrorMessageParser}) unwraps {@code
 * Message}, appends {@code " " + ExceptionMessage} to it and then parses the result as JSON to get
 * {@code errorCode}. Anything but whitespace in {@code ExceptionMessage} would make that second
 * parse fail and the SDK fall back to the bare HTTP status, so it stays empty.
 */
public record IotHubError(IotHubErrorCode code, String message) {

  /** Response header IoT Hub sets to the error's name (read by older .NET and Node SDKs). */
  public static final String ERROR_CODE_HEADER = "iothub-errorcode";

  private static final ObjectMapper JSON = new ObjectMapper();

  public IotHubError {
    Objects.requireNonNull(code, "code");
    message = message == null ? "" : message;
  }

  public static IotHubError of(IotHubErrorCode code, String message) {
    return new IotHubError(code, message);
  }

  /** HTTP status; also the status of MQTT result topics. */
  public int status() {
    return code.status();
  }

  /** The numeric code of the body, e.g. 404001. */
  public int errorCode() {
    return code.code();
  }

  /** The body with a fresh tracking id and the time from {@code clock}. */
  public String toJsonBody(Clock clock) {
    return toJsonBody(newTrackingId(), clock.instant());
  }

  /**
   * {@code {"Message":"{\"errorCode\":404001,\"trackingId\":\"...\",\"message\":\"...\",
   * \"timestampUtc\":\"...\"}","ExceptionMessage":""}}
   */
  public String toJsonBody(String trackingId, Instant timestamp) {
    ObjectNode inner = JSON.createObjectNode();
    inner.put("errorCode", code.code());
    inner.put("trackingId", trackingId == null ? "" : trackingId);
    inner.put("message", message);
    inner.put("timestampUtc", DateTimeFormatter.ISO_INSTANT.format(timestamp.truncatedTo(ChronoUnit.MILLIS)));
    ObjectNode outer = JSON.createObjectNode();
    try {
      outer.put("Message", JSON.writeValueAsString(inner));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render an error body", e); // a tree always renders
    }
    outer.put("ExceptionMessage", "");
    return outer.toString();
  }

  /** A tracking id shaped like IoT Hub's (32 hex digits). */
  public static String newTrackingId() {
    return UUID.randomUUID().toString().replace("-", "");
  }
}
