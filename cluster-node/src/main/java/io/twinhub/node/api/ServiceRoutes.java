package io.twinhub.node.api;

import akka.http.javadsl.model.ContentType;
import akka.http.javadsl.model.HttpEntity;
import akka.http.javadsl.model.HttpMethods;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.MediaTypes;
import akka.http.javadsl.model.RequestEntity;
import akka.http.javadsl.model.headers.RawHeader;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.ExceptionHandler;
import akka.http.javadsl.server.MethodRejection;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.RejectionHandler;
import akka.http.javadsl.server.Route;
import akka.http.scaladsl.model.EntityStreamSizeException;
import akka.stream.Materializer;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.node.security.ServiceAuthenticator;
import io.twinhub.twin.auth.AccessRight;
import io.twinhub.twin.auth.Principal;
import io.twinhub.twin.auth.SasToken;
import io.twinhub.twin.domain.Author;
import io.twinhub.twin.domain.ETag;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.Outcome;
import io.twinhub.twin.domain.TwinDelta;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.domain.TwinRule;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;
import io.twinhub.twin.error.RejectionErrors;
import io.twinhub.twin.service.TwinService;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * IoT Hub's service-facing REST API (PROTOCOL.md "REST API"): device and module identities, device
 * and module twins, registry statistics, and the entry of direct methods.
 *
 * <p>Every request goes through the same gate, in this order: the route (unknown path → 404, wrong
 * method → 400 InvalidOperation with {@code Allow}), {@code api-version} (missing or unknown →
 * 400 InvalidProtocolVersion), the SAS token ({@link ServiceAuth}, 401 IotHubUnauthorizedAccess),
 * the ids in the path (IoT Hub's syntax, 400 ArgumentInvalid), and for writes the body
 * ({@code application/json}, at most {@code max-body-size} bytes → 413 before it is read, strict
 * JSON → 400). Only then does a command reach the twin entity, which validates the content and
 * changes all or nothing. Nothing blocks: every step is a {@link CompletionStage}; fan-out calls
 * (lists, bulk) run at most {@code fan-out} at a time.
 *
 * <p>The service SDK's quirks are honoured: PATCH arrives as POST with
 * {@code X-HTTP-Method-Override: PATCH}; {@code Content-Type} comes on bodiless GETs too; If-Match
 * comes quoted or not; a twin fetched and sent back carries {@code properties.desired.$version},
 * which is accepted and ignored (any other {@code $} member is refused).
 */
public final class ServiceRoutes extends AllDirectives {

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final byte[] DOLLAR_VERSION = "$version".getBytes(StandardCharsets.US_ASCII);

  private final TwinService twins;
  private final ServiceAuth auth;
  private final RegistryStatistics statistics;
  private final DeviceListing listing;
  private final DirectMethods methods;
  private final ApiSettings settings;
  private final TwinLimits limits;
  private final ApiResponses responses;
  private final Materializer materializer;
  private final BulkRegistry bulk;
  private final TwinHistoryRoutes history;

  public ServiceRoutes(TwinService twins, ServiceAuth auth, RegistryStatistics statistics, DeviceListing listing,
                       DirectMethods methods, ApiSettings settings, TwinLimits limits, ApiResponses responses,
                       Materializer materializer, TwinHistoryRoutes history) {
    this.twins = twins;
    this.auth = auth;
    this.statistics = statistics;
    this.listing = listing;
    this.methods = methods;
    this.settings = settings;
    this.limits = limits;
    this.responses = responses;
    this.materializer = materializer;
    this.bulk = new BulkRegistry(twins, settings, materializer);
    this.history = history;
  }

  /**
   * Messages queued for a device, shown as {@code cloudToDeviceMessageCount} on its identity
   * ({@code GET /devices/{id}}); set once before the API binds. None set: the identity's stored 0.
   */
  private volatile java.util.function.Function<String, CompletionStage<Integer>> cloudToDeviceCount;

  public void countCloudToDeviceWith(java.util.function.Function<String, CompletionStage<Integer>> count) {
    this.cloudToDeviceCount = count;
  }

  /** The device with its queue depth; when the queue does not answer, the identity as stored. */
  private CompletionStage<TwinReply> withCloudToDeviceCount(String deviceId, CompletionStage<TwinReply> device) {
    var count = cloudToDeviceCount;
    if (count == null) return device;
    return device.thenCompose(r -> !(r instanceof TwinReply.Accepted a) || a.twin() == null ? CompletableFuture.completedFuture(r)
        : count.apply(deviceId).handle((n, failure) -> failure != null ? r
            : new TwinReply.Accepted(a.twin().withIdentity(a.twin().identity().withCloudToDeviceMessageCount(n)), a.moduleIds())));
  }

  /**
   * The whole API, every outcome in IoT Hub's shape. {@code extraRoutes} (other modules' routes on
   * the same listeners) are tried after this API's own resources and share the error handling:
   * routes reject what they do not serve, and only when every route has rejected a request does
   * it get 404 (unknown resource) or 400 InvalidOperation with {@code Allow} (known resource,
   * unsupported method).
   */
  public Route route(List<Route> extraRoutes) {
    List<Route> all = new java.util.ArrayList<>();
    all.add(pathPrefix("devices", this::devices));
    all.add(pathPrefix("twins", this::twins));
    all.add(pathPrefix("statistics", this::statistics));
    all.addAll(extraRoutes);
    return handleExceptions(exceptionHandler(), () ->
        handleRejections(rejectionHandler(), () ->
            withRequestTimeoutResponse(this::timedOut, () ->
                methodOverride(() -> concat(all.get(0), all.subList(1, all.size()).toArray(Route[]::new))))));
  }

  /** The hot twin read outside the route tree, with the same service, gate and answers ({@link TwinReadPath}). */
  TwinReadPath readPath() {
    return new TwinReadPath(twins, auth, settings.apiVersions(), responses, this::timedOut);
  }

  /** The query outside the route tree, with the same gate and answers ({@link QueryPath}). */
  QueryPath queryPath(io.twinhub.query.TwinQueries queries) {
    return new QueryPath(io.twinhub.query.http.QueryRoute.answer(queries), auth, settings.apiVersions(), this::timedOut);
  }

  /** The hot twin PATCH/PUT outside the route tree, with the same service, gate, body parse and answers ({@link TwinWritePath}). */
  TwinWritePath writePath() {
    return new TwinWritePath(twins, auth, settings, responses, materializer, this);
  }

  // ------------------------------------------------------------------ resources

  private Route devices() {
    return concat(
        pathEndOrSingleSlash(() -> concat(
            get(() -> authorized(AccessRight.RegistryRead, this::listDevices)),
            post(() -> authorized(AccessRight.RegistryWrite, () -> jsonBody(body ->
                completeWithFuture(bulk.execute(body).thenApply(this::bulkResponse))))))),
        pathPrefix(PathMatchers.segment(), deviceId -> concat(
            pathEndOrSingleSlash(() -> concat(
                get(() -> authorized(AccessRight.RegistryRead, () -> ids(deviceId, null, () ->
                    reply(withCloudToDeviceCount(deviceId, twins.getTwin(deviceId, null)), this::identityResponse)))),
                put(() -> authorized(AccessRight.RegistryWrite, () -> ids(deviceId, null, () ->
                    putIdentity(deviceId, null)))),
                delete(() -> authorized(AccessRight.RegistryWrite, () -> ids(deviceId, null, () ->
                    ifMatch(etag -> reply(twins.deleteDevice(deviceId, etag), r -> responses.noContent()))))))),
            pathPrefix("modules", () -> concat(
                pathEndOrSingleSlash(() -> get(() -> authorizedForModules(deviceId, null, AccessRight.RegistryRead, () ->
                    ids(deviceId, null, () -> listModules(deviceId))))),
                pathPrefix(PathMatchers.segment(), moduleId -> concat(
                  path("deviceAndModuleInDeviceScope", () -> get(() -> apiVersion(() -> ids(deviceId, moduleId, () ->
                      deviceAndModuleInDeviceScope(deviceId, moduleId))))),
                  pathEndOrSingleSlash(() -> concat(
                    get(() -> authorizedForModules(deviceId, moduleId, AccessRight.RegistryRead, () -> ids(deviceId, moduleId, () ->
                        reply(twins.getTwin(deviceId, moduleId), this::identityResponse)))),
                    put(() -> authorizedForModules(deviceId, moduleId, AccessRight.RegistryWrite, () -> ids(deviceId, moduleId, () ->
                        putIdentity(deviceId, moduleId)))),
                    delete(() -> authorizedForModules(deviceId, moduleId, AccessRight.RegistryWrite, () -> ids(deviceId, moduleId, () ->
                        ifMatch(etag -> reply(twins.deleteModule(deviceId, moduleId, etag),
                            r -> responses.noContent()))))))))))))));
  }

  /**
   * IoT Hub's device-scope lookup for IoT Edge ({@code GET /devices/{edge}/modules/{mid}/
   * deviceAndModuleInDeviceScope?targetDeviceId=&targetModuleId=}): edgeHub, with its module's or
   * its device's token, reads the identity (keys included) of a device behind it — one whose
   * {@code parentScopes} hold the edge device's {@code deviceScope} — or of one of that device's
   * modules, to authenticate it locally. Anything outside its scope is an empty answer, as IoT
   * Hub gives, so edgeHub refuses it.
   */
  private Route deviceAndModuleInDeviceScope(String edgeId, String moduleId) {
    return optionalHeaderValueByName("Authorization", header -> parameterOptional("targetDeviceId", target ->
        parameterOptional("targetModuleId", targetModule -> {
          Route unauthorized = complete(responses.error(IotHubErrorCode.IotHubUnauthorizedAccess,
              "the token is not of IoT Edge device " + edgeId + " or its module " + moduleId));
          if (header.isEmpty()) return unauthorized;
          if (target.isEmpty() || Identity.checkId(target.get(), "targetDeviceId").isPresent()) {
            return complete(responses.error(IotHubErrorCode.ArgumentInvalid, "targetDeviceId is required and must be a device id"));
          }
          String targetModuleId = targetModule.filter(m -> !m.isEmpty()).orElse(null);
          CompletionStage<HttpResponse> answer = twins.getTwin(edgeId, null).thenCompose(edgeReply -> {
            if (!(edgeReply instanceof TwinReply.Accepted e)) return CompletableFuture.completedFuture(null);
            Identity edge = e.twin().identity();
            CompletionStage<Boolean> authentic = auth.isEdgeDeviceToken(header.get(), edge)
                ? CompletableFuture.completedFuture(true)
                : twins.getTwin(edgeId, moduleId).thenApply(m -> m instanceof TwinReply.Accepted a
                    && auth.isEdgeModuleToken(header.get(), edge, a.twin().identity()));
            return authentic.thenCompose(ok -> !ok ? CompletableFuture.completedFuture(null)
                : twins.getTwin(target.get(), null).thenCompose(t -> {
                  ObjectNode out = JsonNodeFactory.instance.objectNode();
                  ArrayNode devices = out.putArray("devices");
                  ArrayNode modules = out.putArray("modules");
                  out.putNull("continuationLink");
                  boolean inScope = t instanceof TwinReply.Accepted a
                      && a.twin().identity().isChildOf(edge.deviceScope());
                  if (!inScope) return CompletableFuture.completedFuture(responses.ok(out));
                  devices.add(RegistryJson.device(((TwinReply.Accepted) t).twin().identity()));
                  if (targetModuleId == null) return CompletableFuture.completedFuture(responses.ok(out));
                  return twins.getTwin(target.get(), targetModuleId).thenApply(m -> {
                    if (m instanceof TwinReply.Accepted a) modules.add(RegistryJson.module(a.twin().identity()));
                    return responses.ok(out);
                  });
                }));
          }).thenApply(r -> r == null ? responses.error(IotHubErrorCode.IotHubUnauthorizedAccess,
              "the token is not of IoT Edge device " + edgeId + " or its module " + moduleId) : r);
          return completeWithFuture(answer);
        })));
  }

  private Route twins() {
    return pathPrefix(PathMatchers.segment(), deviceId -> concat(
        pathEndOrSingleSlash(() -> twin(deviceId, null)),
        pathPrefix("methods", () -> pathEndOrSingleSlash(() -> directMethod(deviceId, null))),
        pathPrefix("history", () -> pathEndOrSingleSlash(() -> twinHistory(deviceId, null))),
        pathPrefix("delta", () -> pathEndOrSingleSlash(() -> twinDelta(deviceId, null))),
        pathPrefix("modules", () -> pathPrefix(PathMatchers.segment(), moduleId -> concat(
            pathEndOrSingleSlash(() -> twin(deviceId, moduleId)),
            pathPrefix("methods", () -> pathEndOrSingleSlash(() -> directMethod(deviceId, moduleId))),
            pathPrefix("history", () -> pathEndOrSingleSlash(() -> twinHistory(deviceId, moduleId))),
            pathPrefix("delta", () -> pathEndOrSingleSlash(() -> twinDelta(deviceId, moduleId))))))));
  }

  /** {@code GET /twins/{id}/delta} (twinhub extension): the desired properties the device has not reported ({@link TwinDelta}). */
  private Route twinDelta(String deviceId, String moduleId) {
    return get(() -> authorized(AccessRight.ServiceConnect, () -> ids(deviceId, moduleId, () ->
        reply(twins.getTwin(deviceId, moduleId), a -> responses.ok(TwinJson.delta(a.twin(), TwinDelta.of(a.twin().state())))))));
  }

  private Route twin(String deviceId, String moduleId) {
    return concat(
        get(() -> authorized(AccessRight.ServiceConnect, () -> ids(deviceId, moduleId, () ->
            parameterOptional("asOfVersion", version -> parameterOptional("asOfTime", time ->
                version.isEmpty() && time.isEmpty()
                    ? reply(twins.getTwin(deviceId, moduleId), this::twinResponse)
                    : completeWithFuture(history.asOf(deviceId, moduleId, version, time))))))),
        patch(() -> authorizedAs(AccessRight.ServiceConnect, policy -> ids(deviceId, moduleId, () ->
            updateTwin(deviceId, moduleId, false, policy)))),
        put(() -> authorizedAs(AccessRight.ServiceConnect, policy -> ids(deviceId, moduleId, () ->
            updateTwin(deviceId, moduleId, true, policy)))));
  }

  /** {@code GET /twins/{id}/history} (twinhub extension): the twin's changes from the journal. */
  private Route twinHistory(String deviceId, String moduleId) {
    return get(() -> authorized(AccessRight.ServiceConnect, () -> ids(deviceId, moduleId, () ->
        parameterOptional("from", from -> parameterOptional("to", to -> parameterOptional("top", top ->
            completeWithFuture(history.history(deviceId, moduleId, from, to, top))))))));
  }

  private Route statistics() {
    return concat(
        pathPrefix("devices", () -> pathEndOrSingleSlash(() ->
            get(() -> authorized(AccessRight.RegistryRead, () -> {
              RegistryStatistics.DeviceCounts c = statistics.deviceCounts();
              ObjectNode out = NODES.objectNode();
              out.put("totalDeviceCount", c.total());
              out.put("enabledDeviceCount", c.enabled());
              out.put("disabledDeviceCount", c.disabled());
              // iot-service-client 2.x reads "enableDeviceCount" (sic); IoT Hub's documented name is
              // the one above. Both, so the Java SDK and everything else see the real number.
              out.put("enableDeviceCount", c.enabled());
              return complete(responses.ok(out));
            })))),
        pathPrefix("service", () -> pathEndOrSingleSlash(() ->
            get(() -> authorized(AccessRight.ServiceConnect, () ->
                complete(responses.ok(NODES.objectNode().put("connectedDeviceCount", statistics.connectedDeviceCount()))))))));
  }

  // ------------------------------------------------------------------ operations

  private Route putIdentity(String deviceId, String moduleId) {
    return jsonObject("", doc -> {
      RegistryJson.Parsed parsed = RegistryJson.parse(doc.toObjectNode(), deviceId, moduleId);
      if (parsed instanceof RegistryJson.Invalid invalid) {
        return complete(responses.error(invalid.error()));
      }
      var spec = ((RegistryJson.Spec) parsed).spec();
      // No If-Match: create (409 when it exists, as IoT Hub). If-Match (* or an etag): update.
      return ifMatch(etag -> reply(etag == null
          ? (moduleId == null ? twins.createDevice(deviceId, spec) : twins.createModule(deviceId, moduleId, spec))
          : (moduleId == null ? twins.updateDevice(deviceId, spec, etag) : twins.updateModule(deviceId, moduleId, spec, etag)),
          this::identityResponse));
    });
  }

  private Route updateTwin(String deviceId, String moduleId, boolean replace, Principal.ServicePolicy policy) {
    return jsonBody(body -> {
      Outcome<TwinUpdate> update = parseTwinBody(body, replace);
      if (update instanceof Outcome.Rejected<TwinUpdate> r) {
        return complete(responses.error(RejectionErrors.toError(r.rejection())));
      }
      TwinUpdate u = ((Outcome.Accepted<TwinUpdate>) update).value();
      return ifMatch(etag -> reply(twins.admitUpdateTwin(deviceId, moduleId, u, etag, Author.service(policy.name())),
          this::twinResponse));
    });
  }

  /**
   * A PATCH or PUT twin body. The service SDK echoes the fetched desired {@code $version} at the
   * root of {@code properties.desired}: a non-negative integer there is dropped before the domain
   * sees the body; everything else starting with {@code $} is the domain's READ_ONLY_MEMBER.
   */
  Outcome<TwinUpdate> parseTwinBody(byte[] body, boolean replace) {
    byte[] effective = body;
    if (contains(body, DOLLAR_VERSION)) {
      Outcome<JsonDoc> doc = TwinJson.parseObject(body, "", limits);
      if (doc instanceof Outcome.Rejected<JsonDoc> r) {
        return r.cast();
      }
      ObjectNode root = ((Outcome.Accepted<JsonDoc>) doc).value().toObjectNode();
      JsonNode desired = root.path("properties").path("desired");
      if (desired.isObject() && desired.has("$version")) {
        JsonNode v = desired.get("$version");
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
          return Outcome.rejected(TwinRule.READ_ONLY_MEMBER, "properties.desired.$version",
              "'$version' is maintained by the hub; only the value a fetched twin carries (an integer) may be echoed");
        }
        ((ObjectNode) desired).remove("$version");
        effective = TwinJson.toBytes(root);
      }
    }
    return replace ? TwinJson.parseTwinReplacement(effective, limits) : TwinJson.parseTwinPatch(effective, limits);
  }

  private Route listDevices() {
    return parameterOptional("top", top -> {
      int n = settings.maxListTop();
      if (top.isPresent()) {
        try {
          long t = Long.parseLong(top.get().strip());
          // IoT Hub: "any value outside the range of 1-1000 is considered to be 1000".
          n = t >= 1 && t <= settings.maxListTop() ? (int) t : settings.maxListTop();
        } catch (NumberFormatException e) {
          return complete(responses.error(IotHubErrorCode.ArgumentInvalid,
              "'top' must be an integer, got '" + RegistryJson.clip(top.get()) + "'"));
        }
      }
      List<String> ids = listing.firstDeviceIds(n);
      return completeWithFuture(fetchIdentities(ids, id -> twins.getTwin(id, null), IotHubErrorCode.DeviceNotFound));
    });
  }

  private Route listModules(String deviceId) {
    return replyAsync(twins.getTwin(deviceId, null), accepted ->
        fetchIdentities(accepted.moduleIds(), mid -> twins.getTwin(deviceId, mid), IotHubErrorCode.ModuleNotFound));
  }

  /**
   * Reads each identity from its entity, {@code fan-out} at a time, in order; one that vanished in
   * between ({@code gone}) is left out, any other rejection (503) answers the whole request.
   */
  private CompletionStage<HttpResponse> fetchIdentities(List<String> ids, Function<String, CompletionStage<TwinReply>> get,
                                                        IotHubErrorCode gone) {
    return Source.from(ids)
        .mapAsync(settings.fanOut(), get::apply)
        .runWith(Sink.seq(), materializer)
        .thenApply(replies -> {
          ArrayNode out = NODES.arrayNode();
          for (TwinReply r : replies) {
            if (r instanceof TwinReply.Accepted a) {
              out.add(RegistryJson.identity(a.twin().identity()));
            } else if (((TwinReply.Rejected) r).error().code() != gone) {
              return responses.error(((TwinReply.Rejected) r).error());
            }
          }
          return responses.ok(out);
        });
  }

  private Route directMethod(String deviceId, String moduleId) {
    return post(() -> authorized(AccessRight.ServiceConnect, () -> ids(deviceId, moduleId, () ->
            jsonObject("", doc -> {
              DirectMethodRequests.Parsed parsed = DirectMethodRequests.parse(doc.toObjectNode(), deviceId, moduleId);
              if (parsed instanceof DirectMethodRequests.Invalid invalid) {
                return complete(responses.error(invalid.error()));
              }
              DirectMethods.Request request = ((DirectMethodRequests.Valid) parsed).request();
              // A method may take up to its timeouts (300 s each): the request waits that long, not
              // the API's request-timeout, and the gateway answers 504/404 itself when they pass. But
              // never past the connection's idle timeout, which would cut it without an answer.
              java.time.Duration wait = request.responseTimeout().plus(request.connectTimeout()).plusSeconds(5);
              long waitMillis = Math.min(Math.max(wait.toMillis(), settings.requestTimeout().toMillis()),
                  Math.max(settings.requestTimeout().toMillis(), settings.idleTimeout().minusSeconds(5).toMillis()));
              return withRequestTimeout(scala.concurrent.duration.FiniteDuration.apply(waitMillis, java.util.concurrent.TimeUnit.MILLISECONDS),
                  this::timedOut, () -> completeWithFuture(methods.invoke(request).thenApply(result ->
                  result instanceof DirectMethods.Answered a
                      ? responses.ok(NODES.objectNode().put("status", a.status()).set("payload", a.payload()))
                      : responses.error(((DirectMethods.Failed) result).error()))));
            }))));
  }

  // ------------------------------------------------------------------ replies

  private HttpResponse identityResponse(TwinReply.Accepted a) {
    Identity id = a.twin().identity();
    return responses.ok(RegistryJson.identity(id), id.etag());
  }

  private HttpResponse twinResponse(TwinReply.Accepted a) {
    return responses.twin(a.twin());
  }

  private HttpResponse bulkResponse(BulkRegistry.Result result) {
    if (result instanceof BulkRegistry.Refused r) {
      return responses.error(r.error());
    }
    BulkRegistry.Done done = (BulkRegistry.Done) result;
    if (done.succeeded()) {
      return responses.ok(done.body());
    }
    return responses.ok(done.body()).withStatus(400)
        .addHeader(RawHeader.create(IotHubError.ERROR_CODE_HEADER, IotHubErrorCode.BulkRegistryOperationFailure.headerValue()));
  }

  /** Completes with {@code onAccepted} of an accepted reply, or the rejection's error. */
  private Route reply(CompletionStage<TwinReply> reply, Function<TwinReply.Accepted, HttpResponse> onAccepted) {
    return completeWithFuture(reply.thenApply(r -> responses.reply(r, onAccepted)));
  }

  private Route replyAsync(CompletionStage<TwinReply> reply,
                           Function<TwinReply.Accepted, CompletionStage<HttpResponse>> onAccepted) {
    return completeWithFuture(reply.thenCompose(r -> r instanceof TwinReply.Accepted a
        ? onAccepted.apply(a)
        : CompletableFuture.completedFuture(responses.error(((TwinReply.Rejected) r).error()))));
  }

  // ------------------------------------------------------------------ the gate

  /**
   * api-version, then the SAS token with the right {@code required}. Public so that routes of
   * other modules (query, jobs) can sit behind the same gate.
   */
  public Route authorized(AccessRight required, Supplier<Route> inner) {
    return authorizedAs(required, policy -> inner.get());
  }

  /** {@link #authorized}, handing the token's policy to {@code inner} (writes journal it as their author). */
  public Route authorizedAs(AccessRight required, Function<Principal.ServicePolicy, Route> inner) {
    return apiVersion(() -> optionalHeaderValueByName("Authorization", header -> {
      ServiceAuthenticator.Result r = auth.authenticate(header.orElse(null), required);
      if (r instanceof ServiceAuthenticator.Denied d) {
        return complete(responses.error(d.error()));
      }
      return inner.apply(((ServiceAuthenticator.Authorized) r).principal());
    }));
  }

  /**
   * The module-identity routes: a service policy as everywhere, or the IoT Edge device itself
   * ({@link ServiceAuth#isEdgeDeviceToken}), as IoT Hub admits IoT Edge's identity service: it
   * may read its modules, and create and delete those it deploys, not the system modules
   * ({@code $edgeAgent}, {@code $edgeHub}), which are the hub's.
   */
  private Route authorizedForModules(String deviceId, String moduleId, AccessRight required, Supplier<Route> inner) {
    return apiVersion(() -> optionalHeaderValueByName("Authorization", header -> {
      ServiceAuthenticator.Result r = auth.authenticate(header.orElse(null), required);
      if (r.isAuthorized()) {
        return inner.get();
      }
      Route denied = complete(responses.error(((ServiceAuthenticator.Denied) r).error()));
      boolean deviceMayDoIt = required != AccessRight.RegistryWrite || (moduleId != null && !moduleId.startsWith("$"));
      boolean deviceToken = header.flatMap(SasToken::tryParse).map(t -> t.keyName().isEmpty()).orElse(false);
      if (!deviceMayDoIt || !deviceToken || Identity.checkId(deviceId, "deviceId").isPresent()) {
        return denied;
      }
      return onSuccess(twins.getTwin(deviceId, null), reply ->
          reply instanceof TwinReply.Accepted a && auth.isEdgeDeviceToken(header.get(), a.twin().identity())
              ? inner.get() : denied);
    }));
  }

  /**
   * The api-version parameter: required, one of the supported versions. The plain query every
   * client sends ({@code api-version=<supported>} alone) is read from the raw query; anything else
   * goes through {@code parameterList}, which parses the query and unmarshals each value through
   * futures, ≈ 6 % of a PATCH's default-dispatcher CPU (docs/BENCHMARKS.md, session 11).
   */
  private Route apiVersion(Supplier<Route> inner) {
    return extractUri(uri -> {
      String plain = TwinReadPath.apiVersion(uri.rawQueryString().orElse(null));
      return plain != null && settings.apiVersions().contains(plain) ? inner.get() : apiVersionParameter(inner);
    });
  }

  private Route apiVersionParameter(Supplier<Route> inner) {
    return parameterList("api-version", versions -> {
      if (versions.isEmpty()) {
        return complete(responses.error(IotHubErrorCode.InvalidProtocolVersion,
            "the query parameter api-version is required, e.g. api-version=2021-04-12"));
      }
      if (versions.size() > 1 || !settings.apiVersions().contains(versions.get(0))) {
        return complete(responses.error(IotHubErrorCode.InvalidProtocolVersion,
            "api-version '" + RegistryJson.clip(String.join(",", versions)) + "' is not supported; supported: "
                + settings.apiVersions().stream().sorted().toList()));
      }
      return inner.get();
    });
  }

  /** IoT Hub's id syntax for the ids in the path: anything else never reaches an entity. */
  private Route ids(String deviceId, String moduleId, Supplier<Route> inner) {
    Optional<IotHubError> bad = Identity.checkId(deviceId, "deviceId")
        .or(() -> moduleId == null ? Optional.empty() : Identity.checkId(moduleId, "moduleId"))
        .map(RejectionErrors::toError);
    return bad.isPresent() ? complete(responses.error(bad.get())) : inner.get();
  }

  /**
   * The If-Match header in the form the entities compare ({@link ETag#parseIfMatch}: quoted or
   * not, {@code *} or {@code "*"}), or null when absent; a weak or malformed one is 400.
   */
  private Route ifMatch(Function<String, Route> inner) {
    return optionalHeaderValueByName("If-Match", v -> {
      Outcome<Optional<String>> parsed = ETag.parseIfMatch(v.orElse(null));
      if (parsed instanceof Outcome.Rejected<Optional<String>> r) {
        return complete(responses.error(RejectionErrors.toError(r.rejection())));
      }
      return inner.apply(((Outcome.Accepted<Optional<String>>) parsed).value().orElse(null));
    });
  }

  /**
   * The request body as bytes: {@code application/json} (always UTF-8), at most {@code
   * max-body-size}. A declared length over the limit is refused before anything is read; a
   * chunked body is cut off at the limit.
   */
  private Route jsonBody(Function<byte[], Route> inner) {
    return extractRequestEntity(entity -> {
      OptionalLong length = entity.getContentLengthOption();
      if (length.isPresent() && length.getAsLong() > settings.maxBodyBytes()) {
        return complete(tooLarge());
      }
      Optional<String> contentProblem = checkContentType(entity);
      if (contentProblem.isPresent()) {
        return complete(responses.error(IotHubErrorCode.IotHubFormatError, contentProblem.get()));
      }
      CompletionStage<HttpEntity.Strict> strict = entity.withSizeLimit(settings.maxBodyBytes())
          .toStrict(settings.requestTimeout().toMillis(), materializer);
      return onComplete(strict, t -> t.isFailure() ? complete(unreadableBody(t.failed().get()))
          : inner.apply(t.get().getData().toArray()));
    });
  }

  /** A request body whose read failed: 413 when it was cut off at {@code max-body-size}, else 400. */
  HttpResponse unreadableBody(Throwable e) {
    return isTooLarge(e) ? tooLarge() : responses.error(IotHubErrorCode.BadFormat, "the request body could not be read");
  }

  /** The body as one JSON object (strict: no duplicate keys, no trailing data, bounded nesting). */
  private Route jsonObject(String path, Function<JsonDoc, Route> inner) {
    return jsonBody(body -> {
      Outcome<JsonDoc> doc = TwinJson.parseObject(body, path, limits);
      if (doc instanceof Outcome.Rejected<JsonDoc> r) {
        return complete(responses.error(RejectionErrors.toError(r.rejection())));
      }
      return inner.apply(((Outcome.Accepted<JsonDoc>) doc).value());
    });
  }

  static Optional<String> checkContentType(RequestEntity entity) {
    ContentType ct = entity.getContentType();
    // JSON is UTF-8 by definition (RFC 8259: a charset parameter has no effect); bytes that are
    // not UTF-8 fail the strict parse.
    return ct.mediaType().equals(MediaTypes.APPLICATION_JSON)
        ? Optional.empty()
        : Optional.of("Content-Type must be application/json, got '" + ct + "'");
  }

  /** {@code X-HTTP-Method-Override: PATCH} on a POST is a PATCH (the service SDK sends PATCH so). */
  private Route methodOverride(Supplier<Route> inner) {
    return extractRequest(request -> {
      Optional<String> override = request.getHeader("X-HTTP-Method-Override").map(h -> h.value().strip());
      if (override.isEmpty()) {
        return inner.get();
      }
      if (request.method() != HttpMethods.POST || !override.get().equalsIgnoreCase("PATCH")) {
        return complete(responses.error(IotHubErrorCode.InvalidOperation,
            "X-HTTP-Method-Override is supported on POST with the value PATCH only"));
      }
      return mapRequest(r -> r.withMethod(HttpMethods.PATCH), inner);
    });
  }

  private Route unknownResource() {
    return extractUri(uri -> complete(responses.error(IotHubErrorCode.NotFound,
        "no such resource: " + RegistryJson.clip(uri.path()))));
  }

  // ------------------------------------------------------------------ failures

  private HttpResponse tooLarge() {
    return responses.error(IotHubErrorCode.RequestEntityTooLarge,
        "the request body is larger than " + settings.maxBodyBytes() + " bytes");
  }

  private static boolean isTooLarge(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof EntityStreamSizeException) return true;
    }
    return false;
  }

  /** What a request gets that is not answered within the request timeout. */
  HttpResponse timedOut(HttpRequest request) {
    return responses.error(IotHubErrorCode.ServiceUnavailable,
        "the request was not answered within " + settings.requestTimeout().toSeconds() + " s; retry");
  }

  private ExceptionHandler exceptionHandler() {
    return ExceptionHandler.newBuilder()
        .match(EntityStreamSizeException.class, e -> complete(tooLarge()))
        .matchAny(e -> {
          if (isTooLarge(e)) {
            return complete(tooLarge());
          }
          return complete(responses.unexpected(e));
        })
        .build();
  }

  /**
   * What no route served: a known resource with another method is 400 InvalidOperation naming the
   * methods it supports (also in {@code Allow}); an unknown resource is 404; any other rejection
   * (from other modules' routes) is a 400.
   */
  private RejectionHandler rejectionHandler() {
    return RejectionHandler.newBuilder()
        .handleAll(MethodRejection.class, rejections -> {
          String allowed = rejections.stream().map(r -> r.supported().name()).distinct()
              .collect(java.util.stream.Collectors.joining(", "));
          return extractMethod(m -> complete(responses.error(IotHubErrorCode.InvalidOperation.error(
                  m.name() + " is not supported on this resource; use " + allowed),
              List.of(RawHeader.create("Allow", allowed)))));
        })
        .handleNotFound(unknownResource())
        .handleAll(akka.http.javadsl.server.Rejection.class, rejections ->
            complete(responses.error(IotHubErrorCode.BadFormat, "the request cannot be handled: " + rejections.get(0))))
        .build();
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) continue outer;
      }
      return true;
    }
    return false;
  }
}
