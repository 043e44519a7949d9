package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.AuthenticationType;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;

import java.time.Instant;
import java.util.Set;

/**
 * The identity registry's JSON shapes ({@code /devices/{id}}, {@code /devices/{id}/modules/{mid}}):
 * rendering as IoT Hub renders them (field names and order of its REST API, the shape the service
 * SDK's {@code RegistryIdentityParser} reads) and strict parsing of what back ends PUT.
 *
 * <p>Parsing reads only what a back end may set: {@code status}, {@code statusReason},
 * {@code authentication} and, for devices, {@code capabilities.iotEdge}. The read-only fields the
 * SDK echoes ({@code etag}, {@code generationId}, {@code connectionState}, times, counts, scopes) are
 * ignored, as IoT Hub ignores them; a field of the wrong JSON type is a 400 naming the field.
 */
public final class RegistryJson {

  /** IoT Hub's limit for {@code statusReason}. */
  public static final int MAX_STATUS_REASON = 128;

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final Set<String> AUTH_TYPES = Set.of("sas", "selfSigned", "certificateAuthority", "none");

  private RegistryJson() {}

  /** The result of parsing a PUT body: a spec, or the 400 to answer. */
  public sealed interface Parsed {}

  public record Spec(IdentitySpec spec) implements Parsed {}

  public record Invalid(IotHubError error) implements Parsed {}

  // ------------------------------------------------------------------ rendering

  /** A device identity as {@code GET/PUT /devices/{id}} answers it. */
  public static ObjectNode device(Identity id) {
    ObjectNode out = NODES.objectNode();
    out.put("deviceId", id.deviceId());
    out.put("generationId", id.generationId());
    out.put("etag", id.etag());
    out.put("connectionState", id.connectionState().wire());
    out.put("status", id.status().wire());
    out.put("statusReason", id.statusReason());
    out.put("connectionStateUpdatedTime", time(id.connectionStateUpdatedTime()));
    out.put("statusUpdatedTime", time(id.statusUpdatedTime()));
    out.put("lastActivityTime", time(id.lastActivityTime()));
    out.put("cloudToDeviceMessageCount", id.cloudToDeviceMessageCount());
    out.set("authentication", authentication(id.authentication()));
    out.putObject("capabilities").put("iotEdge", id.iotEdge());
    if (!id.deviceScope().isEmpty()) out.put("deviceScope", id.deviceScope());
    if (!id.parentScopes().isEmpty()) id.parentScopes().forEach(out.putArray("parentScopes")::add);
    return out;
  }

  /** A module identity as {@code GET/PUT /devices/{id}/modules/{mid}} answers it. */
  public static ObjectNode module(Identity id) {
    ObjectNode out = NODES.objectNode();
    out.put("moduleId", id.moduleId());
    out.putNull("managedBy");
    out.put("deviceId", id.deviceId());
    out.put("generationId", id.generationId());
    out.put("etag", id.etag());
    out.put("connectionState", id.connectionState().wire());
    out.put("connectionStateUpdatedTime", time(id.connectionStateUpdatedTime()));
    out.put("lastActivityTime", time(id.lastActivityTime()));
    out.put("cloudToDeviceMessageCount", id.cloudToDeviceMessageCount());
    out.set("authentication", authentication(id.authentication()));
    return out;
  }

  /** The identity (device or module) in its registry shape. */
  public static ObjectNode identity(Identity id) {
    return id.isModule() ? module(id) : device(id);
  }

  private static ObjectNode authentication(Authentication a) {
    ObjectNode out = NODES.objectNode();
    ObjectNode keys = out.putObject("symmetricKey");
    keys.put("primaryKey", a.symmetricKey().primaryKey());
    keys.put("secondaryKey", a.symmetricKey().secondaryKey());
    ObjectNode x509 = out.putObject("x509Thumbprint");
    x509.put("primaryThumbprint", a.x509Thumbprint().primaryThumbprint());
    x509.put("secondaryThumbprint", a.x509Thumbprint().secondaryThumbprint());
    out.put("type", a.type().wire());
    return out;
  }

  private static String time(Instant t) {
    return t == null ? TwinJson.NEVER : TwinJson.timestamp(t);
  }

  // ------------------------------------------------------------------ parsing

  /**
   * The spec of a device ({@code moduleId} null) or module PUT. An id in the body must equal the
   * one in the URL.
   */
  public static Parsed parse(ObjectNode body, String deviceId, String moduleId) {
    try {
      requireSameId(body, "deviceId", deviceId);
      if (moduleId != null) {
        requireSameId(body, "moduleId", moduleId);
      }
      DeviceStatus status = DeviceStatus.ENABLED;
      String statusText = optionalText(body, "status");
      if (statusText != null) {
        status = DeviceStatus.fromWire(statusText);
        if (status == null) {
          throw invalid("status", "must be 'enabled' or 'disabled', got '" + clip(statusText) + "'");
        }
      }
      String statusReason = optionalText(body, "statusReason");
      if (statusReason != null && statusReason.length() > MAX_STATUS_REASON) {
        throw invalid("statusReason", "longer than " + MAX_STATUS_REASON + " characters");
      }
      Authentication authentication = authentication(body.get("authentication"));
      boolean iotEdge = false;
      JsonNode capabilities = body.get("capabilities");
      if (capabilities != null && !capabilities.isNull()) {
        if (!capabilities.isObject()) {
          throw invalid("capabilities", "must be an object");
        }
        JsonNode edge = capabilities.get("iotEdge");
        if (edge != null && !edge.isNull()) {
          if (!edge.isBoolean()) {
            throw invalid("capabilities.iotEdge", "must be true or false");
          }
          iotEdge = edge.booleanValue();
        }
      }
      String deviceScope = moduleId == null ? optionalText(body, "deviceScope") : null;
      if (deviceScope != null) checkScope(deviceScope, "deviceScope");
      java.util.List<String> parentScopes = moduleId == null ? parentScopes(body) : null;
      return new Spec(new IdentitySpec(status, statusReason, authentication, iotEdge, deviceScope, parentScopes));
    } catch (BadField e) {
      return new Invalid(IotHubErrorCode.ArgumentInvalid.error(e.getMessage()));
    }
  }

