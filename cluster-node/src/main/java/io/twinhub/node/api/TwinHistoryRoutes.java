package io.twinhub.node.api;

import akka.http.javadsl.model.HttpResponse;
import akka.persistence.query.EventEnvelope;
import akka.stream.Materializer;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.projections.journal.TwinEventLog;
import io.twinhub.projections.streams.HubMessages;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.entity.DeviceEntity;
import io.twinhub.twin.entity.ModuleEntity;
import io.twinhub.twin.entity.TwinEvent;
import io.twinhub.twin.entity.TwinHistory;
import io.twinhub.twin.entity.TwinRecord;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * A twin's past from the journal (a twinhub extension; IoT Hub keeps no history):
 * {@code GET /twins/{id}/history} lists its changes with author and patch, and
 * {@code GET /twins/{id}?asOfVersion=N|asOfTime=ISO} answers the whole twin as it was, folded by
 * the entity's own event handler ({@link TwinHistory}). Read-only: nothing here reaches an entity.
 */
final class TwinHistoryRoutes {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  static final int DEFAULT_TOP = 100;
  static final int MAX_TOP = 1000;

  private final TwinEventLog log;
  private final ApiResponses responses;
  private final Materializer materializer;

  TwinHistoryRoutes(TwinEventLog log, ApiResponses responses, Materializer materializer) {
    this.log = log;
    this.responses = responses;
    this.materializer = materializer;
  }

  /** A bound of {@code from}/{@code to}: a twin {@code $version} or an instant. */
  record Bound(Long version, Instant at) {
    boolean before(TwinEvent.TwinChanged c) {
      return version != null ? c.versions().version() < version : c.at().isBefore(at);
    }

    boolean after(TwinEvent e) {
      if (version != null) return e instanceof TwinEvent.TwinChanged c && c.versions().version() > version;
      return e.at().isAfter(at);
    }
  }

  /** {@code GET .../history?from=&to=&top=}: the twin's changes, oldest first. */
  CompletionStage<HttpResponse> history(String deviceId, String moduleId, Optional<String> from, Optional<String> to,
                                        Optional<String> top) {
    Bound lower;
    Bound upper;
    int n;
    try {
      lower = from.map(s -> bound("from", s)).orElse(null);
      upper = to.map(s -> bound("to", s)).orElse(null);
      n = top.map(TwinHistoryRoutes::top).orElse(DEFAULT_TOP);
    } catch (IllegalArgumentException e) {
      return done(responses.error(IotHubErrorCode.ArgumentInvalid, e.getMessage()));
    }
    String pid = persistenceId(deviceId, moduleId);
    return log.events(pid)
        .map(EventEnvelope::event)
        .takeWhile(e -> upper == null || !upper.after((TwinEvent) e))
        .filter(e -> e instanceof TwinEvent.TwinChanged c && (lower == null || !lower.before(c)))
        .map(e -> (TwinEvent.TwinChanged) e)
        .take(n + 1L)
        .runWith(Sink.seq(), materializer)
        .thenCompose(changes -> changes.isEmpty()
            ? exists(pid).thenApply(any -> any ? page(deviceId, moduleId, changes, n) : notFound(deviceId, moduleId))
            : done(page(deviceId, moduleId, changes, n)));
  }

  /** {@code GET /twins/{id}?asOfVersion=N} or {@code ?asOfTime=ISO}: the whole twin as it was, {@code $metadata} included. */
  CompletionStage<HttpResponse> asOf(String deviceId, String moduleId, Optional<String> asOfVersion, Optional<String> asOfTime) {
    if (asOfVersion.isPresent() && asOfTime.isPresent()) {
      return done(responses.error(IotHubErrorCode.ArgumentInvalid, "give either asOfVersion or asOfTime, not both"));
    }
    String pid = persistenceId(deviceId, moduleId);
    Source<TwinEvent, ?> events = log.events(pid).map(e -> (TwinEvent) e.event());
    if (asOfVersion.isPresent()) {
      long version;
      try {
        version = Long.parseLong(asOfVersion.get().strip());
        if (version < 1) throw new NumberFormatException();
      } catch (NumberFormatException e) {
        return done(responses.error(IotHubErrorCode.ArgumentInvalid,
            "asOfVersion must be a twin $version (an integer of at least 1), got '" + RegistryJson.clip(asOfVersion.get()) + "'"));
      }
      return events.scan(TwinRecord.EMPTY, TwinRecord::apply)
          .takeWhile(s -> !TwinHistory.reached(s, version), true)
          .runWith(Sink.last(), materializer)
          .thenApply(s -> TwinHistory.isAt(s, version) ? responses.twin(s.twin())
              : s.twin() == null ? notFound(deviceId, moduleId)
              : responses.error(IotHubErrorCode.ArgumentInvalid, "the twin has no $version " + version
                  + " (its versions are 1 to " + s.twin().state().version() + ")"));
    }
    Instant at;
    try {
      at = instant("asOfTime", asOfTime.get());
    } catch (IllegalArgumentException e) {
      return done(responses.error(IotHubErrorCode.ArgumentInvalid, e.getMessage()));
    }
    return events.takeWhile(e -> TwinHistory.atOrBefore(e, at))
        .runFold(TwinRecord.EMPTY, TwinRecord::apply, materializer)
        .thenApply(s -> s.exists() ? responses.twin(s.twin())
            : responses.error(notFoundError(deviceId, moduleId).code(),
                (moduleId == null ? "Device " + deviceId : "Module " + moduleId + " on device " + deviceId)
                    + " did not exist at " + TwinJson.timestamp(at)));
  }

