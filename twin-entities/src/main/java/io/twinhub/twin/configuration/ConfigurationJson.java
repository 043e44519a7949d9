package io.twinhub.twin.configuration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.Section;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.domain.TwinValidator;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The JSON of {@code /configurations} as IoT Hub (api-version 2021-04-12) and the service SDKs
 * read and write it: parsing a request body into a {@link Spec} (every rule checked, the first
 * problem named), and rendering a stored {@link Configuration} with its metrics. The read-only
 * members a client echoes back ({@code etag}, {@code createdTimeUtc}, {@code lastUpdatedTimeUtc},
 * {@code systemMetrics}, {@code metrics.results}, {@code contentType}) are ignored.
 */
public final class ConfigurationJson {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  /** IoT Hub: up to 128 lower-case letters, digits and {@code -:+%_#*?!(),=@$'}. */
  private static final Pattern ID = Pattern.compile("[a-z0-9\\-:+%_#*?!(),=@$']{1,128}");
  private static final int MAX_LABEL_LENGTH = 128;

  private ConfigurationJson() {}

  /** A configuration as a client asks for it. {@code content} is empty when the body sets none. */
  public record Spec(String id, String schemaVersion, Map<String, String> labels, Configuration.Content content,
                     String targetCondition, int priority, Map<String, String> metricQueries) {}

  public sealed interface Parsed {}

  public record Valid(Spec spec) implements Parsed {}

  public record Invalid(IotHubError error) implements Parsed {}

  /** IoT Hub's configuration id syntax, or the error naming it. */
  public static Optional<IotHubError> checkId(String id) {
    return id != null && ID.matcher(id).matches() ? Optional.empty()
        : Optional.of(invalid("configuration id must be 1..128 lower-case letters, digits or - : + % _ # * ? ! ( ) , = @ $ ', got '"
            + clip(String.valueOf(id)) + "'"));
  }

  /** {@code PUT /configurations/{pathId}} body. */
  public static Parsed parse(ObjectNode body, String pathId, TwinLimits limits) {
    try {
      checkId(pathId).ifPresent(e -> {
        throw new Bad(e.message());
      });
      JsonNode id = body.path("id");
      if (!id.isMissingNode() && !id.isNull() && !(id.isTextual() && id.textValue().equals(pathId))) {
        throw new Bad("the body's id " + clip(id.toString()) + " differs from the id in the path '" + pathId + "'");
      }
      String schemaVersion = optionalText(body, "schemaVersion", "1.0");
      Map<String, String> labels = stringMap(body.path("labels"), "labels");
      for (Map.Entry<String, String> l : labels.entrySet()) {
        if (l.getKey().length() > MAX_LABEL_LENGTH || l.getValue().length() > MAX_LABEL_LENGTH) {
          throw new Bad("labels." + clip(l.getKey()) + ": label names and values are at most " + MAX_LABEL_LENGTH + " characters");
        }
      }
      String condition = optionalText(body, "targetCondition", "");
      int priority = priority(body.path("priority"));
      JsonNode metrics = body.path("metrics");
      if (!metrics.isMissingNode() && !metrics.isNull() && !metrics.isObject()) throw new Bad("metrics must be a JSON object");
      Map<String, String> queries = stringMap(metrics.path("queries"), "metrics.queries");
      Configuration.Content content = content(body.path("content"), limits);
      return new Valid(new Spec(pathId, schemaVersion, labels, content, condition, priority, queries));
    } catch (Bad e) {
      return new Invalid(invalid(e.getMessage()));
    }
  }

  /**
   * {@code POST /devices/{id}/applyConfigurationContent} body: a content object
   * ({@code deviceContent} or {@code modulesContent}) checked as a configuration's; the spec
   * carries only that content.
   */
  public static Parsed parseContent(ObjectNode body, TwinLimits limits) {
    try {
      Configuration.Content c = content(body, limits);
      if (c.isEmpty()) throw new Bad("the content must set deviceContent, moduleContent or modulesContent");
      return new Valid(new Spec(null, "1.0", Map.of(), c, "", 0, Map.of()));
    } catch (Bad e) {
      return new Invalid(invalid(e.getMessage()));
    }
  }

  private static Configuration.Content content(JsonNode content, TwinLimits limits) {
    if (content.isMissingNode() || content.isNull()) return new Configuration.Content(null, null, null);
    if (!content.isObject()) throw new Bad("content must be a JSON object");
    JsonDoc device = desiredPaths(content.path("deviceContent"), "content.deviceContent", limits);
    JsonDoc module = desiredPaths(content.path("moduleContent"), "content.moduleContent", limits);
    JsonDoc modules = modulesContent(content.path("modulesContent"), limits);
    int set = (device.isEmpty() ? 0 : 1) + (module.isEmpty() ? 0 : 1) + (modules.isEmpty() ? 0 : 1);
    if (set > 1) {
      throw new Bad("content must set exactly one of deviceContent, moduleContent and modulesContent");
    }
    return new Configuration.Content(device, module, modules);
  }

  /** deviceContent / moduleContent: keys {@code properties.desired.<path>}, values valid desired properties. */
  private static JsonDoc desiredPaths(JsonNode node, String at, TwinLimits limits) {
    if (node.isMissingNode() || node.isNull()) return JsonDoc.empty();
    if (!node.isObject()) throw new Bad(at + " must be a JSON object");
    node.fields().forEachRemaining(e -> {
      List<String> path = ConfigurationPaths.desiredPath(e.getKey())
          .filter(p -> !p.isEmpty())
          .orElseThrow(() -> new Bad(at + ": key '" + clip(e.getKey())
              + "' must be a path below properties.desired, e.g. properties.desired.settings"));
      checkDesired(path, e.getValue(), at + "['" + e.getKey() + "']", limits);
    });
    return JsonDoc.of((ObjectNode) node);
  }

