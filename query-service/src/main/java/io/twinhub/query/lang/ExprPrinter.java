package io.twinhub.query.lang;

import java.util.stream.Collectors;

/**
 * Renders an expression back to query text, fully parenthesised. Two expressions that render
 * the same are the same expression (positions aside): GROUP BY matching uses that.
 */
public final class ExprPrinter {
  private ExprPrinter() {}

  public static String render(Expr e) {
    if (e instanceof Expr.Literal l) {
      return l.value().isTextual() ? quote(l.value().textValue()) : l.value().toString();
    } else if (e instanceof Expr.Undefined) {
      return "undefined";
    } else if (e instanceof Expr.Path p) {
      StringBuilder sb = new StringBuilder();
      for (String s : p.segments()) {
        if (sb.length() > 0) sb.append('.');
        sb.append(s.matches("[A-Za-z_$][A-Za-z0-9_$]*") ? s : "[" + quote(s) + "]");
      }
      return sb.toString().replace(".[", "[");
    } else if (e instanceof Expr.ArrayLit a) {
      return a.items().stream().map(ExprPrinter::render).collect(Collectors.joining(", ", "[", "]"));
    } else if (e instanceof Expr.Negate n) {
      return "(-" + render(n.operand()) + ")";
    } else if (e instanceof Expr.Arithmetic a) {
      return "(" + render(a.left()) + " " + a.op().symbol + " " + render(a.right()) + ")";
    } else if (e instanceof Expr.Compare c) {
      return "(" + render(c.left()) + " " + c.op().symbol + " " + render(c.right()) + ")";
    } else if (e instanceof Expr.In in) {
      return "(" + render(in.value()) + (in.negated() ? " NIN " : " IN ")
          + in.items().stream().map(ExprPrinter::render).collect(Collectors.joining(", ", "[", "]")) + ")";
    } else if (e instanceof Expr.Not n) {
      return "(NOT " + render(n.operand()) + ")";
    } else if (e instanceof Expr.And a) {
      return "(" + render(a.left()) + " AND " + render(a.right()) + ")";
    } else if (e instanceof Expr.Or o) {
      return "(" + render(o.left()) + " OR " + render(o.right()) + ")";
    } else if (e instanceof Expr.Call c) {
      return c.function().name() + c.args().stream().map(ExprPrinter::render).collect(Collectors.joining(", ", "(", ")"));
    } else if (e instanceof Expr.Aggregate a) {
      return a.function().name() + "(" + (a.arg() == null ? "" : render(a.arg())) + ")";
    }
    throw new IllegalArgumentException("unknown expression " + e);
  }

  static String quote(String s) {
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }
}
