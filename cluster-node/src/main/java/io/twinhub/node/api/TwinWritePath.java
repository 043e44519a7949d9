package io.twinhub.node.api;

import akka.http.javadsl.model.HttpEntity;
import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.HttpMethod;
import akka.http.javadsl.model.HttpMethods;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.headers.TimeoutAccess;
import io.twinhub.node.security.ServiceAuthenticator;
import io.twinhub.twin.auth.AccessRight;
import io.twinhub.twin.domain.Author;
import io.twinhub.twin.domain.ETag;
import io.twinhub.twin.domain.Outcome;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.service.TwinService;

import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;

/**
 * The hot write, {@code PATCH} (or {@code POST} with {@code X-HTTP-Method-Override: PATCH}, as the
 * service SDK sends it) and {@code PUT} of {@code /twins/{id}} and {@code /twins/{id}/modules/{mid}},
 * answered without the routing DSL when the request is a plain one: the twin read path's URI and
 * token gate ({@link TwinReadPath#ids}, {@link TwinReadPath#apiVersion}, ServiceConnect), each of
 * Authorization, If-Match and the override at most once, a strict {@code application/json} entity
 * within {@code max-body-size}, an If-Match that parses, and a body the route's own parse
 * ({@link ServiceRoutes#parseTwinBody}) accepts. Such a request gets exactly what the route tree
 * would answer: the same service call with the token's policy as author, the same response builder.
 * The routing DSL built its directive tree for every request: ≈ a quarter of a PATCH's
 * default-dispatcher CPU (docs/BENCHMARKS.md, session 11).
 *
 * <p>Anything else, including every request that would end in an error before the entity (a bad
 * body, a weak If-Match, a wrong token, a streamed or oversized entity), is not taken
 * ({@link Optional#empty()}) and goes through the route tree, which has the only copy of the error
 * handling. The entity's own refusals (412 on a stale etag, 404, 429, 503) are answered here by the
 * same {@link ApiResponses#reply} the route uses.
 */
final class TwinWritePath {

  /** Callbacks run where the reply completes (a few field reads), not on the common pool. */
  private static final java.util.concurrent.Executor INLINE = Runnable::run;

  private final TwinService twins;
  private final ServiceAuth auth;
  private final Set<String> apiVersions;
  private final ApiResponses responses;
  private final long maxBodyBytes;
  private final BiFunction<byte[], Boolean, Outcome<TwinUpdate>> parseBody;
  private final akka.japi.Function<HttpRequest, HttpResponse> onTimeout;

  TwinWritePath(TwinService twins, ServiceAuth auth, Set<String> apiVersions, ApiResponses responses, long maxBodyBytes,
                BiFunction<byte[], Boolean, Outcome<TwinUpdate>> parseBody,
                akka.japi.Function<HttpRequest, HttpResponse> onTimeout) {
    this.twins = twins;
    this.auth = auth;
    this.apiVersions = Set.copyOf(apiVersions);
    this.responses = responses;
    this.maxBodyBytes = maxBodyBytes;
    this.parseBody = parseBody;
    this.onTimeout = onTimeout;
  }

  /** The answer to {@code request} if it is a plain twin PATCH or PUT, else empty (the route tree answers). */
  Optional<CompletionStage<HttpResponse>> serve(HttpRequest request) {
    HttpMethod method = request.method();
    if (method != HttpMethods.PATCH && method != HttpMethods.PUT && method != HttpMethods.POST) return Optional.empty();
    if (!(request.entity() instanceof HttpEntity.Strict entity) || entity.getData().size() > maxBodyBytes
        || ServiceRoutes.checkContentType(request.entity()).isPresent()) {
      return Optional.empty();
    }
    akka.http.javadsl.model.Uri uri = request.getUri();
    TwinReadPath.Ids ids = TwinReadPath.ids(uri.path());
    String apiVersion = TwinReadPath.apiVersion(uri.rawQueryString().orElse(null));
    if (ids == null || apiVersion == null || !apiVersions.contains(apiVersion)) return Optional.empty();
    Headers h = Headers.of(request);
    if (h == null || h.authorization() == null) return Optional.empty();
    Boolean replace = replace(method, h.methodOverride());
    if (replace == null) return Optional.empty();
    if (!(auth.authenticate(h.authorization(), AccessRight.ServiceConnect) instanceof ServiceAuthenticator.Authorized authorized)
        || !(ETag.parseIfMatch(h.ifMatch()) instanceof Outcome.Accepted<Optional<String>> etag)
        || !(parseBody.apply(entity.getData().toArray(), replace) instanceof Outcome.Accepted<TwinUpdate> update)) {
      return Optional.empty();
    }
    request.getHeader(TimeoutAccess.class).ifPresent(t -> t.timeoutAccess().updateHandler(onTimeout));
    return Optional.of(twins.admitUpdateTwin(ids.deviceId(), ids.moduleId(), update.value(), etag.value().orElse(null),
            Author.service(authorized.principal().name()))
        .handleAsync((reply, failure) -> failure != null
            ? responses.unexpected(failure)
            : responses.reply(reply, a -> responses.twin(a.twin())), INLINE));
  }

  /**
   * Whether the request replaces the twin (PUT) or patches it (PATCH, or POST overridden to PATCH:
   * the route's {@code methodOverride}, whose value it strips and compares ignoring case); null
   * for anything the route tree answers (a POST without the override, an override it refuses).
   */
  static Boolean replace(HttpMethod method, String methodOverride) {
    if (methodOverride != null) {
      return method == HttpMethods.POST && methodOverride.strip().equalsIgnoreCase("PATCH") ? Boolean.FALSE : null;
    }
    if (method == HttpMethods.POST) return null;
    return method == HttpMethods.PUT;
  }

  /** The headers the write reads, or null when one of them comes twice (the route tree decides then). */
  record Headers(String authorization, String ifMatch, String methodOverride) {
    static Headers of(HttpRequest request) {
      String authorization = null;
      String ifMatch = null;
      String methodOverride = null;
      for (HttpHeader header : request.getHeaders()) {
        if (header.is("authorization")) {
          if (authorization != null) return null;
          authorization = header.value();
        } else if (header.is("if-match")) {
          if (ifMatch != null) return null;
          ifMatch = header.value();
        } else if (header.is("x-http-method-override")) {
          if (methodOverride != null) return null;
          methodOverride = header.value();
        }
      }
      return new Headers(authorization, ifMatch, methodOverride);
    }
  }
}
