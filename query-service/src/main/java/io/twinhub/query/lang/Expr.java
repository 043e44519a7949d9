package io.twinhub.query.lang;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.Objects;

/**
 * An expression of the query language. Values are JSON values; a Java {@code null} result
 * of evaluation means <em>undefined</em> (a path that is not in the twin), which is neither
 * equal nor unequal to anything, not even to {@code null}.
 */
public sealed interface Expr {

  /** Where the expression starts in the query text (1-based line and column). */
  Pos pos();

  /** A constant: string, number, boolean or null ({@code undefined} is {@link Undefined}). */
  record Literal(JsonNode value, Pos pos) implements Expr {
    public Literal {
      Objects.requireNonNull(value, "value");
    }
  }

  /** The {@code undefined} constant. */
  record Undefined(Pos pos) implements Expr {}

  /** A path into the twin document, e.g. {@code properties.reported.battery}. */
  record Path(List<String> segments, Pos pos) implements Expr {
    public Path {
      segments = List.copyOf(segments);
    }

    /** The segments joined with dots (keys never contain dots). */
    public String dotted() {
      return String.join(".", segments);
    }

    public String last() {
      return segments.get(segments.size() - 1);
    }
  }

  /** {@code [a, b, ...]}: the operand list of IN/NIN, or an array constant. */
  record ArrayLit(List<Expr> items, Pos pos) implements Expr {
    public ArrayLit {
      items = List.copyOf(items);
    }
  }

  record Negate(Expr operand, Pos pos) implements Expr {}

  record Arithmetic(ArithOp op, Expr left, Expr right, Pos pos) implements Expr {}

  record Compare(CompareOp op, Expr left, Expr right, Pos pos) implements Expr {}

  /** {@code value IN [items]}; {@code negated} for NIN / NOT IN. */
  record In(Expr value, List<Expr> items, boolean negated, Pos pos) implements Expr {
    public In {
      items = List.copyOf(items);
    }
  }

  record Not(Expr operand, Pos pos) implements Expr {}

  record And(Expr left, Expr right, Pos pos) implements Expr {}

  record Or(Expr left, Expr right, Pos pos) implements Expr {}

  record Call(Function function, List<Expr> args, Pos pos) implements Expr {
    public Call {
      args = List.copyOf(args);
    }
  }

  /** COUNT(), SUM(x), AVG(x), MIN(x), MAX(x): only in SELECT. {@code arg} is null for COUNT(). */
  record Aggregate(AggregateFunction function, Expr arg, Pos pos) implements Expr {}

  enum ArithOp {
    ADD("+"), SUBTRACT("-"), MULTIPLY("*"), DIVIDE("/"), MODULO("%");

    public final String symbol;

    ArithOp(String symbol) {
      this.symbol = symbol;
    }
  }

  enum CompareOp {
    EQ("="), NE("!="), LT("<"), LE("<="), GT(">"), GE(">=");

    public final String symbol;

    CompareOp(String symbol) {
      this.symbol = symbol;
    }

    /** The operator with its operands swapped: {@code a < b} is {@code b > a}. */
    public CompareOp flipped() {
      return switch (this) {
        case EQ, NE -> this;
        case LT -> GT;
        case LE -> GE;
        case GT -> LT;
        case GE -> LE;
      };
    }

    /** Whether {@code cmp} (the sign of left compared to right) satisfies the operator. */
    public boolean test(int cmp) {
      return switch (this) {
        case EQ -> cmp == 0;
        case NE -> cmp != 0;
        case LT -> cmp < 0;
        case LE -> cmp <= 0;
        case GT -> cmp > 0;
        case GE -> cmp >= 0;
      };
    }
  }

  enum AggregateFunction {
    COUNT, SUM, AVG, MIN, MAX
  }

  /** A position in the query text. */
  record Pos(int line, int column) {
    public static final Pos NONE = new Pos(0, 0);

    @Override
    public String toString() {
      return "line " + line + ", column " + column;
    }
  }
}
