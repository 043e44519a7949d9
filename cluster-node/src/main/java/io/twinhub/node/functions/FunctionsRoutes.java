package io.twinhub.node.functions;

import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.RawHeader;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import akka.http.javadsl.unmarshalling.Unmarshaller;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.functions.host.AppHost;
import io.twinhub.functions.host.FunctionStore;
import io.twinhub.functions.runtime.HttpResult;
import io.twinhub.functions.runtime.InvalidAppException;
import io.twinhub.functions.runtime.InvocationInput;
import io.twinhub.functions.runtime.RouteTemplate;
import io.twinhub.functions.runtime.Trigger;
import io.twinhub.node.api.ApiServer;
import io.twinhub.node.security.SharedAccessPolicies;
import io.twinhub.twin.auth.AccessRight;
import io.twinhub.twin.error.IotHubErrorCode;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * The functions REST surface on api members.
 *
 * <p>Management, behind the API's gate (api-version, SAS granting ServiceConnect):
 * {@code PUT /functions/apps/{app}} (the JAR as body: a new version), {@code GET /functions/apps},
 * {@code GET|DELETE /functions/apps/{app}}, {@code GET /functions/apps/{app}/keys},
 * {@code GET|PUT /functions/apps/{app}/settings},
 * {@code GET /functions/apps/{app}/functions/{fn}/keys}, {@code PUT|DELETE /functions/apps/{app}/functions/{fn}/keys/{name}},
 * {@code POST /functions/apps/{app}/functions/{fn}/enable|disable},
 * {@code GET /functions/apps/{app}/invocations?top=N}, {@code GET /functions/apps/{app}/logs?top=N}.
 *
 * <p>HTTP triggers at {@code /api/<route>}, as Azure Functions serves them: no api-version, no
 * SAS; {@code authLevel} FUNCTION takes the app's function key ({@code ?code=} or
 * {@code x-functions-key}), ADMIN the hub's {@code iothubowner} key; a failing function is a 500
 * naming the invocation, never a stack trace.
 */
final class FunctionsRoutes extends AllDirectives {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String APP_NAME = "[A-Za-z0-9][A-Za-z0-9_.-]{0,63}";

  private final AppHost host;
  private final FunctionStore store;
  private final ApiServer server;
  private final SharedAccessPolicies policies;
  private final long maxJarBytes;

  FunctionsRoutes(AppHost host, FunctionStore store, ApiServer server, SharedAccessPolicies policies, long maxJarBytes) {
    this.host = host;
    this.store = store;
    this.server = server;
    this.policies = policies;
    this.maxJarBytes = maxJarBytes;
  }

  Route route() {
    return concat(
        pathPrefix("functions", () -> pathPrefix("apps", () -> concat(
            pathEnd(() -> get(() -> authorized(this::listApps))),
            pathPrefix(PathMatchers.segment(), app -> concat(
                pathEnd(() -> concat(
                    put(() -> authorized(() -> publish(app))),
                    get(() -> authorized(() -> showApp(app))),
                    delete(() -> authorized(() -> deleteApp(app))))),
                path("keys", () -> get(() -> authorized(() -> keys(app)))),
                path("settings", () -> concat(
                    get(() -> authorized(() -> settings(app))),
                    put(() -> authorized(() -> withSizeLimit(server.settings().maxBodyBytes(), () ->
                        entity(Unmarshaller.entityToByteArray(), body -> putSettings(app, body))))))),
                pathPrefix(PathMatchers.segment("functions").slash(PathMatchers.segment()).slash("keys"), fn -> concat(
                    pathEnd(() -> get(() -> authorized(() -> functionKeys(app, fn)))),
                    path(PathMatchers.segment(), name -> concat(
                        put(() -> authorized(() -> withSizeLimit(server.settings().maxBodyBytes(), () ->
                            entity(Unmarshaller.entityToByteArray(), body -> putFunctionKey(app, fn, name, body))))),
                        delete(() -> authorized(() -> deleteFunctionKey(app, fn, name))))))),
                path("invocations", () -> get(() -> authorized(() -> parameterOptional("top", top ->
                    invocations(app, top(top)))))),
                path("logs", () -> get(() -> authorized(() -> parameterOptional("top", top ->
                    logs(app, top(top)))))),
                path(PathMatchers.segment("functions").slash(PathMatchers.segment()).slash(PathMatchers.segment()), (fn, action) ->
                    post(() -> authorized(() -> withSizeLimit(server.settings().maxBodyBytes(), () ->
                        entity(Unmarshaller.entityToByteArray(), ignored -> enable(app, fn, action))))))))))),
        pathPrefix("api", () -> extractRequest(request -> extractUnmatchedPath(rest ->
            withSizeLimit(server.settings().maxBodyBytes(), () -> entity(Unmarshaller.entityToByteArray(), body ->
                completeWithFuture(httpTrigger(request, rest.startsWith("/") ? rest.substring(1) : rest, body))))))));
  }

