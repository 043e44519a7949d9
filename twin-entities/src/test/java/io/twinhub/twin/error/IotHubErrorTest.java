package io.twinhub.twin.error;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static java.util.Map.entry;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IotHubErrorTest {

  static final ObjectMapper JSON = new ObjectMapper();

  /**
   * iot-service-client 2.1.9 {@code ErrorCodeDescription.Parse}, transcribed case by case. Codes
   * it maps that we emit under another constant: 412, 429, 503 (aliases of the six-digit ones).
   */
  static final Map<Integer, String> SDK_PARSE = Map.ofEntries(
      entry(400001, "InvalidProtocolVersion"), entry(400003, "InvalidOperation"),
      entry(400004, "ArgumentInvalid"), entry(400005, "ArgumentNull"), entry(400006, "IotHubFormatError"),
      entry(400011, "DeviceDefinedMultipleTimes"), entry(400013, "BulkRegistryOperationFailure"),
      entry(401002, "IotHubUnauthorizedAccess"), entry(403002, "IotHubQuotaExceeded"),
      entry(403004, "DeviceMaximumQueueDepthExceeded"), entry(404001, "DeviceNotFound"),
      entry(404010, "ModuleNotFound"), entry(404103, "DeviceNotOnline"), entry(409001, "DeviceAlreadyExists"),
      entry(409301, "ModuleAlreadyExistsOnDevice"), entry(412001, "PreconditionFailed"),
      entry(412, "PreconditionFailed"), entry(413001, "MessageTooLarge"), entry(413002, "TooManyDevices"),
      entry(429001, "ThrottlingException"), entry(429, "ThrottlingException"),
      entry(429002, "ThrottleBacklogLimitExceeded"), entry(500001, "ServerError"),
      entry(503001, "ServiceUnavailable"), entry(503, "ServiceUnavailable"), entry(400, "BadFormat"),
      entry(401, "Unauthorized"), entry(403, "Forbidden"), entry(404, "NotFound"), entry(409, "Conflict"),
      entry(413, "RequestEntityTooLarge"), entry(500, "InternalServerError"));

  @Test
  void everyCodeTheSdkKnowsIsHereWithTheSdksName() {
    Set<Integer> covered = new HashSet<>();
    for (IotHubErrorCode c : IotHubErrorCode.values()) {
      if (c.sdkKnown()) {
        assertEquals(SDK_PARSE.get(c.code()), c.name(), "name of " + c.code());
        covered.add(c.code());
      } else {
        assertFalse(SDK_PARSE.containsKey(c.code()), c + " is known to the SDK after all");
      }
    }
    Set<Integer> missing = new HashSet<>(SDK_PARSE.keySet());
    missing.removeAll(covered);
    assertEquals(Set.of(412, 429, 503), missing, "only the bare-status aliases may be left out");
  }

  @Test
  void statusIsDerivedFromTheCode() {
    assertEquals(404, IotHubErrorCode.DeviceNotFound.status());
    assertEquals(412, IotHubErrorCode.PreconditionFailed.status());
    assertEquals(401, IotHubErrorCode.IotHubUnauthorizedAccess.status());
    assertEquals(413, IotHubErrorCode.MessageTooLarge.status());
    assertEquals(429, IotHubErrorCode.ThrottlingException.status());
    assertEquals(503, IotHubErrorCode.ServiceUnavailable.status());
    assertEquals(400, IotHubErrorCode.BadFormat.status());
    for (IotHubErrorCode c : IotHubErrorCode.values()) {
      assertTrue(c.status() >= 400 && c.status() < 600, c.name());
      assertEquals(c, IotHubErrorCode.fromCode(c.code()).orElseThrow());
    }
    assertTrue(IotHubErrorCode.fromCode(412002).isEmpty());
  }

  @Test
  void bodyHasIotHubsShapeForBothSdks() throws Exception {
    IotHubError error = IotHubErrorCode.DeviceNotFound.error("Device dev9 not found");
    String body = error.toJsonBody("0123abcd", Instant.parse("2024-05-06T07:08:09.123Z"));
    JsonNode outer = JSON.readTree(body);
    assertEquals("Tracking ID:0123abcd-TimeStamp:2024-05-06T07:08:09.123Z", outer.get("ExceptionMessage").asText());
    String message = outer.get("Message").asText();
    String javaForm = "{\"Message\":\"{\\\"errorCode\\\":404001,\\\"trackingId\\\":\\\"0123abcd\\\","
        + "\\\"message\\\":\\\"Device dev9 not found\\\",\\\"timestampUtc\\\":\\\"2024-05-06T07:08:09.123Z\\\"}\","
        + "\"ExceptionMessage\":\"\"}";
    assertEquals("ErrorCode:DeviceNotFound;Device dev9 not found;" + javaForm, message);
    assertEquals(List.of("Message", "ExceptionMessage"), fieldNames(outer));
    JsonNode inner = IotHubError.parseBody(body).orElseThrow();
    assertEquals(List.of("errorCode", "trackingId", "message", "timestampUtc"), fieldNames(inner));
    assertTrue(inner.get("errorCode").isInt());
    assertEquals(404001, inner.get("errorCode").asInt());
    assertEquals("Device dev9 not found", inner.get("message").asText());
    assertEquals(404, error.status());
    assertEquals(404001, error.errorCode());
    assertTrue(IotHubError.parseBody("{\"Message\":\"ErrorCode:X;y\"}").isEmpty());
    assertTrue(IotHubError.parseBody("not json").isEmpty());
  }

  @Test
  void nodeSdkParsingLogicRecoversCodeNameAndMessageForEveryCode() {
    Clock clock = Clock.fixed(Instant.parse("2024-05-06T07:08:09Z"), ZoneOffset.UTC);
    for (IotHubErrorCode c : IotHubErrorCode.values()) {
      String body = c.error("Twin \"dev\\9\" {weird} message; with: all \u00e9 sorts").toJsonBody(clock);
      String[] parsed = nodeParseErrorBody(body);
      assertEquals(c.name(), parsed[0], c.name());
      assertEquals("Twin \"dev\\9\" (weird) message, with: all \u00e9 sorts", parsed[1]);
    }
    // An empty message still gives Node a message (it ignores the code without one).
    assertEquals("error", nodeParseErrorBody(IotHubErrorCode.NotFound.error("").toJsonBody(clock))[1]);
  }

  /**
   * {@code Http.parseErrorBody} of azure-iothub 1.16.6 (dist/common-http/http.js), ported:
   * {@code parts = JSON.parse(body).Message.split(';'); code = parts[0].split(':')[1]; message = parts[1]},
   * null unless both are non-empty.
   */
  static String[] nodeParseErrorBody(String body) {
    String message = readTree(body).get("Message").asText();
    String[] parts = message.split(";", -1);
    String[] codeParts = parts[0].split(":", -1);
    String code = codeParts.length > 1 ? codeParts[1] : "";
    String text = parts.length > 1 ? parts[1] : "";
    assertFalse(code.isEmpty() || text.isEmpty(), "Node would not map " + body);
    return new String[] {code, text};
  }

  @Test
  void sdkParsingLogicRecoversCodeAndMessageForEveryCode() {
    Clock clock = Clock.fixed(Instant.parse("2024-05-06T07:08:09Z"), ZoneOffset.UTC);
    for (IotHubErrorCode c : IotHubErrorCode.values()) {
      String message = "Twin \"dev\\9\" {weird} message; with: all \u00e9 sorts";
      String body = c.error(message).toJsonBody(clock);
      String best = bestErrorMessage(body);
      assertEquals(c.code(), bestErrorCode(best), c.name());
      // The SDK's exception message is the inner JSON (plus a space); it contains our message.
      assertEquals(message, readTree(best.strip()).get("message").asText());
    }
  }

  @Test
  void anythingInExceptionMessageWouldHideTheCodeFromTheSdk() {
    // Why ExceptionMessage stays empty: documents the SDK behaviour our body relies on.
    String withTracking = "{\"Message\":\"{\\\"errorCode\\\":404001}\",\"ExceptionMessage\":\"Tracking ID:abc\"}";
    assertEquals(0, bestErrorCode(bestErrorMessage(withTracking)));
  }

  @Test
  void nullMessageBecomesEmptyAndTrackingIdsAreFresh() {
    IotHubError e = IotHubError.of(IotHubErrorCode.ServerError, null);
    assertEquals("", e.message());
    String a = IotHubError.newTrackingId();
    assertEquals(32, a.length());
    assertFalse(a.equals(IotHubError.newTrackingId()));
    assertEquals("DeviceNotFound", IotHubErrorCode.DeviceNotFound.headerValue());
  }

  // ---- ErrorMessageParser of iot-service-client 2.1.9, ported from Gson to Jackson ----
  // bestErrorMessage: unwrap "Message" (case-sensitive) while it parses as an object holding one,
  // remember the last non-null "ExceptionMessage", return root + " " + exception.
  // bestErrorCode: parse the result as a JSON object; numeric "errorCode" or 0. Gson refuses
  // trailing non-whitespace ("document not fully consumed"), so we do too.

  static String bestErrorMessage(String full) {
    if (full == null || full.isEmpty()) {
      return "";
    }
    String rootMessage = full;
    String rootException = null;
    JsonNode sub = parseObjectOrNull(rootMessage);
    while (sub != null && sub.hasNonNull("Message")) {
      rootMessage = sub.get("Message").asText();
      if (sub.hasNonNull("ExceptionMessage")) {
        rootException = sub.get("ExceptionMessage").asText();
      }
      int brace = rootMessage.indexOf('{');
      if (brace < 0) {
        break;
      }
      sub = parseObjectOrNull(rootMessage.substring(brace));
      if (sub == null) {
        break;
      }
    }
    return rootException != null ? rootMessage + " " + rootException : rootMessage;
  }

  static int bestErrorCode(String message) {
    JsonNode node = parseObjectOrNull(message);
    if (node != null && node.has("errorCode") && node.get("errorCode").isNumber()) {
      return node.get("errorCode").asInt();
    }
    return 0;
  }

  static JsonNode parseObjectOrNull(String text) {
    try {
      var parser = JSON.getFactory().createParser(text);
      JsonNode node = JSON.readTree(parser);
      if (parser.nextToken() != null) {
        return null; // trailing content
      }
      return node != null && node.isObject() ? node : null;
    } catch (Exception e) {
      return null;
    }
  }

  static JsonNode readTree(String s) {
    try {
      return JSON.readTree(s);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  static List<String> fieldNames(JsonNode node) {
    List<String> names = new java.util.ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }
}
