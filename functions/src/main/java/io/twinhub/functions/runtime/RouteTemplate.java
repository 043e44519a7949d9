package io.twinhub.functions.runtime;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * HTTP trigger routes as Azure Functions writes them: literal segments (case-insensitive),
 * {@code {name}}, optional {@code {name?}} (last segment only) and catch-all {@code {*rest}};
 * a constraint ({@code {id:int}}) is accepted and not checked.
 */
public final class RouteTemplate {
  private RouteTemplate() {}

  /** The route values of {@code path} (no leading slash, below {@code /api/}), or empty when it does not match. */
  public static Optional<Map<String, String>> match(String template, String path) {
    String[] t = template.isEmpty() ? new String[0] : template.split("/");
    String[] p = path.isEmpty() ? new String[0] : path.split("/");
    Map<String, String> values = new LinkedHashMap<>();
    for (int i = 0; i < t.length; i++) {
      String seg = t[i];
      boolean param = seg.startsWith("{") && seg.endsWith("}");
      if (!param) {
        if (i >= p.length || !seg.equalsIgnoreCase(p[i])) return Optional.empty();
        continue;
      }
      String name = seg.substring(1, seg.length() - 1);
      int colon = name.indexOf(':');
      if (colon >= 0) name = name.substring(0, colon);
      if (name.startsWith("*")) {
        values.put(name.substring(1), i < p.length ? String.join("/", java.util.Arrays.copyOfRange(p, i, p.length)) : "");
        return Optional.of(values);
      }
      boolean optional = name.endsWith("?");
      if (optional) name = name.substring(0, name.length() - 1);
      if (i >= p.length) {
        if (optional && i == t.length - 1) return Optional.of(values);
        return Optional.empty();
      }
      values.put(name, java.net.URLDecoder.decode(p[i], java.nio.charset.StandardCharsets.UTF_8));
    }
    return p.length == t.length ? Optional.of(values) : Optional.empty();
  }
}
