package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.twin.error.IotHubError;

import java.time.Duration;
import java.util.concurrent.CompletionStage;

/**
 * Where {@code POST /twins/{id}/methods} and {@code POST /twins/{id}/modules/{mid}/methods} meet the
 * device gateway. The REST API authenticates (ServiceConnect), checks api-version, size and JSON,
 * parses the request into a {@link Request} and renders the {@link Result}; the implementation
 * delivers the call to the connected device (MQTT) and waits for its answer.
 *
 * <p>The node plugs in the device gateway's implementation ({@link GatewayDirectMethods}).
 */
@FunctionalInterface
public interface DirectMethods {

  /**
   * IoT Hub's request body {@code {methodName, payload, responseTimeoutInSeconds,
   * connectTimeoutInSeconds}}, validated.
   *
   * @param moduleId null for a device's own method
   */
  record Request(String deviceId, String moduleId, String methodName, JsonNode payload,
                 Duration responseTimeout, Duration connectTimeout) {}

  sealed interface Result {}

  /** The device answered: rendered as {@code 200 {"status": status, "payload": payload}}. */
  record Answered(int status, JsonNode payload) implements Result {}

  /** Not delivered or not answered (DeviceNotOnline 404103, GatewayTimeout 504101, ...). */
  record Failed(IotHubError error) implements Result {}

  CompletionStage<Result> invoke(Request request);
}
