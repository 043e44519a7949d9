package io.twinhub.query;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.query.eval.InMemoryQuery;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.query.index.TwinKey;
import io.twinhub.query.lang.QueryParser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;

import static io.twinhub.query.ConformanceTest.assertRows;
import static io.twinhub.query.ConformanceTest.parse;
import static io.twinhub.query.ConformanceTest.runAll;
import static org.junit.jupiter.api.Assertions.*;

/**
 * GROUP BY over an index of several Lucene segments, where the executor finds a twin's group by
 * per-segment doc-value codes (string ordinals differ between segments): one group per value
 * whatever segment and type of number it comes from, exact sums, every type apart and in the total
 * order, paging by key. Each query is run page by page (sizes 1 to 4 and 100) and, as a second
 * opinion, through the in-memory evaluator.
 */
class GroupByTest {
  private static final String LONG = "x".repeat(40_000); // longer than doc values hold: read from the stored JSON

  /**
   * Three segments; tags.s is 'a','b' in the first, 'b','c' in the second and 'a','c' in the third,
   * so one string has different ordinals in different segments and one ordinal different strings.
   */
  private static final List<String> SEGMENTS = List.of("""
      [{'deviceId':'d00','tags':{'v':1,'s':'a','n':1,'w':'short'},'properties':{'reported':{'x':0.1}}},
       {'deviceId':'d01','tags':{'v':'1','s':'b','n':2},'properties':{'reported':{'x':0.2}}},
       {'deviceId':'d02','tags':{'v':true,'s':'a','n':1.0},'properties':{'reported':{'x':0.3}}},
       {'deviceId':'d03','tags':{'s':'b','n':1},'properties':{'reported':{'x':1}}},
       {'deviceId':'d04','tags':{'v':null,'s':'a','n':2}},
       {'deviceId':'d05','tags':{'v':{'a':1},'s':'a','n':1},'properties':{'reported':{'x':0.1}}},
       {'deviceId':'d06','tags':{'v':0,'s':'b'}}]""", """
      [{'deviceId':'d10','tags':{'v':1.0,'s':'c','n':1},'properties':{'reported':{'x':0.2}}},
       {'deviceId':'d11','tags':{'v':'1','s':'b','n':1.0},'properties':{'reported':{'x':0.3}}},
       {'deviceId':'d12','tags':{'v':false,'s':'c','n':2}},
       {'deviceId':'d13','tags':{'v':[1,2],'s':'b','n':1},'properties':{'reported':{'x':0.1}}},
       {'deviceId':'d14','tags':{'n':1}},
       {'deviceId':'d15','tags':{'v':'x','s':'b','n':2,'w':'LONG'},'properties':{'reported':{'x':0.2}}}]""", """
      [{'deviceId':'d20','tags':{'v':1,'s':'a','n':1.0},'properties':{'reported':{'x':0.3}}},
       {'deviceId':'d21','tags':{'v':null,'s':'c','n':2}},
       {'deviceId':'d22','tags':{'v':{'a':1},'s':'a','n':1}},
       {'deviceId':'d23','tags':{'v':-0.0,'s':'a'}},
       {'deviceId':'d24','tags':{'v':'x','s':'c','n':1,'w':'LONG'},'properties':{'reported':{'x':0.1}}}]""");

  private static TwinIndex index;
  private static QueryEngine engine;
  private static List<ObjectNode> twins;

  @BeforeAll
  static void load() {
    index = TwinIndex.inMemory();
    twins = new ArrayList<>();
    long seq = 0;
    for (String segment : SEGMENTS) {
      for (JsonNode t : json(segment)) {
        twins.add((ObjectNode) t);
        index.put(TwinKey.device(t.get("deviceId").asText()), t, ++seq, null);
      }
      index.refresh(); // one segment per refresh
    }
    engine = new QueryEngine(index, QuerySettings.DEFAULT, ForkJoinPool.commonPool());
  }

  @AfterAll
  static void close() {
    engine.close();
    index.close();
  }

  @Test
  void theFixtureHasThreeSegments() {
    int segments = index.withSearcher(s -> s.getIndexReader().leaves().size());
    assertEquals(SEGMENTS.size(), segments);
  }

  @Test
  void everyTypeIsAGroupOfItsOwnAndNumbersGroupByValue() {
    check("SELECT tags.v AS v, COUNT() AS n, SUM(properties.reported.x) AS s FROM devices GROUP BY tags.v", """
        [{'n':2,'s':1},
         {'v':null,'n':2,'s':0},
         {'v':false,'n':1,'s':0},
         {'v':true,'n':1,'s':0.3},
         {'v':0,'n':2,'s':0},
         {'v':1,'n':3,'s':0.6},
         {'v':'1','n':2,'s':0.5},
         {'v':'x','n':2,'s':0.30000000000000004},
         {'v':[1,2],'n':1,'s':0.1},
         {'v':{'a':1},'n':2,'s':0.1}]""");
    // 1 (d00, d20) and 1.0 (d10) from three segments are one group; 0 and -0 one; its sum is exact
    // (0.1 + 0.2 + 0.3 in doubles, in visiting order, would be 0.6000000000000001).
  }

