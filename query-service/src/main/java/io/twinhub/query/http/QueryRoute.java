package io.twinhub.query.http;

import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.RawHeader;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import akka.util.ByteString;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.query.QueryEngine;
import io.twinhub.query.QueryResult;
import io.twinhub.query.ReadYourWrites;
import io.twinhub.query.TwinQueries;
import io.twinhub.query.lang.QueryException;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * {@code POST /devices/query}: IoT Hub's twin query endpoint, as the service SDKs call it.
 *
 * <ul>
 *   <li>request body {@code {"query": "SELECT ..."}}; headers {@code x-ms-max-item-count} (page
 *       size) and {@code x-ms-continuation} (the token of the previous page), optionally {@value
 *       ReadYourWrites#HEADER} (wait until the index covers twin versions the caller has seen);</li>
 *   <li>200 with a JSON array; {@code x-ms-continuation} only when another page follows (the
 *       Java SDK pages on as long as the header is present), {@code x-ms-item-type} {@code twin}
 *       or {@code raw};</li>
 *   <li>errors as IoT Hub renders them ({@link IotHubError#toJsonBody}, {@code iothub-errorcode}):
 *       400 ArgumentInvalid for syntax and type errors (with line and column) and bad tokens,
 *       503 ServiceUnavailable when a read-your-writes wait times out.</li>
 * </ul>
 * Authentication and {@code api-version} are the caller's: {@code authorized} wraps the inner
 * route (the REST layer passes its SAS directive requiring ServiceConnect or RegistryRead).
 */
public final class QueryRoute extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(QueryRoute.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  public static final String CONTINUATION = "x-ms-continuation";
  public static final String MAX_ITEM_COUNT = "x-ms-max-item-count";
  public static final String ITEM_TYPE = "x-ms-item-type";
  /** Largest request body read (the query itself is at most 8 KB). */
  public static final long MAX_BODY_BYTES = 64 * 1024;

  private final TwinQueries engine;
  private final Clock clock;

  private QueryRoute(TwinQueries engine, Clock clock) {
    this.engine = engine;
    this.clock = clock;
  }

  /**
   * The route for {@code POST /devices/query}.
   *
   * @param authorized wraps the handling route with the caller's authentication (for example
   *                   {@code inner -> sasAuth(AccessRight.ServiceConnect, AccessRight.RegistryRead, inner)})
   */
  public static Route route(TwinQueries engine, Function<Supplier<Route>, Route> authorized) {
    return new QueryRoute(engine, Clock.systemUTC()).build(authorized);
  }

  /**
   * The answer to {@code POST /devices/query} once the caller is authorized and the body is read:
   * what the route answers, for a caller that takes the request without the routing DSL (the
   * node's query path, {@code QueryPath}). The one copy of the headers' and errors' handling.
   */
  public static java.util.function.BiFunction<HttpRequest, ByteString, CompletionStage<HttpResponse>> answer(TwinQueries engine) {
    return new QueryRoute(engine, Clock.systemUTC())::handle;
  }

  private Route build(Function<Supplier<Route>, Route> authorized) {
    // A trailing slash is tolerated, as everywhere in the REST API.
    return pathPrefix(akka.http.javadsl.server.PathMatchers.segment("devices").slash("query"), () -> pathEndOrSingleSlash(() ->
        post(() -> authorized.apply(() ->
            withSizeLimit(MAX_BODY_BYTES, () ->
                extractRequest(request ->
                    entity(akka.http.javadsl.unmarshalling.Unmarshaller.entityToByteString(), body ->
                        completeWithFuture(handle(request, body)))))))));
  }

  CompletionStage<HttpResponse> handle(HttpRequest request, ByteString body) {
    CompletionStage<QueryResult> result;
    try {
      String sql = queryText(body);
      int maxItems = maxItemCount(request);
      String continuation = header(request, CONTINUATION).filter(s -> !s.isBlank()).orElse(null);
      Optional<ReadYourWrites> ryw = readYourWrites(request);
      result = engine.query(sql, maxItems, continuation, ryw);
    } catch (RuntimeException e) {
      result = CompletableFuture.failedFuture(e);
    }
    return result.handle((r, failure) -> failure == null ? ok(r) : error(unwrap(failure)));
  }

  private static String queryText(ByteString body) {
    JsonNode json;
    try {
      json = JSON.readTree(body.toArray());
    } catch (Exception e) {
      throw new BadRequest("the body must be JSON: {\"query\": \"SELECT ...\"}");
    }
    JsonNode q = json == null ? null : json.get("query");
    if (q == null || !q.isTextual()) throw new BadRequest("the body must name the query: {\"query\": \"SELECT ...\"}");
    return q.textValue();
  }

  private static int maxItemCount(HttpRequest request) {
    Optional<String> v = header(request, MAX_ITEM_COUNT);
    if (v.isEmpty() || v.get().isBlank()) return 0;
    try {
      return Integer.parseInt(v.get().strip());
    } catch (NumberFormatException e) {
      throw new BadRequest(MAX_ITEM_COUNT + " must be a number, got '" + v.get() + "'");
    }
  }

  private static Optional<ReadYourWrites> readYourWrites(HttpRequest request) {
    List<ReadYourWrites.TwinVersion> all = new ArrayList<>();
    for (HttpHeader h : request.getHeaders()) {
      if (h.is(ReadYourWrites.HEADER)) all.addAll(ReadYourWrites.parse(h.value()).twins());
    }
    return all.isEmpty() ? Optional.empty() : Optional.of(new ReadYourWrites(all));
  }

  private static Optional<String> header(HttpRequest request, String name) {
    return request.getHeader(name).map(HttpHeader::value);
  }

  private static HttpResponse ok(QueryResult r) {
    List<HttpHeader> headers = new ArrayList<>();
    headers.add(RawHeader.create(ITEM_TYPE, r.itemType()));
    if (r.continuation() != null) headers.add(RawHeader.create(CONTINUATION, r.continuation()));
    return HttpResponse.create().withStatus(StatusCodes.OK).addHeaders(headers)
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, r.body()));
  }

  private HttpResponse error(Throwable failure) {
    IotHubError e;
    if (failure instanceof QueryException || failure instanceof BadRequest) {
      e = IotHubErrorCode.ArgumentInvalid.error(failure.getMessage());
    } else if (failure instanceof QueryEngine.IndexBehindException) {
      e = IotHubErrorCode.ServiceUnavailable.error(failure.getMessage());
    } else {
      log.warn("query failed: {}", failure.toString(), failure);
      e = IotHubErrorCode.ServerError.error("the query could not be run; see the hub's log");
    }
    return render(e, clock);
  }

  /** An IoT Hub error response (also for the REST layer's use). */
  public static HttpResponse render(IotHubError e, Clock clock) {
    return HttpResponse.create()
        .withStatus(e.status())
        .addHeader(RawHeader.create(IotHubError.ERROR_CODE_HEADER, e.code().headerValue()))
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, e.toJsonBody(clock)));
  }

  private static Throwable unwrap(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) t = t.getCause();
    return t;
  }

  /** A malformed request (body, header). */
  private static final class BadRequest extends RuntimeException {
    BadRequest(String message) {
      super(message, null, false, false);
    }
  }
}
