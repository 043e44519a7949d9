package io.twinhub.twin.configuration;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Validation of an IoT Edge deployment's {@code modulesContent} against the deployment manifest
 * schema 1.1 (IoT Edge's "Deploy modules and establish routes": {@code $edgeAgent} with runtime,
 * systemModules and modules; {@code $edgeHub} with routes and storeAndForwardConfiguration).
 * A base deployment sets the whole desired properties of both; a layered deployment sets paths
 * such as {@code properties.desired.modules.<name>} and {@code properties.desired.routes.<name>},
 * each checked like its place in a full manifest. Pure; the first problem is reported with its path.
 */
public final class EdgeManifest {
  public static final String EDGE_AGENT = "$edgeAgent";
  public static final String EDGE_HUB = "$edgeHub";

  private static final Pattern SCHEMA_VERSION = Pattern.compile("1\\.[01](\\.0)?");
  private static final Set<String> MODULE_TYPES = Set.of("docker", "process");
  private static final Set<String> STATUSES = Set.of("running", "stopped");
  private static final Set<String> RESTART_POLICIES = Set.of("never", "on-failure", "on-unhealthy", "always");
  private static final Set<String> PULL_POLICIES = Set.of("on-create", "never");
  private static final Pattern ROUTE = Pattern.compile("(?is)\\s*FROM\\s+\\S.*");

  private EdgeManifest() {}

  /** The first problem of {@code modulesContent}, or empty when it is a valid base or layered deployment. */
  public static Optional<String> check(JsonNode modulesContent) {
    try {
      JsonNode agent = modulesContent.path(EDGE_AGENT);
      JsonNode hub = modulesContent.path(EDGE_HUB);
      boolean base = agent.has(ConfigurationPaths.DESIRED);
      if (!base && hub.has(ConfigurationPaths.DESIRED)) {
        fail("modulesContent." + EDGE_AGENT, "is required with the whole properties.desired when " + EDGE_HUB
            + " sets its whole properties.desired (a base deployment sets both)");
      }
      if (base) {
        if (!hub.has(ConfigurationPaths.DESIRED)) {
          fail("modulesContent." + EDGE_HUB + "['properties.desired']", "is required in a base deployment");
        }
        agentDesired(agent.get(ConfigurationPaths.DESIRED), "modulesContent.$edgeAgent['properties.desired']");
        hubDesired(hub.get(ConfigurationPaths.DESIRED), "modulesContent.$edgeHub['properties.desired']");
      }
      layered(agent, EDGE_AGENT, base);
      layered(hub, EDGE_HUB, base);
      return Optional.empty();
    } catch (Invalid e) {
      return Optional.of(e.getMessage());
    }
  }

