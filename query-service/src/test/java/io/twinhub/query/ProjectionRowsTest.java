package io.twinhub.query;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.query.eval.InMemoryQuery;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.query.index.TwinKey;
import io.twinhub.query.lang.QueryParser;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A SELECT of paths reads strings, booleans and null from doc values and everything else from the
 * stored JSON: the rows are byte for byte what the in-memory evaluator renders, numbers keep their
 * JSON form (5 stays 5, not 5.0), and the indexed-only delta summary stays undefined.
 */
class ProjectionRowsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void pathProjectionsRenderAsTheJsonDoes() throws Exception {
    List<ObjectNode> twins = new ArrayList<>();
    try (TwinIndex index = TwinIndex.inMemory();
         QueryEngine engine = new QueryEngine(index, QuerySettings.DEFAULT, ForkJoinPool.commonPool())) {
      String[] tags = {
          "{\"s\":\"text\",\"b\":true,\"z\":null,\"n\":5,\"o\":{\"x\":1}}",
          "{\"s\":\"other\",\"b\":false,\"n\":2.5,\"o\":[1,2]}",
          "{\"s\":7,\"z\":\"not null\",\"n\":\"five\",\"o\":\"flat\"}",
          "{}"};
      for (int i = 0; i < 40; i++) {
        ObjectNode twin = (ObjectNode) JSON.readTree("{\"deviceId\":\"d" + i + "\",\"status\":\"" + (i % 3 == 0 ? "disabled" : "enabled")
            + "\",\"version\":" + (i + 2) + ",\"tags\":" + tags[i % tags.length] + "}");
        twins.add(twin);
        index.put(TwinKey.device("d" + i), twin, JSON.readTree("{\"delta\":{\"isEmpty\":true,\"count\":0}}"), i + 1, null);
        if (i % 13 == 12) index.refresh(); // several segments
      }
      index.refresh();
      for (String sql : List.of(
          "SELECT deviceId FROM devices WHERE status = 'disabled'",
          "SELECT deviceId, tags.s, tags.b, tags.z, tags.n, tags.o, tags.o.x, tags.missing FROM devices",
          "SELECT tags.s AS a, tags.b AS b, deviceId FROM devices WHERE tags.b = true OR tags.s = 7",
          "SELECT deviceId, delta.isEmpty, delta FROM devices",
          "SELECT version, status FROM devices WHERE STARTSWITH(deviceId, 'd1')")) {
        List<String> expected = new ArrayList<>();
        for (ObjectNode row : InMemoryQuery.run(QueryParser.parse(sql), twins)) expected.add(JSON.writeValueAsString(row));
        List<String> actual = new ArrayList<>();
        String token = null;
        do {
          QueryResult page = engine.query(sql, 7, token);
          for (byte[] item : page.items()) actual.add(new String(item, StandardCharsets.UTF_8));
          token = page.continuation();
        } while (token != null);
        assertEquals(expected, actual, sql);
      }
    }
  }
}