  private Route authorized(Supplier<Route> inner) {
    return server.authorized(AccessRight.ServiceConnect, inner);
  }

  private static int top(Optional<String> top) {
    try {
      return top.map(Integer::parseInt).filter(n -> n > 0).map(n -> Math.min(n, 1000)).orElse(100);
    } catch (NumberFormatException e) {
      return 100;
    }
  }

  private HttpResponse bad(String message) {
    return server.responses().error(IotHubErrorCode.ArgumentInvalid, message);
  }

  private HttpResponse notFound(String app) {
    return server.responses().error(IotHubErrorCode.NotFound, "no function app named '" + app + "'");
  }

  private Route publish(String app) {
    if (!app.matches(APP_NAME)) {
      return complete(bad("the app name must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"));
    }
    return withSizeLimit(maxJarBytes, () -> entity(Unmarshaller.entityToByteArray(), jar -> {
      if (jar.length == 0) return complete(bad("the body must be the function app's JAR"));
      try {
        return completeWithFuture(host.publish(app, jar).thenApply(p -> {
          ObjectNode o = JSON.createObjectNode();
          o.put("app", p.app());
          o.put("version", p.version());
          o.set("functions", AppHost.functionsJson(p.functions()));
          return server.responses().ok(o);
        }).exceptionally(e -> server.responses().error(IotHubErrorCode.ServiceUnavailable,
            "the app could not be stored; retry (" + rootMessage(e) + ")")));
      } catch (InvalidAppException e) {
        return complete(bad("the JAR is not a function app twinhub can run: " + e.getMessage()));
      }
    }));
  }

  private Route listApps() {
    return completeWithFuture(store.apps().thenApply(apps -> {
      ArrayNode a = JSON.createArrayNode();
      for (FunctionStore.AppVersion v : apps) a.add(appJson(v, null));
      return server.responses().ok(a);
    }).exceptionally(this::unavailable));
  }

  private ObjectNode appJson(FunctionStore.AppVersion v, FunctionStore.AppState state) {
    ObjectNode o = JSON.createObjectNode();
    o.put("app", v.app());
    o.put("version", v.version());
    o.put("published", v.published() == null ? null : v.published().toString());
    o.put("sha256", v.sha256());
    try {
      JsonNode functions = JSON.readTree(v.functionsJson());
      if (state != null) functions.forEach(f -> ((ObjectNode) f).put("enabled", !state.disabled().contains(f.path("name").asText())));
      o.set("functions", functions);
    } catch (Exception e) {
      o.putArray("functions");
    }
    return o;
  }

  private Route showApp(String app) {
    return completeWithFuture(store.latest(app).thenCompose(v -> v.isEmpty()
        ? CompletableFuture.completedFuture(notFound(app))
        : store.states().thenApply(states -> server.responses().ok(appJson(v.get(),
            states.getOrDefault(app, FunctionStore.AppState.NONE)))))
        .exceptionally(this::unavailable));
  }

  private Route deleteApp(String app) {
    return completeWithFuture(store.latest(app).thenCompose(v -> v.isEmpty()
        ? CompletableFuture.completedFuture(notFound(app))
        : store.delete(app).thenCompose(d -> host.refreshNow()).thenApply(d -> server.responses().noContent()))
        .exceptionally(this::unavailable));
  }

  private Route keys(String app) {
    return completeWithFuture(store.latest(app).thenCompose(v -> v.isEmpty()
        ? CompletableFuture.completedFuture(notFound(app))
        : store.states().thenApply(states -> {
          var st = states.getOrDefault(app, FunctionStore.AppState.NONE);
          ObjectNode o = JSON.createObjectNode();
          o.put("default", st.key());
          ObjectNode fns = o.putObject("functions");
          st.functionKeys().forEach((fn, keys) -> fns.set(fn, keysJson(keys)));
          return server.responses().ok(o);
        })).exceptionally(this::unavailable));
  }

