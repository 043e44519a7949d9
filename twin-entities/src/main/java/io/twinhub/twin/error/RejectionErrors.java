package io.twinhub.twin.error;

import io.twinhub.twin.domain.Rejection;

/** The one mapping from a broken domain rule to the IoT Hub error clients see (REST and MQTT). */
public final class RejectionErrors {
  private RejectionErrors() {}

  public static IotHubError toError(Rejection r) {
    IotHubErrorCode code = switch (r.rule()) {
      case PRECONDITION_FAILED -> IotHubErrorCode.PreconditionFailed;
      case MODULE_LIMIT_EXCEEDED -> IotHubErrorCode.TooManyModulesOnDevice;
      case SECTION_TOO_LARGE -> IotHubErrorCode.RequestEntityTooLarge;
      case MALFORMED_JSON, NOT_AN_OBJECT -> IotHubErrorCode.IotHubFormatError;
      default -> IotHubErrorCode.ArgumentInvalid;
    };
    String where = r.path() == null || r.path().isEmpty() ? "" : " at '" + r.path() + "'";
    return IotHubError.of(code, r.message() + where + " [" + r.rule() + "]");
  }
}
