package io.twinhub.query.lang;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.twinhub.query.lang.Expr.Pos;
import io.twinhub.query.lang.TwinQueryParser.*;
import org.antlr.v4.runtime.BaseErrorListener;
import org.antlr.v4.runtime.CharStreams;
import org.antlr.v4.runtime.CommonTokenStream;
import org.antlr.v4.runtime.Parser;
import org.antlr.v4.runtime.ParserRuleContext;
import org.antlr.v4.runtime.RecognitionException;
import org.antlr.v4.runtime.Recognizer;
import org.antlr.v4.runtime.Token;
import org.antlr.v4.runtime.atn.PredictionMode;
import org.antlr.v4.runtime.misc.IntervalSet;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Query text → checked {@link Query}. Syntax errors and type errors become a {@link
 * QueryException} naming line, column and what was wrong in words a person understands
 * ("unexpected 'FORM', expected FROM"), never a parser-generator message.
 */
public final class QueryParser {
  /** Longest query text accepted (IoT Hub's limit is 8 KB as well). */
  public static final int MAX_QUERY_LENGTH = 8192;

  private QueryParser() {}

  public static Query parse(String text) {
    if (text == null || text.isBlank()) throw new QueryException(0, 0, "the query is empty");
    if (text.length() > MAX_QUERY_LENGTH) {
      throw new QueryException(0, 0, "the query is longer than " + MAX_QUERY_LENGTH + " characters");
    }
    TwinQueryParser parser = parser(text);
    QueryContext tree;
    try {
      // SLL is enough for this grammar and much faster; fall back to LL only when SLL fails.
      parser.getInterpreter().setPredictionMode(PredictionMode.SLL);
      tree = parser.query();
    } catch (QueryException sll) {
      parser = parser(text);
      tree = parser.query();
    }
    return new Builder(text).query(tree);
  }

  /**
   * A bare condition (what follows WHERE), for callers that match twins one by one: job and
   * deployment target conditions, routes.
   */
  public static Expr parseCondition(String condition) {
    Query q = parse("SELECT * FROM devices WHERE " + condition);
    return q.where();
  }

  private static TwinQueryParser parser(String text) {
    TwinQueryLexer lexer = new TwinQueryLexer(CharStreams.fromString(text));
    lexer.removeErrorListeners();
    TwinQueryParser parser = new TwinQueryParser(new CommonTokenStream(lexer));
    parser.removeErrorListeners();
    parser.addErrorListener(new FriendlyErrors());
    return parser;
  }

  /** Turns the first syntax error into a QueryException with a readable message. */
  private static final class FriendlyErrors extends BaseErrorListener {
    @Override
    public void syntaxError(Recognizer<?, ?> recognizer, Object offendingSymbol, int line, int charPositionInLine,
                            String msg, RecognitionException e) {
      Token t = offendingSymbol instanceof Token tok ? tok : null;
      String found = describe(t);
      String detail;
      if (t != null && t.getType() == TwinQueryLexer.UNEXPECTED && ("'".equals(t.getText()) || "\"".equals(t.getText()))) {
        detail = "unterminated string (a quote inside a string is written twice: 'it''s')";
      } else if (t != null && t.getType() == TwinQueryLexer.UNEXPECTED) {
        detail = "unexpected character " + found;
      } else {
        detail = "unexpected " + found;
        String expected = expected(recognizer, e);
        if (expected != null) detail += ", expected " + expected;
      }
      throw new QueryException(line, charPositionInLine + 1, detail);
    }

    private static String describe(Token t) {
      if (t == null) return "input";
      if (t.getType() == Token.EOF) return "end of query";
      return "'" + t.getText() + "'";
    }

