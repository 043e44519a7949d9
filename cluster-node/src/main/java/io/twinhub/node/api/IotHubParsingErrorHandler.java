package io.twinhub.node.api;

import akka.event.LoggingAdapter;
import akka.http.ParsingErrorHandler;
import akka.http.javadsl.model.HttpResponse;
import akka.http.scaladsl.model.ErrorInfo;
import akka.http.scaladsl.model.StatusCode;
import akka.http.scaladsl.settings.ServerSettings;
import io.twinhub.twin.error.IotHubErrorCode;

import java.time.Clock;
import java.time.Duration;

/**
 * Answers requests Akka HTTP cannot even parse (illegal request line or URI, bad percent-escape,
 * oversized headers, a declared body over the limit) in IoT Hub's error shape instead of Akka's
 * plain text. Configured as {@code akka.http.server.parsing.error-handler}; Akka instantiates it
 * per connection, so it keeps no state.
 */
public final class IotHubParsingErrorHandler extends ParsingErrorHandler {

  private static final ApiResponses RESPONSES = new ApiResponses(Clock.systemUTC(), Duration.ofSeconds(1));

  @Override
  public HttpResponse handle(StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
    // Whatever Akka would say (414, 431, 501 for an unknown method, 505 ...), it is the
    // client's mistake: 400, or 413 for a body over the limit.
    IotHubErrorCode code = status.intValue() == 413 ? IotHubErrorCode.RequestEntityTooLarge : IotHubErrorCode.BadFormat;
    // The summary names what was wrong (e.g. "Illegal request-target"), never request content.
    String message = info.summary().isEmpty() ? status.reason() : info.summary();
    log.debug("unparseable request: {} {}", status.intValue(), message);
    return RESPONSES.error(code, message);
  }
}
