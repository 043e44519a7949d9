package io.twinhub.functions.host;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.domain.Outcome;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.error.RejectionErrors;
import io.twinhub.twin.service.TwinService;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The {@code twinPatch} output binding: {@code {"deviceId", "moduleId"?, "tags"?, "properties":{"desired"?}}}
 * applied as {@code PATCH /twins/{id}} would apply it (same validation and limits), straight to
 * the twin's entity. Completes with the error text when the twin refused it.
 */
public final class TwinPatcher {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final TwinService twins;
  private final TwinLimits limits;

  public TwinPatcher(TwinService twins, TwinLimits limits) {
    this.twins = twins;
    this.limits = limits;
  }

  public CompletionStage<Optional<String>> apply(Object value, ObjectMapper appJson) {
    ObjectNode patch;
    try {
      JsonNode n = value instanceof String s ? JSON.readTree(s)
          : value instanceof byte[] b ? JSON.readTree(b) : JSON.readTree(appJson.writeValueAsBytes(value));
      if (!(n instanceof ObjectNode o)) return done("twinPatch: the value must be a JSON object");
      patch = o.deepCopy();
    } catch (Exception e) {
      return done("twinPatch: the value is not JSON (" + e.getMessage() + ")");
    }
    String deviceId = patch.path("deviceId").asText("");
    String moduleId = patch.hasNonNull("moduleId") ? patch.get("moduleId").asText() : null;
    if (deviceId.isEmpty()) return done("twinPatch: the value names no deviceId");
    patch.remove("deviceId");
    patch.remove("moduleId");
    Outcome<TwinUpdate> update = TwinJson.parseTwinPatch(TwinJson.toBytes(patch), limits);
    if (update instanceof Outcome.Rejected<TwinUpdate> r) {
      return done("twinPatch: " + RejectionErrors.toError(r.rejection()).message());
    }
    TwinUpdate u = ((Outcome.Accepted<TwinUpdate>) update).value();
    return twins.updateTwin(deviceId, moduleId, u, null).thenApply(reply -> reply instanceof TwinReply.Rejected rej
        ? Optional.of("twinPatch of " + deviceId + ": " + rej.error().message())
        : Optional.<String>empty());
  }

  private static CompletionStage<Optional<String>> done(String error) {
    return CompletableFuture.completedFuture(Optional.of(error));
  }
}
