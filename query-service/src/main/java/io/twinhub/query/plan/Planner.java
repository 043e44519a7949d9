package io.twinhub.query.plan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.twinhub.query.eval.Evaluator;
import io.twinhub.query.eval.Values;
import io.twinhub.query.index.TwinFields;
import io.twinhub.query.lang.Expr;
import io.twinhub.query.lang.Function;
import io.twinhub.query.lang.Query.Collection;
import org.apache.lucene.document.DoublePoint;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.SortedDocValuesField;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexOrDocValuesQuery;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.search.MatchNoDocsQuery;
import org.apache.lucene.search.PrefixQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TermInSetQuery;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TermRangeQuery;
import org.apache.lucene.search.WildcardQuery;
import org.apache.lucene.util.BytesRef;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Pushes a WHERE condition into a Lucene query.
 *
 * <p>Three-valued logic makes NOT the subtle part: {@code NOT p} keeps the twins where p is
 * <em>false</em>, not those where p is not true (where p is undefined it stays undefined). So
 * every condition is translated into two queries: {@code t} ⊇ the twins where it is true, and
 * {@code f} ⊇ the twins where it is false. NOT swaps them; AND is (t1 ∧ t2, f1 ∨ f2); OR is
 * (t1 ∨ t2, f1 ∧ f2). For comparisons of a path with a constant, IN/NIN, STARTSWITH, ENDSWITH,
 * CONTAINS, IS_* and boolean paths both sets are exact; anything else (arithmetic, other
 * functions, path-to-path comparisons) becomes a superset (the twins where every path it depends
 * on is defined) and the condition is evaluated in Java over those candidates.
 */
public final class Planner {
  private static final Query ALL = new MatchAllDocsQuery();
  private static final Query NONE = new MatchNoDocsQuery();
  private static final JsonNode NO_TWIN = JsonNodeFactory.instance.objectNode();

  private Planner() {}

  /** A translated condition: {@code exact} when t and f are exactly the true and false sets. */
  public record Pred(Query t, Query f, boolean exact) {
    static Pred constant(JsonNode v) {
      if (v != null && v.isBoolean()) return v.booleanValue() ? new Pred(ALL, NONE, true) : new Pred(NONE, ALL, true);
      return new Pred(NONE, NONE, true);
    }
  }

  /** What the executor runs: {@code query} selects candidates; {@code exact} means no Java check is needed. */
  public record Plan(Query query, boolean exact) {}

  public static Plan plan(Collection collection, Expr where) {
    Query kind = new TermQuery(new Term(TwinFields.KIND,
        collection == Collection.MODULES ? TwinFields.KIND_MODULE : TwinFields.KIND_DEVICE));
    if (where == null) return new Plan(kind, true);
    Pred p = pred(where);
    return new Plan(and(kind, p.t()), p.exact());
  }

  /** The translation of a condition. */
  public static Pred pred(Expr e) {
    if (!hasPath(e)) return Pred.constant(Evaluator.eval(e, NO_TWIN));
    if (e instanceof Expr.Not n) {
      Pred p = pred(n.operand());
      return new Pred(p.f(), p.t(), p.exact());
    } else if (e instanceof Expr.And a) {
      Pred l = pred(a.left());
      Pred r = pred(a.right());
      return new Pred(and(l.t(), r.t()), or(l.f(), r.f()), l.exact() && r.exact());
    } else if (e instanceof Expr.Or o) {
      Pred l = pred(o.left());
      Pred r = pred(o.right());
      return new Pred(or(l.t(), r.t()), and(l.f(), r.f()), l.exact() && r.exact());
    } else if (e instanceof Expr.Path p) {
      // A boolean property used as a condition: WHERE tags.enabled
      String f = TwinFields.bool(p.dotted());
      return new Pred(term(f, TwinFields.boolTerm(true)), term(f, TwinFields.boolTerm(false)), true);
    } else if (e instanceof Expr.Compare c) {
      Pred p = compare(c);
      if (p != null) return p;
    } else if (e instanceof Expr.In in) {
      Pred p = in(in);
      if (p != null) return p;
    } else if (e instanceof Expr.Call c) {
      Pred p = call(c);
      if (p != null) return p;
    }
    return residual(e);
  }

