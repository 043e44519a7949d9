package io.twinhub.query.exec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.TextNode;
import io.twinhub.query.eval.Evaluator;
import io.twinhub.query.eval.Groups;
import io.twinhub.query.eval.InMemoryQuery;
import io.twinhub.query.eval.Values;
import io.twinhub.query.exec.ContinuationTokens.Cursor;
import io.twinhub.query.index.TwinFields;
import io.twinhub.query.lang.Expr;
import io.twinhub.query.lang.Query;
import io.twinhub.query.plan.Planner;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.SortedDocValues;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.search.FieldDoc;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.SimpleCollector;
import org.apache.lucene.search.Sort;
import org.apache.lucene.search.SortField;
import org.apache.lucene.search.TopFieldDocs;
import org.apache.lucene.util.BytesRef;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.function.Function;

/**
 * Runs a checked query against an index searcher, one page at a time.
 *
 * <ul>
 *   <li>Listing (no ORDER BY): twins come in twin-id order straight from Lucene (the index is
 *       sorted by it, so the first page of a selective query stops early), and the next page
 *       starts strictly after the last twin id returned: a twin that exists throughout paging
 *       and keeps matching is returned exactly once, however other twins change meanwhile.</li>
 *   <li>ORDER BY: all candidates are ranked by doc values (the stored JSON only for values that
 *       are not in doc values), keeping the top page in a bounded heap; the next page starts after
 *       the last (values, twin id).</li>
 *   <li>GROUP BY / aggregates: group keys and aggregate arguments come from doc values, a twin's
 *       group found by its key's doc-value codes ({@link SegmentGroups}: a key object per distinct
 *       key per segment, not per twin); COUNT() without GROUP BY is a plain Lucene count. Pages of
 *       groups resume after the last key.</li>
 * </ul>
 * Conditions the planner cannot push down completely are checked in Java on the candidates'
 * stored JSON.
 */
public final class QueryExecutor {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Sort BY_TWIN_ID = new Sort(new SortField(TwinFields.ORDER, SortField.Type.STRING));
  private static final Set<String> JSON_ONLY = Set.of(TwinFields.JSON);
  private static final int MAX_RESIDUAL_BATCH = 4096;

  /** One page: the items (each a JSON object, UTF-8) and where the next page starts, null at the end. */
  public record Page(List<byte[]> items, Cursor next) {}

  private QueryExecutor() {}

