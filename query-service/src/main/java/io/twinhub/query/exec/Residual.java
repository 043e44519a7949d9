package io.twinhub.query.exec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.query.eval.Evaluator;
import io.twinhub.query.lang.Expr;
import org.apache.lucene.index.LeafReader;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Evaluates the part of a WHERE that Lucene could not answer (LOWER(x) = 'a', x * 2 > y, ...)
 * without loading the stored twin: the paths the condition reads come from doc values and make
 * a small document holding just them, which the evaluator sees as the twin. Only where a path
 * holds an object or an array (not in doc values) does the caller read the stored JSON.
 */
final class Residual {
  /** The condition needs the stored JSON for this twin. */
  static final int NEEDS_JSON = -1;

  private final Expr where;
  private final Map<String, List<String>> paths = new LinkedHashMap<>();

  Residual(Expr where) {
    this.where = where;
    collect(where);
  }

  Leaf forLeaf(LeafReader reader) throws IOException {
    return new Leaf(reader);
  }

  /** Per segment; documents must be visited in increasing order. */
  final class Leaf {
    private final PathValues[] values;
    private final List<List<String>> segments;

    private Leaf(LeafReader reader) throws IOException {
      segments = new ArrayList<>(paths.values());
      values = new PathValues[segments.size()];
      int i = 0;
      for (String p : paths.keySet()) values[i++] = new PathValues(reader, p);
    }

    /** 1 when the condition is true for {@code doc}, 0 when not, {@link #NEEDS_JSON} when doc values do not suffice. */
    int test(int doc) throws IOException {
      ObjectNode sparse = JsonNodeFactory.instance.objectNode();
      for (int i = 0; i < values.length; i++) {
        JsonNode v = values[i].value(doc);
        if (v == PathValues.COMPLEX) return NEEDS_JSON;
        if (v != null) put(sparse, segments.get(i), v);
      }
      return Evaluator.isTrue(where, sparse) ? 1 : 0;
    }
  }

  private static void put(ObjectNode root, List<String> segments, JsonNode v) {
    ObjectNode cur = root;
    for (int i = 0; i < segments.size() - 1; i++) {
      JsonNode next = cur.get(segments.get(i));
      cur = next instanceof ObjectNode o ? o : cur.putObject(segments.get(i));
    }
    cur.set(segments.get(segments.size() - 1), v);
  }

  private void collect(Expr e) {
    if (e instanceof Expr.Path p) {
      paths.putIfAbsent(p.dotted(), p.segments());
    } else if (e instanceof Expr.Compare c) {
      collect(c.left());
      collect(c.right());
    } else if (e instanceof Expr.Arithmetic a) {
      collect(a.left());
      collect(a.right());
    } else if (e instanceof Expr.Negate n) {
      collect(n.operand());
    } else if (e instanceof Expr.Not n) {
      collect(n.operand());
    } else if (e instanceof Expr.And a) {
      collect(a.left());
      collect(a.right());
    } else if (e instanceof Expr.Or o) {
      collect(o.left());
      collect(o.right());
    } else if (e instanceof Expr.In in) {
      collect(in.value());
      in.items().forEach(this::collect);
    } else if (e instanceof Expr.Call c) {
      c.args().forEach(this::collect);
    }
  }
}
