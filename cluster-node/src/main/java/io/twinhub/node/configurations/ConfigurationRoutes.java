package io.twinhub.node.configurations;

import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import akka.http.javadsl.unmarshalling.Unmarshaller;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.node.api.ApiResponses;
import io.twinhub.twin.auth.AccessRight;
import io.twinhub.twin.configuration.Configuration;
import io.twinhub.twin.configuration.ConfigurationJson;
import io.twinhub.twin.configuration.ConfigurationPaths;
import io.twinhub.twin.configuration.ConfigurationStoreEntity;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.Outcome;
import io.twinhub.twin.domain.Twin;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.error.IotHubErrorCode;
import io.twinhub.twin.error.RejectionErrors;
import io.twinhub.twin.service.TwinService;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * IoT Hub's configuration API (api-version 2021-04-12): {@code PUT/GET/DELETE /configurations/{id}},
 * {@code GET /configurations?top=}, {@code POST /configurations/testQueries} and
 * {@code POST /devices/{id}/applyConfigurationContent}. Bodies are checked completely before
 * anything is stored ({@link ConfigurationJson}, {@link TargetCondition}); the store decides
 * create/update/delete with IoT Hub's etag rules; metrics come from the applier's last count.
 */
public final class ConfigurationRoutes extends AllDirectives {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  /** The API's gate (api-version, SAS token with a right) around a route. */
  public interface Gate extends BiFunction<AccessRight, Supplier<Route>, Route> {}

  private final ConfigurationService store;
  private final Function<String, CompletionStage<ConfigurationJson.Metrics>> metrics;
  private final TwinService twins;
  private final TwinLimits limits;
  private final ApiResponses responses;
  private final Gate gate;

  public ConfigurationRoutes(ConfigurationService store, Function<String, CompletionStage<ConfigurationJson.Metrics>> metrics,
                             TwinService twins, TwinLimits limits, ApiResponses responses, Gate gate) {
    this.store = store;
    this.metrics = metrics;
    this.twins = twins;
    this.limits = limits;
    this.responses = responses;
    this.gate = gate;
  }

  public Route route() {
    return concat(
        pathPrefix("configurations", () -> concat(
            pathEnd(() -> get(() -> gate.apply(AccessRight.RegistryRead, this::list))),
            path("testQueries", () -> post(() -> gate.apply(AccessRight.RegistryRead, this::testQueries))),
            path(PathMatchers.segment(), id -> concat(
                get(() -> gate.apply(AccessRight.RegistryRead, () -> get(id))),
                put(() -> gate.apply(AccessRight.RegistryWrite, () -> put(id))),
                delete(() -> gate.apply(AccessRight.RegistryWrite, () -> delete(id))))))),
        pathPrefix("devices", () -> path(PathMatchers.segment().slash("applyConfigurationContent"), deviceId ->
            post(() -> gate.apply(AccessRight.RegistryWrite, () -> applyContent(deviceId))))));
  }

  // ------------------------------------------------------------------ configurations

  private Route put(String id) {
    return json(body -> {
      ConfigurationJson.Parsed parsed = ConfigurationJson.parse(body, id, limits);
      if (parsed instanceof ConfigurationJson.Invalid invalid) return complete(responses.error(invalid.error()));
      ConfigurationJson.Spec spec = ((ConfigurationJson.Valid) parsed).spec();
      Optional<String> problem = queryProblem(spec);
      if (problem.isPresent()) return complete(responses.error(IotHubErrorCode.ArgumentInvalid, problem.get()));
      // No If-Match: create (409 when it exists). If-Match (* or an etag): update, as the SDK's replace does.
      return optionalHeaderValueByName("If-Match", ifMatch -> {
        String etag = ifMatch.map(String::strip).filter(s -> !s.isEmpty()).orElse(null);
        return completeWithFuture((etag == null ? store.create(spec) : store.update(spec, etag)).thenCompose(this::withMetrics));
      });
    });
  }

