package io.twinhub.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code --format json|table}: how a command prints what the hub answered. */
public final class OutputOptions {
  public enum Format { json, table }

  private static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  @Spec(Spec.Target.MIXEE)
  CommandSpec mixee;

  @Option(names = "--format", paramLabel = "json|table",
      description = "output: json (as the API answers) or table (default: the command's own, json for one document, table for lists)")
  Format format;

  public Format formatOr(Format dflt) {
    return format == null ? dflt : format;
  }

  /** Where the command prints (the command line's out, so tests and callers can capture it). */
  public PrintWriter out() {
    return mixee.commandLine().getOut();
  }

  /** One document or a list of them. */
  public void print(JsonNode value, Format dflt) {
    PrintWriter out = out();
    if (formatOr(dflt) == Format.json) {
      out.println(pretty(value));
    } else if (value.isArray()) {
      out.print(table(value));
    } else {
      out.print(fields(value));
    }
    out.flush();
  }

  /**
   * Sends one request and prints the hub's JSON answer (an error answer fails the command, naming
   * IoT Hub's error); the command's exit code, 0.
   */
  public int printAnswer(HubClient hub, String method, String path, String body, Format dflt) {
    return printAnswer(hub, method, path, body, Map.of(), dflt);
  }

  public int printAnswer(HubClient hub, String method, String path, String body, Map<String, String> headers, Format dflt) {
    print(hub.expectJson(hub.send(method, path, body, headers)), dflt);
    return 0;
  }

  static String pretty(JsonNode value) {
    try {
      return PRETTY.writeValueAsString(value);
    } catch (Exception e) {
      return value.toString();
    }
  }

  /** Rows = the array's items, columns = their top-level fields (nested values as compact JSON). */
  static String table(JsonNode rows) {
    Set<String> columns = new LinkedHashSet<>();
    for (JsonNode row : rows) {
      if (row.isObject()) row.fieldNames().forEachRemaining(columns::add);
      else columns.add("value");
    }
    List<String> header = new ArrayList<>(columns);
    List<List<String>> cells = new ArrayList<>();
    for (JsonNode row : rows) {
      List<String> line = new ArrayList<>();
      for (String c : header) line.add(cell(row.isObject() ? row.get(c) : row));
      cells.add(line);
    }
    return render(header, cells);
  }

  /** One document as "path value" lines, objects flattened to dotted paths. */
  static String fields(JsonNode doc) {
    Map<String, String> flat = new LinkedHashMap<>();
    flatten("", doc, flat);
    List<List<String>> cells = new ArrayList<>();
    flat.forEach((k, v) -> cells.add(List.of(k, v)));
    return render(List.of("field", "value"), cells);
  }

  private static void flatten(String prefix, JsonNode node, Map<String, String> out) {
    if (node.isObject() && node.size() > 0) {
      Iterator<Map.Entry<String, JsonNode>> it = node.fields();
      while (it.hasNext()) {
        Map.Entry<String, JsonNode> e = it.next();
        flatten(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue(), out);
      }
    } else {
      out.put(prefix.isEmpty() ? "value" : prefix, cell(node));
    }
  }

  private static String cell(JsonNode v) {
    if (v == null || v.isMissingNode()) return "";
    return v.isTextual() ? v.asText() : v.toString();
  }

  private static String render(List<String> header, List<List<String>> rows) {
    int[] width = new int[header.size()];
    for (int i = 0; i < header.size(); i++) width[i] = header.get(i).length();
    for (List<String> r : rows) for (int i = 0; i < r.size(); i++) width[i] = Math.max(width[i], r.get(i).length());
    StringBuilder sb = new StringBuilder();
    line(sb, header, width);
    List<String> rule = new ArrayList<>();
    for (int w : width) rule.add("-".repeat(w));
    line(sb, rule, width);
    for (List<String> r : rows) line(sb, r, width);
    return sb.toString();
  }

  private static void line(StringBuilder sb, List<String> cells, int[] width) {
    StringBuilder l = new StringBuilder();
    for (int i = 0; i < cells.size(); i++) {
      if (i > 0) l.append("  ");
      l.append(cells.get(i)).append(" ".repeat(width[i] - cells.get(i).length()));
    }
    sb.append(l.toString().stripTrailing()).append('\n');
  }
}
