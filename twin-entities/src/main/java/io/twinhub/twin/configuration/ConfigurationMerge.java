package io.twinhub.twin.configuration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.domain.JsonDoc;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * What several configurations targeting one twin add up to, by IoT Hub's documented rules. Pure.
 *
 * <ul>
 *   <li>Automatic device/module configurations: per property path the configuration with the
 *       highest priority wins, ties go to the most recently created ({@link Configuration#precedence}).
 *       A path set by a winner also covers the paths below it.</li>
 *   <li>IoT Edge deployments: of the base deployments only the one with the highest priority
 *       (ties: newest) applies, the others are neither applied nor merged; layered deployments
 *       with a higher priority than that base are merged on top of it, path by path, the higher
 *       priority winning where two set the same module or route.</li>
 * </ul>
 */
public final class ConfigurationMerge {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private ConfigurationMerge() {}

  /** The content of an automatic configuration for the twin kind it targets. */
  public static JsonDoc admContent(Configuration c) {
    return c.kind() == Configuration.Kind.MODULE ? c.content().moduleContent() : c.content().deviceContent();
  }

  /**
   * The desired properties of a twin after the content of {@code matching} (automatic
   * configurations whose target condition the twin meets) is applied on {@code current}: every
   * content path set in ascending precedence, so the winner's value is what remains.
   */
  public static ObjectNode desiredAfter(ObjectNode current, List<Configuration> matching) {
    ObjectNode target = current.deepCopy();
    for (Configuration c : ascending(matching)) {
      admContent(c).toObjectNode().fields().forEachRemaining(e ->
          ConfigurationPaths.desiredPath(e.getKey()).ifPresent(path -> ConfigurationPaths.set(target, path, e.getValue())));
    }
    return target;
  }

  /**
   * The content keys of {@code c} that are in effect on a twin {@code matching} targets: those no
   * configuration of higher precedence sets, neither the same path nor one above it.
   */
  public static List<String> effectiveKeys(Configuration c, List<Configuration> matching) {
    List<String> out = new ArrayList<>();
    admContent(c).toObjectNode().fieldNames().forEachRemaining(key -> {
      Optional<List<String>> path = ConfigurationPaths.desiredPath(key);
      if (path.isEmpty()) return;
      boolean overridden = matching.stream()
          .filter(o -> Configuration.precedence(o, c) > 0)
          .anyMatch(o -> keys(admContent(o)).stream().map(ConfigurationPaths::desiredPath).flatMap(Optional::stream)
              .anyMatch(p -> isPrefix(p, path.get())));
      if (!overridden) out.add(key);
    });
    return out;
  }

  /**
   * Whether {@code c}'s content is applied on a twin with desired properties {@code desired}: some
   * of its keys are in effect and the twin holds their values.
   */
  public static boolean isApplied(Configuration c, List<Configuration> matching, JsonNode desired) {
    List<String> keys = effectiveKeys(c, matching);
    if (keys.isEmpty()) return false;
    JsonNode content = admContent(c).toObjectNode();
    for (String key : keys) {
      JsonNode want = content.get(key);
      JsonNode have = ConfigurationPaths.get(desired, ConfigurationPaths.desiredPath(key).orElseThrow());
      if (want.isNull() ? have != null : !ConfigurationPaths.withoutNulls(want).equals(have)) return false;
    }
    return true;
  }

  /**
   * The IoT Edge deployments of {@code matching} that apply to a device: the base deployment of
   * highest precedence and the layered ones of higher priority than it, in ascending precedence.
   */
  public static List<Configuration> appliedDeployments(List<Configuration> matching) {
    Optional<Configuration> base = matching.stream().filter(Configuration::isBaseDeployment)
        .max(Configuration::precedence);
    List<Configuration> out = new ArrayList<>();
    base.ifPresent(out::add);
    ascending(matching).stream()
        .filter(c -> c.kind() == Configuration.Kind.EDGE && !c.isBaseDeployment())
        .filter(c -> base.isEmpty() || c.priority() > base.get().priority())
        .forEach(out::add);
    return out;
  }

  /**
   * The desired properties per module ({@code $edgeAgent}, {@code $edgeHub}, custom modules) that
   * the deployments {@code matching} a device put there: the base's documents, then each layered
   * deployment's paths in ascending precedence. Modules no deployment names are absent.
   */
  public static Map<String, ObjectNode> edgeDesired(List<Configuration> matching) {
    Map<String, ObjectNode> out = new TreeMap<>();
    for (Configuration c : appliedDeployments(matching)) {
      c.content().modulesContent().toObjectNode().fields().forEachRemaining(module -> {
        ObjectNode doc = out.computeIfAbsent(module.getKey(), k -> NODES.objectNode());
        module.getValue().fields().forEachRemaining(e ->
            ConfigurationPaths.desiredPath(e.getKey()).ifPresent(path -> ConfigurationPaths.set(doc, path, e.getValue())));
      });
    }
    return out;
  }

  /** Ascending precedence: the one applied last wins. */
  static List<Configuration> ascending(List<Configuration> configurations) {
    return configurations.stream().sorted(Configuration::precedence).collect(Collectors.toList());
  }

  private static Set<String> keys(JsonDoc doc) {
    Set<String> out = new java.util.HashSet<>();
    doc.toObjectNode().fieldNames().forEachRemaining(out::add);
    return out;
  }

  private static boolean isPrefix(List<String> prefix, List<String> path) {
    return prefix.size() <= path.size() && path.subList(0, prefix.size()).equals(prefix);
  }
}
