package io.twinhub.mqtt.session;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * IoT Hub's device-facing MQTT topics for one connected identity (device, or module of a
 * device): what it may publish to, what it may subscribe to, and the topics the hub publishes
 * on. Everything else is refused (the session closes the connection).
 */
public final class DeviceTopics {
  public static final String TWIN_RES_FILTER = "$iothub/twin/res/#";
  public static final String TWIN_DESIRED_FILTER = "$iothub/twin/PATCH/properties/desired/#";
  public static final String METHODS_FILTER = "$iothub/methods/POST/#";
  /**
   * twinhub extension (README, "Desired/reported delta"): a device subscribed to it gets the
   * desired properties it has not reported, once on SUBSCRIBE and on every connect of a persistent
   * session that holds it. IoT Hub's SDKs never subscribe to it, so they never see it.
   */
  public static final String TWINHUB_DELTA_FILTER = "$twinhub/twin/delta/#";

  static final String TWIN_GET = "$iothub/twin/GET/";
  static final String TWIN_PATCH_REPORTED = "$iothub/twin/PATCH/properties/reported/";
  static final String METHOD_RES = "$iothub/methods/res/";

  private final String deviceId;
  private final String moduleId;
  private final String eventsPrefix;
  private final String deviceboundFilter;
  private final String inputsFilter;

  public DeviceTopics(String deviceId, String moduleId) {
    this.deviceId = deviceId;
    this.moduleId = moduleId;
    String base = moduleId == null ? "devices/" + deviceId : "devices/" + deviceId + "/modules/" + moduleId;
    this.eventsPrefix = base + "/messages/events";
    this.deviceboundFilter = base + "/messages/devicebound/#";
    this.inputsFilter = moduleId == null ? null : base + "/inputs/#";
  }

  /** What a subscription filter is, for this identity; empty = not allowed. */
  public enum Subscription { TWIN_RESPONSES, DESIRED, METHODS, CLOUD_TO_DEVICE, DELTA }

  public Optional<Subscription> subscription(String filter) {
    return switch (filter) {
      case TWIN_RES_FILTER -> Optional.of(Subscription.TWIN_RESPONSES);
      case TWIN_DESIRED_FILTER -> Optional.of(Subscription.DESIRED);
      case METHODS_FILTER -> Optional.of(Subscription.METHODS);
      case TWINHUB_DELTA_FILTER -> Optional.of(Subscription.DELTA);
      default -> filter.equals(deviceboundFilter) || filter.equals(inputsFilter)
          ? Optional.of(Subscription.CLOUD_TO_DEVICE) : Optional.empty();
    };
  }

  /** A PUBLISH from the device, classified. */
  public sealed interface Inbound {}

  public record TwinGet(String rid) implements Inbound {}

  public record TwinPatchReported(String rid) implements Inbound {}

  public record MethodResponse(int status, String rid) implements Inbound {}

  /** Telemetry with its decoded property bag (application and system properties). */
  public record Telemetry(Map<String, String> properties, Map<String, String> systemProperties) implements Inbound {}

  /** Not a topic this identity may publish to, with why. */
  public record Refused(String reason) implements Inbound {}