  /** Not answerable by the index: candidates are the twins where every path e depends on is defined. */
  private static Pred residual(Expr e) {
    Query q = ALL;
    for (String path : strictPaths(e)) q = and(q, defined(path));
    return new Pred(q, q, false);
  }

  private static Pred compare(Expr.Compare c) {
    Expr left = c.left();
    Expr right = c.right();
    Expr.CompareOp op = c.op();
    if (!(left instanceof Expr.Path) && right instanceof Expr.Path) {
      Expr t = left;
      left = right;
      right = t;
      op = op.flipped();
    }
    if (!(left instanceof Expr.Path p) || hasPath(right)) return null;
    String path = p.dotted();
    JsonNode v = Evaluator.eval(right, NO_TWIN);
    if (v == null) return new Pred(NONE, NONE, true); // compared with undefined: never true, never false
    if (v.isNumber()) {
      Query t = numberCompare(path, op, Values.number(v));
      return new Pred(t, and(typed(TwinFields.T_NUMBER, path), not(t)), true);
    } else if (v.isTextual()) {
      Query t = stringCompare(path, op, v.textValue());
      return new Pred(t, and(typed(TwinFields.T_STRING, path), not(t)), true);
    } else if (v.isBoolean()) {
      Query t = NONE;
      Query f = NONE;
      for (boolean candidate : new boolean[] {false, true}) {
        Query q = term(TwinFields.bool(path), TwinFields.boolTerm(candidate));
        if (op.test(Boolean.compare(candidate, v.booleanValue()))) t = or(t, q);
        else f = or(f, q);
      }
      return new Pred(t, f, true);
    } else if (v.isNull()) {
      Query nulls = typed(TwinFields.T_NULL, path);
      return op.test(0) ? new Pred(nulls, NONE, true) : new Pred(NONE, nulls, true);
    }
    return new Pred(NONE, NONE, true); // objects and arrays do not compare
  }

  private static Query numberCompare(String path, Expr.CompareOp op, double v) {
    String f = TwinFields.number(path);
    return switch (op) {
      case EQ -> DoublePoint.newExactQuery(f, v);
      case NE -> and(typed(TwinFields.T_NUMBER, path), not(DoublePoint.newExactQuery(f, v)));
      case LT -> numberRange(f, Double.NEGATIVE_INFINITY, Math.nextDown(v));
      case LE -> numberRange(f, Double.NEGATIVE_INFINITY, v);
      case GT -> numberRange(f, Math.nextUp(v), Double.POSITIVE_INFINITY);
      case GE -> numberRange(f, v, Double.POSITIVE_INFINITY);
    };
  }

  private static Query numberRange(String f, double lo, double hi) {
    if (lo > hi) return NONE;
    return new IndexOrDocValuesQuery(DoublePoint.newRangeQuery(f, lo, hi),
        NumericDocValuesField.newSlowRangeQuery(f, TwinFields.sortableLong(lo), TwinFields.sortableLong(hi)));
  }

  private static Query stringCompare(String path, Expr.CompareOp op, String v) {
    String f = TwinFields.string(path);
    BytesRef b = new BytesRef(v);
    return switch (op) {
      case EQ -> term(f, b);
      case NE -> and(typed(TwinFields.T_STRING, path), not(term(f, b)));
      case LT -> stringRange(f, null, b, false, false);
      case LE -> stringRange(f, null, b, false, true);
      case GT -> stringRange(f, b, null, false, false);
      case GE -> stringRange(f, b, null, true, false);
    };
  }

  private static Query stringRange(String f, BytesRef lo, BytesRef hi, boolean incLo, boolean incHi) {
    return new IndexOrDocValuesQuery(new TermRangeQuery(f, lo, hi, incLo, incHi),
        SortedDocValuesField.newSlowRangeQuery(f, lo, hi, incLo, incHi));
  }

