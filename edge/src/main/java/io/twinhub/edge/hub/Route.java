package io.twinhub.edge.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.query.eval.Evaluator;
import io.twinhub.query.eval.MessageDocument;
import io.twinhub.query.lang.Expr;
import io.twinhub.query.lang.QueryException;
import io.twinhub.query.lang.QueryParser;

import java.io.IOException;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One IoT Edge route: {@code FROM <source> [WHERE <condition>] INTO <sink>}. Sources are message
 * paths, a trailing {@code /*} matching everything below ({@code /messages/*},
 * {@code /messages/modules/a/*}, {@code /messages/modules/a/outputs/out1}); sinks are
 * {@code $upstream} or {@code BrokeredEndpoint("/modules/<m>/inputs/<i>")}; the condition is the
 * query language's, evaluated by the query service's {@link Evaluator} over the message as IoT
 * Hub's routing reads one ({@link MessageDocument}).
 */
public record Route(String name, String source, String conditionText, Expr condition, Sink sink) {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern ROUTE = Pattern.compile(
      "(?is)\\s*FROM\\s+(\\S+)\\s+(?:WHERE\\s+(.+?)\\s+)?INTO\\s+(.+?)\\s*");
  private static final Pattern BROKERED = Pattern.compile(
      "(?i)BrokeredEndpoint\\s*\\(\\s*\"/modules/([^/\"]+)/inputs/([^/\"]+)\"\\s*\\)");

  /** Where a route delivers. */
  public sealed interface Sink {}

  /** The hub, as the sending module's telemetry. */
  public record Upstream() implements Sink {}

  /** A module's input. */
  public record ModuleInput(String moduleId, String input) implements Sink {}

  /** @throws IllegalArgumentException naming what is wrong */
  public static Route parse(String name, String text) {
    Matcher m = ROUTE.matcher(text);
    if (!m.matches()) throw new IllegalArgumentException("route " + name + " is not 'FROM <source> [WHERE <condition>] INTO <sink>'");
    String source = m.group(1);
    if (!source.startsWith("/")) throw new IllegalArgumentException("route " + name + ": source must be a path such as /messages/*");
    String sinkText = m.group(3).trim();
    Sink sink;
    if (sinkText.equalsIgnoreCase("$upstream")) {
      sink = new Upstream();
    } else {
      Matcher b = BROKERED.matcher(sinkText);
      if (!b.matches()) {
        throw new IllegalArgumentException("route " + name + ": sink must be $upstream or BrokeredEndpoint(\"/modules/<m>/inputs/<i>\")");
      }
      sink = new ModuleInput(b.group(1), b.group(2));
    }
    String where = m.group(2);
    Expr condition = null;
    if (where != null) {
      try {
        condition = QueryParser.parseCondition(where);
      } catch (QueryException e) {
        throw new IllegalArgumentException("route " + name + ": condition " + e.getMessage());
      }
    }
    return new Route(name, source, where, condition, sink);
  }

  /** Whether this route takes {@code message}: its source matches and its condition is true. */
  public boolean matches(EdgeMessage message) {
    if (!sourceMatches(source, message.sourcePath())) return false;
    return condition == null || Evaluator.isTrue(condition, document(message));
  }

  static boolean sourceMatches(String source, String path) {
    if (source.equals("/*")) return true;
    if (source.endsWith("/*")) {
      String prefix = source.substring(0, source.length() - 1); // keeps the '/'
      return path.startsWith(prefix);
    }
    return source.equals(path);
  }

  /** The message as conditions read it; the body counts as JSON when its content type says so (as in IoT Edge). */
  static JsonNode document(EdgeMessage m) {
    JsonNode body = null;
    String type = m.systemProperties().get("content-type");
    if (type != null && type.toLowerCase(Locale.ROOT).startsWith("application/json")) {
      try {
        body = JSON.readTree(m.body());
      } catch (IOException notJson) {
        body = null;
      }
    }
    return MessageDocument.of(m.properties(), body, m.systemProperties()::get, m.deviceId(), m.moduleId(),
        "deviceMessages");
  }

  public Optional<ModuleInput> moduleInput() {
    return sink instanceof ModuleInput i ? Optional.of(i) : Optional.empty();
  }
}
