package io.twinhub.node.api;

import akka.actor.typed.ActorSystem;
import akka.http.javadsl.ConnectionContext;
import akka.http.javadsl.Http;
import akka.http.javadsl.ServerBinding;
import akka.http.javadsl.ServerBuilder;
import akka.http.javadsl.server.Route;
import akka.http.javadsl.settings.ParserSettings;
import akka.http.javadsl.settings.ServerSettings;
import akka.stream.Materializer;
import io.twinhub.node.security.ServiceAuthenticator;
import io.twinhub.twin.auth.AccessRight;
import io.twinhub.twin.auth.PolicyLookup;
import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import java.util.function.Function;
import io.twinhub.mqtt.tls.TlsMaterial;
import io.twinhub.twin.auth.SasVerifier;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.service.TwinService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * The REST API of a node: the registry view it answers statistics and lists from, the routes, and
 * the listeners, HTTPS always and plain HTTP when configured. Created first ({@link #create}), so
 * that routes of other modules can use its {@link #authorizer}, then bound ({@link #bind}) with
 * those routes beside its own. Unbinds in CoordinatedShutdown's service-unbind phase, letting
 * requests in flight finish (up to the request timeout).
 */
public final class ApiServer {

  private static final Logger log = LoggerFactory.getLogger(ApiServer.class);

  private final ActorSystem<?> system;
  private final ApiSettings settings;
  private final TlsMaterial tls;
  private final ServiceAuth auth;
  private final ApiResponses responses;
  private final RegistryView view;
  private final ServiceRoutes routes;
  private volatile ServerBinding https;
  private volatile Optional<ServerBinding> plain = Optional.empty();

  private ApiServer(ActorSystem<?> system, ApiSettings settings, TlsMaterial tls, ServiceAuth auth,
                    ApiResponses responses, RegistryView view, ServiceRoutes routes) {
    this.system = system;
    this.settings = settings;
    this.tls = tls;
    this.auth = auth;
    this.responses = responses;
    this.view = view;
    this.routes = routes;
  }

  /**
   * Prepares the routes; nothing listens yet.
   *
   * @param view     the registry counts and device list (closed with the server)
   * @param hostName the name clients use ({@code twinhub.host-name}); tokens must be scoped to it or
   *                 to one of {@link ApiSettings#extraHostNames()}, with or without the port
   */
  public static ApiServer create(ActorSystem<?> system, TwinService twins, TwinLimits limits, ApiSettings settings,
                                 PolicyLookup policies, TlsMaterial tls, String hostName, DirectMethods methods,
                                 RegistryView view) {
    Set<String> names = new LinkedHashSet<>();
    names.add(hostName);
    names.addAll(settings.extraHostNames());
    Clock clock = Clock.systemUTC();
    ServiceAuth auth = new ServiceAuth(new SasVerifier(names, clock), policies, clock, settings.sasCacheSize());
    Materializer materializer = Materializer.matFromSystem(system);
    ApiResponses responses = new ApiResponses(clock, settings.retryAfter());
    TwinHistoryRoutes history = new TwinHistoryRoutes(new io.twinhub.projections.journal.TwinEventLog(system,
        system.settings().config().getString("twinhub.streams.read-journal")), responses, materializer);
    ServiceRoutes routes = new ServiceRoutes(twins, auth, view, view, methods, settings, limits, responses, materializer,
        history);
    return new ApiServer(system, settings, tls, auth, responses, view, routes);
  }

  /**
   * A check for routes of other modules (change streams, query): empty when the request's SAS
   * token is a service token of this hub granting {@code required}, else the 401 to answer.
   */
  public Function<HttpRequest, Optional<HttpResponse>> authorizer(AccessRight required) {
    return request -> {
      ServiceAuthenticator.Result r = auth.authenticate(
          request.getHeader("Authorization").map(HttpHeader::value).orElse(null), required);
      return r instanceof ServiceAuthenticator.Denied d ? Optional.of(responses.error(d.error())) : Optional.empty();
    };
  }

  /**
   * The API's gate for routes of other modules (jobs, configurations): {@code api-version}, then a SAS token
   * granting {@code required}, each refused with IoT Hub's error; then {@code inner}.
   */
  public Route authorized(AccessRight required, java.util.function.Supplier<Route> inner) {
    return routes.authorized(required, inner);
  }

  /** Where {@code GET /devices/{id}} reads {@code cloudToDeviceMessageCount}: the device's queue depth. */
  public void countCloudToDeviceWith(Function<String, CompletionStage<Integer>> count) {
    routes.countCloudToDeviceWith(count);
  }

  /** IoT Hub-shaped responses (errors, JSON bodies) for routes of other modules. */
  public ApiResponses responses() {
    return responses;
  }

  public ApiSettings settings() {
    return settings;
  }

  /**
   * Binds HTTPS (and plain HTTP when configured) on {@code bindInterface}, serving this API and
   * {@code extraRoutes} (tried first, before the API answers 404 for an unknown path).
   */
  public void bind(String bindInterface, List<Route> extraRoutes, Duration bindTimeout) throws Exception {
    akka.japi.function.Function<HttpRequest, CompletionStage<HttpResponse>> route = handler(extraRoutes);
    ServerSettings serverSettings = serverSettings(system, settings);
    try {
      https = bind(Http.get(system).newServerAt(bindInterface, settings.httpsPort())
          .enableHttps(ConnectionContext.httpsServer(tls.serverSslContext())), serverSettings, route, bindTimeout, "HTTPS");
      if (settings.plainPort().isPresent()) {
        plain = Optional.of(bind(Http.get(system).newServerAt(bindInterface, settings.plainPort().getAsInt()),
            serverSettings, route, bindTimeout, "plain HTTP"));
      }
    } catch (Exception e) {
      stop();
      throw e;
    }
    Duration drain = settings.requestTimeout();
    https.addToCoordinatedShutdown(drain, system);
    plain.ifPresent(b -> b.addToCoordinatedShutdown(drain, system));
    log.info("REST API listening on https://{}{}", address(https), plain.map(b -> " and http://" + address(b)).orElse(""));
  }

  /**
   * Every request: the plain twin read and write straight to the entity ({@link TwinReadPath},
   * {@link TwinWritePath}), everything else through the route tree; all timed.
   */
  private akka.japi.function.Function<HttpRequest, CompletionStage<HttpResponse>> handler(List<Route> extraRoutes) {
    akka.japi.function.Function<HttpRequest, CompletionStage<HttpResponse>> tree = routes.route(extraRoutes).handler(system);
    TwinReadPath read = routes.readPath();
    TwinWritePath write = routes.writePath();
    QueryPath query = queries == null ? null : routes.queryPath(queries);
    return io.twinhub.node.metrics.HttpMetrics.timed(request -> {
      Optional<CompletionStage<HttpResponse>> answer = request.method() == akka.http.javadsl.model.HttpMethods.GET
          ? read.serve(request) : Optional.empty();
      if (answer.isEmpty() && query != null) answer = query.serve(request);
      if (answer.isEmpty() && request.method() != akka.http.javadsl.model.HttpMethods.GET) answer = write.serve(request, tree);
      return answer.isPresent() ? answer.get() : tree.apply(request);
    });
  }

  /** Set before {@link #bind} on nodes with the query role: what the query path answers with. */
  private volatile io.twinhub.query.TwinQueries queries;

  /**
   * Answers plain {@code POST /devices/query} requests from {@code queries} without the route tree
   * ({@link QueryPath}); the query route among the bound routes must answer from the same. Call before {@link #bind}.
   */
  public void answerQueriesWith(io.twinhub.query.TwinQueries queries) {
    this.queries = queries;
  }

  private static ServerBinding bind(ServerBuilder builder, ServerSettings settings,
                                    akka.japi.function.Function<HttpRequest, CompletionStage<HttpResponse>> route, Duration timeout,
                                    String what) throws Exception {
    try {
      return builder.withSettings(settings).bind(route).toCompletableFuture()
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException("cannot bind the " + what + " listener: " + e.getCause().getMessage(), e.getCause());
    }
  }

  /**
   * The node's Akka HTTP server settings with the API's bounds: connection count (with one request
   * in flight per connection, the most work the API accepts; beyond it TCP back-pressures), body
   * size, request timeout, and IoT Hub-shaped answers for unparseable requests.
   */
  static ServerSettings serverSettings(ActorSystem<?> system, ApiSettings api) {
    ServerSettings base = ServerSettings.create(system.settings().config());
    ParserSettings parser = base.getParserSettings()
        .withMaxContentLength(api.maxBodyBytes())
        // The service SDK sends If-Match unquoted, which Akka would log as an illegal header each time.
        .withIllegalHeaderWarnings(false);
    return base
        .withMaxConnections(api.maxConnections())
        .withPipeliningLimit(1)
        .withParserSettings(parser)
        .withTimeouts(base.getTimeouts().withRequestTimeout(
            scala.concurrent.duration.Duration.fromNanos(api.requestTimeout().toNanos())))
        .withParsingErrorHandler(IotHubParsingErrorHandler.class.getName());
  }

  private static String address(ServerBinding b) {
    InetSocketAddress a = b.localAddress();
    return a.getHostString() + ":" + a.getPort();
  }

  /** The bound HTTPS port (useful when configured as 0). */
  public int httpsPort() {
    return https.localAddress().getPort();
  }

  public Optional<Integer> plainPort() {
    return plain.map(b -> b.localAddress().getPort());
  }

  public TlsMaterial tls() {
    return tls;
  }

  /** Closes the listeners and the view (CoordinatedShutdown unbinds the same on node stop). */
  public void stop() {
    List<ServerBinding> all = new ArrayList<>();
    if (https != null) all.add(https);
    plain.ifPresent(all::add);
    all.forEach(ServerBinding::unbind);
    view.close();
  }
}
