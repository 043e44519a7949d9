package io.twinhub.node.api;

import akka.http.javadsl.model.HttpMethods;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.headers.TimeoutAccess;
import io.twinhub.node.security.ServiceAuthenticator;
import io.twinhub.twin.auth.AccessRight;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.service.TwinService;

import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * The hot read, {@code GET /twins/{id}} and {@code GET /twins/{id}/modules/{mid}}, answered without
 * the routing DSL when the request is the plain one every back end sends: no method override, the
 * query exactly {@code api-version=<supported>}, a SAS token that grants ServiceConnect, ids in
 * IoT Hub's syntax written without percent escapes. Such a request gets exactly what the route
 * tree would answer (the same service call, the same response builder), at a fraction of the
 * CPU: the Java routing DSL builds its directive tree anew for every request.
 *
 * <p>Anything else, including every request that ends in an error before it reaches the entity,
 * is not taken ({@link Optional#empty()}) and goes through the route tree, which has the only
 * copy of the error handling. So this class decides nothing the route does not decide the same way.
 */
final class TwinReadPath {

  private static final String PREFIX = "/twins/";
  private static final String MODULES = "/modules/";
  private static final String API_VERSION = "api-version=";
  /** Callbacks run where the reply completes (a few field reads), not on the common pool. */
  private static final java.util.concurrent.Executor INLINE = Runnable::run;

  private final TwinService twins;
  private final ServiceAuth auth;
  private final Set<String> apiVersions;
  private final ApiResponses responses;
  private final akka.japi.Function<HttpRequest, HttpResponse> onTimeout;

  TwinReadPath(TwinService twins, ServiceAuth auth, Set<String> apiVersions, ApiResponses responses,
               akka.japi.Function<HttpRequest, HttpResponse> onTimeout) {
    this.twins = twins;
    this.auth = auth;
    this.apiVersions = Set.copyOf(apiVersions);
    this.responses = responses;
    this.onTimeout = onTimeout;
  }

  /** The answer to {@code request} if it is a plain twin read, else empty (the route tree answers). */
  Optional<CompletionStage<HttpResponse>> serve(HttpRequest request) {
    if (request.method() != HttpMethods.GET || !request.entity().isKnownEmpty()) return Optional.empty();
    akka.http.javadsl.model.Uri uri = request.getUri();
    Ids ids = ids(uri.path());
    String apiVersion = apiVersion(uri.rawQueryString().orElse(null));
    if (ids == null || apiVersion == null || !apiVersions.contains(apiVersion)) return Optional.empty();
    String authorization = null;
    for (akka.http.javadsl.model.HttpHeader h : request.getHeaders()) {
      // A method override on a GET is refused by the route tree; the token is checked below.
      if (h.is("x-http-method-override")) return Optional.empty();
      if (h.is("authorization")) authorization = h.value();
    }
    if (authorization == null
        || !(auth.authenticate(authorization, AccessRight.ServiceConnect) instanceof ServiceAuthenticator.Authorized)) {
      return Optional.empty();
    }
    request.getHeader(TimeoutAccess.class).ifPresent(t -> t.timeoutAccess().updateHandler(onTimeout));
    return Optional.of(twins.getTwin(ids.deviceId(), ids.moduleId()).handleAsync((reply, failure) -> failure != null
        ? responses.unexpected(failure)
        : responses.reply(reply, a -> responses.twin(a.twin())), INLINE));
  }

  record Ids(String deviceId, String moduleId) {}

  /**
   * The ids of {@code /twins/{id}} or {@code /twins/{id}/modules/{mid}} as the URI renders its path
   * (percent-encoded), or null for any other path. Taken only when no id holds an escape: then the
   * text is the decoded id the route would see (every other character of IoT Hub's id syntax is
   * left as it is in a path), and only when the ids are valid (the route answers invalid ones).
   */
  static Ids ids(String path) {
    if (!path.startsWith(PREFIX) || path.indexOf('%') >= 0) return null;
    int slash = path.indexOf('/', PREFIX.length());
    String deviceId = path.substring(PREFIX.length(), slash < 0 ? path.length() : slash);
    String moduleId = null;
    if (slash >= 0) {
      if (!path.startsWith(MODULES, slash)) return null;
      moduleId = path.substring(slash + MODULES.length());
      if (moduleId.indexOf('/') >= 0) return null;
    }
    if (Identity.checkId(deviceId, "deviceId").isPresent()
        || (moduleId != null && Identity.checkId(moduleId, "moduleId").isPresent())) {
      return null;
    }
    return new Ids(deviceId, moduleId);
  }

  /** The value of a raw query that is exactly {@code api-version=<value without escapes>}, else null. */
  static String apiVersion(String rawQuery) {
    if (rawQuery == null || !rawQuery.startsWith(API_VERSION)) return null;
    String v = rawQuery.substring(API_VERSION.length());
    return v.indexOf('&') >= 0 || v.indexOf('%') >= 0 || v.indexOf('+') >= 0 || v.indexOf(';') >= 0 ? null : v;
  }
}