  @Test
  void aStringTooLongForDocValuesGroupsWithItsEqualsFromOtherSegments() {
    // The last group: a continuation token cannot carry a key this long (ContinuationTokens.MAX_TOKEN_LENGTH).
    check("SELECT tags.w AS w, COUNT() AS n FROM devices GROUP BY tags.w", "[{'n':15},{'w':'short','n':1},{'w':'LONG','n':2}]");
  }

  @Test
  void oneStringKeyFromSegmentsWithDifferentOrdinals() {
    check("SELECT tags.s AS s, COUNT() AS c FROM devices GROUP BY tags.s", "[{'c':1},{'s':'a','c':7},{'s':'b','c':6},{'s':'c','c':4}]");
  }

  @Test
  void severalKeysFromSegmentsWithDifferentOrdinals() {
    check("SELECT tags.s AS s, tags.n AS n, COUNT() AS c FROM devices GROUP BY tags.s, tags.n", """
        [{'n':1,'c':1},
         {'s':'a','c':1},
         {'s':'a','n':1,'c':5},
         {'s':'a','n':2,'c':1},
         {'s':'b','c':1},
         {'s':'b','n':1,'c':3},
         {'s':'b','n':2,'c':2},
         {'s':'c','n':1,'c':2},
         {'s':'c','n':2,'c':2}]""");
  }

  @Test
  void keysFromTheStoredJsonAndConditionsLeftToJavaAgreeWithTheEvaluator() {
    for (String sql : List.of(
        "SELECT LOWER(tags.s) AS s, COUNT() AS c FROM devices GROUP BY LOWER(tags.s)",
        "SELECT tags.v AS v, tags.s AS s, COUNT() AS c FROM devices GROUP BY tags.v, tags.s",
        "SELECT tags.s AS s, COUNT() AS c, MAX(tags.n) AS m FROM devices WHERE tags.v * 1 = 1 OR tags.v = true GROUP BY tags.s",
        "SELECT tags.v AS v, COUNT() AS c FROM devices WHERE LOWER(tags.s) != 'c' GROUP BY tags.v",
        "SELECT COUNT() AS c, SUM(properties.reported.x) AS s FROM devices WHERE LOWER(tags.s) = 'a'",
        "SELECT TOP 3 tags.v AS v, COUNT() AS c FROM devices GROUP BY tags.v")) {
      check(sql, null);
    }
  }

  @Test
  void pagesOfGroupsResumeAfterTheLastKey() {
    String sql = "SELECT tags.v AS v, COUNT() AS n FROM devices GROUP BY tags.v";
    QueryResult first = engine.query(sql, 1, null);
    assertRows(rows("[{'n':2}]"), first.json(), "the undefined group first");
    QueryResult second = engine.query(sql, 2, first.continuation());
    assertRows(rows("[{'v':null,'n':2},{'v':false,'n':1}]"), second.json(), "second page");
    QueryResult third = engine.query(sql, 3, second.continuation());
    assertRows(rows("[{'v':true,'n':1},{'v':0,'n':2},{'v':1,'n':3}]"), third.json(), "third page");
    QueryResult fourth = engine.query(sql, 1, third.continuation());
    assertRows(rows("[{'v':'1','n':2}]"), fourth.json(), "after the number 1 comes the string '1'");
  }

  private static List<JsonNode> rows(String json) {
    List<JsonNode> rows = new ArrayList<>();
    json(json).forEach(rows::add);
    return rows;
  }

  /** A JSON array in single quotes, 'LONG' standing for {@link #LONG}. */
  private static ArrayNode json(String json) {
    return parse(json.replace("'LONG'", "'" + LONG + "'"));
  }

  /** Every page size gives the expected rows (null: whatever the in-memory evaluator gives). */
  private static void check(String sql, String expectedJson) {
    List<JsonNode> reference = new ArrayList<>(InMemoryQuery.run(QueryParser.parse(sql), twins));
    if (expectedJson != null) assertRows(rows(expectedJson), reference, "in-memory: " + sql);
    for (int pageSize : new int[] {1, 2, 3, 4, 100}) {
      assertRows(reference, runAll(engine, sql, pageSize), "index, pages of " + pageSize + ": " + sql);
    }
  }
}
