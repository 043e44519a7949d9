package io.twinhub.twin.configuration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The property paths configuration content is keyed by ({@code properties.desired},
 * {@code properties.desired.a.b}) and the JSON tree operations the merges need. Pure.
 */
public final class ConfigurationPaths {
  public static final String DESIRED = "properties.desired";
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private ConfigurationPaths() {}

  /**
   * The segments below {@code properties.desired} of a content key: {@code []} for
   * {@code properties.desired} itself, {@code [a, b]} for {@code properties.desired.a.b}; empty
   * when the key does not address desired properties (or has an empty segment).
   */
  public static Optional<List<String>> desiredPath(String key) {
    if (key.equals(DESIRED)) return Optional.of(List.of());
    if (!key.startsWith(DESIRED + ".")) return Optional.empty();
    List<String> segments = Arrays.asList(key.substring(DESIRED.length() + 1).split("\\.", -1));
    return segments.stream().anyMatch(String::isEmpty) ? Optional.empty() : Optional.of(List.copyOf(segments));
  }

  /**
   * Sets {@code value} at {@code path} in {@code root} (mutating it): the subtree there is replaced,
   * objects on the way are created; {@code null} members inside {@code value} mean absent and a
   * {@code null} value removes the member. An empty path replaces the whole document (value must be an object).
   */
  public static void set(ObjectNode root, List<String> path, JsonNode value) {
    JsonNode v = value == null || value.isNull() ? null : withoutNulls(value);
    if (path.isEmpty()) {
      root.removeAll();
      if (v instanceof ObjectNode o) root.setAll(o);
      return;
    }
    ObjectNode parent = root;
    for (String segment : path.subList(0, path.size() - 1)) {
      JsonNode child = parent.get(segment);
      if (!(child instanceof ObjectNode)) {
        if (v == null) return; // removing below something that is not there
        child = NODES.objectNode();
        parent.set(segment, child);
      }
      parent = (ObjectNode) child;
    }
    String last = path.get(path.size() - 1);
    if (v == null) parent.remove(last);
    else parent.set(last, v);
  }

  /** The value at {@code path} below {@code root}, or null. */
  public static JsonNode get(JsonNode root, List<String> path) {
    JsonNode n = root;
    for (String segment : path) {
      if (n == null || !n.isObject()) return null;
      n = n.get(segment);
    }
    return n;
  }

  /**
   * The JSON merge patch that turns {@code current} into {@code target}: changed members set,
   * members gone set to {@code null}, equal ones left out (empty when they are equal).
   */
  public static ObjectNode mergePatch(ObjectNode current, ObjectNode target) {
    ObjectNode patch = NODES.objectNode();
    Iterator<Map.Entry<String, JsonNode>> it = target.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      JsonNode was = current.get(e.getKey());
      JsonNode now = e.getValue();
      if (now.equals(was)) continue;
      patch.set(e.getKey(), was instanceof ObjectNode w && now instanceof ObjectNode n ? mergePatch(w, n) : now.deepCopy());
    }
    Iterator<String> names = current.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (!target.has(name)) patch.putNull(name);
    }
    return patch;
  }

  /** A deep copy of {@code value} without {@code null} object members (a replacement stores no nulls). */
  static JsonNode withoutNulls(JsonNode value) {
    if (!value.isObject()) return value.deepCopy();
    ObjectNode out = NODES.objectNode();
    value.fields().forEachRemaining(e -> {
      if (!e.getValue().isNull()) out.set(e.getKey(), withoutNulls(e.getValue()));
    });
    return out;
  }
}
