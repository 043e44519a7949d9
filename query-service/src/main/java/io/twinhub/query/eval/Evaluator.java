package io.twinhub.query.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.twinhub.query.lang.Expr;

import java.util.List;
import java.util.Locale;

/**
 * Evaluates an expression against one twin document (the service-view JSON). Java {@code null}
 * stands for undefined. The semantics (PROTOCOL.md, IoT Hub's and Cosmos DB's SQL):
 * <ul>
 *   <li>a missing path is undefined; comparing undefined, or values of different types, gives
 *       undefined, and a WHERE keeps a twin only when its condition is {@code true};</li>
 *   <li>AND is false when either side is false, true when both are true, else undefined; OR
 *       dually; NOT of a non-boolean is undefined;</li>
 *   <li>{@code x IN [a, b]} is {@code x = a OR x = b}; NIN is its negation;</li>
 *   <li>arithmetic and functions given undefined or a wrong type give undefined (IS_* functions
 *       always answer true or false).</li>
 * </ul>
 */
public final class Evaluator {
  private Evaluator() {}

  /** Whether {@code condition} is true for {@code twin} (false and undefined both exclude). */
  public static boolean isTrue(Expr condition, JsonNode twin) {
    JsonNode v = eval(condition, twin);
    return v != null && v.isBoolean() && v.booleanValue();
  }

  public static JsonNode eval(Expr e, JsonNode twin) {
    if (e instanceof Expr.Path p) {
      return path(twin, p.segments());
    } else if (e instanceof Expr.Literal l) {
      return l.value();
    } else if (e instanceof Expr.Compare c) {
      Integer cmp = Values.compare(eval(c.left(), twin), eval(c.right(), twin));
      return cmp == null ? null : BooleanNode.valueOf(c.op().test(cmp));
    } else if (e instanceof Expr.And a) {
      Boolean l = bool(eval(a.left(), twin));
      if (Boolean.FALSE.equals(l)) return BooleanNode.FALSE;
      Boolean r = bool(eval(a.right(), twin));
      if (Boolean.FALSE.equals(r)) return BooleanNode.FALSE;
      return l != null && r != null ? BooleanNode.TRUE : null;
    } else if (e instanceof Expr.Or o) {
      Boolean l = bool(eval(o.left(), twin));
      if (Boolean.TRUE.equals(l)) return BooleanNode.TRUE;
      Boolean r = bool(eval(o.right(), twin));
      if (Boolean.TRUE.equals(r)) return BooleanNode.TRUE;
      return l != null && r != null ? BooleanNode.FALSE : null;
    } else if (e instanceof Expr.Not n) {
      Boolean b = bool(eval(n.operand(), twin));
      return b == null ? null : BooleanNode.valueOf(!b);
    } else if (e instanceof Expr.In in) {
      JsonNode v = eval(in.value(), twin);
      Boolean result = in(v, in.items(), twin);
      if (result == null) return null;
      return BooleanNode.valueOf(in.negated() != result);
    } else if (e instanceof Expr.Arithmetic a) {
      JsonNode l = eval(a.left(), twin);
      JsonNode r = eval(a.right(), twin);
      if (l == null || r == null || !l.isNumber() || !r.isNumber()) return null;
      double x = Values.number(l);
      double y = Values.number(r);
      return switch (a.op()) {
        case ADD -> Values.numberNode(x + y);
        case SUBTRACT -> Values.numberNode(x - y);
        case MULTIPLY -> Values.numberNode(x * y);
        case DIVIDE -> y == 0 ? null : Values.numberNode(x / y);
        case MODULO -> y == 0 ? null : Values.numberNode(x % y);
      };
    } else if (e instanceof Expr.Negate n) {
      JsonNode v = eval(n.operand(), twin);
      return v != null && v.isNumber() ? Values.numberNode(-Values.number(v)) : null;
    } else if (e instanceof Expr.Call c) {
      return call(c, twin);
    } else if (e instanceof Expr.Undefined) {
      return null;
    }
    throw new IllegalArgumentException("cannot evaluate " + e + " for a single twin");
  }

  /** The value at {@code segments} in {@code doc}, or null when any step is missing or not an object. */
  public static JsonNode path(JsonNode doc, List<String> segments) {
    JsonNode cur = doc;
    for (String s : segments) {
      if (cur == null || !cur.isObject()) return null;
      cur = cur.get(s);
    }
    return cur;
  }

  /** true when some item equals v, false when every item is comparable and unequal, else undefined. */
  private static Boolean in(JsonNode v, List<Expr> items, JsonNode twin) {
    boolean allFalse = true;
    for (Expr item : items) {
      Integer cmp = Values.compare(v, eval(item, twin));
      if (cmp == null) {
        allFalse = false;
      } else if (cmp == 0) {
        return true;
      }
    }
    return allFalse ? Boolean.FALSE : null;
  }

  private static Boolean bool(JsonNode v) {
    return v != null && v.isBoolean() ? v.booleanValue() : null;
  }

