package io.twinhub.query;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.query.eval.InMemoryQuery;
import io.twinhub.query.exec.QueryExecutor;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.query.index.TwinKey;
import io.twinhub.query.lang.QueryParser;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ForkJoinPool;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code GROUP BY <string path>} counted from a segment's term dictionary (one docFreq per value)
 * instead of a doc value per twin: taken only where that is exact, and the same rows as the
 * in-memory evaluator whichever way a segment is counted.
 */
class TermCountsGroupByTest {
  private static final String GROUP_BY = "SELECT tags.s AS s, COUNT() AS n FROM devices GROUP BY tags.s";

  private TwinIndex index;
  private QueryEngine engine;
  private final Map<String, ObjectNode> twins = new LinkedHashMap<>();
  private long seq;

  @BeforeEach
  void open() {
    index = TwinIndex.inMemory();
    engine = new QueryEngine(index, QuerySettings.DEFAULT, ForkJoinPool.commonPool());
  }

  @AfterEach
  void close() {
    engine.close();
    index.close();
  }

  @Test
  void aMergedSegmentOfStringsIsCountedFromItsTermsAndAgreesWithTheEvaluator() {
    for (int i = 0; i < 60; i++) put("d" + i, i % 3 == 0 ? "a" : i % 3 == 1 ? "bb" : "c");
    index.refresh();
    for (int i = 60; i < 90; i++) put("d" + i, i % 2 == 0 ? "a" : "zz");
    index.refresh();
    index.mergeSegments(1, true);
    index.refresh();
    assertEquals(1, (int) index.withSearcher(s -> s.getIndexReader().leaves().size()));
    check(GROUP_BY);
    assertEquals(1, termCounted(GROUP_BY), "the merged segment, counted from its terms");
  }

  @Test
  void segmentsWithDeletedTwinsAreCountedTwinByTwin() {
    for (int i = 0; i < 20; i++) put("d" + i, i % 2 == 0 ? "a" : "b");
    index.refresh();
    put("d3", "a");   // an update: the old document is deleted, its term still counted by docFreq
    put("d4", "c");
    index.refresh();
    check(GROUP_BY);
    assertEquals(2, (int) index.withSearcher(s -> s.getIndexReader().leaves().size()));
    assertEquals(1, termCounted(GROUP_BY), "the first segment has deletions: read twin by twin; the second from its terms");
  }

  @Test
  void segmentsWithTwinsWithoutAStringThereAreCountedTwinByTwin() {
    for (int i = 0; i < 20; i++) put("d" + i, i % 2 == 0 ? "a" : "b");
    putRaw("n1", "{'deviceId':'n1','tags':{'s':5}}");
    putRaw("n2", "{'deviceId':'n2','tags':{}}");
    putRaw("n3", "{'deviceId':'n3','tags':{'s':'" + "x".repeat(40_000) + "'}}");   // longer than a term
    index.refresh();
    check(GROUP_BY);
    assertEquals(0, termCounted(GROUP_BY), "not every twin has a string: read twin by twin");
  }

  @Test
  void aWhereClauseOrModulesInTheSegmentAreCountedTwinByTwin() {
    for (int i = 0; i < 20; i++) put("d" + i, i % 2 == 0 ? "a" : "b");
    index.refresh();
    String where = "SELECT tags.s AS s, COUNT() AS n FROM devices WHERE deviceId != 'd1' GROUP BY tags.s";
    check(where);
    assertEquals(0, termCounted(where));
    ObjectNode module = (ObjectNode) ConformanceTest.parse("[{'deviceId':'d0','moduleId':'m','tags':{'s':'a'}}]").get(0);
    index.put(TwinKey.module("d0", "m"), module, ++seq, null);
    index.refresh();
    index.mergeSegments(1, true);
    index.refresh();
    check(GROUP_BY);
    assertEquals(0, termCounted(GROUP_BY), "a module shares the segment: the devices are not all of it");
  }

  private void put(String id, String s) {
    putRaw(id, "{'deviceId':'" + id + "','tags':{'s':'" + s + "'}}");
  }

  private void putRaw(String id, String json) {
    ObjectNode twin = (ObjectNode) ConformanceTest.parse("[" + json + "]").get(0);
    twins.put(id, twin);
    index.put(TwinKey.device(id), twin, ++seq, null);
  }

  private void check(String sql) {
    List<JsonNode> reference = new ArrayList<>(InMemoryQuery.run(QueryParser.parse(sql), List.copyOf(twins.values())));
    for (int pageSize : new int[] {1, 2, 100}) {
      ConformanceTest.assertRows(reference, ConformanceTest.runAll(engine, sql, pageSize), "pages of " + pageSize + ": " + sql);
    }
  }

  /** How many segments one run of {@code sql} (one page) counted from their terms. */
  private long termCounted(String sql) {
    long before = QueryExecutor.termCountedSegments();
    ConformanceTest.runAll(engine, sql, 100);
    return QueryExecutor.termCountedSegments() - before;
  }
}
