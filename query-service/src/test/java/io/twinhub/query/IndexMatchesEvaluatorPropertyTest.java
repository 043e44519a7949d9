package io.twinhub.query;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.query.eval.InMemoryQuery;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.query.index.TwinKey;
import io.twinhub.query.lang.Query;
import io.twinhub.query.lang.QueryParser;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random twins and random queries: the Lucene-backed engine (pushdown, doc-value aggregation,
 * paging) returns exactly what the naive in-memory evaluator returns over the same twins.
 * Twins and queries share a small vocabulary of paths and values so that predicates hit,
 * miss, compare across types, meet undefined and null, and order strings by code point; the index
 * gets a segment per four twins.
 */
class IndexMatchesEvaluatorPropertyTest {
  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  static final List<String> PATHS = List.of("tags.a", "tags.b", "tags.o", "tags.o.x", "tags.o.y", "properties.reported.a",
      "properties.reported.n", "properties.reported.o.x", "properties.desired.b", "deviceId", "version", "tags.missing");
  static final List<String> STRINGS = List.of("", "a", "A", "ab", "b", "a*b", "é", "\uD834\uDD1E", "\uFF21", "10", "d1", "null");
  static final List<String> KEYS = List.of("a", "b", "o", "x", "y", "n");

  record Case(List<ObjectNode> twins, List<String> queries, int pageSize) {}

  @Property(tries = 250)
  void luceneEngineMatchesTheEvaluator(@ForAll("cases") Case c) {
    TwinIndex index = TwinIndex.inMemory();
    long seq = 0;
    for (ObjectNode t : c.twins()) {
      TwinKey key = t.has("moduleId") ? TwinKey.module(t.get("deviceId").asText(), t.get("moduleId").asText())
          : TwinKey.device(t.get("deviceId").asText());
      index.put(key, t, ++seq, null);
      if (seq % 4 == 0) index.refresh(); // several segments: doc-value ordinals differ between them
    }
    index.refresh();
    QueryEngine engine = new QueryEngine(index, QuerySettings.DEFAULT, ForkJoinPool.commonPool());
    try {
      for (String sql : c.queries()) {
        Query q = QueryParser.parse(sql);
        List<ObjectNode> expected = InMemoryQuery.run(q, c.twins());
        List<ObjectNode> actual = new ArrayList<>();
        String token = null;
        int pages = 0;
        do {
          QueryResult r = engine.query(sql, c.pageSize(), token);
          actual.addAll(r.json());
          token = r.continuation();
          assertTrue(++pages <= 200);
        } while (token != null);
        ConformanceTest.assertRows(new ArrayList<>(expected), actual, sql + "\n over " + c.twins());
      }
    } finally {
      engine.close();
      index.close();
    }
  }

  @Provide
  Arbitrary<Case> cases() {
    Arbitrary<List<ObjectNode>> twins = twinBodies().list().ofMinSize(0).ofMaxSize(25).map(bodies -> {
      List<ObjectNode> out = new ArrayList<>();
      for (int i = 0; i < bodies.size(); i++) {
        // Unique ids: twin i is device d<i>, or, every third, module m<i> of device d<i-1>.
        ObjectNode t = F.objectNode();
        if (i % 3 == 2) {
          t.put("deviceId", "d" + (i - 1));
          t.put("moduleId", "m" + i);
        } else {
          t.put("deviceId", "d" + i);
        }
        t.setAll(bodies.get(i).deepCopy());
        out.add(t);
      }
      return out;
    });
    return Combinators.combine(twins, query().list().ofMinSize(1).ofMaxSize(6), Arbitraries.integers().between(1, 7))
        .as(Case::new);
  }

  // ---------------------------------------------------------------- twins

  Arbitrary<ObjectNode> twinBodies() {
    return Combinators.combine(object(2), object(2), object(2), Arbitraries.integers().between(1, 9))
        .as((tags, desired, reported, version) -> {
          ObjectNode t = F.objectNode();
          t.put("version", version);
          t.set("tags", tags);
          ObjectNode props = t.putObject("properties");
          props.set("desired", desired);
          props.set("reported", reported);
          return t;
        });
  }

  Arbitrary<JsonNode> value(int depth) {
    List<Arbitrary<? extends JsonNode>> choices = new ArrayList<>(List.of(
        Arbitraries.of(STRINGS).map(F::textNode),
        Arbitraries.integers().between(-3, 12).map(F::numberNode),
        Arbitraries.of(0.5, -0.0, 2.5, 1e3, -1.25).map(F::numberNode),
        Arbitraries.of(true, false).map(F::booleanNode),
        Arbitraries.just(F.nullNode()),
        Arbitraries.integers().between(0, 3).list().ofMaxSize(3).map(l -> {
          ArrayNode a = F.arrayNode();
          l.forEach(a::add);
          return a;
        })));
    if (depth > 0) choices.add(object(depth - 1));
    return Arbitraries.oneOf(choices);
  }

  Arbitrary<ObjectNode> object(int depth) {
    return Combinators.combine(Arbitraries.of(KEYS).list().uniqueElements().ofMaxSize(4), value(depth).list().ofSize(4))
        .as((keys, values) -> {
          ObjectNode o = F.objectNode();
          for (int i = 0; i < keys.size(); i++) o.set(keys.get(i), values.get(i));
          return o;
        });
  }

  // ---------------------------------------------------------------- queries

  Arbitrary<String> path() {
    return Arbitraries.of(PATHS);
  }