    private static String expected(Recognizer<?, ?> recognizer, RecognitionException e) {
      if (!(recognizer instanceof Parser p)) return null;
      IntervalSet set = e != null && e.getExpectedTokens() != null ? e.getExpectedTokens() : p.getExpectedTokens();
      if (set == null || set.isNil()) return null;
      Set<String> names = new TreeSet<>();
      for (int type : set.toList()) {
        if (type != TwinQueryLexer.SEMI) names.add(tokenName(p, type)); // the optional closing ';' is noise
      }
      if (names.size() > 8 || names.contains("an expression")) {
        return names.contains("an expression") && names.size() <= 3 ? String.join(" or ", names) : null;
      }
      return String.join(" or ", names);
    }

    private static String tokenName(Parser p, int type) {
      if (type == Token.EOF) return "end of query";
      return switch (type) {
        case TwinQueryLexer.IDENTIFIER, TwinQueryLexer.NUMBER, TwinQueryLexer.STRING -> "an expression";
        default -> {
          String literal = p.getVocabulary().getLiteralName(type);
          yield literal != null ? literal : p.getVocabulary().getSymbolicName(type);
        }
      };
    }
  }

  /** Static JSON type of an expression where the text alone tells it. */
  private enum Type {
    UNKNOWN, STRING, NUMBER, BOOL, NULL, UNDEFINED, ARRAY;

    String article() {
      return switch (this) {
        case STRING -> "a string";
        case NUMBER -> "a number";
        case BOOL -> "a boolean";
        case NULL -> "null";
        case UNDEFINED -> "undefined";
        case ARRAY -> "an array";
        case UNKNOWN -> "a value";
      };
    }
  }

  private static final class Builder {
    private final String text;
    private Query.Collection collection;
    private String fromAlias;

    Builder(String text) {
      this.text = text;
    }

    Query query(QueryContext q) {
      from(q.fromClause());
      SelectClauseContext sc = q.selectClause();
      Long top = null;
      if (sc.top != null) {
        top = topValue(sc.top);
      }
      List<Query.SelectItem> select = new ArrayList<>();
      if (sc.selectList() instanceof SelectItemsContext items) {
        int unnamed = 0;
        Set<String> names = new HashSet<>();
        for (SelectItemContext item : items.selectItem()) {
          Expr e = selectExpr(item.expr());
          String name;
          if (item.alias() != null) {
            name = aliasName(item.alias());
          } else if (e instanceof Expr.Path p) {
            name = p.last();
          } else if (e instanceof Expr.Aggregate a && a.function() == Expr.AggregateFunction.COUNT) {
            name = "numberOfDevices";
          } else {
            name = "$" + (++unnamed);
          }
          if (!names.add(name)) {
            throw new QueryException(pos(item), "'" + name + "' appears twice in SELECT; give one of them another name with AS");
          }
          select.add(new Query.SelectItem(e, name));
        }
      }
      Expr where = null;
      if (q.whereClause() != null) {
        where = expr(q.whereClause().expr());
        Type t = type(where);
        if (t != Type.UNKNOWN && t != Type.BOOL) {
          throw new QueryException(where.pos(), "WHERE needs a condition, got " + t.article());
        }
      }
      List<Expr> groupBy = new ArrayList<>();
      if (q.groupByClause() != null) {
        for (ExprContext g : q.groupByClause().expr()) groupBy.add(expr(g));
      }
      List<Query.OrderItem> orderBy = new ArrayList<>();
      if (q.orderByClause() != null) {
        for (OrderItemContext o : q.orderByClause().orderItem()) {
          orderBy.add(new Query.OrderItem(expr(o.expr()), o.dir != null && o.dir.getType() == TwinQueryLexer.DESC));
        }
      }
      checkAggregation(select, groupBy, orderBy, sc);
      return new Query(text, top, select, collection, where, groupBy, orderBy);
    }