  // ---- app settings ----

  private static final String SETTING_NAME = "[A-Za-z_][A-Za-z0-9_.:-]{0,127}";

  private Route settings(String app) {
    return completeWithFuture(store.latest(app).thenCompose(v -> v.isEmpty()
        ? CompletableFuture.completedFuture(notFound(app))
        : store.settings(app).thenApply(m -> server.responses().ok(JSON.valueToTree(m))))
        .exceptionally(this::unavailable));
  }

  /** Body: {@code {"Name": "value", ...}}, the app's whole settings (a name left out is removed). */
  private Route putSettings(String app, byte[] body) {
    Map<String, String> settings = new java.util.TreeMap<>();
    try {
      JsonNode n = JSON.readTree(body);
      if (!(n instanceof ObjectNode o)) return complete(bad("the body must be a JSON object of setting names to string values"));
      for (var it = o.fields(); it.hasNext(); ) {
        var e = it.next();
        if (!e.getKey().matches(SETTING_NAME)) {
          return complete(bad("setting name '" + e.getKey() + "': letters, digits, '_', '.', ':' or '-', starting with a letter or '_', up to 128"));
        }
        if (!e.getValue().isTextual()) return complete(bad("setting '" + e.getKey() + "' must be a string"));
        if (e.getValue().asText().length() > 8192) return complete(bad("setting '" + e.getKey() + "' is longer than 8192 characters"));
        settings.put(e.getKey(), e.getValue().asText());
      }
      if (settings.size() > 256) return complete(bad("at most 256 settings"));
    } catch (java.io.IOException e) {
      return complete(bad("the body is not JSON: " + e.getMessage()));
    }
    return completeWithFuture(store.latest(app).thenCompose(v -> v.isEmpty()
        ? CompletableFuture.completedFuture(notFound(app))
        : store.replaceSettings(app, settings).thenCompose(d -> host.refreshNow())
            .thenApply(d -> server.responses().ok(JSON.valueToTree(settings))))
        .exceptionally(this::unavailable));
  }

  // ---- function keys ----

  private static final String KEY_NAME = "[A-Za-z0-9][A-Za-z0-9_.-]{0,63}";

  /** The function's own keys, or a 404 when the app or the function does not exist. */
  private CompletionStage<Optional<HttpResponse>> unknownFunction(String app, String function) {
    return store.latest(app).thenApply(v -> {
      if (v.isEmpty()) return Optional.of(notFound(app));
      try {
        for (JsonNode f : JSON.readTree(v.get().functionsJson())) if (f.path("name").asText().equals(function)) return Optional.empty();
      } catch (Exception ignored) {
        // stored by this code: always JSON
      }
      return Optional.of(server.responses().error(IotHubErrorCode.NotFound, "app '" + app + "' has no function named '" + function + "'"));
    });
  }

  private static ArrayNode keysJson(Map<String, String> keys) {
    ArrayNode a = JSON.createArrayNode();
    keys.forEach((k, v) -> a.addObject().put("name", k).put("value", v));
    return a;
  }

  private Route functionKeys(String app, String function) {
    return completeWithFuture(unknownFunction(app, function).thenCompose(missing -> missing.isPresent()
        ? CompletableFuture.completedFuture(missing.get())
        : store.states().thenApply(states -> {
          var st = states.getOrDefault(app, FunctionStore.AppState.NONE);
          ObjectNode o = JSON.createObjectNode();
          o.put("function", function);
          o.set("keys", keysJson(st.functionKeys().getOrDefault(function, Map.of())));
          return server.responses().ok(o);
        })).exceptionally(this::unavailable));
  }