  Arbitrary<String> literal() {
    return Arbitraries.oneOf(
        Arbitraries.of(STRINGS).map(s -> "'" + s.replace("'", "''") + "'"),
        Arbitraries.integers().between(-3, 12).map(String::valueOf),
        Arbitraries.of("0.5", "2.5", "1000", "-1.25", "0"),
        Arbitraries.of("true", "false", "null"));
  }

  Arbitrary<String> condition(int depth) {
    List<Arbitrary<? extends String>> leaves = List.of(
        Combinators.combine(path(), Arbitraries.of("=", "!=", "<", "<=", ">", ">="), literal()).as((p, op, l) -> p + " " + op + " " + l),
        Combinators.combine(literal(), Arbitraries.of("=", "<", ">="), path()).as((l, op, p) -> l + " " + op + " " + p),
        Combinators.combine(path(), Arbitraries.of("=", "<", ">"), path()).as((a, op, b) -> a + " " + op + " " + b),
        Combinators.combine(path(), Arbitraries.of("IN", "NIN"), literal().list().ofMaxSize(3))
            .as((p, op, ls) -> p + " " + op + " [" + String.join(", ", ls) + "]"),
        Combinators.combine(Arbitraries.of("IS_DEFINED", "IS_NULL", "IS_BOOL", "IS_NUMBER", "IS_STRING", "IS_OBJECT",
            "IS_ARRAY", "IS_PRIMITIVE"), path()).as((f, p) -> f + "(" + p + ")"),
        Combinators.combine(Arbitraries.of("STARTSWITH", "ENDSWITH", "CONTAINS"), path(), Arbitraries.of(STRINGS))
            .as((f, p, s) -> f + "(" + p + ", '" + s + "')"),
        Combinators.combine(path(), Arbitraries.of("+ 1 > 2", "* 2 = 4", "% 2 = 1", "- 0.5 <= 0")).as((p, tail) -> p + " " + tail),
        Combinators.combine(Arbitraries.of("LOWER", "UPPER"), path(), Arbitraries.of(STRINGS))
            .as((f, p, s) -> f + "(" + p + ") = '" + s + "'"),
        Combinators.combine(path(), path()).as((a, b) -> "CONCAT(" + a + ", " + b + ") >= 'a'"),
        path().map(p -> "LENGTH(" + p + ") < 2"),
        path().map(p -> p),
        Arbitraries.of("true", "false"));
    if (depth == 0) return Arbitraries.oneOf(leaves);
    Arbitrary<String> sub = Arbitraries.lazy(() -> condition(depth - 1));
    List<Arbitrary<? extends String>> all = new ArrayList<>(leaves);
    all.add(sub.map(c -> "NOT (" + c + ")"));
    all.add(Combinators.combine(sub, sub).as((a, b) -> "(" + a + ") AND (" + b + ")"));
    all.add(Combinators.combine(sub, sub).as((a, b) -> "(" + a + ") OR (" + b + ")"));
    return Arbitraries.oneOf(all);
  }

  Arbitrary<String> query() {
    Arbitrary<String> from = Arbitraries.of("devices", "devices.modules");
    Arbitrary<String> where = Arbitraries.oneOf(Arbitraries.just(""), condition(3).map(c -> " WHERE " + c));
    Arbitrary<String> listing = Combinators.combine(
        Arbitraries.of("*", "deviceId, tags.a AS a, properties.reported.n * 2 AS n2", "tags.o AS o, LOWER(tags.b) AS lb",
            // only paths: read from doc values where the value allows
            "deviceId, tags.a, tags.b AS bb, tags.o, properties.reported.n, moduleId, tags.missing"),
        Arbitraries.oneOf(Arbitraries.just(""), Arbitraries.integers().between(0, 12).map(n -> "TOP " + n + " ")),
        from, where,
        Arbitraries.oneOf(Arbitraries.just(""),
            Combinators.combine(path(), Arbitraries.of("", " DESC"), Arbitraries.oneOf(Arbitraries.just(""),
                path().map(p -> ", " + p + " DESC"))).as((p, d, more) -> " ORDER BY " + p + d + more)))
        .as((select, top, f, w, order) -> "SELECT " + top + select + " FROM " + f + w + order);
    Arbitrary<String> grouping = Combinators.combine(path(), path(), from, where,
            Arbitraries.of("", "TOP 2 "), Arbitraries.of(true, false))
        .as((g, a, f, w, top, expression) -> {
          String key = expression ? "LOWER(" + g + ")" : g;
          return "SELECT " + top + key + " AS k, COUNT() AS c, SUM(" + a + ") AS s, AVG(" + a + ") AS av, MIN(" + a
              + ") AS mi, MAX(" + a + ") AS ma FROM " + f + w + " GROUP BY " + key;
        });
    // GROUP BY one path with only COUNT()s: counted by string ordinal where the plan is exact
    Arbitrary<String> countingGroups = Combinators.combine(path(), from, where, Arbitraries.of("", "TOP 2 "))
        .as((g, f, w, top) -> "SELECT " + top + g + ", COUNT() AS c FROM " + f + w + " GROUP BY " + g);
    Arbitrary<String> counting = Combinators.combine(from, where, path())
        .as((f, w, a) -> "SELECT COUNT() AS c, SUM(" + a + ") AS s FROM " + f + w);
    return Arbitraries.frequencyOf(Tuple.of(5, listing), Tuple.of(2, grouping), Tuple.of(1, countingGroups), Tuple.of(1, counting));
  }
}