  private static Authentication authentication(JsonNode node) throws BadField {
    if (node == null || node.isNull()) {
      return Authentication.sas(null, null);
    }
    if (!node.isObject()) {
      throw invalid("authentication", "must be an object");
    }
    String typeText = optionalText(node, "type", "authentication.type");
    AuthenticationType type = typeText == null ? AuthenticationType.SAS : AuthenticationType.fromWire(typeText);
    if (type == null || !AUTH_TYPES.contains(type.wire())) {
      throw invalid("authentication.type", "must be one of " + AUTH_TYPES + ", got '" + clip(typeText) + "'");
    }
    JsonNode keys = objectOrNull(node, "symmetricKey", "authentication.symmetricKey");
    JsonNode thumbs = objectOrNull(node, "x509Thumbprint", "authentication.x509Thumbprint");
    String primaryKey = keys == null ? null : optionalText(keys, "primaryKey", "authentication.symmetricKey.primaryKey");
    String secondaryKey = keys == null ? null : optionalText(keys, "secondaryKey", "authentication.symmetricKey.secondaryKey");
    String primaryThumb = thumbs == null ? null
        : optionalText(thumbs, "primaryThumbprint", "authentication.x509Thumbprint.primaryThumbprint");
    String secondaryThumb = thumbs == null ? null
        : optionalText(thumbs, "secondaryThumbprint", "authentication.x509Thumbprint.secondaryThumbprint");
    return switch (type) {
      // Key syntax (base64 of 16..64 bytes) is the domain's rule, checked when the identity is written.
      case SAS -> Authentication.sas(emptyToNull(primaryKey), emptyToNull(secondaryKey));
      case SELF_SIGNED -> Authentication.selfSigned(emptyToNull(primaryThumb), emptyToNull(secondaryThumb));
      case CERTIFICATE_AUTHORITY -> Authentication.certificateAuthority();
      case NONE -> new Authentication(AuthenticationType.NONE, null, null);
    };
  }

  /** {@code parentScopes}: absent/null, or an array of at most one edge scope (IoT Hub: one parent). */
  private static java.util.List<String> parentScopes(ObjectNode body) throws BadField {
    JsonNode n = body.get("parentScopes");
    if (n == null || n.isNull()) return null;
    if (!n.isArray()) throw invalid("parentScopes", "must be an array of strings");
    if (n.size() > 1) throw invalid("parentScopes", "a device has at most one parent");
    java.util.List<String> out = new java.util.ArrayList<>();
    for (JsonNode s : n) {
      if (!s.isTextual()) throw invalid("parentScopes", "must be an array of strings");
      checkScope(s.textValue(), "parentScopes");
      if (!s.textValue().isEmpty()) out.add(s.textValue());
    }
    return out;
  }

  /** A device scope is an IoT Edge device's ({@code ms-azure-iot-edge://<id>-<generation>}) or "" (none). */
  private static void checkScope(String scope, String field) throws BadField {
    if (!scope.isEmpty() && (!scope.startsWith(Identity.EDGE_SCOPE_PREFIX) || scope.length() > 300)) {
      throw invalid(field, "must be an IoT Edge device's scope (" + Identity.EDGE_SCOPE_PREFIX + "...), got '" + clip(scope) + "'");
    }
  }

  private static void requireSameId(ObjectNode body, String field, String expected) throws BadField {
    String inBody = optionalText(body, field);
    if (inBody != null && !inBody.equals(expected)) {
      throw invalid(field, "'" + clip(inBody) + "' in the body does not match '" + expected + "' in the URL");
    }
  }

  private static JsonNode objectOrNull(JsonNode parent, String field, String path) throws BadField {
    JsonNode n = parent.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isObject()) {
      throw invalid(path, "must be an object");
    }
    return n;
  }

  private static String optionalText(JsonNode parent, String field) throws BadField {
    return optionalText(parent, field, field);
  }

  private static String optionalText(JsonNode parent, String field, String path) throws BadField {
    JsonNode n = parent.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isTextual()) {
      throw invalid(path, "must be a string");
    }
    return n.textValue();
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }

  /** Echoes at most a short prefix of client input in messages. */
  static String clip(String s) {
    if (s == null) {
      return "null";
    }
    String printable = s.codePoints().limit(64)
        .map(c -> Character.isISOControl(c) ? '?' : c)
        .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
    return s.codePointCount(0, s.length()) > 64 ? printable + "..." : printable;
  }

  private static BadField invalid(String field, String problem) {
    return new BadField("'" + field + "' " + problem);
  }

  /** Internal control flow of the parser; never escapes it. */
  private static final class BadField extends Exception {
    BadField(String message) {
      super(message, null, false, false);
    }
  }
}