  /** Paths below properties.desired of a system module, checked like their place in a full document. */
  private static void layered(JsonNode module, String name, boolean base) {
    if (module.isMissingNode()) return;
    Iterator<Map.Entry<String, JsonNode>> it = module.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().equals(ConfigurationPaths.DESIRED)) continue;
      List<String> path = ConfigurationPaths.desiredPath(e.getKey()).orElseThrow();
      String where = "modulesContent." + name + "['" + e.getKey() + "']";
      if (name.equals(EDGE_AGENT) && path.size() == 2 && path.get(0).equals("modules")) {
        module(e.getValue(), where, false);
      } else if (name.equals(EDGE_AGENT) && path.size() == 1 && path.get(0).equals("modules")) {
        modules(e.getValue(), where);
      } else if (name.equals(EDGE_HUB) && path.size() == 2 && path.get(0).equals("routes")) {
        route(e.getValue(), where);
      } else if (name.equals(EDGE_HUB) && path.size() == 1 && path.get(0).equals("routes")) {
        routes(e.getValue(), where);
      } else if (name.equals(EDGE_AGENT) && path.get(0).equals("systemModules") && path.size() == 2) {
        module(e.getValue(), where, true);
      }
    }
  }

  private static void agentDesired(JsonNode d, String at) {
    object(d, at);
    schemaVersion(d, at);
    JsonNode runtime = required(d, "runtime", at);
    object(runtime, at + ".runtime");
    text(runtime, "type", at + ".runtime", Set.of("docker"), true);
    JsonNode settings = runtime.path("settings");
    if (!settings.isMissingNode()) {
      object(settings, at + ".runtime.settings");
      text(settings, "minDockerVersion", at + ".runtime.settings", null, false);
      text(settings, "loggingOptions", at + ".runtime.settings", null, false);
      JsonNode creds = settings.path("registryCredentials");
      if (!creds.isMissingNode()) {
        object(creds, at + ".runtime.settings.registryCredentials");
        creds.fields().forEachRemaining(c -> {
          String w = at + ".runtime.settings.registryCredentials." + c.getKey();
          object(c.getValue(), w);
          for (String f : List.of("username", "password", "address")) nonEmptyText(c.getValue(), f, w);
        });
      }
    }
    JsonNode system = required(d, "systemModules", at);
    object(system, at + ".systemModules");
    module(required(system, "edgeAgent", at + ".systemModules"), at + ".systemModules.edgeAgent", true);
    module(required(system, "edgeHub", at + ".systemModules"), at + ".systemModules.edgeHub", true);
    JsonNode modules = d.path("modules");
    if (!modules.isMissingNode()) modules(modules, at + ".modules");
  }

  private static void modules(JsonNode modules, String at) {
    object(modules, at);
    modules.fields().forEachRemaining(m -> module(m.getValue(), at + "." + m.getKey(), false));
  }

  /** A module (or system module) of {@code $edgeAgent}: type, status, restart policy, env, settings. */
  private static void module(JsonNode m, String at, boolean system) {
    object(m, at);
    // System modules run in the edge runtime itself; a custom module is a container (docker) or,
    // with twinhub's edge runtime, a process (settings.command instead of settings.image).
    text(m, "type", at, system ? Set.of("docker") : MODULE_TYPES, true);
    boolean agent = at.endsWith("systemModules.edgeAgent");
    if (!agent) {
      text(m, "status", at, STATUSES, !system);
      text(m, "restartPolicy", at, RESTART_POLICIES, !system);
    }
    text(m, "version", at, null, false);
    text(m, "imagePullPolicy", at, PULL_POLICIES, false);
    JsonNode order = m.path("startupOrder");
    if (!order.isMissingNode() && !(order.canConvertToLong() && order.isIntegralNumber() && order.longValue() >= 0)) {
      fail(at + ".startupOrder", "must be a non-negative integer");
    }
    JsonNode env = m.path("env");
    if (!env.isMissingNode()) {
      object(env, at + ".env");
      env.fields().forEachRemaining(v -> {
        object(v.getValue(), at + ".env." + v.getKey());
        JsonNode value = v.getValue().path("value");
        if (value.isMissingNode() || value.isContainerNode()) {
          fail(at + ".env." + v.getKey() + ".value", "is required and must be a string, number or boolean");
        }
      });
    }
    JsonNode settings = required(m, "settings", at);
    object(settings, at + ".settings");
    if (m.path("type").asText().equals("process")) {
      nonEmptyText(settings, "command", at + ".settings");
    } else {
      nonEmptyText(settings, "image", at + ".settings");
      text(settings, "createOptions", at + ".settings", null, false);
    }
  }

  private static void hubDesired(JsonNode d, String at) {
    object(d, at);
    schemaVersion(d, at);
    routes(required(d, "routes", at), at + ".routes");
    JsonNode sf = required(d, "storeAndForwardConfiguration", at);
    object(sf, at + ".storeAndForwardConfiguration");
    JsonNode ttl = required(sf, "timeToLiveSecs", at + ".storeAndForwardConfiguration");
    if (!ttl.isIntegralNumber() || !ttl.canConvertToLong() || ttl.longValue() < 0) {
      fail(at + ".storeAndForwardConfiguration.timeToLiveSecs", "must be a non-negative integer");
    }
  }

  private static void routes(JsonNode routes, String at) {
    object(routes, at);
    routes.fields().forEachRemaining(r -> route(r.getValue(), at + "." + r.getKey()));
  }

  /** Schema 1.0: a route string; schema 1.1 also {@code {route, priority 0-9, timeToLiveSecs}}. */
  private static void route(JsonNode r, String at) {
    if (r.isTextual()) {
      if (!ROUTE.matcher(r.textValue()).matches()) fail(at, "must be a route 'FROM <source> [WHERE <condition>] INTO <sink>'");
      return;
    }
    object(r, at);
    JsonNode text = required(r, "route", at);
    route(text, at + ".route");
    JsonNode p = r.path("priority");
    if (!p.isMissingNode() && !(p.isIntegralNumber() && p.intValue() >= 0 && p.intValue() <= 9)) {
      fail(at + ".priority", "must be an integer from 0 to 9");
    }
    JsonNode ttl = r.path("timeToLiveSecs");
    if (!ttl.isMissingNode() && !(ttl.isIntegralNumber() && ttl.canConvertToLong() && ttl.longValue() >= 0)) {
      fail(at + ".timeToLiveSecs", "must be a non-negative integer");
    }
  }

  private static void schemaVersion(JsonNode d, String at) {
    JsonNode v = required(d, "schemaVersion", at);
    if (!v.isTextual() || !SCHEMA_VERSION.matcher(v.textValue()).matches()) {
      fail(at + ".schemaVersion", "must be \"1.0\" or \"1.1\", got " + clip(v.toString()));
    }
  }

  private static JsonNode required(JsonNode parent, String field, String at) {
    JsonNode n = parent.path(field);
    if (n.isMissingNode() || n.isNull()) fail(at + "." + field, "is required");
    return n;
  }

  private static void object(JsonNode n, String at) {
    if (!n.isObject()) fail(at, "must be a JSON object");
  }

  private static void nonEmptyText(JsonNode parent, String field, String at) {
    JsonNode n = required(parent, field, at);
    if (!n.isTextual() || n.textValue().isBlank()) fail(at + "." + field, "must be a non-empty string");
  }

  /** An optional (or, with {@code required}, mandatory) string field, one of {@code allowed} when given. */
  private static void text(JsonNode parent, String field, String at, Set<String> allowed, boolean required) {
    JsonNode n = parent.path(field);
    if (n.isMissingNode()) {
      if (required) fail(at + "." + field, "is required" + (allowed == null ? "" : "; one of " + new java.util.TreeSet<>(allowed)));
      return;
    }
    if (!n.isTextual()) fail(at + "." + field, "must be a string");
    if (allowed != null && !allowed.contains(n.textValue())) {
      fail(at + "." + field, "must be one of " + new java.util.TreeSet<>(allowed) + ", got " + clip(n.toString()));
    }
  }

  private static String clip(String s) {
    return s.length() > 64 ? s.substring(0, 64) + "..." : s;
  }

  private static void fail(String at, String problem) {
    throw new Invalid(at + " " + problem);
  }

  /** Unwinds the walk at the first problem (never leaves this class). */
  private static final class Invalid extends RuntimeException {
    Invalid(String message) {
      super(message, null, false, false);
    }
  }
}
