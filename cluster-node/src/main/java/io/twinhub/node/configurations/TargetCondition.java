package io.twinhub.node.configurations;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.query.eval.Evaluator;
import io.twinhub.query.lang.Query;
import io.twinhub.query.lang.QueryException;
import io.twinhub.query.lang.QueryParser;
import io.twinhub.twin.configuration.Configuration;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A configuration's target condition compiled with the query language (the WHERE of a twin
 * query): which twins it targets, evaluated on one twin document with the query service's
 * evaluator, and the index query that finds them all. Automatic device configurations and IoT
 * Edge deployments target devices, module configurations target {@code devices.modules}; a
 * condition may say so itself with a {@code FROM devices[.modules] WHERE} prefix. IoT Edge
 * deployments reach only devices with {@code capabilities.iotEdge = true}, as in IoT Hub.
 * An empty condition targets nothing, {@code *} every device. Pure.
 */
public record TargetCondition(Configuration configuration, Query query) {
  private static final Pattern FROM = Pattern.compile("(?is)\\s*FROM\\s+(devices(?:\\.modules)?)\\s+WHERE\\s+(.*)");
  private static final String EDGE_ONLY = "capabilities.iotEdge = true";

  /** The condition of {@code c}, or the problem with it (a message naming line and column). */
  public static Compiled compile(Configuration c) {
    try {
      return new Compiled(new TargetCondition(c, parse(c.targetCondition(), c.kind())), null);
    } catch (QueryException e) {
      return new Compiled(null, "targetCondition: " + e.getMessage());
    }
  }

  /** The problem of {@code condition} for a configuration of {@code kind}, if any (testQueries, PUT). */
  public static Optional<String> check(String condition, Configuration.Kind kind) {
    try {
      parse(condition, kind);
      return Optional.empty();
    } catch (QueryException e) {
      return Optional.of("targetCondition: " + e.getMessage());
    }
  }

  /** The problem of a custom metric query, if any. */
  public static Optional<String> checkMetricQuery(String name, String query) {
    try {
      QueryParser.parse(query);
      return Optional.empty();
    } catch (QueryException e) {
      return Optional.of("metrics.queries." + name + ": " + e.getMessage());
    }
  }

  /** @param compiled null when {@code problem} says why it does not compile */
  public record Compiled(TargetCondition compiled, String problem) {}

  /** null query: targets nothing. */
  private static Query parse(String condition, Configuration.Kind kind) {
    String text = condition == null ? "" : condition.strip();
    if (text.isEmpty()) return null;
    if (text.equals("*")) text = "true"; // IoT Hub's "every device" (the Node SDK's samples use it)
    String from = kind == Configuration.Kind.MODULE ? "devices.modules" : "devices";
    Matcher m = FROM.matcher(text);
    if (m.matches()) {
      from = m.group(1).toLowerCase(Locale.ROOT);
      text = m.group(2).strip();
      boolean modules = from.equals("devices.modules");
      if (modules != (kind == Configuration.Kind.MODULE)) {
        throw new QueryException(0, 0, kind == Configuration.Kind.MODULE
            ? "a module configuration (moduleContent) targets FROM devices.modules"
            : "a " + (kind == Configuration.Kind.EDGE ? "deployment (modulesContent)" : "device configuration (deviceContent)")
                + " targets devices, not devices.modules");
      }
    }
    if (kind == Configuration.Kind.EDGE) text = EDGE_ONLY + " AND (" + text + ")";
    Query q = QueryParser.parse("SELECT * FROM " + from + " WHERE " + text);
    if (!q.groupBy().isEmpty() || !q.orderBy().isEmpty() || q.top() != null) {
      throw new QueryException(0, 0, "a target condition is a WHERE condition only (no GROUP BY, ORDER BY or TOP)");
    }
    return q;
  }

  /** Whether the twin document (service view) is one this configuration targets. */
  public boolean matches(JsonNode twin) {
    if (query == null) return false;
    boolean module = twin.has("moduleId");
    return module == (query.from() == Query.Collection.MODULES) && Evaluator.isTrue(query.where(), twin);
  }

  public boolean targetsNothing() {
    return query == null;
  }

  public boolean targetsModules() {
    return query != null && query.from() == Query.Collection.MODULES;
  }

  /** {@code SELECT <select> FROM ... WHERE ...}: the index query over the targeted twins. */
  public String indexQuery(String select) {
    String text = query.text();
    return "SELECT " + select + text.substring("SELECT *".length());
  }

  /**
   * Whether reported properties decide the target set, so that a device's reported patch can move
   * it in or out (tags, ids and capabilities are the usual case and cost nothing extra to follow).
   */
  public boolean readsReported() {
    return query != null && query.text().contains("properties.reported");
  }
}
