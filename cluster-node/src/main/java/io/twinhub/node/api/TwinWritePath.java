package io.twinhub.node.api;

import akka.http.javadsl.model.HttpEntity;
import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.HttpMethod;
import akka.http.javadsl.model.HttpMethods;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.RequestEntity;
import akka.http.javadsl.model.headers.TimeoutAccess;
import akka.stream.Materializer;
import io.twinhub.node.security.ServiceAuthenticator;
import io.twinhub.twin.auth.AccessRight;
import io.twinhub.twin.domain.Author;
import io.twinhub.twin.domain.ETag;
import io.twinhub.twin.domain.Outcome;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.service.TwinService;

import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The hot write, {@code PATCH} (or {@code POST} with {@code X-HTTP-Method-Override: PATCH}, as the
 * service SDK sends it) and {@code PUT} of {@code /twins/{id}} and {@code /twins/{id}/modules/{mid}},
 * answered without the routing DSL when the request is a plain one: the twin read path's URI and
 * token gate ({@link TwinReadPath#ids}, {@link TwinReadPath#apiVersion}, ServiceConnect), each of
 * Authorization, If-Match and the override at most once, and an {@code application/json} entity
 * of a declared length within {@code max-body-size}. Its body is read (when it did not arrive with
 * the headers) and then, if the If-Match parses and the route's own body parse
 * ({@link ServiceRoutes#parseTwinBody}) accepts it, the write gets exactly what the route tree
 * would answer: the same service call with the token's policy as author, the same response
 * builder. The routing DSL built its directive tree for every request: ≈ a quarter of a PATCH's
 * default-dispatcher CPU (docs/BENCHMARKS.md, session 11).
 *
 * <p>Anything else, including every request that would end in an error before the entity (a bad
 * body, a weak If-Match, a wrong token, a chunked or oversized entity), goes through the route
 * tree, which has the only copy of the error handling: before the body is read by returning
 * {@link Optional#empty()}, after it by handing the tree the request with the body read. The
 * entity's own refusals (412 on a stale etag, 404, 429, 503) are answered here by the same
 * {@link ApiResponses#reply} the route uses.
 */
final class TwinWritePath {

  /** Callbacks run where the reply completes (a few field reads), not on the common pool. */
  private static final java.util.concurrent.Executor INLINE = Runnable::run;

  private final TwinService twins;
  private final ServiceAuth auth;
  private final ApiSettings settings;
  private final ApiResponses responses;
  private final Materializer materializer;
  private final ServiceRoutes routes;

  TwinWritePath(TwinService twins, ServiceAuth auth, ApiSettings settings, ApiResponses responses, Materializer materializer,
                ServiceRoutes routes) {
    this.twins = twins;
    this.auth = auth;
    this.settings = settings;
    this.responses = responses;
    this.materializer = materializer;
    this.routes = routes;
  }

  /**
   * The answer to {@code request} if it is a plain twin PATCH or PUT, else empty (the route tree
   * answers). {@code tree} answers a request taken here whose body or If-Match the route refuses.
   */
  Optional<CompletionStage<HttpResponse>> serve(HttpRequest request,
                                                akka.japi.function.Function<HttpRequest, CompletionStage<HttpResponse>> tree) {
    HttpMethod method = request.method();
    if (method != HttpMethods.PATCH && method != HttpMethods.PUT && method != HttpMethods.POST) return Optional.empty();
    RequestEntity entity = request.entity();
    OptionalLong length = entity.getContentLengthOption();
    if (length.isEmpty() || length.getAsLong() > settings.maxBodyBytes()
        || ServiceRoutes.checkContentType(entity).isPresent()) {
      return Optional.empty();
    }
    akka.http.javadsl.model.Uri uri = request.getUri();
    TwinReadPath.Ids ids = TwinReadPath.ids(uri.path());
    String apiVersion = TwinReadPath.apiVersion(uri.rawQueryString().orElse(null));
    if (ids == null || apiVersion == null || !settings.apiVersions().contains(apiVersion)) return Optional.empty();
    Headers h = Headers.of(request);
    if (h == null || h.authorization() == null) return Optional.empty();
    Boolean replace = replace(method, h.methodOverride());
    if (replace == null
        || !(auth.authenticate(h.authorization(), AccessRight.ServiceConnect) instanceof ServiceAuthenticator.Authorized authorized)) {
      return Optional.empty();
    }
    request.getHeader(TimeoutAccess.class).ifPresent(t -> t.timeoutAccess().updateHandler(routes::timedOut));
    Author author = Author.service(authorized.principal().name());
    if (entity instanceof HttpEntity.Strict strict) {
      return Optional.of(write(request, strict, ids, replace, h.ifMatch(), author, tree));
    }
    // The body came after the headers (a separate TLS record): read it as the route would.
    return Optional.of(entity.withSizeLimit(settings.maxBodyBytes())
        .toStrict(settings.requestTimeout().toMillis(), materializer)
        .handle((strict, failure) -> failure != null
            ? CompletableFuture.completedFuture(routes.unreadableBody(failure))
            : write(request.withEntity(strict), strict, ids, replace, h.ifMatch(), author, tree))
        .thenCompose(answer -> answer));
  }

  /** The write with its body read; a body or If-Match the route refuses goes to {@code tree} with that body. */
  private CompletionStage<HttpResponse> write(HttpRequest request, HttpEntity.Strict body, TwinReadPath.Ids ids, boolean replace,
                                              String ifMatch, Author author,
                                              akka.japi.function.Function<HttpRequest, CompletionStage<HttpResponse>> tree) {
    if (!(routes.parseTwinBody(body.getData().toArray(), replace) instanceof Outcome.Accepted<TwinUpdate> update)
        || !(ETag.parseIfMatch(ifMatch) instanceof Outcome.Accepted<Optional<String>> etag)) {
      try {
        return tree.apply(request);
      } catch (Exception e) {
        return CompletableFuture.failedFuture(e);
      }
    }
    return twins.admitUpdateTwin(ids.deviceId(), ids.moduleId(), update.value(), etag.value().orElse(null), author)
        .handleAsync((reply, failure) -> failure != null
            ? responses.unexpected(failure)
            : responses.reply(reply, a -> responses.twin(a.twin())), INLINE);
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