  public Inbound classify(String topic) {
    if (topic.startsWith("$iothub/")) {
      if (topic.startsWith(TWIN_GET)) {
        return rid(topic.substring(TWIN_GET.length())).<Inbound>map(TwinGet::new)
            .orElse(new Refused("twin GET without a valid $rid"));
      }
      if (topic.startsWith(TWIN_PATCH_REPORTED)) {
        return rid(topic.substring(TWIN_PATCH_REPORTED.length())).<Inbound>map(TwinPatchReported::new)
            .orElse(new Refused("reported patch without a valid $rid"));
      }
      if (topic.startsWith(METHOD_RES)) {
        String rest = topic.substring(METHOD_RES.length());
        int slash = rest.indexOf('/');
        if (slash <= 0 || slash > 3) return new Refused("method response without a status");
        int status;
        try {
          status = Integer.parseInt(rest.substring(0, slash));
        } catch (NumberFormatException e) {
          return new Refused("method response status is not a number");
        }
        Optional<String> rid = rid(rest.substring(slash + 1));
        return rid.<Inbound>map(r -> new MethodResponse(status, r)).orElse(new Refused("method response without a valid $rid"));
      }
      return new Refused("unknown $iothub topic");
    }
    if (topic.startsWith("devices/")) {
      if (!topic.startsWith(eventsPrefix)) return new Refused("topic of another identity or not a telemetry topic");
      String rest = topic.substring(eventsPrefix.length());
      if (rest.isEmpty()) return new Telemetry(Map.of(), Map.of());
      if (rest.charAt(0) != '/') return new Refused("not a telemetry topic");
      String bag = rest.substring(1);
      // Modules (and some SDKs) end the property bag with '/'.
      if (bag.endsWith("/")) bag = bag.substring(0, bag.length() - 1);
      return propertyBag(bag);
    }
    return new Refused("unknown topic");
  }

  /**
   * The {@code $rid} of a reported-properties patch's topic
   * ({@code $iothub/twin/PATCH/properties/reported/?$rid=…}); empty for any other topic or one
   * without a valid {@code $rid}.
   */
  public static Optional<String> reportedPatchRid(String topic) {
    return topic.startsWith(TWIN_PATCH_REPORTED) ? rid(topic.substring(TWIN_PATCH_REPORTED.length())) : Optional.empty();
  }

  /**
   * {@code ?$rid=<rid>[&...]} (IoT Hub also accepts it without '?'). The rid is what the
   * device chose; the hub echoes it. Letters, digits and {@code -_.:} only, at most 128.
   */
  static Optional<String> rid(String query) {
    int from = query.startsWith("?") ? 1 : 0;
    // The parameters are split by hand: this runs for every twin request.
    while (from <= query.length()) {
      int amp = query.indexOf('&', from);
      int end = amp < 0 ? query.length() : amp;
      if (query.startsWith("$rid=", from)) {
        return validRid(query, from + 5, end) ? Optional.of(query.substring(from + 5, end)) : Optional.empty();
      }
      from = end + 1;
    }
    return Optional.empty();
  }

