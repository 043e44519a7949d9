package io.twinhub.query.exec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.query.index.TwinFields;
import io.twinhub.query.lang.Expr;
import io.twinhub.query.lang.Query;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.ReaderUtil;
import org.apache.lucene.search.IndexSearcher;

import java.io.IOException;
import java.util.List;

/**
 * The rows of a projection of paths ({@code SELECT deviceId, status FROM devices ...}) read from
 * doc values instead of the stored JSON: no stored-field block to decompress and no JSON to parse
 * per twin. Only values that render exactly as the stored JSON does are taken from doc values:
 * strings, booleans and null. A number (doc values hold it as a double, so {@code 5} would come
 * back as {@code 5.0}), an object or array, or a string too long for doc values makes that twin's
 * row come from its JSON ({@link #row} answers null), as does a path under an indexed-only root
 * ({@link TwinFields#INDEXED_ONLY_ROOTS}, not in the JSON).
 */
final class DocValueRows {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Query q;
  private final List<LeafReaderContext> leaves;
  private final String[] paths;
  /** Per leaf, the readers of the paths (created when the leaf is first visited). */
  private final PathValues[][] readers;
  private final int[] lastDoc;

  private DocValueRows(Query q, IndexSearcher searcher, String[] paths) {
    this.q = q;
    this.leaves = searcher.getIndexReader().leaves();
    this.paths = paths;
    this.readers = new PathValues[leaves.size()][];
    this.lastDoc = new int[leaves.size()];
  }

  /** Rows for {@code q} from doc values, or null when its SELECT is not only paths (or is *). */
  static DocValueRows of(Query q, IndexSearcher searcher) {
    if (q.selectStar() || q.aggregating()) return null;
    String[] paths = new String[q.select().size()];
    for (int i = 0; i < paths.length; i++) {
      if (!(q.select().get(i).expr() instanceof Expr.Path p)) return null;
      if (TwinFields.INDEXED_ONLY_ROOTS.contains(p.segments().get(0))) return null;
      paths[i] = p.dotted();
    }
    return new DocValueRows(q, searcher, paths);
  }

  /** The row of global document {@code doc} (UTF-8 JSON), or null when it must come from the stored JSON. */
  byte[] row(int doc) throws IOException {
    int li = ReaderUtil.subIndex(doc, leaves);
    LeafReaderContext leaf = leaves.get(li);
    int local = doc - leaf.docBase;
    // Doc values are read forwards: start over should a leaf be visited backwards.
    if (readers[li] == null || local < lastDoc[li]) {
      PathValues[] r = new PathValues[paths.length];
      for (int i = 0; i < paths.length; i++) r[i] = new PathValues(leaf.reader(), paths[i]);
      readers[li] = r;
    }
    lastDoc[li] = local;
    ObjectNode row = JsonNodeFactory.instance.objectNode();
    for (int i = 0; i < paths.length; i++) {
      JsonNode v = readers[li][i].value(local);
      if (v == PathValues.COMPLEX || (v != null && v.isNumber())) return null;
      // As InMemoryQuery.project: undefined is left out.
      if (v != null) row.set(q.select().get(i).name(), v);
    }
    return JSON.writeValueAsBytes(row);
  }
}
