package io.twinhub.query.exec;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.query.eval.Groups;
import io.twinhub.query.lang.Expr;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.util.LongsRef;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Finds the group of each twin of one segment without building its {@link Groups.Key}: the twin's
 * GROUP BY values are read as doc-value codes ({@link PathValues#code}: a string's ordinal, a
 * number's bits, ...), and only the first twin of each distinct code in the segment builds the
 * key and looks up the query's group. Codes are the cache, never the group: two codes of one value
 * (ordinals differ between segments) reach the same group through its key, so the {@link Groups}
 * semantics (1 and 1.0 together, '1' and 1 apart, undefined a group of its own) stay the key's.
 */
final class SegmentGroups {
  private final PathValues[] keys;
  private final Function<List<JsonNode>, Groups.Accumulator> group;
  /** The codes of the twin being looked up, reused for every twin. */
  private final LongsRef probe;
  /** Groups by their key's codes (kind and bits per GROUP BY value). */
  private final Map<LongsRef, Groups.Accumulator> groupsByCodes = new HashMap<>();
  /** Groups by ordinal when the only key is a string, the common GROUP BY: no hashing. */
  private Groups.Accumulator[] groupsByOrdinal;

  /**
   * @param groupBy the query's GROUP BY expressions
   * @param group   the query's group of a key's values (the map over all segments)
   */
  SegmentGroups(LeafReader reader, List<Expr> groupBy, Function<List<JsonNode>, Groups.Accumulator> group)
      throws IOException {
    this.keys = readers(reader, groupBy);
    this.group = group;
    this.probe = keys == null ? null : new LongsRef(new long[2 * keys.length], 0, 2 * keys.length);
  }

  /** Readers of the GROUP BY paths, or null when a key is computed (LENGTH(x), ...): only paths are in doc values. */
  private static PathValues[] readers(LeafReader reader, List<Expr> groupBy) throws IOException {
    PathValues[] readers = new PathValues[groupBy.size()];
    for (int i = 0; i < readers.length; i++) {
      if (!(groupBy.get(i) instanceof Expr.Path p)) return null;
      readers[i] = new PathValues(reader, p.dotted());
    }
    return readers;
  }

  /** The group of {@code doc}, or null when its key needs the stored JSON (see {@link PathValues#COMPLEX}). */
  Groups.Accumulator of(int doc) throws IOException {
    if (probe == null) return null;
    for (int i = 0; i < keys.length; i++) {
      if (keys[i].code(doc, probe.longs, 2 * i) == PathValues.NOT_IN_DOC_VALUES) return null;
    }
    return keys.length == 1 && probe.longs[0] == PathValues.STRING ? byOrdinal((int) probe.longs[1]) : byCodes();
  }

  private Groups.Accumulator byOrdinal(int ord) throws IOException {
    if (groupsByOrdinal == null) groupsByOrdinal = new Groups.Accumulator[keys[0].ordinals()];
    if (groupsByOrdinal[ord] == null) groupsByOrdinal[ord] = group.apply(values(probe.longs));
    return groupsByOrdinal[ord];
  }

  private Groups.Accumulator byCodes() throws IOException {
    Groups.Accumulator acc = groupsByCodes.get(probe);
    if (acc == null) {
      acc = group.apply(values(probe.longs));
      groupsByCodes.put(LongsRef.deepCopyOf(probe), acc);
    }
    return acc;
  }

  private List<JsonNode> values(long[] codes) throws IOException {
    List<JsonNode> values = new ArrayList<>(keys.length);
    for (int i = 0; i < keys.length; i++) values.add(keys[i].decode(codes[2 * i], codes[2 * i + 1]));
    return values;
  }
}
