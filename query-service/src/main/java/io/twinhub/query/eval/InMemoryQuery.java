package io.twinhub.query.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.query.lang.Expr;
import io.twinhub.query.lang.Query;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a query over twin documents in memory, the obvious way: filter every twin with the
 * evaluator, then group, order and project. It is the reference the index-backed executor is
 * tested against, and what callers with a handful of twins use.
 *
 * <p>Order of results: ORDER BY values (then twin id), or twin id (device id, then module id),
 * or, for groups, the group keys.
 */
public final class InMemoryQuery {
  private InMemoryQuery() {}

  /** Every row of {@code q} over {@code twins} (service-view documents of devices and modules), TOP applied. */
  public static List<ObjectNode> run(Query q, Iterable<? extends JsonNode> twins) {
    List<JsonNode> matching = new ArrayList<>();
    for (JsonNode t : twins) {
      boolean module = t.has("moduleId");
      if (module != (q.from() == Query.Collection.MODULES)) continue;
      if (q.where() == null || Evaluator.isTrue(q.where(), t)) matching.add(t);
    }
    matching.sort(Comparator.comparing(InMemoryQuery::orderKey, Values::compareStrings));
    List<ObjectNode> rows = q.aggregating() ? grouped(q, matching) : listed(q, matching);
    if (q.top() != null && rows.size() > q.top()) rows = new ArrayList<>(rows.subList(0, (int) (long) q.top()));
    return rows;
  }

  /** The row of one twin: the twin itself for SELECT *, else the selected values (undefined ones left out). */
  public static ObjectNode project(Query q, JsonNode twin) {
    if (q.selectStar()) return (ObjectNode) twin;
    ObjectNode row = JsonNodeFactory.instance.objectNode();
    for (Query.SelectItem s : q.select()) {
      JsonNode v = Evaluator.eval(s.expr(), twin);
      if (v != null) row.set(s.name(), v);
    }
    return row;
  }

  /** Twin id order: device id, then module id, by code point. */
  public static String orderKey(JsonNode twin) {
    String d = twin.path("deviceId").asText();
    return twin.has("moduleId") ? d + '\u0000' + twin.path("moduleId").asText() : d;
  }

  /** ORDER BY values compared in the total order, descending where asked, then twin id. */
  public static int compareOrder(Query q, List<JsonNode> a, String keyA, List<JsonNode> b, String keyB) {
    for (int i = 0; i < q.orderBy().size(); i++) {
      int c = Values.totalOrder(a.get(i), b.get(i));
      if (c != 0) return q.orderBy().get(i).descending() ? -c : c;
    }
    return Values.compareStrings(keyA, keyB);
  }

  private static List<ObjectNode> listed(Query q, List<JsonNode> matching) {
    if (!q.orderBy().isEmpty()) {
      record Sorted(JsonNode twin, List<JsonNode> values, String key) {}
      List<Sorted> sorted = new ArrayList<>();
      for (JsonNode t : matching) {
        List<JsonNode> values = new ArrayList<>();
        for (Query.OrderItem o : q.orderBy()) values.add(Evaluator.eval(o.expr(), t));
        sorted.add(new Sorted(t, values, orderKey(t)));
      }
      sorted.sort((x, y) -> compareOrder(q, x.values(), x.key(), y.values(), y.key()));
      matching = sorted.stream().map(Sorted::twin).toList();
    }
    List<ObjectNode> rows = new ArrayList<>();
    for (JsonNode t : matching) rows.add(project(q, t));
    return rows;
  }

  private static List<ObjectNode> grouped(Query q, List<JsonNode> matching) {
    List<Expr.Aggregate> aggregates = Groups.aggregates(q);
    Map<Groups.Key, Groups.Accumulator> groups = new LinkedHashMap<>();
    if (q.groupBy().isEmpty()) groups.put(Groups.Key.of(List.of()), new Groups.Accumulator(aggregates.size()));
    for (JsonNode t : matching) {
      List<JsonNode> values = new ArrayList<>();
      for (Expr g : q.groupBy()) values.add(Evaluator.eval(g, t));
      Groups.Accumulator acc = groups.computeIfAbsent(Groups.Key.of(values), k -> new Groups.Accumulator(aggregates.size()));
      acc.countTwin();
      for (int i = 0; i < aggregates.size(); i++) {
        if (aggregates.get(i).arg() != null) acc.add(i, Evaluator.eval(aggregates.get(i).arg(), t));
      }
    }
    List<Map.Entry<Groups.Key, Groups.Accumulator>> entries = new ArrayList<>(groups.entrySet());
    entries.sort((x, y) -> x.getKey().compareTo(y.getKey()));
    List<ObjectNode> rows = new ArrayList<>();
    for (Map.Entry<Groups.Key, Groups.Accumulator> e : entries) rows.add(Groups.row(q, e.getKey(), e.getValue()));
    return rows;
  }
}