  /** modulesContent: per module id, {@code properties.desired} (whole) or paths below it; then the edge manifest rules. */
  private static JsonDoc modulesContent(JsonNode node, TwinLimits limits) {
    if (node.isMissingNode() || node.isNull()) return JsonDoc.empty();
    if (!node.isObject()) throw new Bad("content.modulesContent must be a JSON object");
    node.fields().forEachRemaining(m -> {
      String at = "content.modulesContent." + m.getKey();
      Identity.checkId(m.getKey(), "moduleId").ifPresent(r -> {
        throw new Bad(at + ": " + r.message());
      });
      if (!m.getValue().isObject()) throw new Bad(at + " must be a JSON object");
      m.getValue().fields().forEachRemaining(e -> {
        List<String> path = ConfigurationPaths.desiredPath(e.getKey()).orElseThrow(() -> new Bad(at + ": key '"
            + clip(e.getKey()) + "' must be properties.desired or a path below it"));
        if (path.isEmpty() && !e.getValue().isObject()) throw new Bad(at + "['properties.desired'] must be a JSON object");
        checkDesired(path, e.getValue(), at + "['" + e.getKey() + "']", limits);
      });
    });
    EdgeManifest.check(node).ifPresent(problem -> {
      throw new Bad(problem);
    });
    return JsonDoc.of((ObjectNode) node);
  }

  /** The desired document {@code value} at {@code path} would make, checked by the twin's own content rules. */
  private static void checkDesired(List<String> path, JsonNode value, String at, TwinLimits limits) {
    ObjectNode doc = NODES.objectNode();
    if (path.isEmpty()) {
      doc.setAll((ObjectNode) value);
    } else {
      ObjectNode parent = doc;
      for (String s : path.subList(0, path.size() - 1)) parent = parent.putObject(s);
      parent.set(path.get(path.size() - 1), value);
    }
    TwinValidator.checkContent(JsonDoc.of(doc), Section.DESIRED, limits).ifPresent(r -> {
      throw new Bad(at + ": " + r.message());
    });
  }

  private static int priority(JsonNode p) {
    if (p.isMissingNode() || p.isNull()) return 0;
    if (!p.isIntegralNumber() || !p.canConvertToInt() || p.intValue() < 0) {
      throw new Bad("priority must be a non-negative integer, got " + clip(p.toString()));
    }
    return p.intValue();
  }

  private static String optionalText(JsonNode body, String field, String absent) {
    JsonNode n = body.path(field);
    if (n.isMissingNode() || n.isNull()) return absent;
    if (!n.isTextual()) throw new Bad(field + " must be a string");
    return n.textValue();
  }

  private static Map<String, String> stringMap(JsonNode n, String at) {
    Map<String, String> out = new LinkedHashMap<>();
    if (n.isMissingNode() || n.isNull()) return out;
    if (!n.isObject()) throw new Bad(at + " must be a JSON object of strings");
    n.fields().forEachRemaining(e -> {
      if (!e.getValue().isTextual()) throw new Bad(at + "." + clip(e.getKey()) + " must be a string");
      out.put(e.getKey(), e.getValue().textValue());
    });
    return out;
  }

  // ------------------------------------------------------------------ rendering

  /** Metric results: system ones (targetedCount, appliedCount, ...) with the queries that define them, and custom ones. */
  public record Metrics(Map<String, Long> system, Map<String, String> systemQueries, Map<String, Long> custom)
      implements io.twinhub.twin.TwinhubSerializable {
    public static final Metrics NONE = new Metrics(Map.of(), Map.of(), Map.of());
  }

  /** A stored configuration as IoT Hub returns it. */
  public static ObjectNode render(Configuration c, Metrics metrics) {
    ObjectNode o = NODES.objectNode();
    o.put("id", c.id());
    o.put("schemaVersion", c.schemaVersion());
    ObjectNode labels = o.putObject("labels");
    c.sortedLabels().forEach(labels::put);
    ObjectNode content = o.putObject("content");
    content.set("deviceContent", c.content().deviceContent().toObjectNode());
    content.set("moduleContent", c.content().moduleContent().toObjectNode());
    content.set("modulesContent", c.content().modulesContent().toObjectNode());
    o.put("contentType", "assignment");
    o.put("targetCondition", c.targetCondition());
    o.put("createdTimeUtc", TwinJson.timestamp(c.createdTimeUtc()));
    o.put("lastUpdatedTimeUtc", TwinJson.timestamp(c.lastUpdatedTimeUtc()));
    o.put("priority", c.priority());
    ObjectNode system = o.putObject("systemMetrics");
    ObjectNode systemResults = system.putObject("results");
    new TreeMap<>(metrics.system()).forEach(systemResults::put);
    ObjectNode systemQueries = system.putObject("queries");
    new TreeMap<>(metrics.systemQueries()).forEach(systemQueries::put);
    ObjectNode custom = o.putObject("metrics");
    ObjectNode customResults = custom.putObject("results");
    new TreeMap<>(c.metricQueries()).keySet().forEach(name -> {
      Long v = metrics.custom().get(name);
      if (v != null) customResults.put(name, v);
    });
    ObjectNode customQueries = custom.putObject("queries");
    new TreeMap<>(c.metricQueries()).forEach(customQueries::put);
    o.put("etag", c.etag());
    return o;
  }

  private static IotHubError invalid(String message) {
    return IotHubErrorCode.ArgumentInvalid.error(message);
  }

  static String clip(String s) {
    return s.length() > 80 ? s.substring(0, 80) + "..." : s;
  }

  private static final class Bad extends RuntimeException {
    Bad(String message) {
      super(message, null, false, false);
    }
  }
}