  /** Body: empty (a new random key) or {@code {"value": "..."}} (at least 16 characters, as Azure asks). */
  private Route putFunctionKey(String app, String function, String name, byte[] body) {
    if (!name.matches(KEY_NAME)) return complete(bad("the key name must be 1-64 letters, digits, '.', '_' or '-'"));
    String value;
    try {
      JsonNode n = body.length == 0 ? JSON.createObjectNode() : JSON.readTree(body);
      value = n.hasNonNull("value") ? n.get("value").asText() : host.newKey();
    } catch (java.io.IOException e) {
      return complete(bad("the body is not JSON: " + e.getMessage()));
    }
    if (value.length() < 16 || value.length() > 128 || !value.matches("[A-Za-z0-9_=+/.-]+")) {
      return complete(bad("a key value is 16-128 letters, digits or _ = + / . -"));
    }
    return completeWithFuture(unknownFunction(app, function).thenCompose(missing -> missing.isPresent()
        ? CompletableFuture.completedFuture(missing.get())
        : store.putFunctionKey(app, function, name, value).thenCompose(d -> host.refreshNow()).thenApply(d -> {
          ObjectNode o = JSON.createObjectNode();
          o.put("function", function);
          o.put("name", name);
          o.put("value", value);
          return server.responses().ok(o);
        })).exceptionally(this::unavailable));
  }

  private Route deleteFunctionKey(String app, String function, String name) {
    return completeWithFuture(unknownFunction(app, function).thenCompose(missing -> missing.isPresent()
        ? CompletableFuture.completedFuture(missing.get())
        : store.states().thenCompose(states -> {
          if (!states.getOrDefault(app, FunctionStore.AppState.NONE).functionKeys().getOrDefault(function, Map.of()).containsKey(name)) {
            return CompletableFuture.completedFuture(server.responses().error(IotHubErrorCode.NotFound,
                "function '" + function + "' has no key named '" + name + "'"));
          }
          return store.deleteFunctionKey(app, function, name).thenCompose(d -> host.refreshNow())
              .thenApply(d -> server.responses().noContent());
        })).exceptionally(this::unavailable));
  }

  private Route enable(String app, String function, String action) {
    if (!action.equals("enable") && !action.equals("disable")) {
      return complete(server.responses().error(IotHubErrorCode.NotFound, "POST .../functions/{name}/enable or /disable"));
    }
    return completeWithFuture(store.latest(app).thenCompose(v -> {
      if (v.isEmpty()) return CompletableFuture.completedFuture(notFound(app));
      boolean known = false;
      try {
        for (JsonNode f : JSON.readTree(v.get().functionsJson())) known |= f.path("name").asText().equals(function);
      } catch (Exception ignored) {
        // stored by this code: always JSON
      }
      if (!known) {
        return CompletableFuture.completedFuture(server.responses().error(IotHubErrorCode.NotFound,
            "app '" + app + "' has no function named '" + function + "'"));
      }
      return store.setDisabled(app, function, action.equals("disable")).thenCompose(d -> host.refreshNow()).thenApply(d -> {
        ObjectNode o = JSON.createObjectNode();
        o.put("app", app);
        o.put("function", function);
        o.put("enabled", action.equals("enable"));
        return server.responses().ok(o);
      });
    }).exceptionally(this::unavailable));
  }

  private Route invocations(String app, int top) {
    return completeWithFuture(store.invocations(app, top).thenApply(list -> {
      ArrayNode a = JSON.createArrayNode();
      for (FunctionStore.Invocation i : list) {
        ObjectNode o = a.addObject();
        o.put("id", i.id().toString());
        o.put("function", i.function());
        o.put("trigger", i.trigger());
        o.put("status", i.status());
        o.put("startedAt", i.startedAt().toString());
        o.put("durationMs", i.durationMicros() / 1000.0);
        if (i.error() != null) o.put("error", i.error());
      }
      return server.responses().ok(a);
    }).exceptionally(this::unavailable));
  }

  private Route logs(String app, int top) {
    return completeWithFuture(store.invocations(app, top).thenApply(list -> {
      ArrayNode a = JSON.createArrayNode();
      for (FunctionStore.Invocation i : list) {
        for (String line : i.logs()) {
          ObjectNode o = a.addObject();
          o.put("invocationId", i.id().toString());
          o.put("function", i.function());
          o.put("status", i.status());
          o.put("line", line);
        }
      }
      return server.responses().ok(a);
    }).exceptionally(this::unavailable));
  }