  /** Syntax of the target condition and the custom metric queries. */
  private static Optional<String> queryProblem(ConfigurationJson.Spec spec) {
    Configuration.Kind kind = spec.content().isEmpty()
        ? (spec.targetCondition().toLowerCase(java.util.Locale.ROOT).contains("devices.modules")
            ? Configuration.Kind.MODULE : Configuration.Kind.DEVICE)
        : kindOf(spec.content());
    Optional<String> p = TargetCondition.check(spec.targetCondition(), kind);
    for (Map.Entry<String, String> q : spec.metricQueries().entrySet()) {
      if (p.isPresent()) break;
      p = TargetCondition.checkMetricQuery(q.getKey(), q.getValue());
    }
    return p;
  }

  private static Configuration.Kind kindOf(Configuration.Content content) {
    return probe("kind", content, "").kind();
  }

  private Route get(String id) {
    return completeWithFuture(store.get(id).thenCompose(this::withMetrics));
  }

  private Route delete(String id) {
    return optionalHeaderValueByName("If-Match", ifMatch -> completeWithFuture(
        store.delete(id, ifMatch.map(String::strip).filter(s -> !s.isEmpty()).orElse("*")).thenApply(r ->
            r instanceof ConfigurationStoreEntity.Rejected rej ? responses.error(rej.error()) : responses.noContent())));
  }

  private Route list() {
    return parameterOptional("top", top -> {
      int n = Integer.MAX_VALUE;
      if (top.isPresent()) {
        try {
          n = Integer.parseInt(top.get().strip());
        } catch (NumberFormatException e) {
          n = -1;
        }
        if (n < 1) {
          return complete(responses.error(IotHubErrorCode.ArgumentInvalid, "'top' must be a positive integer"));
        }
      }
      int max = n;
      return completeWithFuture(store.list().thenCompose(all -> {
        List<CompletableFuture<ObjectNode>> rendered = new ArrayList<>();
        for (Configuration c : all.subList(0, Math.min(max, all.size()))) {
          rendered.add(metrics.apply(c.id()).thenApply(m -> ConfigurationJson.render(c, m)).toCompletableFuture());
        }
        return CompletableFuture.allOf(rendered.toArray(CompletableFuture[]::new)).thenApply(v -> {
          ArrayNode out = NODES.arrayNode();
          rendered.forEach(f -> out.add(f.join()));
          return responses.ok(out);
        });
      }).exceptionally(e -> responses.error(IotHubErrorCode.ServiceUnavailable,
          "the configuration store did not answer; retry")));
    });
  }

  /**
   * IoT Hub's {@code testQueries}: checks a target condition and custom metric queries without
   * storing anything; every problem is in the answer (200), none is an error.
   */
  private Route testQueries() {
    return json(body -> {
      ObjectNode out = NODES.objectNode();
      JsonNode condition = body.path("targetCondition");
      String text = condition.isTextual() ? condition.textValue() : "";
      Configuration.Kind kind = text.toLowerCase(java.util.Locale.ROOT).contains("devices.modules")
          ? Configuration.Kind.MODULE : Configuration.Kind.DEVICE;
      out.put("targetConditionError", condition.isMissingNode() || condition.isNull() || condition.isTextual()
          ? TargetCondition.check(text, kind).orElse("") : "targetCondition must be a string");
      ObjectNode errors = out.putObject("customMetricQueryErrors");
      JsonNode queries = body.path("customMetricQueries");
      if (queries.isObject()) {
        queries.fields().forEachRemaining(q -> errors.put(q.getKey(), q.getValue().isTextual()
            ? TargetCondition.checkMetricQuery(q.getKey(), q.getValue().textValue()).orElse("")
            : "the query must be a string"));
      }
      return complete(responses.ok(out));
    });
  }

  private CompletionStage<HttpResponse> withMetrics(ConfigurationStoreEntity.Reply reply) {
    if (reply instanceof ConfigurationStoreEntity.Rejected r) return CompletableFuture.completedFuture(responses.error(r.error()));
    Configuration c = ((ConfigurationStoreEntity.Done) reply).configuration();
    return metrics.apply(c.id()).thenApply(m -> responses.ok(ConfigurationJson.render(c, m), c.etag()));
  }

  // ------------------------------------------------------------------ applyConfigurationContent

