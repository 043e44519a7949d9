package io.twinhub.twin.error;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * An error as the hub reports it: a code from {@link IotHubErrorCode} and a human message.
 * Used by the REST API (status + body + {@code iothub-errorcode} header) and by MQTT (status in
 * the result topic).
 *
 * <p>The REST body must be mapped by two SDK parsers that read different things
 * (docs/PROTOCOL-NOTES.md, "Error bodies"):
 * <ul>
 *   <li>the Node service SDK ({@code azure-iothub} {@code Http.parseErrorBody}) splits
 *   {@code Message} at {@code ';'}: the text after {@code "ErrorCode:"} up to the first {@code ';'}
 *   is the code name (404 + {@code DeviceNotFound} becomes {@code DeviceNotFoundError}), the part
 *   up to the second {@code ';'} the message. IoT Hub's classic form:
 *   {@code {"Message":"ErrorCode:DeviceNotFound;...","ExceptionMessage":"Tracking ID:..."}}.</li>
 *   <li>the Java service SDK ({@code ErrorMessageParser}, iot-service-client 2.x) unwraps
 *   {@code Message} while the text from its first {@code '{'} to the end parses as an object with
 *   a {@code Message}, appends {@code " "} and the innermost {@code ExceptionMessage}, and reads a
 *   numeric {@code errorCode} from the result (IoT Hub's newer form: a JSON string in {@code Message}).</li>
 * </ul>
 * So {@code Message} is {@code ErrorCode:<name>;<message without ; { }>;<the Java form>}: Node stops
 * at the second {@code ';'}, Java jumps to the first {@code '{'} and finds the numeric code. The
 * Java form's own {@code ExceptionMessage} is empty so that Java's last parse sees JSON only; the
 * outer one carries IoT Hub's {@code Tracking ID:<id>-TimeStamp:<time>}.
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
   * {@code {"Message":"ErrorCode:DeviceNotFound;Device dev9 not found;{\"Message\":\"{\\\"errorCode\\\":404001,
   * \\\"trackingId\\\":...,\\\"message\\\":...,\\\"timestampUtc\\\":...}\",\"ExceptionMessage\":\"\"}",
   * "ExceptionMessage":"Tracking ID:...-TimeStamp:..."}}
   */
  public String toJsonBody(String trackingId, Instant timestamp) {
    String tracking = trackingId == null ? "" : trackingId;
    String time = DateTimeFormatter.ISO_INSTANT.format(timestamp.truncatedTo(ChronoUnit.MILLIS));
    ObjectNode coded = JSON.createObjectNode();
    coded.put("errorCode", code.code());
    coded.put("trackingId", tracking);
    coded.put("message", message);
    coded.put("timestampUtc", time);
    ObjectNode javaForm = JSON.createObjectNode();
    javaForm.put("Message", coded.toString());
    javaForm.put("ExceptionMessage", "");
    ObjectNode outer = JSON.createObjectNode();
    outer.put("Message", "ErrorCode:" + code.headerValue() + ";" + nodeText(message) + ";" + javaForm);
    outer.put("ExceptionMessage", "Tracking ID:" + tracking + "-TimeStamp:" + time);
    return outer.toString();
  }

  /**
   * The message as the Node SDK's part of {@code Message}: no {@code ';'} (its field separator), no
   * braces (the Java SDK parses from the first {@code '{'}), never empty (Node ignores an empty one).
   */
  private static String nodeText(String message) {
    String t = message.replace(';', ',').replace('{', '(').replace('}', ')').strip();
    return t.isEmpty() ? "error" : t;
  }

  /**
   * The {@code errorCode}, {@code message}, {@code trackingId} and {@code timestampUtc} of a body
   * of {@link #toJsonBody}'s shape (for our own clients: the CLI, tests), or empty when it is not one.
   */
  public static Optional<JsonNode> parseBody(String body) {
    try {
      String message = JSON.readTree(body).path("Message").asText("");
      int brace = message.indexOf('{');
      if (brace < 0) return Optional.empty();
      JsonNode javaForm = JSON.readTree(message.substring(brace));
      JsonNode coded = JSON.readTree(javaForm.path("Message").asText(""));
      return coded != null && coded.isObject() && coded.has("errorCode") ? Optional.of(coded) : Optional.empty();
    } catch (JsonProcessingException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** A tracking id shaped like IoT Hub's (32 hex digits). */
  public static String newTrackingId() {
    return UUID.randomUUID().toString().replace("-", "");
  }
}