  private CompletionStage<Boolean> exists(String pid) {
    return log.events(pid).take(1).runWith(Sink.headOption(), materializer).thenApply(Optional::isPresent);
  }

  private HttpResponse page(String deviceId, String moduleId, List<TwinEvent.TwinChanged> changes, int top) {
    ObjectNode out = NODES.objectNode();
    out.put("deviceId", deviceId);
    if (moduleId != null) out.put("moduleId", moduleId);
    ArrayNode list = out.putArray("changes");
    changes.stream().limit(top).forEach(c -> list.add(change(c)));
    // More than asked for: where the next page starts (a $version, as from= takes it).
    if (changes.size() > top) out.put("next", changes.get(top).versions().version());
    return responses.ok(out);
  }

  /** One change: its twin $version, time, IoT Hub opType, who made it and the change notification body. */
  static ObjectNode change(TwinEvent.TwinChanged c) {
    ObjectNode o = NODES.objectNode();
    o.put("$version", c.versions().version());
    o.put("time", TwinJson.timestamp(c.at()));
    o.put("opType", c.opType());
    o.put("source", TwinHistory.source(c).wire());
    String by = TwinHistory.authorName(c);
    if (by != null) o.put("by", by);
    if (c instanceof TwinEvent.TwinPatched p && p.jobId() != null) o.put("jobId", p.jobId());
    o.set("patch", HubMessages.twinChangeBody(c));
    return o;
  }

  static Bound bound(String name, String value) {
    String v = value.strip();
    if (!v.isEmpty() && v.chars().allMatch(Character::isDigit)) {
      try {
        return new Bound(Long.parseLong(v), null);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(name + " is too large: '" + RegistryJson.clip(value) + "'");
      }
    }
    try {
      return new Bound(null, instant(name, value));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(name + " must be an ISO-8601 time such as 2026-12-06T04:00:00Z, got '"
          + RegistryJson.clip(value) + "'");
    }
  }

  static int top(String value) {
    try {
      int n = Integer.parseInt(value.strip());
      if (n >= 1 && n <= MAX_TOP) return n;
    } catch (NumberFormatException e) {
      // below
    }
    throw new IllegalArgumentException("top must be an integer from 1 to " + MAX_TOP + ", got '" + RegistryJson.clip(value) + "'");
  }

  /** An ISO-8601 instant ({@code 2026-12-06T04:00:00Z}, or with an offset). */
  static Instant instant(String name, String value) {
    String v = value.strip();
    try {
      return OffsetDateTime.parse(v).toInstant();
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(name + " must be a twin $version or an ISO-8601 time such as 2026-12-06T04:00:00Z, got '"
          + RegistryJson.clip(value) + "'");
    }
  }

  private HttpResponse notFound(String deviceId, String moduleId) {
    return responses.error(notFoundError(deviceId, moduleId));
  }

  private static IotHubError notFoundError(String deviceId, String moduleId) {
    return moduleId == null ? IotHubError.of(IotHubErrorCode.DeviceNotFound, "Device " + deviceId + " not found")
        : IotHubError.of(IotHubErrorCode.ModuleNotFound, "Module " + moduleId + " on device " + deviceId + " not found");
  }

  static String persistenceId(String deviceId, String moduleId) {
    return moduleId == null ? DeviceEntity.TYPE_KEY.name() + "|" + deviceId
        : ModuleEntity.TYPE_KEY.name() + "|" + ModuleEntity.entityId(deviceId, moduleId);
  }

  private static <T> CompletionStage<T> done(T value) {
    return java.util.concurrent.CompletableFuture.completedFuture(value);
  }
}