  private static Pred in(Expr.In in) {
    if (!(in.value() instanceof Expr.Path p)) return null;
    String path = p.dotted();
    List<BytesRef> strings = new ArrayList<>();
    List<Double> numbers = new ArrayList<>();
    Set<Boolean> bools = new LinkedHashSet<>();
    boolean hasNull = false;
    Set<Character> types = new LinkedHashSet<>();
    for (Expr item : in.items()) {
      JsonNode v = ((Expr.Literal) item).value();
      if (v.isTextual()) {
        strings.add(new BytesRef(v.textValue()));
        types.add(TwinFields.T_STRING);
      } else if (v.isNumber()) {
        numbers.add(Values.number(v));
        types.add(TwinFields.T_NUMBER);
      } else if (v.isBoolean()) {
        bools.add(v.booleanValue());
        types.add(TwinFields.T_BOOL);
      } else {
        hasNull = true;
        types.add(TwinFields.T_NULL);
      }
    }
    Query t = NONE;
    if (!strings.isEmpty()) t = or(t, new TermInSetQuery(TwinFields.string(path), strings));
    if (!numbers.isEmpty()) {
      t = or(t, DoublePoint.newSetQuery(TwinFields.number(path), numbers.stream().mapToDouble(Double::doubleValue).toArray()));
    }
    for (boolean b : bools) t = or(t, term(TwinFields.bool(path), TwinFields.boolTerm(b)));
    if (hasNull) t = or(t, typed(TwinFields.T_NULL, path));
    // False only when every comparison is false: the value has the one type of all items and matches none.
    Query f;
    if (in.items().isEmpty()) {
      f = ALL;
    } else if (types.size() == 1 && !hasNull) {
      f = and(typed(types.iterator().next(), path), not(t));
    } else {
      f = NONE;
    }
    return in.negated() ? new Pred(f, t, true) : new Pred(t, f, true);
  }

  private static Pred call(Expr.Call c) {
    Function fn = c.function();
    Expr arg = c.args().get(0);
    if (fn.isTypeCheck()) {
      if (!(arg instanceof Expr.Path p)) return null;
      String path = p.dotted();
      Query t = switch (fn) {
        case IS_DEFINED -> defined(path);
        case IS_NULL -> typed(TwinFields.T_NULL, path);
        case IS_BOOL -> typed(TwinFields.T_BOOL, path);
        case IS_NUMBER -> typed(TwinFields.T_NUMBER, path);
        case IS_STRING -> typed(TwinFields.T_STRING, path);
        case IS_OBJECT -> typed(TwinFields.T_OBJECT, path);
        case IS_ARRAY -> typed(TwinFields.T_ARRAY, path);
        default -> or(or(typed(TwinFields.T_STRING, path), typed(TwinFields.T_NUMBER, path)),
            or(typed(TwinFields.T_BOOL, path), typed(TwinFields.T_NULL, path)));
      };
      return new Pred(t, not(t), true);
    }
    if (fn != Function.STARTSWITH && fn != Function.ENDSWITH && fn != Function.CONTAINS) return null;
    if (!(arg instanceof Expr.Path p) || hasPath(c.args().get(1))) return null;
    JsonNode v = Evaluator.eval(c.args().get(1), NO_TWIN);
    if (v == null || !v.isTextual()) return new Pred(NONE, NONE, true);
    String path = p.dotted();
    String f = TwinFields.string(path);
    String s = v.textValue();
    Query t = switch (fn) {
      case STARTSWITH -> new PrefixQuery(new Term(f, s));
      case ENDSWITH -> new WildcardQuery(new Term(f, "*" + wildcardEscape(s)));
      default -> new WildcardQuery(new Term(f, "*" + wildcardEscape(s) + "*"));
    };
    return new Pred(t, and(typed(TwinFields.T_STRING, path), not(t)), true);
  }

