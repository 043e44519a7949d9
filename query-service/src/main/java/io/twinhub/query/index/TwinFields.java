package io.twinhub.query.index;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.DoublePoint;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.SortedDocValuesField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.NumericUtils;

import java.util.Iterator;
import java.util.Map;

/**
 * The index model: one Lucene document per device twin and per module twin, built from the
 * service-view JSON ({@code TwinJson.serviceView}, what {@code SELECT *} returns). Every path of
 * the document (identity fields, tags, desired, reported, {@code $metadata}, {@code $version})
 * is indexed by its JSON type:
 * <ul>
 *   <li>string at path p: {@code s:p}, a keyword (exact term, prefix, range, wildcard) plus sorted doc
 *       values (ORDER BY, GROUP BY);</li>
 *   <li>number: {@code n:p}, a double point (exact, range, set) plus numeric doc values holding the
 *       sortable bits of the double;</li>
 *   <li>boolean: {@code b:p}, a keyword "T"/"F" plus numeric doc values 0/1;</li>
 *   <li>every defined path (also objects, arrays and null): the term p in {@code _d} (IS_DEFINED) and
 *       the term type-letter + p in {@code _t} (IS_NULL, IS_OBJECT, ...: z null, o object, a array, s,
 *       n, b);</li>
 *   <li>the JSON itself, stored, returned verbatim for SELECT *.</li>
 * </ul>
 * Array elements are not indexed (the language has no way to address them); arrays are
 * evaluated from the stored JSON when a query needs them.
 */
public final class TwinFields {
  public static final String KEY = "_key";
  public static final String KIND = "_kind";
  public static final String ORDER = "_order";
  public static final String JSON = "_json";
  public static final String STATE = "_state";
  public static final String SEQ = "_seq";
  public static final String VERSION = "_version";
  public static final String DEFINED = "_d";
  public static final String TYPE = "_t";

  public static final String KIND_DEVICE = "device";
  public static final String KIND_MODULE = "module";
  /** A deleted twin: kept so that the projection still knows its last sequence number and state. */
  public static final String KIND_DELETED = "deleted";

  public static final char T_STRING = 's';
  public static final char T_NUMBER = 'n';
  public static final char T_BOOL = 'b';
  public static final char T_NULL = 'z';
  public static final char T_OBJECT = 'o';
  public static final char T_ARRAY = 'a';

  /**
   * Top-level names of the pseudo-paths indexed beside the JSON but not part of it ({@link
   * TwinIndex#put(TwinKey, JsonNode, JsonNode, long, byte[])}'s {@code indexedOnly}: the delta
   * summary): queries test them, SELECT reads the JSON, where they are undefined.
   */
  public static final java.util.Set<String> INDEXED_ONLY_ROOTS = java.util.Set.of("delta");

  /** Longest string value indexed for comparisons (Lucene's term and doc-value limit). */
  public static final int MAX_VALUE_BYTES = 32766;

  static final BytesRef TRUE = new BytesRef("T");
  static final BytesRef FALSE = new BytesRef("F");

  private TwinFields() {}

  public static String string(String path) {
    return "s:" + path;
  }

  public static String number(String path) {
    return "n:" + path;
  }

  public static String bool(String path) {
    return "b:" + path;
  }

  public static String typed(char type, String path) {
    return type + path;
  }

  public static BytesRef boolTerm(boolean b) {
    return b ? TRUE : FALSE;
  }

  /** The indexed form of a JSON number: a double with -0 folded into 0. */
  public static double numberValue(JsonNode n) {
    double d = n.doubleValue();
    return d == 0d ? 0d : d;
  }

  public static long sortableLong(double d) {
    return NumericUtils.doubleToSortableLong(d == 0d ? 0d : d);
  }

  /** The document of a live twin. */
  static Document twin(TwinKey key, JsonNode view, JsonNode indexedOnly, byte[] json, long seq, long version, byte[] state) {
    Document doc = new Document();
    identity(doc, key, key.isModule() ? KIND_MODULE : KIND_DEVICE, seq, version, state);
    doc.add(new StoredField(JSON, json));
    paths(doc, "", view);
    if (indexedOnly != null) paths(doc, "", indexedOnly);
    return doc;
  }

  /** The document that stands for a deleted twin: no paths, so no query finds it. */
  static Document deleted(TwinKey key, long seq, long version, byte[] state) {
    Document doc = new Document();
    identity(doc, key, KIND_DELETED, seq, version, state);
    return doc;
  }

  private static void identity(Document doc, TwinKey key, String kind, long seq, long version, byte[] state) {
    doc.add(new StringField(KEY, key.term(), Field.Store.NO));
    doc.add(new StringField(KIND, kind, Field.Store.YES));
    BytesRef order = new BytesRef(key.orderKey());
    doc.add(new StringField(ORDER, order, Field.Store.NO));
    doc.add(new SortedDocValuesField(ORDER, order));
    doc.add(new StoredField(SEQ, seq));
    doc.add(new NumericDocValuesField(VERSION, version));
    doc.add(new StoredField(VERSION, version));
    if (state != null) doc.add(new StoredField(STATE, state));
  }

  private static void paths(Document doc, String prefix, JsonNode node) {
    Iterator<Map.Entry<String, JsonNode>> it = node.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      String path = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
      JsonNode v = e.getValue();
      doc.add(new StringField(DEFINED, path, Field.Store.NO));
      if (v.isObject()) {
        doc.add(new StringField(TYPE, typed(T_OBJECT, path), Field.Store.NO));
        paths(doc, path, v);
      } else if (v.isTextual()) {
        doc.add(new StringField(TYPE, typed(T_STRING, path), Field.Store.NO));
        BytesRef b = new BytesRef(v.textValue());
        // Lucene's term limit; twin strings are far shorter (4 KB by default), see TwinLimits.
        if (b.length <= MAX_VALUE_BYTES) {
          doc.add(new StringField(string(path), b, Field.Store.NO));
          doc.add(new SortedDocValuesField(string(path), b));
        }
      } else if (v.isNumber()) {
        doc.add(new StringField(TYPE, typed(T_NUMBER, path), Field.Store.NO));
        double d = numberValue(v);
        doc.add(new DoublePoint(number(path), d));
        doc.add(new NumericDocValuesField(number(path), sortableLong(d)));
      } else if (v.isBoolean()) {
        doc.add(new StringField(TYPE, typed(T_BOOL, path), Field.Store.NO));
        doc.add(new StringField(bool(path), boolTerm(v.booleanValue()), Field.Store.NO));
        doc.add(new NumericDocValuesField(bool(path), v.booleanValue() ? 1 : 0));
      } else if (v.isNull()) {
        doc.add(new StringField(TYPE, typed(T_NULL, path), Field.Store.NO));
      } else if (v.isArray()) {
        doc.add(new StringField(TYPE, typed(T_ARRAY, path), Field.Store.NO));
      }
    }
  }
}
