package io.twinhub.twin.configuration;

import io.twinhub.twin.TwinhubSerializable;
import io.twinhub.twin.domain.ETag;
import io.twinhub.twin.domain.Outcome;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;
import io.twinhub.twin.error.RejectionErrors;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The hub's configurations (state of {@link ConfigurationStoreEntity}) and IoT Hub's rules for
 * changing them, as pure functions: create without If-Match (409 when the id exists), update with
 * If-Match (404 when absent, 412 on a stale etag; the content cannot change), delete with
 * If-Match. {@code lastVersion} numbers every change, so no etag is ever handed out twice.
 */
public record ConfigurationStore(Map<String, Configuration> byId, long lastVersion) implements TwinhubSerializable {
  public static final ConfigurationStore EMPTY = new ConfigurationStore(Map.of(), 0);

  public ConfigurationStore {
    byId = Map.copyOf(byId);
  }

  /** What the journal records. */
  public sealed interface Event extends TwinhubSerializable {
    Instant at();
  }

  public record Created(Configuration configuration, Instant at) implements Event {}

  public record Updated(Configuration configuration, Instant at) implements Event {}

  public record Deleted(String id, Instant at) implements Event {}

  /** Configurations ordered by id. */
  public List<Configuration> list() {
    List<Configuration> out = new ArrayList<>(byId.values());
    out.sort(Comparator.comparing(Configuration::id));
    return out;
  }

  /** Creates {@code spec} at {@code at}; {@code max} bounds how many configurations the hub keeps. */
  public Result create(ConfigurationJson.Spec spec, Instant at, int max) {
    if (byId.containsKey(spec.id())) {
      return refuse(IotHubErrorCode.Conflict, "Configuration " + spec.id() + " already exists; update it with If-Match");
    }
    if (spec.content().isEmpty()) {
      return refuse(IotHubErrorCode.ArgumentInvalid, "content must set one of deviceContent, moduleContent and modulesContent");
    }
    if (byId.size() >= max) {
      return refuse(IotHubErrorCode.IotHubQuotaExceeded, "the hub holds at most " + max + " configurations");
    }
    Instant t = at.truncatedTo(ChronoUnit.MILLIS);
    return new Result.Changed(new Created(new Configuration(spec.id(), spec.schemaVersion(), spec.labels(), spec.content(),
        spec.targetCondition(), spec.priority(), spec.metricQueries(), t, t, lastVersion + 1), t));
  }

  /** Updates target condition, priority, labels and metrics of an existing configuration. */
  public Result update(ConfigurationJson.Spec spec, String ifMatch, Instant at) {
    Configuration c = byId.get(spec.id());
    if (c == null) return notFound(spec.id());
    Outcome<Configuration> matched = ETag.check(ifMatch, c.etag(), c);
    if (matched instanceof Outcome.Rejected<Configuration> r) return new Result.Refused(RejectionErrors.toError(r.rejection()));
    if (!spec.content().isEmpty() && !spec.content().equals(c.content())) {
      return refuse(IotHubErrorCode.ArgumentInvalid, "the content of configuration " + c.id()
          + " cannot be changed; only targetCondition, priority, labels and metrics can (create a new configuration)");
    }
    Instant t = at.truncatedTo(ChronoUnit.MILLIS);
    return new Result.Changed(new Updated(c.updated(spec.targetCondition(), spec.priority(), spec.labels(),
        spec.metricQueries(), t, lastVersion + 1), t));
  }

  public Result delete(String id, String ifMatch, Instant at) {
    Configuration c = byId.get(id);
    if (c == null) return notFound(id);
    Outcome<Configuration> matched = ETag.check(ifMatch, c.etag(), c);
    if (matched instanceof Outcome.Rejected<Configuration> r) return new Result.Refused(RejectionErrors.toError(r.rejection()));
    return new Result.Changed(new Deleted(id, at.truncatedTo(ChronoUnit.MILLIS)));
  }

  /** The event handler: total and deterministic. */
  public ConfigurationStore apply(Event e) {
    Map<String, Configuration> next = new TreeMap<>(byId);
    if (e instanceof Created c) {
      next.put(c.configuration().id(), c.configuration());
      return new ConfigurationStore(next, c.configuration().version());
    } else if (e instanceof Updated u) {
      next.put(u.configuration().id(), u.configuration());
      return new ConfigurationStore(next, u.configuration().version());
    } else if (e instanceof Deleted d) {
      next.remove(d.id());
      return new ConfigurationStore(next, lastVersion + 1);
    }
    throw new IllegalArgumentException("unknown event " + e);
  }

  public sealed interface Result {
    record Changed(Event event) implements Result {}

    record Refused(IotHubError error) implements Result {}
  }

  public static IotHubError notFoundError(String id) {
    return IotHubErrorCode.NotFound.error("Configuration " + id + " not found");
  }

  private static Result notFound(String id) {
    return new Result.Refused(notFoundError(id));
  }

  private static Result refuse(IotHubErrorCode code, String message) {
    return new Result.Refused(code.error(message));
  }
}
