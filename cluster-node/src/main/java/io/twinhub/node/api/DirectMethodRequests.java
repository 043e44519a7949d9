package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;

import java.time.Duration;

/**
 * Parses IoT Hub's direct-method request body {@code {"methodName": "...", "payload": <any JSON>,
 * "responseTimeoutInSeconds": 5..300 (30), "connectTimeoutInSeconds": 0..300 (0)}}.
 */
public final class DirectMethodRequests {

  static final int MAX_METHOD_NAME = 128;
  static final int MIN_RESPONSE_TIMEOUT = 5;
  static final int MAX_TIMEOUT = 300;
  static final int DEFAULT_RESPONSE_TIMEOUT = 30;

  public sealed interface Parsed {}

  public record Valid(DirectMethods.Request request) implements Parsed {}

  public record Invalid(IotHubError error) implements Parsed {}

  private DirectMethodRequests() {}

  /** Also a job's {@code cloudToDeviceMethod} (ids null: the job's devices are not known yet). */
  public static Parsed parse(ObjectNode body, String deviceId, String moduleId) {
    JsonNode name = body.get("methodName");
    if (name == null || !name.isTextual() || name.textValue().isBlank()) {
      return invalid("'methodName' is required and must be a non-empty string");
    }
    if (name.textValue().length() > MAX_METHOD_NAME || name.textValue().chars().anyMatch(Character::isISOControl)) {
      return invalid("'methodName' must be at most " + MAX_METHOD_NAME + " printable characters");
    }
    JsonNode response = body.get("responseTimeoutInSeconds");
    JsonNode connect = body.get("connectTimeoutInSeconds");
    if (!isOptionalInt(response, MIN_RESPONSE_TIMEOUT, MAX_TIMEOUT)) {
      return invalid("'responseTimeoutInSeconds' must be an integer from " + MIN_RESPONSE_TIMEOUT + " to " + MAX_TIMEOUT);
    }
    if (!isOptionalInt(connect, 0, MAX_TIMEOUT)) {
      return invalid("'connectTimeoutInSeconds' must be an integer from 0 to " + MAX_TIMEOUT);
    }
    JsonNode payload = body.get("payload");
    return new Valid(new DirectMethods.Request(deviceId, moduleId, name.textValue(),
        payload == null ? NullNode.getInstance() : payload,
        Duration.ofSeconds(isAbsent(response) ? DEFAULT_RESPONSE_TIMEOUT : response.intValue()),
        Duration.ofSeconds(isAbsent(connect) ? 0 : connect.intValue())));
  }

  private static boolean isAbsent(JsonNode n) {
    return n == null || n.isNull();
  }

  private static boolean isOptionalInt(JsonNode n, int min, int max) {
    return isAbsent(n) || (n.isIntegralNumber() && n.canConvertToInt() && n.intValue() >= min && n.intValue() <= max);
  }

  private static Parsed invalid(String message) {
    return new Invalid(IotHubErrorCode.ArgumentInvalid.error(message));
  }
}
