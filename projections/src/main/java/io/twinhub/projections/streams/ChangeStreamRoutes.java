package io.twinhub.projections.streams;

import akka.NotUsed;
import akka.http.javadsl.marshalling.sse.EventStreamMarshalling;
import akka.http.javadsl.model.ContentType;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.MediaRanges;
import akka.http.javadsl.model.MediaTypes;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.RawHeader;
import akka.http.javadsl.model.sse.ServerSentEvent;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * {@code GET /streams/{source}}: the journal as Server-Sent Events (each with its offset
 * as {@code id}, so a reconnect with {@code Last-Event-ID} resumes exactly) or NDJSON (each
 * line with an {@code offset} for {@code ?from=}). {@code GET /routes} lists the configured
 * routes and {@code GET /routes/{name}/stream} streams one. The HTTP response back-pressures
 * the journal query, so a slow consumer slows only its own stream.
 */
public final class ChangeStreamRoutes extends AllDirectives {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ContentType NDJSON = ContentTypes.create(
      MediaTypes.customWithFixedCharset("application", "x-ndjson", akka.http.javadsl.model.HttpCharsets.UTF_8,
          java.util.Map.of(), false));
  /** How often an idle live stream sends its heartbeat by default (twinhub.streams.keep-alive). */
  public static final Duration KEEP_ALIVE = Duration.ofSeconds(15);
  private static final ByteString NDJSON_KEEP_ALIVE = ByteString.fromString("\n");

  private final ChangeFeed feed;
  private final List<NamedRoute> routes;
  private final Function<HttpRequest, Optional<HttpResponse>> authorize;
  private final Clock clock;
  private final Duration keepAlive;

  /**
   * @param authorize the caller's check of the request's SAS token: empty = allowed, else the
   *                  401 response to send
   */
  public ChangeStreamRoutes(ChangeFeed feed, List<NamedRoute> routes,
                            Function<HttpRequest, Optional<HttpResponse>> authorize, Clock clock) {
    this(feed, routes, authorize, clock, KEEP_ALIVE);
  }

  /** @param keepAlive how often an idle live stream sends an SSE heartbeat or a blank NDJSON line */
  public ChangeStreamRoutes(ChangeFeed feed, List<NamedRoute> routes,
                            Function<HttpRequest, Optional<HttpResponse>> authorize, Clock clock, Duration keepAlive) {
    this.feed = feed;
    this.routes = List.copyOf(routes);
    this.authorize = authorize;
    this.clock = clock;
    this.keepAlive = keepAlive;
  }

  public Route route() {
    // Paths first, then the token: requests for other resources fall through untouched.
    return get(() -> concat(
        pathPrefix("streams", () -> path(source -> authorized(request -> stream(request, source, m -> true, false)))),
        pathPrefix("routes", () -> concat(
            pathEnd(() -> authorized(request ->
                complete(StatusCodes.OK, HttpEntities.create(ContentTypes.APPLICATION_JSON, routesJson())))),
            pathPrefix(name -> path("stream", () -> authorized(request -> namedStream(request, name))))))));
  }

  private Route authorized(Function<HttpRequest, Route> inner) {
    return extractRequest(request -> authorize.apply(request).<Route>map(this::complete)
        .orElseGet(() -> inner.apply(request)));
  }

  private Route namedStream(HttpRequest request, String name) {
    return routes.stream().filter(r -> r.name().equals(name)).findFirst()
        .map(r -> stream(request, r.source().wire(), r.condition(), true))
        .orElseGet(() -> complete(error(IotHubErrorCode.NotFound, "no route named '" + name + "'")));
  }

