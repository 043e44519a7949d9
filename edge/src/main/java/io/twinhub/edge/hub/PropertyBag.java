package io.twinhub.edge.hub;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The url-encoded property bag at the end of an MQTT telemetry or input topic
 * ({@code %24.mid=1&%24.ct=application%2Fjson&temp=31}): system properties first, under MQTT's
 * short keys ({@code $.mid}, ...), then application properties. The Java device SDK reads the
 * properties of an input message only when the bag starts with a system property ({@code %24}),
 * and splits the topic there to find the input name.
 */
public final class PropertyBag {
  private PropertyBag() {}

  /** IoT Hub's system property names → the MQTT keys (the inverse of the gateway's decoding). */
  private static final Map<String, String> SHORT = Map.ofEntries(
      Map.entry("message-id", "$.mid"),
      Map.entry("correlation-id", "$.cid"),
      Map.entry("user-id", "$.uid"),
      Map.entry("to", "$.to"),
      Map.entry("content-type", "$.ct"),
      Map.entry("content-encoding", "$.ce"),
      Map.entry("iothub-creation-time-utc", "$.ctime"),
      Map.entry("absolute-expiry-time", "$.exp"),
      Map.entry("iothub-outputname", "$.on"));

  /** The bag; {@code first} system properties (by MQTT key) come before the rest. */
  public static String encode(Map<String, String> first, Map<String, String> system, Map<String, String> properties) {
    StringBuilder b = new StringBuilder();
    first.forEach((k, v) -> append(b, k, v));
    system.forEach((k, v) -> {
      String key = SHORT.get(k);
      if (key != null && !first.containsKey(key)) append(b, key, v);
    });
    properties.forEach((k, v) -> append(b, k, v));
    return b.toString();
  }

  private static void append(StringBuilder b, String key, String value) {
    if (value == null) return;
    if (b.length() > 0) b.append('&');
    b.append(encode(key)).append('=').append(encode(value));
  }

  /** Percent-encoding with {@code %20} for a space (the hub keeps '+' as '+'; the SDK reads '+' as a space). */
  static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
