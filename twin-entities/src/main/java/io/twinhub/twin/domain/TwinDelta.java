package io.twinhub.twin.domain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * What a device still owes its back end (a twinhub extension, like AWS IoT's shadow {@code delta}):
 * every desired value whose reported value at the same path differs or is missing. Desired
 * objects are compared member by member, so each entry is a leaf (a scalar, an array, or an empty
 * object); reported members desired does not name are not the device's debt and are left out.
 * Numbers compare by value ({@code 21} equals {@code 21.0}), everything else as JSON.
 */
public record TwinDelta(List<Entry> entries) {

  public TwinDelta {
    entries = List.copyOf(entries);
  }

  /**
   * One desired value the device has not reported.
   *
   * @param reported           null when reported has nothing at {@code path}
   * @param reportedLastUpdated null when reported has nothing at {@code path}
   */
  public record Entry(List<String> path, JsonNode desired, Instant desiredLastUpdated, Long desiredLastUpdatedVersion,
                      JsonNode reported, Instant reportedLastUpdated) {
    public Entry {
      path = List.copyOf(path);
    }

    /** The path as the query language writes it below {@code properties.desired}: {@code a.b.c}. */
    public String dotted() {
      return String.join(".", path);
    }
  }

  public boolean isEmpty() {
    return entries.isEmpty();
  }

  public static TwinDelta of(TwinState state) {
    List<Entry> out = new ArrayList<>();
    walk(new ArrayList<>(), state.desired().values().tree(), state.desired().metadata(),
        state.reported().values().tree(), state.reported().metadata(), out);
    return new TwinDelta(out);
  }

  private static void walk(List<String> path, ObjectNode desired, Metadata desiredMeta, JsonNode reported,
                           Metadata reportedMeta, List<Entry> out) {
    Iterator<Map.Entry<String, JsonNode>> it = desired.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      String key = e.getKey();
      JsonNode d = e.getValue();
      JsonNode r = reported == null || !reported.isObject() ? null : reported.get(key);
      Metadata dm = desiredMeta == null ? null : desiredMeta.child(key);
      Metadata rm = r == null || reportedMeta == null ? null : reportedMeta.child(key);
      path.add(key);
      if (d.isObject() && !d.isEmpty()) {
        walk(path, (ObjectNode) d, dm, r, rm, out);
      } else if (r == null || !same(d, r)) {
        out.add(new Entry(path, d.deepCopy(), dm == null ? null : dm.lastUpdated(), dm == null ? null : dm.lastUpdatedVersion(),
            r == null ? null : r.deepCopy(), rm == null ? null : rm.lastUpdated()));
      }
      path.remove(path.size() - 1);
    }
  }

  private static boolean same(JsonNode a, JsonNode b) {
    if (a.isNumber() && b.isNumber()) return a.decimalValue().compareTo(b.decimalValue()) == 0;
    return a.equals(b);
  }
}
