package io.twinhub.projections.streams;

import io.twinhub.twin.telemetry.TelemetryMessage;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Device-to-cloud messages as stream messages: properties, system properties, body encodings, routing. */
class TelemetryMessagesTest {
  static final Instant T0 = Instant.parse("2026-11-24T10:00:00.123Z");

  record Received(String deviceId, String moduleId, Map<String, String> properties,
                  Map<String, String> systemProperties, byte[] body, Instant enqueuedTime) implements TelemetryMessage {}

  static HubMessage message(String moduleId, Map<String, String> system, byte[] body) {
    String twinId = moduleId == null ? "pump-1" : "pump-1/" + moduleId;
    return HubMessages.ofTelemetry("Telemetry|" + twinId, 7,
        new Received("pump-1", moduleId, Map.of("alert", "high", "level", "3"), system, body, T0));
  }

  static final Map<String, String> SDK_SYSTEM = Map.of(
      "message-id", "msg-1", "correlation-id", "corr-1", "content-type", "application/json",
      "content-encoding", "utf-8", "iothub-connection-device-id", "pump-1",
      "iothub-enqueuedtime", "2026-11-24T10:00:00.123Z");

  @Test
  void carriesIdsPropertiesAndSystemPropertiesAsIotHubRoutesThem() {
    HubMessage m = message(null, SDK_SYSTEM, "{\"t\":22.5}".getBytes(StandardCharsets.UTF_8));
    assertEquals(MessageSource.DEVICE_MESSAGES, m.source());
    assertEquals("pump-1", m.deviceId());
    assertNull(m.moduleId());
    assertEquals("pump-1", m.twinId());
    assertEquals(7, m.sequenceNr());
    assertNull(m.version());
    assertEquals(T0, m.enqueuedTime());
    assertEquals(Map.of("alert", "high", "level", "3"), m.properties());
    assertEquals("msg-1", m.systemProperties().get("$message-id"));
    assertEquals("corr-1", m.systemProperties().get("$correlation-id"));
    assertEquals("application/json", m.systemProperties().get("$content-type"));
    assertEquals("utf-8", m.systemProperties().get("$content-encoding"));
    assertEquals("pump-1", m.systemProperties().get("$iothub-connection-device-id"));
    assertEquals("2026-11-24T10:00:00.123Z", m.systemProperties().get("$iothub-enqueuedtime"));
    assertEquals("Telemetry", m.systemProperties().get("$iothub-message-source"));
    assertEquals("json", m.bodyEncoding());
    assertEquals(22.5, m.body().get("t").asDouble());

    HubMessage module = message("sensor", Map.of(), new byte[0]);
    assertEquals("pump-1/sensor", module.twinId());
    assertEquals("sensor", module.systemProperties().get("$iothub-connection-module-id"));
    assertEquals("2026-11-24T10:00:00.123Z", module.systemProperties().get("$iothub-enqueuedtime"),
        "enqueued time even when the journaled system properties lack it");
  }

  @Test
  void bodiesAreJsonTextOrBase64AndSaySo() {
    byte[] json = "[1, {\"a\": true}]".getBytes(StandardCharsets.UTF_8);
    assertEquals(new TelemetryBody("json", new com.fasterxml.jackson.databind.ObjectMapper().createArrayNode()
        .add(1).add(new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().put("a", true))),
        TelemetryBody.of(json, null), "no content type: JSON if it parses");
    assertEquals("utf-8", TelemetryBody.of(json, "text/plain").encoding(), "declared as text: kept as text");
    assertEquals("[1, {\"a\": true}]", TelemetryBody.of(json, "text/plain").value().asText());
    TelemetryBody text = TelemetryBody.of("temperature 21°C".getBytes(StandardCharsets.UTF_8), "application/json");
    assertEquals("utf-8", text.encoding(), "not JSON although declared so");
    assertEquals("temperature 21°C", text.value().asText());
    assertEquals("utf-8", TelemetryBody.of("{\"a\":1} trailing".getBytes(StandardCharsets.UTF_8), null).encoding());
    assertEquals("utf-8", TelemetryBody.of(new byte[0], null).encoding(), "empty body: empty text");
    assertEquals("", TelemetryBody.of(new byte[0], null).value().asText());
    byte[] binary = {(byte) 0xff, 0x00, (byte) 0xc3, 0x28};
    TelemetryBody b = TelemetryBody.of(binary, "application/octet-stream");
    assertEquals("base64", b.encoding());
    assertArrayEquals(binary, Base64.getDecoder().decode(b.value().asText()));
    assertEquals("base64", TelemetryBody.of("été".getBytes(StandardCharsets.ISO_8859_1), null).encoding(),
        "Latin-1 text is not UTF-8");
    assertEquals("12345678901234567890.5", TelemetryBody.of("12345678901234567890.5".getBytes(StandardCharsets.UTF_8), null)
        .value().asText(), "numbers keep their digits");
  }

  @Test
  void routeConditionsReadDeviceMessagesLikeIotHubRoutingQueries() {
    HubMessage m = message(null, SDK_SYSTEM, "{\"t\":22.5,\"site\":{\"name\":\"north\"}}".getBytes(StandardCharsets.UTF_8));
    assertTrue(RouteConditions.parse("alert = 'high' AND $body.t > 20").test(m));
    assertTrue(RouteConditions.parse("$body.site.name = 'north' AND $contentType = 'application/json'").test(m));
    assertTrue(RouteConditions.parse("$connectionDeviceId = 'pump-1' AND deviceId = 'pump-1' AND $messageId = 'msg-1'").test(m));
    assertFalse(RouteConditions.parse("$body.t > 30").test(m));
    assertFalse(RouteConditions.parse("IS_DEFINED(moduleId)").test(m));
    assertTrue(RouteConditions.parse("source = 'deviceMessages'").test(m));
    HubMessage binary = message(null, Map.of(), new byte[] {(byte) 0xff});
    assertFalse(RouteConditions.parse("IS_DEFINED($body)").test(binary), "a body that is not JSON is not $body");
    assertTrue(RouteConditions.parse("level = '3'").test(binary), "application properties are strings");
  }
}