  /** Letters, digits and {@code -_.:}, 1 to 128 of them. */
  private static boolean validRid(String s, int from, int to) {
    if (to - from < 1 || to - from > 128) return false;
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '-' || c == '_' || c == '.' || c == ':';
      if (!ok) return false;
    }
    return true;
  }

  /** The url-encoded property bag {@code k=v&k2=v2}; keys starting with {@code $.} are system properties. */
  static Inbound propertyBag(String bag) {
    Map<String, String> app = new LinkedHashMap<>();
    Map<String, String> sys = new LinkedHashMap<>();
    if (bag.isEmpty()) return new Telemetry(app, sys);
    for (String pair : bag.split("&", -1)) {
      int eq = pair.indexOf('=');
      // The Java SDK omits properties with empty values; a key alone is a property with value "".
      String rawKey = eq < 0 ? pair : pair.substring(0, eq);
      String rawValue = eq < 0 ? "" : pair.substring(eq + 1);
      Optional<String> key = percentDecode(rawKey);
      Optional<String> value = percentDecode(rawValue);
      if (key.isEmpty() || key.get().isEmpty() || value.isEmpty()) {
        return new Refused("malformed telemetry property bag");
      }
      if (key.get().startsWith("$.")) {
        sys.put(systemPropertyName(key.get()), value.get());
      } else if (app.put(key.get(), value.get()) != null) {
        return new Refused("duplicate telemetry property '" + key.get() + "'");
      }
      if (app.size() + sys.size() > 128) return new Refused("more than 128 telemetry properties");
    }
    return new Telemetry(app, sys);
  }

  /** IoT Hub's names for the MQTT system property keys. */
  static String systemPropertyName(String key) {
    return switch (key) {
      case "$.mid" -> "message-id";
      case "$.cid" -> "correlation-id";
      case "$.uid" -> "user-id";
      case "$.to" -> "to";
      case "$.ct" -> "content-type";
      case "$.ce" -> "content-encoding";
      case "$.ctime" -> "iothub-creation-time-utc";
      case "$.exp" -> "absolute-expiry-time";
      case "$.on" -> "iothub-outputname";
      case "$.cdid" -> "iothub-connection-device-id-claimed";
      case "$.cmid" -> "iothub-connection-module-id-claimed";
      case "$.ifid" -> "iothub-interface-id";
      case "$.sub" -> "dt-subject";
      default -> key;
    };
  }

  /** Strict percent-decoding to UTF-8 ('+' stays '+'); empty on bad escapes, bad UTF-8 or control characters. */
  static Optional<String> percentDecode(String s) {
    if (s.indexOf('%') < 0) return noControls(s);
    ByteBuffer out = ByteBuffer.allocate(s.length() * 4);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '%') {
        if (i + 2 >= s.length()) return Optional.empty();
        int hi = Character.digit(s.charAt(i + 1), 16);
        int lo = Character.digit(s.charAt(i + 2), 16);
        if (hi < 0 || lo < 0) return Optional.empty();
        out.put((byte) (hi * 16 + lo));
        i += 2;
      } else {
        out.put(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
      }
    }
    out.flip();
    try {
      return noControls(StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(out).toString());
    } catch (CharacterCodingException e) {
      return Optional.empty();
    }
  }

  private static Optional<String> noControls(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c == 0x7f) return Optional.empty();
    }
    return Optional.of(s);
  }

  // ---- topics the hub publishes on

  public static String twinResponse(int status, String rid) {
    return "$iothub/twin/res/" + status + "/?$rid=" + rid;
  }

  public static String twinPatchResponse(int status, String rid, long version) {
    return "$iothub/twin/res/" + status + "/?$rid=" + rid + "&$version=" + version;
  }

  public static String desiredNotification(long version) {
    return "$iothub/twin/PATCH/properties/desired/?$version=" + version;
  }

  /** The delta push (twinhub extension), at the twin's desired {@code $version} it was computed from. */
  public static String deltaNotification(long desiredVersion) {
    return "$twinhub/twin/delta/?$version=" + desiredVersion;
  }

  public static String methodRequest(String methodName, String rid) {
    return "$iothub/methods/POST/" + methodName + "/?$rid=" + rid;
  }

  /**
   * {@code devices/<id>/messages/devicebound/<property bag>} as IoT Hub publishes it: system
   * properties first ({@code $.mid}, ...: the SDKs find the bag by its first {@code %24}), then
   * {@code iothub-ack}, then the application properties; keys and values percent-encoded.
   */
  public static String cloudToDevice(io.twinhub.twin.c2d.CloudToDeviceMessage m) {
    StringBuilder b = new StringBuilder("devices/").append(m.deviceId()).append("/messages/devicebound/");
    bag(b, "$.mid", m.messageId());
    bag(b, "$.cid", m.correlationId());
    bag(b, "$.uid", m.userId());
    bag(b, "$.to", "/devices/" + m.deviceId() + "/messages/deviceBound");
    bag(b, "$.ct", m.contentType());
    bag(b, "$.ce", m.contentEncoding());
    bag(b, "$.exp", m.expiryTime() == null ? null : io.twinhub.twin.domain.TwinJson.timestamp(m.expiryTime()));
    bag(b, "iothub-ack", m.ack().wireName());
    for (Map.Entry<String, String> p : new java.util.TreeMap<>(m.properties()).entrySet()) bag(b, p.getKey(), p.getValue());
    return b.toString();
  }

  private static void bag(StringBuilder b, String key, String value) {
    if (value == null) return;
    if (b.charAt(b.length() - 1) != '/') b.append('&');
    b.append(encode(key)).append('=').append(encode(value));
  }

  private static String encode(String s) {
    return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  public String deviceId() {
    return deviceId;
  }

  public String moduleId() {
    return moduleId;
  }
}
