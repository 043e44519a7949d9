package io.twinhub.functions.runtime;

import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** What a trigger hands to an invocation. */
public sealed interface InvocationInput {

  /** An HTTP request to {@code /api/...}; {@code routeParams} from the trigger's route template. */
  record Http(String method, URI uri, Map<String, String> headers, Map<String, String> query, byte[] body,
              Map<String, String> routeParams) implements InvocationInput {}

  /** Event Hubs-shaped events: one for cardinality ONE, a batch for MANY. */
  record Events(List<Event> events) implements InvocationInput {}

  /** One event: the body as sent, application properties, system properties (IoT Hub's names). */
  record Event(byte[] body, Map<String, Object> properties, Map<String, Object> systemProperties, Instant enqueuedTime) {}

  /** A timer occurrence: the TimerInfo JSON Azure Functions passes ({@code Schedule}, {@code ScheduleStatus}, {@code IsPastDue}). */
  record Timer(String timerInfoJson) implements InvocationInput {}
}
