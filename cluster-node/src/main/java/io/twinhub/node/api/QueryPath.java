package io.twinhub.node.api;

import akka.http.javadsl.model.HttpEntity;
import akka.http.javadsl.model.HttpMethods;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.headers.TimeoutAccess;
import akka.util.ByteString;
import io.twinhub.node.security.ServiceAuthenticator;
import io.twinhub.query.http.QueryRoute;
import io.twinhub.twin.auth.AccessRight;

import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;

/**
 * The query, {@code POST /devices/query}, answered without the routing DSL when the request is the
 * plain one the service SDKs send: no method override, the query exactly {@code
 * api-version=<supported>}, a SAS token granting ServiceConnect or RegistryRead, the body already
 * read with the headers and within the route's limit. Through the route tree a query first builds
 * and rejects the whole {@code /devices/{id}} subtree ("query" matches a device id there) and
 * every resource before the query route; on a query node that was most of the non-Lucene CPU of a
 * lookup. Such a request gets exactly what the route would answer: the same answer function
 * ({@link QueryRoute#answer}), the same timeout response.
 *
 * <p>Anything else is not taken ({@link Optional#empty()}) and goes through the route tree, which
 * has the only copy of the refusals (401, 404, 413, method override), like {@link TwinReadPath}.
 */
final class QueryPath {

  static final String PATH = "/devices/query";

  private final BiFunction<HttpRequest, ByteString, CompletionStage<HttpResponse>> answer;
  private final ServiceAuth auth;
  private final Set<String> apiVersions;
  private final akka.japi.Function<HttpRequest, HttpResponse> onTimeout;

  QueryPath(BiFunction<HttpRequest, ByteString, CompletionStage<HttpResponse>> answer, ServiceAuth auth,
            Set<String> apiVersions, akka.japi.Function<HttpRequest, HttpResponse> onTimeout) {
    this.answer = answer;
    this.auth = auth;
    this.apiVersions = Set.copyOf(apiVersions);
    this.onTimeout = onTimeout;
  }

  /** The answer to {@code request} if it is a plain query, else empty (the route tree answers). */
  Optional<CompletionStage<HttpResponse>> serve(HttpRequest request) {
    if (request.method() != HttpMethods.POST) return Optional.empty();
    akka.http.javadsl.model.Uri uri = request.getUri();
    if (!uri.path().equals(PATH)) return Optional.empty();
    String apiVersion = TwinReadPath.apiVersion(uri.rawQueryString().orElse(null));
    if (apiVersion == null || !apiVersions.contains(apiVersion)) return Optional.empty();
    // A body that came after the headers (a separate TLS record) is read by the route.
    if (!(request.entity() instanceof HttpEntity.Strict strict) || strict.getData().size() > QueryRoute.MAX_BODY_BYTES) {
      return Optional.empty();
    }
    String authorization = null;
    for (akka.http.javadsl.model.HttpHeader h : request.getHeaders()) {
      if (h.is("x-http-method-override")) return Optional.empty();
      if (h.is("authorization")) authorization = h.value();
    }
    if (authorization == null || !(granted(authorization, AccessRight.ServiceConnect) || granted(authorization, AccessRight.RegistryRead))) {
      return Optional.empty();
    }
    request.getHeader(TimeoutAccess.class).ifPresent(t -> t.timeoutAccess().updateHandler(onTimeout));
    return Optional.of(answer.apply(request, strict.getData()));
  }

  private boolean granted(String authorization, AccessRight right) {
    return auth.authenticate(authorization, right) instanceof ServiceAuthenticator.Authorized;
  }
}
