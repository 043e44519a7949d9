package io.twinhub.query.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.LongNode;

import java.util.Iterator;
import java.util.Map;

/**
 * The value semantics of the query language, in one place, so that the Lucene index and the
 * in-memory evaluator cannot disagree:
 * <ul>
 *   <li>all numbers are IEEE doubles ({@code 1 = 1.0}; twin integers are within ±2^52, hence exact);
 *       {@code -0} is {@code 0};</li>
 *   <li>strings compare by Unicode code point, case-sensitively (the byte order of UTF-8, which is
 *       the order of the index's terms);</li>
 *   <li>booleans order {@code false < true}; {@code null} equals only {@code null};</li>
 *   <li>values of different types, objects and arrays do not compare: the result is undefined.</li>
 * </ul>
 * A Java {@code null} is undefined.
 */
public final class Values {
  private static final double MAX_EXACT = 9007199254740992d; // 2^53

  private Values() {}

  public static boolean isPrimitive(JsonNode v) {
    return v != null && (v.isTextual() || v.isNumber() || v.isBoolean() || v.isNull());
  }

  /** The number a numeric node stands for, with -0 as 0. */
  public static double number(JsonNode v) {
    double d = v.doubleValue();
    return d == 0d ? 0d : d;
  }

  /** A computed number as a JSON value: whole numbers render without fraction; NaN and infinities are undefined. */
  public static JsonNode numberNode(double d) {
    if (Double.isNaN(d) || Double.isInfinite(d)) return null;
    if (d == 0d) return LongNode.valueOf(0);
    if (d == Math.rint(d) && Math.abs(d) < MAX_EXACT) return LongNode.valueOf((long) d);
    return DoubleNode.valueOf(d);
  }

  /**
   * The sign of {@code a} compared with {@code b}, or null (undefined) unless both are defined
   * primitives of the same type.
   */
  public static Integer compare(JsonNode a, JsonNode b) {
    if (a == null || b == null) return null;
    if (a.isNumber() && b.isNumber()) return Integer.signum(Double.compare(number(a), number(b)));
    if (a.isTextual() && b.isTextual()) return Integer.signum(compareStrings(a.textValue(), b.textValue()));
    if (a.isBoolean() && b.isBoolean()) return Boolean.compare(a.booleanValue(), b.booleanValue());
    if (a.isNull() && b.isNull()) return 0;
    return null;
  }

  /** Code point order (= UTF-8 byte order), unlike String.compareTo's UTF-16 order. */
  public static int compareStrings(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      int ca = a.codePointAt(i);
      int cb = b.codePointAt(j);
      if (ca != cb) return Integer.compare(ca, cb);
      i += Character.charCount(ca);
      j += Character.charCount(cb);
    }
    return Integer.compare(a.length() - i, b.length() - j);
  }

  /** Rank of a type in the total order used by ORDER BY and for listing groups. */
  public static int typeRank(JsonNode v) {
    if (v == null) return 0;
    if (v.isNull()) return 1;
    if (v.isBoolean()) return 2;
    if (v.isNumber()) return 3;
    if (v.isTextual()) return 4;
    if (v.isArray()) return 5;
    return 6;
  }

  /**
   * A total order over all values: undefined &lt; null &lt; false &lt; true &lt; numbers &lt;
   * strings &lt; arrays &lt; objects, values of one type in their natural order (arrays and
   * objects element by element).
   */
  public static int totalOrder(JsonNode a, JsonNode b) {
    int ra = typeRank(a);
    int rb = typeRank(b);
    if (ra != rb) return Integer.compare(ra, rb);
    switch (ra) {
      case 0, 1:
        return 0;
      case 2:
        return Boolean.compare(a.booleanValue(), b.booleanValue());
      case 3:
        return Double.compare(number(a), number(b));
      case 4:
        return compareStrings(a.textValue(), b.textValue());
      case 5: {
        int n = Math.min(a.size(), b.size());
        for (int i = 0; i < n; i++) {
          int c = totalOrder(a.get(i), b.get(i));
          if (c != 0) return c;
        }
        return Integer.compare(a.size(), b.size());
      }
      default: {
        Iterator<Map.Entry<String, JsonNode>> x = a.fields();
        Iterator<Map.Entry<String, JsonNode>> y = b.fields();
        while (x.hasNext() && y.hasNext()) {
          Map.Entry<String, JsonNode> ex = x.next();
          Map.Entry<String, JsonNode> ey = y.next();
          int c = compareStrings(ex.getKey(), ey.getKey());
          if (c != 0) return c;
          c = totalOrder(ex.getValue(), ey.getValue());
          if (c != 0) return c;
        }
        return Boolean.compare(x.hasNext(), y.hasNext());
      }
    }
  }

  /** Equality in the total order (used to tell groups apart): 1 and 1.0 are one group, 1 and '1' two. */
  public static boolean sameValue(JsonNode a, JsonNode b) {
    return totalOrder(a, b) == 0;
  }
}