  private static JsonNode call(Expr.Call c, JsonNode twin) {
    List<Expr> args = c.args();
    JsonNode a = eval(args.get(0), twin);
    switch (c.function()) {
      case IS_DEFINED: return BooleanNode.valueOf(a != null);
      case IS_NULL: return BooleanNode.valueOf(a != null && a.isNull());
      case IS_BOOL: return BooleanNode.valueOf(a != null && a.isBoolean());
      case IS_NUMBER: return BooleanNode.valueOf(a != null && a.isNumber());
      case IS_STRING: return BooleanNode.valueOf(a != null && a.isTextual());
      case IS_OBJECT: return BooleanNode.valueOf(a != null && a.isObject());
      case IS_ARRAY: return BooleanNode.valueOf(a != null && a.isArray());
      case IS_PRIMITIVE: return BooleanNode.valueOf(Values.isPrimitive(a));
      case AS_NUMBER: return asNumber(a);
      default: break;
    }
    if (a == null) return null;
    switch (c.function()) {
      case STARTSWITH, ENDSWITH, CONTAINS, INDEX_OF: {
        JsonNode b = eval(args.get(1), twin);
        if (!a.isTextual() || b == null || !b.isTextual()) return null;
        String s = a.textValue();
        String t = b.textValue();
        return switch (c.function()) {
          case STARTSWITH -> BooleanNode.valueOf(s.startsWith(t));
          case ENDSWITH -> BooleanNode.valueOf(s.endsWith(t));
          case CONTAINS -> BooleanNode.valueOf(s.contains(t));
          default -> {
            int i = s.indexOf(t);
            yield LongNode.valueOf(i < 0 ? -1 : s.codePointCount(0, i));
          }
        };
      }
      case LENGTH:
        return a.isTextual() ? LongNode.valueOf(a.textValue().codePointCount(0, a.textValue().length())) : null;
      case LOWER:
        return a.isTextual() ? TextNode.valueOf(a.textValue().toLowerCase(Locale.ROOT)) : null;
      case UPPER:
        return a.isTextual() ? TextNode.valueOf(a.textValue().toUpperCase(Locale.ROOT)) : null;
      case LTRIM:
        return a.isTextual() ? TextNode.valueOf(a.textValue().stripLeading()) : null;
      case RTRIM:
        return a.isTextual() ? TextNode.valueOf(a.textValue().stripTrailing()) : null;
      case TRIM:
        return a.isTextual() ? TextNode.valueOf(a.textValue().strip()) : null;
      case CONCAT: {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < args.size(); i++) {
          JsonNode v = i == 0 ? a : eval(args.get(i), twin);
          if (v == null || !v.isTextual()) return null;
          sb.append(v.textValue());
        }
        return TextNode.valueOf(sb.toString());
      }
      case SUBSTRING:
        return substring(a, args, twin);
      default:
        break;
    }
    if (!a.isNumber()) return null;
    double x = Values.number(a);
    return switch (c.function()) {
      case ABS -> Values.numberNode(Math.abs(x));
      case CEILING -> Values.numberNode(Math.ceil(x));
      case FLOOR -> Values.numberNode(Math.floor(x));
      case ROUND -> Values.numberNode(Math.signum(x) * Math.floor(Math.abs(x) + 0.5)); // half away from zero
      case SIGN -> Values.numberNode(Math.signum(x));
      case SQUARE -> Values.numberNode(x * x);
      case SQRT -> Values.numberNode(Math.sqrt(x));
      case EXP -> Values.numberNode(Math.exp(x));
      case POWER -> {
        JsonNode b = eval(args.get(1), twin);
        yield b != null && b.isNumber() ? Values.numberNode(Math.pow(x, Values.number(b))) : null;
      }
      default -> throw new IllegalStateException("unhandled function " + c.function());
    };
  }

  private static JsonNode substring(JsonNode a, List<Expr> args, JsonNode twin) {
    if (!a.isTextual()) return null;
    JsonNode start = eval(args.get(1), twin);
    JsonNode length = args.size() > 2 ? eval(args.get(2), twin) : null;
    if (start == null || !start.isNumber() || (args.size() > 2 && (length == null || !length.isNumber()))) return null;
    String s = a.textValue();
    int[] cps = s.codePoints().toArray();
    long from = Math.max(0, (long) Math.floor(Values.number(start)));
    long to = length == null ? cps.length : from + Math.max(0, (long) Math.floor(Values.number(length)));
    from = Math.min(from, cps.length);
    to = Math.min(to, cps.length);
    return TextNode.valueOf(new String(cps, (int) from, (int) (to - from)));
  }

  private static JsonNode asNumber(JsonNode a) {
    if (a == null) return null;
    if (a.isNumber()) return a;
    if (!a.isTextual()) return null;
    String s = a.textValue().strip();
    if (!s.matches("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?")) return null;
    return Values.numberNode(Double.parseDouble(s));
  }
}