  /** @param route a named route's stream: also what functions wrote to it ({@code @EventHubOutput}; the condition picks this route's) */
  private Route stream(HttpRequest request, String source, Predicate<HubMessage> condition, boolean route) {
    return parameterOptional("from", from -> parameterOptional("to", to -> parameterOptional("deviceId", deviceId ->
        parameterOptional("maxLagSeconds", maxLag -> parameterOptional("condition", adHoc ->
            optionalHeaderValueByName("Last-Event-ID", lastEventId -> {
          Predicate<HubMessage> adHocCondition;
          try {
            adHocCondition = RouteConditions.parse(adHoc.orElse(null));
          } catch (io.twinhub.query.lang.QueryException e) {
            return complete(error(IotHubErrorCode.ArgumentInvalid, "condition: " + e.getMessage()));
          }
          StreamRequest.Parsed parsed = StreamRequest.parse(source, from.orElse(null), to.orElse(null),
              lastEventId.orElse(null), deviceId.orElse(null), maxLag.orElse(null), Instant.now(clock));
          if (parsed instanceof StreamRequest.Invalid invalid) {
            return complete(error(IotHubErrorCode.ArgumentInvalid, invalid.message()));
          }
          StreamRequest req = ((StreamRequest.Valid) parsed).request();
          Predicate<HubMessage> filter = (route ? req.filter().or(HubMessages::isFunctionOutput) : req.filter())
              .and(condition).and(adHocCondition);
          ChangeFeed.Scope scope = route ? req.scope().withFunctionOutputs() : req.scope();
          Source<Delivery, NotUsed> messages = boundLag(req.until() == null
              ? feed.messages(req.start(feed), scope, filter)
              : feed.history(req.start(feed), req.until(), scope, filter), req.maxLag());
          boolean sse = request.getHeader(akka.http.javadsl.model.headers.Accept.class)
              .map(a -> a.getMediaRanges().iterator().hasNext()
                  && java.util.stream.StreamSupport.stream(a.getMediaRanges().spliterator(), false)
                  .anyMatch(r -> r.matches(MediaTypes.TEXT_EVENT_STREAM) && !r.equals(MediaRanges.ALL)))
              .orElse(false);
          if (sse) {
            return completeOK(messages.map(ChangeStreamRoutes::sse).keepAlive(keepAlive, ServerSentEvent::heartbeat),
                EventStreamMarshalling.toEventStream());
          }
          // An idle live NDJSON stream sends a blank line now and then, as SSE sends heartbeats:
          // without it the server's idle timeout (60 s) would cut a quiet consumer off.
          return complete(HttpResponse.create().withEntity(HttpEntities.createChunked(NDJSON,
              messages.map(m -> ByteString.fromString(JSON.writeValueAsString(json(m)) + "\n"))
                  .keepAlive(keepAlive, () -> NDJSON_KEEP_ALIVE))));
        }))))));
  }

  /**
   * A consumer more than {@code maxLag} behind the newest journal time is told so (a final
   * "lagging" message with its offset) and the stream ends; it resumes by offset when ready.
   */
  private Source<Delivery, NotUsed> boundLag(Source<HubMessage, NotUsed> messages, Duration maxLag) {
    Source<Delivery, NotUsed> deliveries = messages.map(m -> new Delivery(m,
        maxLag != null && Duration.between(m.enqueuedTime(), Instant.now(clock)).compareTo(maxLag) > 0));
    return maxLag == null ? deliveries : deliveries.takeWhile(d -> !d.lagging(), true);
  }

  /** A message, and whether it is the one that found the consumer lagging (then the last). */
  record Delivery(HubMessage message, boolean lagging) {}

  static ServerSentEvent sse(Delivery d) {
    HubMessage m = d.message();
    try {
      return ServerSentEvent.create(JSON.writeValueAsString(json(d)),
          Optional.of(d.lagging() ? "lagging" : m.source().wire()), Optional.of(m.offset()), java.util.OptionalInt.empty());
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static ObjectNode json(Delivery d) {
    HubMessage m = d.message();
    ObjectNode o = JSON.createObjectNode();
    if (d.lagging()) o.put("lagging", true);
    o.put("offset", m.offset());
    o.put("source", m.source().wire());
    o.put("twinId", m.twinId());
    o.put("sequenceNr", m.sequenceNr());
    if (m.version() != null) o.put("version", m.version());
    o.set("properties", JSON.valueToTree(m.properties()));
    o.set("systemProperties", JSON.valueToTree(m.systemProperties()));
    if (m.bodyEncoding() != null) o.put("bodyEncoding", m.bodyEncoding());
    o.set("body", m.body());
    return o;
  }

  private String routesJson() {
    var array = JSON.createArrayNode();
    routes.forEach(r -> array.addObject().put("name", r.name()).put("source", r.source().wire())
        .put("condition", r.conditionText()));
    return array.toString();
  }

  private HttpResponse error(IotHubErrorCode code, String message) {
    IotHubError e = IotHubError.of(code, message);
    return HttpResponse.create().withStatus(e.status())
        .addHeader(RawHeader.create(IotHubError.ERROR_CODE_HEADER, code.name()))
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, e.toJsonBody(clock)));
  }
}
