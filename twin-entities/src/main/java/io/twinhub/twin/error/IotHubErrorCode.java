package io.twinhub.twin.error;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The one list of IoT Hub error codes the hub answers with, over HTTPS and MQTT alike.
 *
 * <p>Six-digit codes are {@code <HTTP status><3-digit detail>} (404001 = 404 DeviceNotFound); the
 * three-digit ones are bare HTTP statuses that the service SDK also classifies. Names are the
 * ones of the Java service SDK's {@code ErrorCodeDescription} (iot-service-client 2.1.9), so the
 * SDK turns our {@code errorCode} into the same description IoT Hub's would produce. The few
 * codes marked {@code sdkKnown = false} are real IoT Hub codes the Java SDK does not name; it
 * still throws the right exception class for them, by HTTP status.
 */
public enum IotHubErrorCode {
  // 400 Bad Request
  /** Unsupported or missing {@code api-version}. */
  InvalidProtocolVersion(400001, true),
  InvalidOperation(400003, true),
  /** The request body or a parameter is not valid (bad JSON shape, bad id, limit exceeded...). */
  ArgumentInvalid(400004, true),
  ArgumentNull(400005, true),
  /** The body is not parseable JSON. */
  IotHubFormatError(400006, true),
  DeviceDefinedMultipleTimes(400011, true),
  BulkRegistryOperationFailure(400013, true),

  // 401 Unauthorized
  /** Missing, malformed, expired, wrongly signed or out-of-scope SAS token, or missing right. */
  IotHubUnauthorizedAccess(401002, true),

  // 403 Forbidden
  IotHubQuotaExceeded(403002, true),
  DeviceMaximumQueueDepthExceeded(403004, true),

  // 404 Not Found
  DeviceNotFound(404001, true),
  /** Not named by the Java SDK (the .NET SDK has it); still an IotHubNotFoundException there. */
  JobNotFound(404002, false),
  ModuleNotFound(404010, true),
  /** Direct method to a device that is not connected or not subscribed to methods. */
  DeviceNotOnline(404103, true),

  // 409 Conflict
  DeviceAlreadyExists(409001, true),
  ModuleAlreadyExistsOnDevice(409301, true),
  /** Not named by the Java SDK: {@code PUT /jobs/v2/{id}} with an id in use; an IotHubConflictException there. */
  JobAlreadyExists(409104, false),

  // 412 Precondition Failed (If-Match etag mismatch). IoT Hub uses 412001; 412002 is
  // DeviceMessageLockLost, which the Java SDK does not classify.
  PreconditionFailed(412001, true),

  // 413 Request Entity Too Large
  MessageTooLarge(413001, true),
  TooManyDevices(413002, true),
  /** Not named by the Java SDK (the .NET SDK has it): modules-per-device limit reached. */
  TooManyModulesOnDevice(413003, false),

  // 429 Too Many Requests
  ThrottlingException(429001, true),
  ThrottleBacklogLimitExceeded(429002, true),

  // 500 Internal Server Error
  ServerError(500001, true),

  // 503 Service Unavailable
  ServiceUnavailable(503001, true),

  // 504 Gateway Timeout: IoT Hub's code for a direct method the device did not answer in time.
  // Not named by the Java SDK; it throws IotHubGatewayTimeoutException by status.
  GatewayTimeout(504101, false),

  // Bare HTTP statuses the SDK classifies when a body carries no six-digit code.
  BadFormat(400, true),
  Unauthorized(401, true),
  Forbidden(403, true),
  NotFound(404, true),
  Conflict(409, true),
  RequestEntityTooLarge(413, true),
  InternalServerError(500, true);

  private static final Map<Integer, IotHubErrorCode> BY_CODE =
      Collections.unmodifiableMap(Arrays.stream(values())
          .collect(Collectors.toMap(IotHubErrorCode::code, Function.identity())));

  private final int code;
  private final boolean sdkKnown;

  IotHubErrorCode(int code, boolean sdkKnown) {
    this.code = code;
    this.sdkKnown = sdkKnown;
  }

  /** The numeric code as it goes into the error body's {@code errorCode}, e.g. 404001. */
  public int code() {
    return code;
  }

  /** The HTTP status, also the status in MQTT result topics ({@code $iothub/twin/res/<status>/}). */
  public int status() {
    return code >= 1000 ? code / 1000 : code;
  }

  /** Whether the Java service SDK's {@code ErrorCodeDescription.Parse} names this code. */
  public boolean sdkKnown() {
    return sdkKnown;
  }

  /** The {@code iothub-errorcode} response header value IoT Hub sends alongside the body. */
  public String headerValue() {
    return name();
  }

  public static Optional<IotHubErrorCode> fromCode(int code) {
    return Optional.ofNullable(BY_CODE.get(code));
  }

  /** Builds the error with a message (never a stack trace, never a secret). */
  public IotHubError error(String message) {
    return new IotHubError(this, message);
  }
}
