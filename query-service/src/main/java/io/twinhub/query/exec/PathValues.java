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
 * {@link #code} gives the same value undecoded, for grouping twins of one segment cheaply.
 * Documents must be visited in increasing order.
 */
final class PathValues {
  /** The value is an object or an array: evaluate the path on the stored JSON. */
  static final JsonNode COMPLEX = TextNode.valueOf("\u0000complex");

  /** Kinds of a {@link #code}: what the path holds. */
  static final int UNDEFINED = 0;
  static final int NULL = 1;
  static final int BOOLEAN = 2;
  static final int NUMBER = 3;
  static final int STRING = 4;
  /** An object, an array, or a string too long for doc values (TwinFields.MAX_VALUE_BYTES). */
  static final int NOT_IN_DOC_VALUES = 5;

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

  /** The code read by {@link #value(int)}; a field, so reading a value allocates no array. */
  private final long[] scratch = new long[2];

  /**
   * The value at the path for {@code doc} as two longs, written at {@code codes[at]} and {@code
   * codes[at + 1]}: its kind and its bits (the string's ordinal, the number's sortable long, 1 for
   * true, else 0). Reading one costs no decoding or allocation, and within one segment equal codes
   * are equal values (ordinals are per segment). Returns the kind.
   */
  int code(int doc, long[] codes, int at) throws IOException {
    long bits = 0;
    int kind;
    if (strings != null && strings.advanceExact(doc)) {
      bits = strings.ordValue();
      kind = STRING;
    } else if (numbers != null && numbers.advanceExact(doc)) {
      bits = numbers.longValue();
      kind = NUMBER;
    } else if (bools != null && bools.advanceExact(doc)) {
      bits = bools.longValue();
      kind = BOOLEAN;
    } else if (at(nulls, doc)) {
      kind = NULL;
    } else if (at(objects, doc) || at(arrays, doc) || at(anyStrings, doc)) {
      kind = NOT_IN_DOC_VALUES;
    } else {
      kind = UNDEFINED;
    }
    codes[at] = kind;
    codes[at + 1] = bits;
    return kind;
  }

  /** The JSON value of a {@link #code} of this segment: {@link #COMPLEX} when not in doc values, null when undefined. */
  JsonNode decode(long kind, long bits) throws IOException {
    return switch ((int) kind) {
      case STRING -> string((int) bits);
      case NUMBER -> DoubleNode.valueOf(NumericUtils.sortableLongToDouble(bits));
      case BOOLEAN -> BooleanNode.valueOf(bits == 1);
      case NULL -> NullNode.instance;
      case NOT_IN_DOC_VALUES -> COMPLEX;
      default -> null;
    };
  }

  /** The value at the path for {@code doc}: a JSON value, {@link #COMPLEX}, or null (undefined). */
  JsonNode value(int doc) throws IOException {
    code(doc, scratch, 0);
    return decode(scratch[0], scratch[1]);
  }

  /** How many distinct strings the path holds in this segment: every string ordinal is below it. */
  int ordinals() {
    return strings.getValueCount();
  }

  /** The string of an ordinal, each decoded once per segment. */
  private TextNode string(int ord) throws IOException {
    if (decoded == null) decoded = new TextNode[strings.getValueCount()];
    TextNode t = decoded[ord];
    if (t == null) {
      t = TextNode.valueOf(strings.lookupOrd(ord).utf8ToString());
      decoded[ord] = t;
    }
    return t;
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