  private static String wildcardEscape(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      if (ch == WildcardQuery.WILDCARD_STRING || ch == WildcardQuery.WILDCARD_CHAR || ch == WildcardQuery.WILDCARD_ESCAPE) {
        sb.append(WildcardQuery.WILDCARD_ESCAPE);
      }
      sb.append(ch);
    }
    return sb.toString();
  }

  /**
   * Paths that must be defined for e to be true or false: where one of them is undefined, e is
   * undefined (comparisons, arithmetic and all but the IS_* functions propagate undefined).
   */
  static Set<String> strictPaths(Expr e) {
    Set<String> out = new LinkedHashSet<>();
    if (e instanceof Expr.Path p) {
      out.add(p.dotted());
    } else if (e instanceof Expr.Compare c) {
      out.addAll(strictPaths(c.left()));
      out.addAll(strictPaths(c.right()));
    } else if (e instanceof Expr.Arithmetic a) {
      out.addAll(strictPaths(a.left()));
      out.addAll(strictPaths(a.right()));
    } else if (e instanceof Expr.Negate n) {
      out.addAll(strictPaths(n.operand()));
    } else if (e instanceof Expr.Not n) {
      out.addAll(strictPaths(n.operand()));
    } else if (e instanceof Expr.In in) {
      if (!in.items().isEmpty()) out.addAll(strictPaths(in.value()));
    } else if (e instanceof Expr.Call c) {
      if (c.function().strict()) for (Expr a : c.args()) out.addAll(strictPaths(a));
    } else if (e instanceof Expr.And a) {
      out.addAll(strictPaths(a.left()));
      out.retainAll(strictPaths(a.right()));
    } else if (e instanceof Expr.Or o) {
      out.addAll(strictPaths(o.left()));
      out.retainAll(strictPaths(o.right()));
    }
    return out;
  }

  static boolean hasPath(Expr e) {
    if (e instanceof Expr.Path) return true;
    if (e instanceof Expr.Literal || e instanceof Expr.Undefined) return false;
    if (e instanceof Expr.Compare c) return hasPath(c.left()) || hasPath(c.right());
    if (e instanceof Expr.Arithmetic a) return hasPath(a.left()) || hasPath(a.right());
    if (e instanceof Expr.Negate n) return hasPath(n.operand());
    if (e instanceof Expr.Not n) return hasPath(n.operand());
    if (e instanceof Expr.And a) return hasPath(a.left()) || hasPath(a.right());
    if (e instanceof Expr.Or o) return hasPath(o.left()) || hasPath(o.right());
    if (e instanceof Expr.In in) return hasPath(in.value()) || in.items().stream().anyMatch(Planner::hasPath);
    if (e instanceof Expr.Call c) return c.args().stream().anyMatch(Planner::hasPath);
    if (e instanceof Expr.ArrayLit a) return a.items().stream().anyMatch(Planner::hasPath);
    if (e instanceof Expr.Aggregate a) return a.arg() != null && hasPath(a.arg());
    return true;
  }

  // ------------------------------------------------------------------ query algebra

  static Query defined(String path) {
    return new TermQuery(new Term(TwinFields.DEFINED, path));
  }

  static Query typed(char type, String path) {
    return new TermQuery(new Term(TwinFields.TYPE, TwinFields.typed(type, path)));
  }

  private static Query term(String field, BytesRef value) {
    return new TermQuery(new Term(field, value));
  }

  static Query and(Query a, Query b) {
    if (a instanceof MatchNoDocsQuery || b instanceof MatchNoDocsQuery) return NONE;
    if (a instanceof MatchAllDocsQuery) return b;
    if (b instanceof MatchAllDocsQuery) return a;
    return new BooleanQuery.Builder().add(a, BooleanClause.Occur.FILTER).add(b, BooleanClause.Occur.FILTER).build();
  }

  static Query or(Query a, Query b) {
    if (a instanceof MatchAllDocsQuery || b instanceof MatchAllDocsQuery) return ALL;
    if (a instanceof MatchNoDocsQuery) return b;
    if (b instanceof MatchNoDocsQuery) return a;
    return new BooleanQuery.Builder().add(a, BooleanClause.Occur.SHOULD).add(b, BooleanClause.Occur.SHOULD).build();
  }

  static Query not(Query a) {
    if (a instanceof MatchAllDocsQuery) return NONE;
    if (a instanceof MatchNoDocsQuery) return ALL;
    return new BooleanQuery.Builder().add(ALL, BooleanClause.Occur.FILTER).add(a, BooleanClause.Occur.MUST_NOT).build();
  }
}
