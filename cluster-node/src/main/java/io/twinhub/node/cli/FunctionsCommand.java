package io.twinhub.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.twinhub.node.cli.OutputOptions.Format;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code ./twinhub functions publish|list|show|enable|disable|invocations|logs|keys|settings|delete}:
 * function apps (JARs written against the Azure Functions Java library) through the node's REST
 * API ({@code /functions/apps}); see docs/FUNCTIONS.md.
 */
@Command(name = "functions", description = "Function apps: publish a JAR written against the Azure Functions Java library, watch it run.",
    subcommands = picocli.CommandLine.HelpCommand.class)
public final class FunctionsCommand {

  @Command(name = "publish", description = "Publish a function app JAR as the app's next version (PUT /functions/apps/{app}).")
  int publish(@Mixin ApiOptions api, @Mixin OutputOptions output,
              @Parameters(paramLabel = "JAR", description = "the app's JAR") Path jar,
              @Option(names = "--app", paramLabel = "NAME", description = "the app's name (default: the JAR's file name without version and .jar)") String app) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(jar);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + jar + ": " + e.getMessage());
    }
    String name = app != null ? app : defaultName(jar);
    HubClient hub = api.connect();
    JsonNode r = hub.expectJson(hub.sendBytes("PUT", "/functions/apps/" + HubClient.enc(name), bytes, "application/java-archive"));
    if (output.formatOr(Format.table) == Format.json) {
      output.print(r, Format.json);
      return 0;
    }
    output.out().println("published " + r.path("app").asText() + " version " + r.path("version").asInt());
    output.print(functionRows(r.path("functions")), Format.table);
    return 0;
  }

  /** {@code my-app-1.0.2.jar} → {@code my-app}. */
  static String defaultName(Path jar) {
    String n = jar.getFileName().toString().replaceAll("\\.jar$", "");
    return n.replaceAll("-[0-9][0-9A-Za-z.\\-]*$", "");
  }

  @Command(name = "list", description = "List the apps with their newest version and functions.")
  int list(@Mixin ApiOptions api, @Mixin OutputOptions output) {
    HubClient hub = api.connect();
    JsonNode apps = hub.expectJson(hub.send("GET", "/functions/apps", null, Map.of()));
    if (output.formatOr(Format.table) == Format.json) {
      output.print(apps, Format.json);
      return 0;
    }
    ArrayNode rows = HubClient.JSON.createArrayNode();
    for (JsonNode a : apps) {
      for (JsonNode f : a.path("functions")) {
        rows.addObject().put("app", a.path("app").asText()).put("version", a.path("version").asInt())
            .put("function", f.path("name").asText()).put("trigger", f.path("trigger").asText()).put("binding", binding(f));
      }
    }
    output.print(rows, Format.table);
    return 0;
  }

  @Command(name = "show", description = "Show an app: version, functions, which are enabled.")
  int show(@Mixin ApiOptions api, @Mixin OutputOptions output, @Parameters(paramLabel = "APP") String app) {
    HubClient hub = api.connect();
    JsonNode a = hub.expectJson(hub.send("GET", "/functions/apps/" + HubClient.enc(app), null, Map.of()));
    if (output.formatOr(Format.table) == Format.json) {
      output.print(a, Format.json);
      return 0;
    }
    output.out().println(a.path("app").asText() + " version " + a.path("version").asInt() + ", published " + a.path("published").asText());
    output.print(functionRows(a.path("functions")), Format.table);
    return 0;
  }

  private static ArrayNode functionRows(JsonNode functions) {
    ArrayNode rows = HubClient.JSON.createArrayNode();
    for (JsonNode f : functions) {
      var row = rows.addObject().put("function", f.path("name").asText()).put("trigger", f.path("trigger").asText())
          .put("binding", binding(f));
      if (f.has("enabled")) row.put("enabled", f.path("enabled").asBoolean());
    }
    return rows;
  }

  private static String binding(JsonNode f) {
    if (f.has("route")) return "/" + f.path("route").asText() + " (" + f.path("authLevel").asText() + ")";
    if (f.has("eventHubName")) return f.path("eventHubName").asText() + " " + f.path("cardinality").asText();
    if (f.has("schedule")) return f.path("schedule").asText();
    return "";
  }

  @Command(name = "enable", description = "Enable a function.")
  int enable(@Mixin ApiOptions api, @Mixin OutputOptions output, @Parameters(paramLabel = "APP") String app,
             @Parameters(paramLabel = "FUNCTION") String function) {
    return toggle(api, output, app, function, "enable");
  }

  @Command(name = "disable", description = "Disable a function: its trigger no longer starts it (HTTP: 404).")
  int disable(@Mixin ApiOptions api, @Mixin OutputOptions output, @Parameters(paramLabel = "APP") String app,
              @Parameters(paramLabel = "FUNCTION") String function) {
    return toggle(api, output, app, function, "disable");
  }

  private int toggle(ApiOptions api, OutputOptions output, String app, String function, String action) {
    HubClient hub = api.connect();
    return output.printAnswer(hub, "POST", "/functions/apps/" + HubClient.enc(app) + "/functions/" + HubClient.enc(function)
        + "/" + action, "{}", Format.json);
  }

  @Command(name = "invocations", description = "Recent invocations of an app, newest first: function, status, duration.")
  int invocations(@Mixin ApiOptions api, @Mixin OutputOptions output, @Parameters(paramLabel = "APP") String app,
                  @Option(names = "--top", paramLabel = "N", defaultValue = "50", description = "how many (default ${DEFAULT-VALUE})") int top) {
    HubClient hub = api.connect();
    JsonNode list = hub.expectJson(hub.send("GET", "/functions/apps/" + HubClient.enc(app) + "/invocations?top=" + top, null, Map.of()));
    if (output.formatOr(Format.table) == Format.json) {
      output.print(list, Format.json);
      return 0;
    }
    ArrayNode rows = HubClient.JSON.createArrayNode();
    for (JsonNode i : list) {
      rows.addObject().put("startedAt", i.path("startedAt").asText()).put("function", i.path("function").asText())
          .put("status", i.path("status").asText()).put("ms", i.path("durationMs").asDouble())
          .put("error", i.path("error").asText(""));
    }
    output.print(rows, Format.table);
    return 0;
  }

  @Command(name = "logs", description = "What the functions of an app logged (ExecutionContext.getLogger()), newest invocation first.")
  int logs(@Mixin ApiOptions api, @Mixin OutputOptions output, @Parameters(paramLabel = "APP") String app,
           @Option(names = "--top", paramLabel = "N", defaultValue = "50", description = "of this many invocations (default ${DEFAULT-VALUE})") int top) {
    HubClient hub = api.connect();
    JsonNode lines = hub.expectJson(hub.send("GET", "/functions/apps/" + HubClient.enc(app) + "/logs?top=" + top, null, Map.of()));
    if (output.formatOr(Format.table) == Format.json) {
      output.print(lines, Format.json);
      return 0;
    }
    for (JsonNode l : lines) output.out().println(l.path("function").asText() + " " + l.path("line").asText());
    return 0;
  }

  @Command(name = "keys", description = {"Keys of authLevel FUNCTION routes (?code= or x-functions-key).",
      "APP alone: the app's key (opens every FUNCTION route of the app) and every function's own keys;",
      "APP FUNCTION: that function's keys; --add NAME makes one (random, or --value), --delete NAME removes one."})
  int keys(@Mixin ApiOptions api, @Mixin OutputOptions output, @Parameters(paramLabel = "APP") String app,
           @Parameters(paramLabel = "FUNCTION", arity = "0..1") String function,
           @Option(names = "--add", paramLabel = "NAME", description = "create or replace the function key NAME") String add,
           @Option(names = "--value", paramLabel = "KEY", description = "with --add: the key itself (16-128 characters; default: random)") String value,
           @Option(names = "--delete", paramLabel = "NAME", description = "delete the function key NAME") String delete) {
    HubClient hub = api.connect();
    String base = "/functions/apps/" + HubClient.enc(app);
    if (function == null) {
      if (add != null || delete != null) throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
          "--add and --delete need the FUNCTION");
      return output.printAnswer(hub, "GET", base + "/keys", null, Format.json);
    }
    String keys = base + "/functions/" + HubClient.enc(function) + "/keys";
    if (add != null) {
      String body = value == null ? "{}" : HubClient.JSON.createObjectNode().put("value", value).toString();
      output.print(hub.expectJson(hub.send("PUT", keys + "/" + HubClient.enc(add), body, Map.of())), Format.json);
    } else if (delete != null) {
      HubClient.requireSuccess(hub.send("DELETE", keys + "/" + HubClient.enc(delete), null, Map.of()));
    } else {
      output.print(hub.expectJson(hub.send("GET", keys, null, Map.of())), Format.json);
    }
    return 0;
  }

  @Command(name = "settings", description = {"App settings: what %%Name%% in a binding's eventHubName resolves to, and what the code",
      "gets as @BindingName(\"AppSettings\") Map<String, String>. Without options: show them. A change reloads the app."})
  int settings(@Mixin ApiOptions api, @Mixin OutputOptions output, @Parameters(paramLabel = "APP") String app,
               @Option(names = "--set", paramLabel = "NAME=VALUE", description = "set a setting (repeatable)") java.util.List<String> set,
               @Option(names = "--unset", paramLabel = "NAME", description = "remove a setting (repeatable)") java.util.List<String> unset) {
    HubClient hub = api.connect();
    String path = "/functions/apps/" + HubClient.enc(app) + "/settings";
    JsonNode current = hub.expectJson(hub.send("GET", path, null, Map.of()));
    if ((set == null || set.isEmpty()) && (unset == null || unset.isEmpty())) {
      output.print(current, Format.json);
      return 0;
    }
    com.fasterxml.jackson.databind.node.ObjectNode next = current.deepCopy();
    if (unset != null) unset.forEach(next::remove);
    if (set != null) {
      for (String kv : set) {
        int eq = kv.indexOf('=');
        if (eq <= 0) throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "--set takes NAME=VALUE, not '" + kv + "'");
        next.put(kv.substring(0, eq), kv.substring(eq + 1));
      }
    }
    output.print(hub.expectJson(hub.send("PUT", path, next.toString(), Map.of())), Format.json);
    return 0;
  }

  @Command(name = "delete", description = "Delete an app: every version, its state and its invocation log.")
  int delete(@Mixin ApiOptions api, @Parameters(paramLabel = "APP") String app) {
    HubClient hub = api.connect();
    HubClient.requireSuccess(hub.send("DELETE", "/functions/apps/" + HubClient.enc(app), null, Map.of()));
    return 0;
  }
}
