package io.twinhub.query.exec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.twinhub.query.index.TwinFields;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.index.SortedDocValues;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.util.NumericUtils;

import java.io.IOException;

/**
 * Reads the value of one path for the documents of one segment from doc values, without loading
 * the stored JSON: strings from sorted doc values (each distinct string decoded once), numbers
 * and booleans from numeric doc values, null from the type markers. Objects and arrays are not
 * in doc values: {@link #COMPLEX} tells the caller to read the stored JSON for that twin.
 * Documents must be visited in increasing order.
 */
final class PathValues {
  /** The value is an object or an array: evaluate the path on the stored JSON. */
  static final JsonNode COMPLEX = TextNode.valueOf("\u0000complex");

  private final SortedDocValues strings;
  private final NumericDocValues numbers;
  private final NumericDocValues bools;
  private final DocIdSetIterator nulls;
  private final DocIdSetIterator objects;
  private final DocIdSetIterator arrays;
  private final DocIdSetIterator anyStrings;
  private TextNode[] decoded;

  PathValues(LeafReader reader, String path) throws IOException {
    strings = reader.getSortedDocValues(TwinFields.string(path));
    numbers = reader.getNumericDocValues(TwinFields.number(path));
    bools = reader.getNumericDocValues(TwinFields.bool(path));
    nulls = marker(reader, TwinFields.T_NULL, path);
    objects = marker(reader, TwinFields.T_OBJECT, path);
    arrays = marker(reader, TwinFields.T_ARRAY, path);
    anyStrings = marker(reader, TwinFields.T_STRING, path);
  }

  private static DocIdSetIterator marker(LeafReader reader, char type, String path) throws IOException {
    return reader.postings(new Term(TwinFields.TYPE, TwinFields.typed(type, path)), PostingsEnum.NONE);
  }

  /** The value at the path for {@code doc}: a JSON value, {@link #COMPLEX}, or null (undefined). */
  JsonNode value(int doc) throws IOException {
    if (strings != null && strings.advanceExact(doc)) {
      int ord = strings.ordValue();
      if (decoded == null) decoded = new TextNode[strings.getValueCount()];
      TextNode t = decoded[ord];
      if (t == null) {
        t = TextNode.valueOf(strings.lookupOrd(ord).utf8ToString());
        decoded[ord] = t;
      }
      return t;
    }
    if (numbers != null && numbers.advanceExact(doc)) {
      return DoubleNode.valueOf(NumericUtils.sortableLongToDouble(numbers.longValue()));
    }
    if (bools != null && bools.advanceExact(doc)) {
      return BooleanNode.valueOf(bools.longValue() == 1);
    }
    if (at(nulls, doc)) return NullNode.instance;
    // Objects, arrays, and strings too long for doc values (TwinFields.MAX_VALUE_BYTES).
    if (at(objects, doc) || at(arrays, doc) || at(anyStrings, doc)) return COMPLEX;
    return null;
  }

  /** The number at the path, or NaN when the value is not a number. */
  double number(int doc) throws IOException {
    if (numbers != null && numbers.advanceExact(doc)) return NumericUtils.sortableLongToDouble(numbers.longValue());
    return Double.NaN;
  }

  private static boolean at(DocIdSetIterator it, int doc) throws IOException {
    if (it == null) return false;
    if (it.docID() < doc) it.advance(doc);
    return it.docID() == doc;
  }
}
