package io.twinhub.projections.streams;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;

/**
 * A device-to-cloud message body in a JSON stream message, with how it was put there
 * ({@code bodyEncoding}):
 * <ul>
 *   <li>{@code json}: the body is one JSON value in UTF-8 and its content type is absent or a
 *       JSON one: embedded as that value (what IoT Hub's routing evaluates as {@code $body});</li>
 *   <li>{@code utf-8}: the body is valid UTF-8 but not JSON (or declared as something else):
 *       a JSON string of exactly that text;</li>
 *   <li>{@code base64}: anything else (binary, other charsets): standard base64 of the bytes.</li>
 * </ul>
 * The last two are lossless; {@code json} keeps the value, not the whitespace.
 */
record TelemetryBody(String encoding, JsonNode value) {
  static final String JSON = "json";
  static final String UTF8 = "utf-8";
  static final String BASE64 = "base64";

  private static final ObjectMapper MAPPER = new ObjectMapper()
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  static TelemetryBody of(byte[] body, String contentType) {
    String text = strictUtf8(body);
    if (text == null) {
      return new TelemetryBody(BASE64, JsonNodeFactory.instance.textNode(Base64.getEncoder().encodeToString(body)));
    }
    if (contentType == null || contentType.toLowerCase(Locale.ROOT).contains("json")) {
      JsonNode value = json(text);
      if (value != null) return new TelemetryBody(JSON, value);
    }
    return new TelemetryBody(UTF8, JsonNodeFactory.instance.textNode(text));
  }

  private static String strictUtf8(byte[] body) {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(body)).toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  private static JsonNode json(String text) {
    try {
      JsonNode value = MAPPER.readTree(text);
      return value == null || value.isMissingNode() ? null : value;
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      return null;
    }
  }
}
