package io.twinhub.projections.streams;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import io.twinhub.query.eval.Evaluator;
import io.twinhub.query.eval.MessageDocument;
import io.twinhub.query.lang.Expr;
import io.twinhub.query.lang.QueryException;
import io.twinhub.query.lang.QueryParser;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Route conditions in the query language, evaluated with the query service's evaluator over
 * a message: its body (the twin change in patch form, or the twin for lifecycle events)
 * plus {@code deviceId}, {@code moduleId}, {@code opType} and {@code source} at the top, so
 * {@code properties.desired.mode = 'eco' AND STARTSWITH(deviceId, 'pump-')} reads as it does
 * in a twin query.
 */
public final class RouteConditions {
  private RouteConditions() {}

  /** @throws QueryException with line/column for a condition that does not parse */
  public static Predicate<HubMessage> parse(String condition) {
    if (condition == null || condition.isBlank()) return m -> true;
    Expr expr = QueryParser.parseCondition(condition);
    return m -> Evaluator.isTrue(expr, document(m));
  }

  static ObjectNode document(HubMessage m) {
    if (m.source() == MessageSource.DEVICE_MESSAGES) return deviceMessageDocument(m);
    ObjectNode doc = m.body() instanceof ObjectNode body ? body.deepCopy() : JsonNodeFactory.instance.objectNode();
    doc.put("deviceId", m.deviceId());
    if (m.moduleId() != null) doc.put("moduleId", m.moduleId());
    doc.put("opType", m.properties().get("opType"));
    doc.put("source", m.source().wire());
    return doc;
  }

  /** A device message as IoT Hub's routing queries read one ({@link MessageDocument}). */
  static ObjectNode deviceMessageDocument(HubMessage m) {
    Map<String, String> sys = m.systemProperties();
    return MessageDocument.of(m.properties(), TelemetryBody.JSON.equals(m.bodyEncoding()) ? m.body() : null,
        name -> sys.get("$" + name), m.deviceId(), m.moduleId(), m.source().wire());
  }

  /**
   * Routes from {@code twinhub.routes}: a list of {name, source, condition}. A bad entry
   * fails the node's start with the entry named.
   */
  public static List<NamedRoute> fromConfig(Config config) {
    List<NamedRoute> routes = new ArrayList<>();
    if (!config.hasPath("twinhub.routes")) return routes;
    for (Config c : config.getConfigList("twinhub.routes")) {
      String name = c.getString("name");
      String sourceName = c.getString("source");
      MessageSource source = MessageSource.fromWire(sourceName).orElseThrow(() ->
          new IllegalArgumentException("twinhub.routes '" + name + "': unknown source '" + sourceName + "'"));
      String condition = c.hasPath("condition") ? c.getString("condition") : "true";
      Predicate<HubMessage> predicate;
      try {
        predicate = parse(condition);
      } catch (QueryException e) {
        throw new IllegalArgumentException("twinhub.routes '" + name + "': condition " + e.getMessage());
      }
      Predicate<HubMessage> bySource = m -> m.source() == source;
      Predicate<HubMessage> routed = bySource.and(predicate);
      // What a function wrote to this route (@EventHubOutput) is on it, as on an Event Hub both
      // the route and the function send to; it is on no other route.
      routes.add(new NamedRoute(name, source, condition, m -> {
        String target = HubMessages.functionOutputRoute(m);
        return target != null ? target.equals(name) : routed.test(m);
      }));
    }
    return routes;
  }
}
