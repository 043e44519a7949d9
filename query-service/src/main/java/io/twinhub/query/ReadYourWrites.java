package io.twinhub.query;

import io.twinhub.query.index.TwinKey;
import io.twinhub.query.lang.QueryException;

import java.util.ArrayList;
import java.util.List;

/**
 * Twin versions a caller has already seen (typically the {@code version} of a twin it just
 * wrote): a query with these waits, bounded, until the index covers every one of them, so its
 * answer reflects the caller's own writes.
 *
 * <p>On the wire: header {@value #HEADER}, value {@code <version>:<deviceId>[/<moduleId>]},
 * several separated by {@code ;} (neither {@code ;} nor {@code /} occur in ids; {@code :} may,
 * which is why the version comes first).
 */
public record ReadYourWrites(List<TwinVersion> twins) {
  public static final String HEADER = "x-twinhub-min-twin-version";

  public ReadYourWrites {
    twins = List.copyOf(twins);
  }

  /** The twin {@code key} at {@code version} or later. */
  public record TwinVersion(TwinKey key, long version) {}

  public static ReadYourWrites of(TwinKey key, long version) {
    return new ReadYourWrites(List.of(new TwinVersion(key, version)));
  }

  /** Parses the header value; a malformed one is a 400 (QueryException). */
  public static ReadYourWrites parse(String header) {
    List<TwinVersion> out = new ArrayList<>();
    for (String part : header.split(";")) {
      String p = part.strip();
      if (p.isEmpty()) continue;
      int colon = p.indexOf(':');
      try {
        if (colon <= 0 || colon == p.length() - 1) throw new NumberFormatException();
        long version = Long.parseLong(p.substring(0, colon));
        out.add(new TwinVersion(TwinKey.parse(p.substring(colon + 1)), version));
      } catch (RuntimeException e) {
        throw new QueryException(0, 0, HEADER + " must be <version>:<deviceId>[/<moduleId>] (several separated by ';'), got '"
            + p + "'");
      }
    }
    return new ReadYourWrites(out);
  }

  public String toHeaderValue() {
    StringBuilder sb = new StringBuilder();
    for (TwinVersion t : twins) {
      if (sb.length() > 0) sb.append(';');
      sb.append(t.version()).append(':').append(t.key());
    }
    return sb.toString();
  }
}