    private void checkAggregation(List<Query.SelectItem> select, List<Expr> groupBy, List<Query.OrderItem> orderBy,
                                  SelectClauseContext sc) {
      boolean anyAggregate = select.stream().anyMatch(s -> s.expr() instanceof Expr.Aggregate);
      if (!groupBy.isEmpty() && select.isEmpty()) {
        throw new QueryException(pos(sc), "SELECT * cannot be grouped; select the GROUP BY values and aggregates such as COUNT()");
      }
      if ((anyAggregate || !groupBy.isEmpty()) && !orderBy.isEmpty()) {
        throw new QueryException(orderBy.get(0).expr().pos(), "ORDER BY cannot be combined with GROUP BY or aggregates");
      }
      if (!groupBy.isEmpty()) {
        Set<String> grouped = new HashSet<>();
        for (Expr g : groupBy) grouped.add(ExprPrinter.render(g));
        for (Query.SelectItem s : select) {
          if (!(s.expr() instanceof Expr.Aggregate) && !grouped.contains(ExprPrinter.render(s.expr()))) {
            throw new QueryException(s.expr().pos(), ExprPrinter.render(s.expr())
                + " is neither in GROUP BY nor an aggregate such as COUNT()");
          }
        }
      } else if (anyAggregate) {
        for (Query.SelectItem s : select) {
          if (!(s.expr() instanceof Expr.Aggregate)) {
            throw new QueryException(s.expr().pos(), ExprPrinter.render(s.expr())
                + " is not an aggregate; without GROUP BY every SELECT element must be one (COUNT(), SUM(x), AVG(x), MIN(x), MAX(x))");
          }
        }
      }
    }

    private Long topValue(Token t) {
      Pos p = pos(t);
      JsonNode n = number(t.getText(), p);
      if (!n.isIntegralNumber() || n.longValue() < 0) {
        throw new QueryException(p, "TOP needs a whole number of at least 0, got " + t.getText());
      }
      return n.longValue();
    }

    private void from(FromClauseContext f) {
      String name = f.collection.getText();
      String lower = name.toLowerCase(Locale.ROOT);
      switch (lower) {
        case "devices" -> collection = Query.Collection.DEVICES;
        case "devices.modules" -> collection = Query.Collection.MODULES;
        case "devices.jobs" -> collection = Query.Collection.JOBS;
        default -> throw new QueryException(pos(f.collection),
            "unknown collection '" + name + "', expected devices, devices.modules or devices.jobs");
      }
      fromAlias = f.alias() != null ? aliasName(f.alias()) : null;
    }

    private static String aliasName(AliasContext a) {
      return a.name() != null ? a.name().getText() : a.IDENTIFIER().getText();
    }

    // ------------------------------------------------------------------ expressions

    private Expr selectExpr(ExprContext ctx) {
      if (ctx instanceof PrimaryExprContext pe && pe.primary() instanceof CallPrimaryContext call) {
        Expr.AggregateFunction agg = aggregate(call.fn.getText());
        if (agg != null) {
          List<ExprContext> args = call.expr();
          if (agg == Expr.AggregateFunction.COUNT) {
            if (!args.isEmpty()) throw new QueryException(pos(call), "COUNT() takes no argument");
            return new Expr.Aggregate(agg, null, pos(call));
          }
          if (args.size() != 1) throw new QueryException(pos(call), agg + " takes 1 argument, got " + args.size());
          Expr arg = expr(args.get(0));
          Type t = type(arg);
          if (t != Type.UNKNOWN && t != Type.NUMBER) {
            throw new QueryException(arg.pos(), agg + " needs numbers, got " + t.article());
          }
          return new Expr.Aggregate(agg, arg, pos(call));
        }
      }
      return expr(ctx);
    }

