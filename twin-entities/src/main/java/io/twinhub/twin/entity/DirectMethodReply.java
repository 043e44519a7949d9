package io.twinhub.twin.entity;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.twin.TwinhubSerializable;
import io.twinhub.twin.error.IotHubError;

/** The outcome of a direct method invocation. */
public sealed interface DirectMethodReply extends TwinhubSerializable {

  /** The device answered with its status and JSON payload. */
  record Responded(int status, JsonNode payload) implements DirectMethodReply {}

  /** Not delivered or not answered: DeviceNotOnline (404103), GatewayTimeout (504101), ... */
  record Failed(IotHubError error) implements DirectMethodReply {}
}