  /**
   * Sets the content on one device now, without a configuration: {@code deviceContent} is patched
   * into the device twin's desired properties, {@code modulesContent} replaces the desired
   * properties of the device's modules it names (an IoT Edge device's {@code $edgeAgent},
   * {@code $edgeHub} and those of its modules that exist).
   */
  private Route applyContent(String deviceId) {
    return json(body -> {
      ConfigurationJson.Parsed parsed = ConfigurationJson.parseContent(body, limits);
      if (parsed instanceof ConfigurationJson.Invalid invalid) return complete(responses.error(invalid.error()));
      Configuration.Content content = ((ConfigurationJson.Valid) parsed).spec().content();
      if (!content.moduleContent().isEmpty()) {
        return complete(responses.error(IotHubErrorCode.ArgumentInvalid,
            "moduleContent cannot be applied to a device; use deviceContent or modulesContent"));
      }
      return completeWithFuture(twins.getTwin(deviceId, null).thenCompose(reply -> {
        if (reply instanceof TwinReply.Rejected r) return CompletableFuture.completedFuture(responses.error(r.error()));
        TwinReply.Accepted device = (TwinReply.Accepted) reply;
        if (!content.modulesContent().isEmpty() && !device.twin().identity().iotEdge()) {
          return CompletableFuture.completedFuture(responses.error(IotHubErrorCode.ArgumentInvalid,
              "device " + deviceId + " is not an IoT Edge device (capabilities.iotEdge is false); modulesContent needs one"));
        }
        return applyToTwins(deviceId, device, content);
      }));
    });
  }

  private CompletionStage<HttpResponse> applyToTwins(String deviceId, TwinReply.Accepted device, Configuration.Content content) {
    List<CompletionStage<TwinReply>> writes = new ArrayList<>();
    if (!content.deviceContent().isEmpty()) {
      writes.add(writeContent(deviceId, null, device.twin(), List.of(probe(deviceId, content, "")), null));
    }
    ObjectNode modules = content.modulesContent().toObjectNode();
    modules.fields().forEachRemaining(m -> {
      if (!device.moduleIds().contains(m.getKey())) return; // created later by the edge runtime
      ObjectNode desired = NODES.objectNode();
      m.getValue().fields().forEachRemaining(e -> ConfigurationPaths.desiredPath(e.getKey())
          .ifPresent(path -> ConfigurationPaths.set(desired, path, e.getValue())));
      writes.add(twins.getTwin(deviceId, m.getKey()).thenCompose(r -> r instanceof TwinReply.Accepted a
          ? writeContent(deviceId, m.getKey(), a.twin(), List.of(), desired)
          : CompletableFuture.completedFuture(r)));
    });
    return CompletableFuture.allOf(writes.stream().map(CompletionStage::toCompletableFuture).toArray(CompletableFuture[]::new))
        .thenApply(v -> {
          for (CompletionStage<TwinReply> w : writes) {
            TwinReply r = w.toCompletableFuture().join();
            if (r instanceof TwinReply.Rejected rej) return responses.error(rej.error());
          }
          return responses.noContent();
        });
  }

  private CompletionStage<TwinReply> writeContent(String deviceId, String moduleId, Twin twin, List<Configuration> adm,
                                                  ObjectNode edge) {
    return ConfigurationApplier.contentWrite(twin.state().desired().values().toObjectNode(), adm, edge)
        // Content applied without a configuration: journaled as configuration content under the operation's name.
        .map(u -> twins.updateTwin(deviceId, moduleId, u, null, io.twinhub.twin.domain.Author.configuration("applyConfigurationContent")))
        .orElseGet(() -> CompletableFuture.completedFuture(new TwinReply.Accepted(twin, List.of())));
  }

  /** A configuration holding only {@code content}, for the pure functions that take one. */
  private static Configuration probe(String id, Configuration.Content content, String condition) {
    return new Configuration("apply-" + id, "1.0", Map.of(), content, condition, 0, Map.of(), Instant.EPOCH, Instant.EPOCH, 0);
  }

  // ------------------------------------------------------------------ bodies

  /** The body as one strict JSON object (the twin codec's parser and limits), or its 400. */
  private Route json(Function<ObjectNode, Route> inner) {
    return entity(Unmarshaller.entityToByteString(), bytes -> {
      Outcome<JsonDoc> doc = TwinJson.parseObject(bytes.toArray(), "", limits);
      if (doc instanceof Outcome.Rejected<JsonDoc> r) return complete(responses.error(RejectionErrors.toError(r.rejection())));
      return inner.apply(((Outcome.Accepted<JsonDoc>) doc).value().toObjectNode());
    });
  }

}