  public static Page execute(IndexSearcher searcher, Query q, int pageSize, Cursor cursor) {
    Planner.Plan plan = Planner.plan(q.from(), q.where());
    long limit = pageSize;
    if (q.top() != null) limit = Math.min(limit, q.top() - cursor.returned());
    if (limit <= 0) return new Page(List.of(), null);
    try {
      Run run = new Run(searcher, q, plan, (int) limit, cursor);
      if (q.aggregating()) return run.grouped();
      if (!q.orderBy().isEmpty()) return run.ordered();
      return run.listed();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static final class Run {
    final IndexSearcher searcher;
    final Query q;
    final Planner.Plan plan;
    final int limit;
    final Cursor cursor;
    final StoredFields stored;
    /** The check of what the plan leaves to Java; null when the plan is exact. */
    final Residual residual;

    Run(IndexSearcher searcher, Query q, Planner.Plan plan, int limit, Cursor cursor) throws IOException {
      this.searcher = searcher;
      this.q = q;
      this.plan = plan;
      this.limit = limit;
      this.cursor = cursor;
      this.stored = searcher.storedFields();
      this.residual = plan.exact() ? null : new Residual(q.where());
    }

    /**
     * The residual check of a batch of hits (global doc ids, any order): per segment in doc order
     * from doc values, from the stored JSON only where needed. Returns the hits that pass.
     */
    java.util.Set<Integer> passing(ScoreDoc[] hits) throws IOException {
      java.util.Set<Integer> pass = new java.util.HashSet<>();
      int[] docs = new int[hits.length];
      for (int i = 0; i < hits.length; i++) docs[i] = hits[i].doc;
      java.util.Arrays.sort(docs);
      List<LeafReaderContext> leaves = searcher.getIndexReader().leaves();
      Residual.Leaf leaf = null;
      int leafIndex = -1;
      for (int doc : docs) {
        int li = org.apache.lucene.index.ReaderUtil.subIndex(doc, leaves);
        if (li != leafIndex) {
          leafIndex = li;
          leaf = residual.forLeaf(leaves.get(li).reader());
        }
        int r = leaf.test(doc - leaves.get(li).docBase);
        if (r == Residual.NEEDS_JSON) r = Evaluator.isTrue(q.where(), JSON.readTree(json(stored, doc))) ? 1 : 0;
        if (r == 1) pass.add(doc);
      }
      return pass;
    }

    /** Whether more items may follow a full page (TOP not yet reached). */
    boolean topAllowsMore() {
      return q.top() == null || cursor.returned() + limit < q.top();
    }

    Cursor next(JsonNode after, int returnedNow) {
      return new Cursor(cursor.returned() + returnedNow, after);
    }

    // ---------------------------------------------------------------- listing in twin-id order

    Page listed() throws IOException {
      int maxDoc = searcher.getIndexReader().maxDoc();
      if (maxDoc == 0) return new Page(List.of(), null);
      // Resume strictly after the last twin id: ties (the same id) are excluded by the highest doc id.
      FieldDoc after = cursor.after() == null ? null
          : new FieldDoc(maxDoc - 1, Float.NaN, new Object[] {new BytesRef(cursor.after().asText())});
      int batch = plan.exact() ? limit + 1 : Math.min(Math.max(2 * (limit + 1), 64), MAX_RESIDUAL_BATCH);
      List<byte[]> items = new ArrayList<>();
      DocValueRows rows = DocValueRows.of(q, searcher);
      String lastKey = null;
      boolean more = false;
      outer:
      while (true) {
        TopFieldDocs top = searcher.searchAfter(after, plan.query(), batch, BY_TWIN_ID, false);
        java.util.Set<Integer> pass = plan.exact() ? null : passing(top.scoreDocs);
        for (ScoreDoc sd : top.scoreDocs) {
          after = (FieldDoc) sd;
          if (pass != null && !pass.contains(sd.doc)) continue;
          if (items.size() == limit) {
            more = true;
            break outer;
          }
          byte[] row = rows == null ? null : rows.row(sd.doc);
          items.add(row != null ? row : item(stored, sd.doc, null, null));
          lastKey = ((BytesRef) after.fields[0]).utf8ToString();
        }
        if (top.scoreDocs.length < batch) break;
      }
      return new Page(items, more && topAllowsMore() ? next(TextNode.valueOf(lastKey), items.size()) : null);
    }

    // ---------------------------------------------------------------- ORDER BY

    record Ranked(List<JsonNode> values, String key, int doc, byte[] json) {}

    Page ordered() throws IOException {
      List<JsonNode> afterValues = null;
      String afterKey = null;
      if (cursor.after() != null) {
        ArrayNode a = (ArrayNode) cursor.after();
        afterValues = new ArrayList<>();
        for (int i = 0; i < a.size() - 1; i++) afterValues.add(decodeValue(a.get(i)));
        afterKey = a.get(a.size() - 1).asText();
      }
      Comparator<Ranked> order = (x, y) -> InMemoryQuery.compareOrder(q, x.values(), x.key(), y.values(), y.key());
      PriorityQueue<Ranked> best = new PriorityQueue<>(limit + 2, order.reversed());
      final List<JsonNode> fAfterValues = afterValues;
      final String fAfterKey = afterKey;
      List<Query.OrderItem> items = q.orderBy();
      searcher.search(plan.query(), new SimpleCollector() {
        PathValues[] readers;
        SortedDocValues keys;
        StoredFields leafStored;
        Residual.Leaf check;

        @Override
        protected void doSetNextReader(LeafReaderContext context) throws IOException {
          check = residual == null ? null : residual.forLeaf(context.reader());
          readers = new PathValues[items.size()];
          for (int i = 0; i < items.size(); i++) {
            if (items.get(i).expr() instanceof Expr.Path p) readers[i] = new PathValues(context.reader(), p.dotted());
          }
          keys = context.reader().getSortedDocValues(TwinFields.ORDER);
          leafStored = context.reader().storedFields();
          docBase = context.docBase;
        }

        int docBase;

        @Override
        public void collect(int doc) throws IOException {
          byte[] json = null;
          JsonNode twin = null;
          if (check != null) {
            int r = check.test(doc);
            if (r == Residual.NEEDS_JSON) {
              json = json(leafStored, doc);
              twin = JSON.readTree(json);
              r = Evaluator.isTrue(q.where(), twin) ? 1 : 0;
            }
            if (r == 0) return;
          }
          List<JsonNode> values = new ArrayList<>(items.size());
          for (int i = 0; i < items.size(); i++) {
            JsonNode v = readers[i] != null && twin == null ? readers[i].value(doc) : PathValues.COMPLEX;
            if (v == PathValues.COMPLEX) {
              if (twin == null) {
                json = json(leafStored, doc);
                twin = JSON.readTree(json);
              }
              v = Evaluator.eval(items.get(i).expr(), twin);
            }
            values.add(v);
          }
          keys.advanceExact(doc);
          String key = keys.lookupOrd(keys.ordValue()).utf8ToString();
          if (fAfterValues != null && InMemoryQuery.compareOrder(q, values, key, fAfterValues, fAfterKey) <= 0) return;
          best.add(new Ranked(values, key, docBase + doc, json));
          if (best.size() > limit + 1) best.poll();
        }

        @Override
        public ScoreMode scoreMode() {
          return ScoreMode.COMPLETE_NO_SCORES;
        }
      });
      List<Ranked> ranked = new ArrayList<>(best);
      ranked.sort(order);
      boolean more = ranked.size() > limit;
      if (more) ranked = ranked.subList(0, limit);
      List<byte[]> out = new ArrayList<>(ranked.size());
      for (Ranked r : ranked) out.add(item(stored, r.doc(), r.json(), null));
      Cursor next = null;
      if (more && topAllowsMore()) {
        Ranked last = ranked.get(ranked.size() - 1);
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        for (JsonNode v : last.values()) a.add(encodeValue(v));
        a.add(last.key());
        next = next(a, out.size());
      }
      return new Page(out, next);
    }

    // ---------------------------------------------------------------- GROUP BY and aggregates

    Page grouped() throws IOException {
      List<Expr.Aggregate> aggregates = Groups.aggregates(q);
      Map<Groups.Key, Groups.Accumulator> groups = new HashMap<>();
      boolean countOnly = aggregates.stream().allMatch(a -> a.arg() == null);
      if (q.groupBy().isEmpty() && countOnly && plan.exact()) {
        Groups.Accumulator acc = new Groups.Accumulator(aggregates.size());
        acc.addCount(searcher.count(plan.query()));
        groups.put(Groups.Key.of(List.of()), acc);
      } else {
        collectGroups(aggregates, groups);
        if (q.groupBy().isEmpty()) groups.computeIfAbsent(Groups.Key.of(List.of()), k -> new Groups.Accumulator(aggregates.size()));
      }
      List<Map.Entry<Groups.Key, Groups.Accumulator>> entries = new ArrayList<>(groups.entrySet());
      entries.sort((x, y) -> x.getKey().compareTo(y.getKey()));
      Groups.Key after = null;
      if (cursor.after() != null) {
        List<JsonNode> values = new ArrayList<>();
        for (JsonNode v : cursor.after()) values.add(decodeValue(v));
        after = Groups.Key.of(values);
      }
      List<byte[]> out = new ArrayList<>();
      Groups.Key last = null;
      boolean more = false;
      for (Map.Entry<Groups.Key, Groups.Accumulator> e : entries) {
        if (after != null && e.getKey().compareTo(after) <= 0) continue;
        if (out.size() == limit) {
          more = true;
          break;
        }
        out.add(JSON.writeValueAsBytes(Groups.row(q, e.getKey(), e.getValue())));
        last = e.getKey();
      }
      Cursor next = null;
      if (more && topAllowsMore()) {
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        for (JsonNode v : last.values()) a.add(encodeValue(v));
        next = next(a, out.size());
      }
      return new Page(out, next);
    }

    private void collectGroups(List<Expr.Aggregate> aggregates, Map<Groups.Key, Groups.Accumulator> groups)
        throws IOException {
      List<Expr> keys = q.groupBy();
      Function<List<JsonNode>, Groups.Accumulator> group =
          values -> groups.computeIfAbsent(Groups.Key.of(values), k -> new Groups.Accumulator(aggregates.size()));
      if (keys.size() == 1 && keys.get(0) instanceof Expr.Path p && residual == null
          && aggregates.stream().allMatch(a -> a.arg() == null)) {
        countByString(p, group);
        return;
      }
      searcher.search(plan.query(), new SimpleCollector() {
        SegmentGroups segmentGroups;
        PathValues[] argReaders;
        StoredFields leafStored;
        Residual.Leaf check;

        @Override
        protected void doSetNextReader(LeafReaderContext context) throws IOException {
          check = residual == null ? null : residual.forLeaf(context.reader());
          segmentGroups = new SegmentGroups(context.reader(), keys, group);
          argReaders = new PathValues[aggregates.size()];
          for (int i = 0; i < aggregates.size(); i++) {
            if (aggregates.get(i).arg() instanceof Expr.Path p) argReaders[i] = new PathValues(context.reader(), p.dotted());
          }
          leafStored = context.reader().storedFields();
        }

        @Override
        public void collect(int doc) throws IOException {
          JsonNode twin = null;
          if (check != null) {
            int r = check.test(doc);
            if (r == Residual.NEEDS_JSON) {
              twin = JSON.readTree(json(leafStored, doc));
              r = Evaluator.isTrue(q.where(), twin) ? 1 : 0;
            }
            if (r == 0) return;
          }
          Groups.Accumulator acc = segmentGroups.of(doc);
          if (acc == null) {
            if (twin == null) twin = JSON.readTree(json(leafStored, doc));
            List<JsonNode> values = new ArrayList<>(keys.size());
            for (Expr key : keys) values.add(Evaluator.eval(key, twin));
            acc = group.apply(values);
          }
          acc.countTwin();
          for (int i = 0; i < aggregates.size(); i++) {
            Expr arg = aggregates.get(i).arg();
            if (arg == null) continue;
            if (argReaders[i] != null && twin == null) {
              double d = argReaders[i].number(doc);
              if (!Double.isNaN(d)) acc.addNumber(i, d);
            } else {
              if (twin == null) twin = JSON.readTree(json(leafStored, doc));
              acc.add(i, Evaluator.eval(arg, twin));
            }
          }
        }

        @Override
        public ScoreMode scoreMode() {
          return ScoreMode.COMPLETE_NO_SCORES;
        }
      });
    }

    /**
     * {@code GROUP BY <one path>} with only COUNT()s over an exact plan, the common dashboard
     * query: per segment, the matching twins whose value is a string are counted in an array by
     * the string's ordinal (no collector call, key lookup or accumulator per twin); a group's key
     * is built once per distinct string per segment. Twins whose value is not a string there
     * (numbers, booleans, null, undefined, objects) are grouped the general way, in the same pass.
     * A segment whose twins all match, none deleted, all with a string there (an idle query node's
     * merged index under a GROUP BY without WHERE) is counted from its term dictionary instead: one
     * docFreq per distinct value, no doc value read per twin ({@link #termCounts}).
     */
    private void countByString(Expr.Path path, Function<List<JsonNode>, Groups.Accumulator> group) throws IOException {
      List<Expr> keys = List.of(path);
      org.apache.lucene.search.Weight weight =
          searcher.createWeight(searcher.rewrite(plan.query()), ScoreMode.COMPLETE_NO_SCORES, 1f);
      for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
        org.apache.lucene.search.Scorer scorer = weight.scorer(leaf);
        if (scorer == null) continue;
        org.apache.lucene.search.DocIdSetIterator it = scorer.iterator();
        org.apache.lucene.util.Bits live = leaf.reader().getLiveDocs();
        SortedDocValues strings = leaf.reader().getSortedDocValues(TwinFields.string(path.dotted()));
        int[] counts = strings == null ? null : termCounts(leaf.reader(), weight.count(leaf), strings, TwinFields.string(path.dotted()));
        if (counts != null) {
          TERM_COUNTED_SEGMENTS.increment();
          it = org.apache.lucene.search.DocIdSetIterator.empty();   // every twin's group is counted
        } else if (strings != null) {
          counts = new int[strings.getValueCount()];
        }
        SegmentGroups others = null;
        StoredFields leafStored = null;
        for (int doc = it.nextDoc(); doc != org.apache.lucene.search.DocIdSetIterator.NO_MORE_DOCS; doc = it.nextDoc()) {
          if (live != null && !live.get(doc)) continue;
          if (strings != null && strings.advanceExact(doc)) {
            counts[strings.ordValue()]++;
            continue;
          }
          if (others == null) others = new SegmentGroups(leaf.reader(), keys, group);
          Groups.Accumulator acc = others.of(doc);
          if (acc == null) {
            if (leafStored == null) leafStored = leaf.reader().storedFields();
            acc = group.apply(java.util.Collections.singletonList(Evaluator.eval(path, JSON.readTree(json(leafStored, doc)))));
          }
          acc.countTwin();
        }
        if (counts == null) continue;
        for (int ord = 0; ord < counts.length; ord++) {
          if (counts[ord] == 0) continue;
          group.apply(List.of(new TextNode(strings.lookupOrd(ord).utf8ToString()))).addCount(counts[ord]);
        }
      }
    }

    // ---------------------------------------------------------------- items

    /** The result item of one twin: its stored JSON verbatim for SELECT *, else the projection. */
    byte[] item(StoredFields fields, int doc, byte[] json, JsonNode twin) throws IOException {
      if (q.selectStar()) return json != null ? json : json(fields, doc);
      if (twin == null) twin = JSON.readTree(json != null ? json : json(fields, doc));
      return JSON.writeValueAsBytes(InMemoryQuery.project(q, twin));
    }
  }

  private static final java.util.concurrent.atomic.LongAdder TERM_COUNTED_SEGMENTS = new java.util.concurrent.atomic.LongAdder();

  /** Segments whose {@code GROUP BY <string path>} counts came from the term dictionary, since start. */
  public static long termCountedSegments() {
    return TERM_COUNTED_SEGMENTS.sum();
  }

  /**
   * The twins per value of a string path in one segment from its term dictionary, without reading
   * a doc value per twin; null unless that is exact: the query matches every document of the
   * segment ({@code matching}, -1 when not known cheaply), none is deleted (a term's docFreq counts
   * deleted documents too), and every document has a string value (the docFreqs add up to maxDoc:
   * the others need their JSON). Each string value is indexed once per twin as a term and as the
   * doc value beside it (TwinFields), so a value's docFreq is the number of twins with it.
   */
  static int[] termCounts(org.apache.lucene.index.LeafReader reader, int matching, SortedDocValues strings, String field)
      throws IOException {
    int maxDoc = reader.maxDoc();
    if (matching != maxDoc || reader.hasDeletions()) return null;
    org.apache.lucene.index.Terms terms = reader.terms(field);
    if (terms == null) return null;
    org.apache.lucene.index.TermsEnum te = terms.iterator();
    int[] counts = new int[strings.getValueCount()];
    long sum = 0;
    for (int ord = 0; ord < counts.length; ord++) {
      if (!te.seekExact(strings.lookupOrd(ord))) return null;
      counts[ord] = te.docFreq();
      sum += counts[ord];
    }
    return sum == maxDoc ? counts : null;
  }

  static byte[] json(StoredFields fields, int doc) throws IOException {
    BytesRef b = fields.document(doc, JSON_ONLY).getBinaryValue(TwinFields.JSON);
    return java.util.Arrays.copyOfRange(b.bytes, b.offset, b.offset + b.length);
  }

  /** Cursor values: [v] for a value, [] for undefined. */
  static JsonNode encodeValue(JsonNode v) {
    ArrayNode a = JsonNodeFactory.instance.arrayNode();
    if (v != null) a.add(v.isNumber() ? Values.numberNode(Values.number(v)) : v);
    return a;
  }

  static JsonNode decodeValue(JsonNode encoded) {
    return encoded.size() == 0 ? null : encoded.get(0);
  }
}