  private HttpResponse unavailable(Throwable e) {
    return server.responses().error(IotHubErrorCode.ServiceUnavailable, "the function store did not answer; retry ("
        + rootMessage(e) + ")");
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) t = t.getCause();
    return t.getMessage() != null ? t.getMessage() : t.toString();
  }

  // ---- HTTP triggers ----

  private CompletionStage<HttpResponse> httpTrigger(HttpRequest request, String path, byte[] body) {
    String method = request.method().value();
    List<AppHost.Target> candidates = new ArrayList<>(host.targets(Trigger.Http.class,
        h -> h.methods().isEmpty() || h.methods().contains(method)));
    // The most literal route wins ("devices/list" before "devices/{id}").
    candidates.sort(Comparator.comparingInt((AppHost.Target t) -> -literalSegments(((Trigger.Http) t.function().trigger()).route())));
    for (AppHost.Target t : candidates) {
      Trigger.Http h = (Trigger.Http) t.function().trigger();
      Optional<Map<String, String>> values = RouteTemplate.match(h.route(), path);
      if (values.isEmpty()) continue;
      Map<String, String> query = new LinkedHashMap<>();
      request.getUri().query().toMap().forEach(query::put);
      if (!authorized(h.authLevel(), t.loaded().keysOf(t.function().name()), request, query)) {
        return CompletableFuture.completedFuture(HttpResponse.create().withStatus(StatusCodes.UNAUTHORIZED));
      }
      Map<String, String> headers = new LinkedHashMap<>();
      for (HttpHeader hd : request.getHeaders()) headers.put(hd.name(), hd.value());
      request.entity().getContentType();
      if (body.length > 0) headers.putIfAbsent("Content-Type", request.entity().getContentType().toString());
      URI uri = URI.create(request.getUri().toString());
      InvocationInput.Http input = new InvocationInput.Http(method, uri, headers, query, body, values.get());
      return host.invoke(t, input).thenApply(r -> {
        if (!r.succeeded()) {
          ObjectNode o = JSON.createObjectNode();
          o.put("error", "the function failed; its invocation log says why");
          o.put("function", t.app() + "/" + r.function());
          o.put("invocationId", r.invocationId());
          return HttpResponse.create().withStatus(500).withEntity(ContentTypes.APPLICATION_JSON, o.toString());
        }
        return response(HttpResult.of(r.returnValue(), t.loaded().app().json()));
      });
    }
    return CompletableFuture.completedFuture(HttpResponse.create().withStatus(StatusCodes.NOT_FOUND));
  }

  private static int literalSegments(String route) {
    int n = 0;
    for (String s : route.split("/")) if (!s.startsWith("{")) n++;
    return n;
  }

  /** FUNCTION: one of the function's keys or the app's key (Azure's host key), or the master key; ADMIN: the master key only. */
  private boolean authorized(String authLevel, List<String> functionKeys, HttpRequest request, Map<String, String> query) {
    if ("ANONYMOUS".equals(authLevel)) return true;
    String given = Optional.ofNullable(query.get("code"))
        .or(() -> request.getHeader("x-functions-key").map(HttpHeader::value)).orElse(null);
    if (given == null) return false;
    var owner = policies.find(SharedAccessPolicies.IOTHUBOWNER);
    boolean master = owner.isPresent() && (same(given, owner.get().keys().primaryKey()) || same(given, owner.get().keys().secondaryKey()));
    if ("ADMIN".equals(authLevel)) return master;
    if (master) return true;
    boolean ok = false;
    for (String k : functionKeys) ok |= same(given, k); // all compared: no early exit on a match
    return ok;
  }

  private static boolean same(String a, String b) {
    return a != null && b != null && MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }

  private static HttpResponse response(HttpResult r) {
    HttpResponse response = HttpResponse.create().withStatus(r.status());
    List<HttpHeader> headers = new ArrayList<>();
    r.headers().forEach((k, v) -> headers.add(RawHeader.create(k, v)));
    if (!headers.isEmpty()) response = response.withHeaders(headers);
    if (r.body().length == 0 && r.contentType() == null) return response;
    akka.http.javadsl.model.ContentType type;
    try {
      type = r.contentType() == null ? ContentTypes.APPLICATION_OCTET_STREAM : ContentTypes.parse(r.contentType());
    } catch (RuntimeException e) {
      type = ContentTypes.APPLICATION_OCTET_STREAM;
    }
    return response.withEntity(HttpEntities.create(type, r.body()));
  }
}
