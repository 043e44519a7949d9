package io.twinhub.query.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.query.lang.Expr;
import io.twinhub.query.lang.ExprPrinter;
import io.twinhub.query.lang.Query;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * GROUP BY and aggregates, shared by every executor so that results have one shape:
 * <ul>
 *   <li>twins are grouped by the values of the GROUP BY expressions; undefined is a group of its
 *       own (its key is left out of the row), numbers group by value (1 and 1.0 together), values
 *       of different types apart ('1' and 1);</li>
 *   <li>COUNT() counts the twins of the group; SUM, AVG, MIN and MAX take the numeric values and
 *       ignore anything else; SUM of no numbers is 0, AVG/MIN/MAX of none are undefined (left
 *       out); sums are exact (independent of the order twins are visited in);</li>
 *   <li>without GROUP BY, aggregates make exactly one row, also over no twins;</li>
 *   <li>groups are listed in the total order of their keys ({@link Values#totalOrder}).</li>
 * </ul>
 */
public final class Groups {
  private Groups() {}

  /** A group key: the GROUP BY values of one twin, in a form with value equality. */
  public record Key(List<JsonNode> values, List<Object> identity) {
    public static Key of(List<JsonNode> values) {
      List<JsonNode> normalized = new ArrayList<>(values.size());
      List<Object> id = new ArrayList<>(values.size());
      for (JsonNode v : values) {
        JsonNode n = v != null && v.isNumber() ? Values.numberNode(Values.number(v)) : v;
        normalized.add(n);
        id.add(identity(n));
      }
      return new Key(normalized, id);
    }

    private static Object identity(JsonNode v) {
      if (v == null) return Undefined.INSTANCE;
      if (v.isNumber()) return Values.number(v);
      if (v.isTextual()) return v.textValue();
      if (v.isBoolean()) return v.booleanValue();
      return v; // null, objects and arrays: JSON equality
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && identity.equals(k.identity);
    }

    @Override
    public int hashCode() {
      return identity.hashCode();
    }

    public int compareTo(Key other) {
      for (int i = 0; i < values.size(); i++) {
        int c = Values.totalOrder(values.get(i), other.values.get(i));
        if (c != 0) return c;
      }
      return 0;
    }
  }

  private enum Undefined { INSTANCE }

  /** Accumulates the aggregates of one group. */
  public static final class Accumulator {
    private long count;
    private final Sum[] sums;

    public Accumulator(int aggregates) {
      sums = new Sum[aggregates];
      for (int i = 0; i < aggregates; i++) sums[i] = new Sum();
    }

    public void countTwin() {
      count++;
    }

    public void addCount(long n) {
      count += n;
    }

    /** A value of aggregate {@code i}'s argument for one twin (anything but a number is ignored). */
    public void add(int i, JsonNode v) {
      if (v != null && v.isNumber()) sums[i].add(Values.number(v));
    }

    /** A number for aggregate {@code i}. */
    public void addNumber(int i, double v) {
      sums[i].add(v);
    }

    public long count() {
      return count;
    }

    JsonNode result(Expr.AggregateFunction f, int i) {
      Sum s = sums[i];
      return switch (f) {
        case COUNT -> LongNode.valueOf(count);
        case SUM -> s.n == 0 ? LongNode.valueOf(0) : Values.numberNode(s.total().doubleValue());
        case AVG -> s.n == 0 ? null : Values.numberNode(s.total().divide(BigDecimal.valueOf(s.n), MathContext.DECIMAL128).doubleValue());
        case MIN -> s.n == 0 ? null : Values.numberNode(s.min);
        case MAX -> s.n == 0 ? null : Values.numberNode(s.max);
      };
    }
  }

  /** Exact sum: a long while every value is a whole number that fits, BigDecimal after. */
  private static final class Sum {
    long n;
    long whole;
    BigDecimal exact;
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;

    void add(double v) {
      n++;
      min = Math.min(min, v);
      max = Math.max(max, v);
      if (exact == null && v == Math.rint(v) && Math.abs(v) < 1e15 && Math.abs(whole) < Long.MAX_VALUE / 4) {
        whole += (long) v;
      } else {
        if (exact == null) exact = BigDecimal.valueOf(whole);
        exact = exact.add(new BigDecimal(v));
      }
    }

    BigDecimal total() {
      return exact != null ? exact : BigDecimal.valueOf(whole);
    }
  }

  /** Indexes of the SELECT items that are aggregates, in select order (the accumulator's slots). */
  public static List<Expr.Aggregate> aggregates(Query q) {
    List<Expr.Aggregate> out = new ArrayList<>();
    for (Query.SelectItem s : q.select()) {
      if (s.expr() instanceof Expr.Aggregate a) out.add(a);
    }
    return out;
  }

  /** The result row of one group. */
  public static ObjectNode row(Query q, Key key, Accumulator acc) {
    Map<String, JsonNode> grouped = new HashMap<>();
    for (int i = 0; i < q.groupBy().size(); i++) {
      grouped.put(ExprPrinter.render(q.groupBy().get(i)), key.values().get(i));
    }
    ObjectNode row = JsonNodeFactory.instance.objectNode();
    int slot = 0;
    for (Query.SelectItem s : q.select()) {
      JsonNode v;
      if (s.expr() instanceof Expr.Aggregate a) {
        v = acc.result(a.function(), slot++);
      } else {
        v = grouped.get(ExprPrinter.render(s.expr()));
      }
      if (v != null) row.set(s.name(), v);
    }
    return row;
  }
}