    private static Expr.AggregateFunction aggregate(String name) {
      try {
        return Expr.AggregateFunction.valueOf(name.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        return null;
      }
    }

    Expr expr(ExprContext ctx) {
      Pos p = pos(ctx);
      if (ctx instanceof PrimaryExprContext pe) {
        return primary(pe.primary());
      } else if (ctx instanceof UnaryExprContext u) {
        Expr operand = expr(u.expr());
        requireType(operand, Type.NUMBER, "'" + u.op.getText() + "'");
        if (u.op.getText().equals("+")) return operand;
        if (operand instanceof Expr.Literal l && l.value().isNumber()) {
          return new Expr.Literal(negate(l.value()), p);
        }
        return new Expr.Negate(operand, p);
      } else if (ctx instanceof MulExprContext m) {
        return arithmetic(m.op.getText(), expr(m.expr(0)), expr(m.expr(1)), p);
      } else if (ctx instanceof AddExprContext a) {
        return arithmetic(a.op.getText(), expr(a.expr(0)), expr(a.expr(1)), p);
      } else if (ctx instanceof CompareExprContext c) {
        Expr left = expr(c.expr(0));
        Expr right = expr(c.expr(1));
        Expr.CompareOp op = switch (c.op.getText()) {
          case "=" -> Expr.CompareOp.EQ;
          case "!=", "<>" -> Expr.CompareOp.NE;
          case "<" -> Expr.CompareOp.LT;
          case "<=" -> Expr.CompareOp.LE;
          case ">" -> Expr.CompareOp.GT;
          default -> Expr.CompareOp.GE;
        };
        checkComparable(left, right, c.op);
        return new Expr.Compare(op, left, right, p);
      } else if (ctx instanceof InExprContext in) {
        Expr value = expr(in.expr());
        List<Expr> items = listItems(in.list());
        Type vt = type(value);
        if (vt == Type.ARRAY) throw new QueryException(value.pos(), "IN cannot test an array");
        return new Expr.In(value, items, in.nin != null || in.not != null, p);
      } else if (ctx instanceof NotExprContext n) {
        Expr operand = expr(n.expr());
        requireType(operand, Type.BOOL, "NOT");
        return new Expr.Not(operand, p);
      } else if (ctx instanceof AndExprContext a) {
        Expr left = expr(a.expr(0));
        Expr right = expr(a.expr(1));
        requireType(left, Type.BOOL, "AND");
        requireType(right, Type.BOOL, "AND");
        return new Expr.And(left, right, p);
      } else if (ctx instanceof OrExprContext o) {
        Expr left = expr(o.expr(0));
        Expr right = expr(o.expr(1));
        requireType(left, Type.BOOL, "OR");
        requireType(right, Type.BOOL, "OR");
        return new Expr.Or(left, right, p);
      }
      throw new QueryException(p, "unsupported expression");
    }

    private List<Expr> listItems(ListContext list) {
      List<ExprContext> ctxs = list.array() != null ? list.array().expr() : list.expr();
      List<Expr> items = new ArrayList<>();
      for (ExprContext c : ctxs) {
        Expr e = expr(c);
        if (!(e instanceof Expr.Literal)) {
          throw new QueryException(e.pos(), "IN and NIN take a list of constants (strings, numbers, true, false, null)");
        }
        items.add(e);
      }
      return items;
    }

    private Expr primary(PrimaryContext ctx) {
      Pos p = pos(ctx);
      if (ctx instanceof LiteralPrimaryContext l) {
        return literal(l.literal());
      } else if (ctx instanceof PathPrimaryContext pp) {
        return path(pp.path());
      } else if (ctx instanceof ParenPrimaryContext pp) {
        return expr(pp.expr());
      } else if (ctx instanceof ArrayPrimaryContext) {
        throw new QueryException(p, "an array constant can only follow IN or NIN");
      } else if (ctx instanceof CallPrimaryContext call) {
        String name = call.fn.getText();
        if (aggregate(name) != null) {
          throw new QueryException(p, name.toUpperCase(Locale.ROOT) + "() is an aggregate; it can only be a SELECT element");
        }
        Function f = Function.byName(name).orElseThrow(() -> new QueryException(p, "unknown function '" + name + "'"));
        List<Expr> args = new ArrayList<>();
        for (ExprContext a : call.expr()) args.add(expr(a));
        if (args.size() < f.minArgs || args.size() > f.maxArgs) {
          String n = f.minArgs == f.maxArgs ? String.valueOf(f.minArgs)
              : f.maxArgs == Integer.MAX_VALUE ? f.minArgs + " or more" : f.minArgs + " to " + f.maxArgs;
          throw new QueryException(p, f.name() + " takes " + n + " argument" + ("1".equals(n) ? "" : "s") + ", got " + args.size());
        }
        for (int i = 0; i < args.size(); i++) {
          String expected = f.args.expected(i);
          Type t = type(args.get(i));
          if (expected != null && t != Type.UNKNOWN && !expected.equals(t.name().toLowerCase(Locale.ROOT))) {
            throw new QueryException(args.get(i).pos(),
                f.name() + " needs " + ("string".equals(expected) ? "a string" : "a number") + " as argument " + (i + 1)
                    + ", got " + t.article());
          }
        }
        return new Expr.Call(f, args, p);
      }
      throw new QueryException(p, "unsupported expression");
    }

    private Expr path(PathContext ctx) {
      List<String> segments = new ArrayList<>();
      segments.add(ctx.IDENTIFIER().getText());
      for (SegmentContext s : ctx.segment()) {
        if (s instanceof DotSegmentContext d) {
          segments.add(d.name().getText());
        } else if (s instanceof BracketSegmentContext b) {
          segments.add(unquote(b.STRING().getSymbol()));
        }
      }
      // "devices.tags.x" and "<alias>.tags.x" name the same property as "tags.x".
      int prefix = 0;
      if (fromAlias != null && segments.get(0).equals(fromAlias)) {
        prefix = 1;
      } else if (segments.get(0).equals("devices")) {
        String sub = collection == Query.Collection.MODULES ? "modules" : collection == Query.Collection.JOBS ? "jobs" : null;
        prefix = sub != null && segments.size() > 2 && segments.get(1).equals(sub) ? 2 : 1;
      }
      if (prefix > 0 && segments.size() > prefix) segments = segments.subList(prefix, segments.size());
      return new Expr.Path(segments, pos(ctx));
    }

    private Expr literal(LiteralContext ctx) {
      Pos p = pos(ctx);
      if (ctx instanceof StringLiteralContext s) return new Expr.Literal(TextNode.valueOf(unquote(s.STRING().getSymbol())), p);
      if (ctx instanceof NumberLiteralContext n) return new Expr.Literal(number(n.NUMBER().getText(), p), p);
      if (ctx instanceof TrueLiteralContext) return new Expr.Literal(BooleanNode.TRUE, p);
      if (ctx instanceof FalseLiteralContext) return new Expr.Literal(BooleanNode.FALSE, p);
      if (ctx instanceof NullLiteralContext) return new Expr.Literal(NullNode.instance, p);
      return new Expr.Undefined(p);
    }

    private Expr arithmetic(String symbol, Expr left, Expr right, Pos p) {
      requireType(left, Type.NUMBER, "'" + symbol + "'");
      requireType(right, Type.NUMBER, "'" + symbol + "'");
      Expr.ArithOp op = switch (symbol) {
        case "+" -> Expr.ArithOp.ADD;
        case "-" -> Expr.ArithOp.SUBTRACT;
        case "*" -> Expr.ArithOp.MULTIPLY;
        case "/" -> Expr.ArithOp.DIVIDE;
        default -> Expr.ArithOp.MODULO;
      };
      return new Expr.Arithmetic(op, left, right, p);
    }

    private void checkComparable(Expr left, Expr right, Token op) {
      Type l = type(left);
      Type r = type(right);
      if (l == Type.ARRAY || r == Type.ARRAY) {
        throw new QueryException(pos(op), "'" + op.getText() + "' compares primitive values, not arrays");
      }
      if (l != Type.UNKNOWN && r != Type.UNKNOWN && l != Type.UNDEFINED && r != Type.UNDEFINED && l != r) {
        throw new QueryException(pos(op), "'" + op.getText() + "' compares " + l.article() + " with " + r.article()
            + ", which is never true");
      }
    }

    private void requireType(Expr e, Type wanted, String operator) {
      Type t = type(e);
      if (t != Type.UNKNOWN && t != Type.UNDEFINED && t != wanted) {
        throw new QueryException(e.pos(), operator + " needs " + wanted.article() + ", got " + t.article()
            + (e instanceof Expr.Literal l ? " " + ExprPrinter.render(l) : ""));
      }
    }

    /** The type an expression always has, or UNKNOWN when it depends on the twin. */
    private static Type type(Expr e) {
      if (e instanceof Expr.Literal l) {
        JsonNode v = l.value();
        if (v.isTextual()) return Type.STRING;
        if (v.isNumber()) return Type.NUMBER;
        if (v.isBoolean()) return Type.BOOL;
        return Type.NULL;
      } else if (e instanceof Expr.Undefined) {
        return Type.UNDEFINED;
      } else if (e instanceof Expr.ArrayLit) {
        return Type.ARRAY;
      } else if (e instanceof Expr.Negate || e instanceof Expr.Arithmetic) {
        return Type.NUMBER;
      } else if (e instanceof Expr.Compare || e instanceof Expr.In || e instanceof Expr.Not
          || e instanceof Expr.And || e instanceof Expr.Or) {
        return Type.BOOL;
      } else if (e instanceof Expr.Call c) {
        return switch (c.function()) {
          case IS_DEFINED, IS_NULL, IS_BOOL, IS_NUMBER, IS_STRING, IS_OBJECT, IS_ARRAY, IS_PRIMITIVE,
              STARTSWITH, ENDSWITH, CONTAINS -> Type.BOOL;
          case LENGTH, INDEX_OF, ABS, CEILING, FLOOR, ROUND, SIGN, SQUARE, SQRT, EXP, POWER, AS_NUMBER -> Type.NUMBER;
          case LOWER, UPPER, LTRIM, RTRIM, TRIM, CONCAT, SUBSTRING -> Type.STRING;
        };
      }
      return Type.UNKNOWN;
    }

    // ------------------------------------------------------------------ tokens

    private static JsonNode number(String text, Pos p) {
      try {
        if (text.length() > 2 && (text.startsWith("0x") || text.startsWith("0X"))) {
          BigInteger v = new BigInteger(text.substring(2), 16);
          if (v.bitLength() > 63) throw new QueryException(p, "number " + text + " is too large");
          return LongNode.valueOf(v.longValue());
        }
        BigDecimal d = new BigDecimal(text);
        if (d.scale() <= 0 || d.stripTrailingZeros().scale() <= 0) {
          try {
            return LongNode.valueOf(d.toBigIntegerExact().longValueExact());
          } catch (ArithmeticException tooBig) {
            // beyond long: a double, like any JSON number the twin could hold
          }
        }
        double v = d.doubleValue();
        if (Double.isInfinite(v)) throw new QueryException(p, "number " + text + " is too large");
        return DoubleNode.valueOf(v);
      } catch (NumberFormatException e) {
        throw new QueryException(p, "'" + text + "' is not a number");
      }
    }

    private static JsonNode negate(JsonNode n) {
      if (n.isLong() || n.isInt()) {
        long v = n.longValue();
        return v == Long.MIN_VALUE ? DoubleNode.valueOf(-(double) v) : LongNode.valueOf(-v);
      }
      return DoubleNode.valueOf(-n.doubleValue());
    }

    private static String unquote(Token t) {
      String s = t.getText();
      char q = s.charAt(0);
      StringBuilder out = new StringBuilder(s.length());
      for (int i = 1; i < s.length() - 1; i++) {
        char c = s.charAt(i);
        if (c == q) {
          i++; // doubled quote
          out.append(q);
        } else if (c == '\\') {
          char n = s.charAt(++i);
          switch (n) {
            case 'b' -> out.append('\b');
            case 'f' -> out.append('\f');
            case 'n' -> out.append('\n');
            case 'r' -> out.append('\r');
            case 't' -> out.append('\t');
            case 'u' -> {
              out.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16));
              i += 4;
            }
            default -> out.append(n);
          }
        } else {
          out.append(c);
        }
      }
      return out.toString();
    }

    private static Pos pos(ParserRuleContext ctx) {
      return pos(ctx.getStart());
    }

    private static Pos pos(Token t) {
      return new Pos(t.getLine(), t.getCharPositionInLine() + 1);
    }
  }
}
