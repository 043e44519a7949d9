package io.twinhub.twin.entity;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import io.twinhub.twin.TwinhubSerializable;
import io.twinhub.twin.domain.Author;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.TwinUpdate;

import java.time.Instant;
import java.util.List;

/**
 * What the journal records for a device or module: one event per accepted command. Every
 * event carries its instant, so replay never reads the clock, and twin changes carry the
 * patch plus the versions it produced, so consumers (projections, change streams,
 * analytics) need nothing but the event.
 */
public sealed interface TwinEvent extends TwinhubSerializable {

  Instant at();

  /** Identity (and with it the twin) came into being; versions continue after a re-creation. */
  sealed interface IdentityCreated extends TwinEvent {
    Identity identity();
    Versions versions();
  }

  sealed interface IdentityUpdated extends TwinEvent {
    Identity identity();
  }

  sealed interface IdentityDeleted extends TwinEvent {}

  /** The twin {@code version} and the desired/reported {@code $version}s after an event. */
  record Versions(long version, long desiredVersion, long reportedVersion) {}

  record DeviceCreated(Identity identity, Versions versions, Instant at) implements IdentityCreated {}

  record DeviceUpdated(Identity identity, Instant at) implements IdentityUpdated {}

  /** Modules still to delete along with the device; each is confirmed by a {@link ModuleRemoved}. */
  record DeviceDeleted(List<String> modules, Instant at) implements IdentityDeleted {
    public DeviceDeleted {
      modules = List.copyOf(modules);
    }
  }

  record ModuleCreated(Identity identity, Versions versions, Instant at) implements IdentityCreated {}

  record ModuleUpdated(Identity identity, Instant at) implements IdentityUpdated {}

  record ModuleDeleted(Instant at) implements IdentityDeleted {}

  /** On the device: a module identity was registered under it. */
  record ModuleAdded(String moduleId, Instant at) implements TwinEvent {}

  /** On the device: a module identity is gone (deleted alone, or confirmed after the device's deletion). */
  record ModuleRemoved(String moduleId, Instant at) implements TwinEvent {}

  record ConnectionStateChanged(ConnectionState state, Instant at) implements TwinEvent {}

  /** An accepted write to tags/desired/reported. */
  sealed interface TwinChanged extends TwinEvent {
    /** The domain update that replays this event. */
    TwinUpdate update();

    Versions versions();

    /**
     * Who wrote it (audit); null in events journaled before authors were recorded, and left out of
     * the journal when null, so old and new events replay alike.
     */
    Author by();

    /** IoT Hub's opType of the twin change notification. */
    default String opType() {
      return update().opType();
    }
  }

  record TagsPatched(JsonDoc patch, Versions versions, Instant at, @JsonInclude(JsonInclude.Include.NON_NULL) Author by)
      implements TwinChanged {
    @JsonCreator
    public TagsPatched {}

    public TagsPatched(JsonDoc patch, Versions versions, Instant at) {
      this(patch, versions, at, null);
    }

    public TwinUpdate update() {
      return new TwinUpdate.PatchTags(patch);
    }
  }

  record TagsReplaced(JsonDoc tags, Versions versions, Instant at, @JsonInclude(JsonInclude.Include.NON_NULL) Author by)
      implements TwinChanged {
    @JsonCreator
    public TagsReplaced {}

    public TagsReplaced(JsonDoc tags, Versions versions, Instant at) {
      this(tags, versions, at, null);
    }

    public TwinUpdate update() {
      return new TwinUpdate.ReplaceTags(tags);
    }
  }

  record DesiredPatched(JsonDoc patch, Versions versions, Instant at, @JsonInclude(JsonInclude.Include.NON_NULL) Author by)
      implements TwinChanged {
    @JsonCreator
    public DesiredPatched {}

    public DesiredPatched(JsonDoc patch, Versions versions, Instant at) {
      this(patch, versions, at, null);
    }

    public TwinUpdate update() {
      return new TwinUpdate.PatchDesired(patch);
    }
  }

  record DesiredReplaced(JsonDoc desired, Versions versions, Instant at, @JsonInclude(JsonInclude.Include.NON_NULL) Author by)
      implements TwinChanged {
    @JsonCreator
    public DesiredReplaced {}

    public DesiredReplaced(JsonDoc desired, Versions versions, Instant at) {
      this(desired, versions, at, null);
    }

    public TwinUpdate update() {
      return new TwinUpdate.ReplaceDesired(desired);
    }
  }

  record ReportedPatched(JsonDoc patch, Versions versions, Instant at, @JsonInclude(JsonInclude.Include.NON_NULL) Author by)
      implements TwinChanged {
    @JsonCreator
    public ReportedPatched {}

    public ReportedPatched(JsonDoc patch, Versions versions, Instant at) {
      this(patch, versions, at, null);
    }

    public TwinUpdate update() {
      return new TwinUpdate.PatchReported(patch);
    }
  }

  /**
   * {@code PATCH /twins/{id}}: tags and/or desired in one write; {@code jobId} when a job wrote it
   * (null otherwise, and left out of the journal).
   */
  record TwinPatched(JsonDoc tagsPatch, JsonDoc desiredPatch, Versions versions, Instant at,
                     @JsonInclude(JsonInclude.Include.NON_NULL) String jobId,
                     @JsonInclude(JsonInclude.Include.NON_NULL) Author by) implements TwinChanged {
    @JsonCreator
    public TwinPatched {}

    public TwinPatched(JsonDoc tagsPatch, JsonDoc desiredPatch, Versions versions, Instant at) {
      this(tagsPatch, desiredPatch, versions, at, null, null);
    }

    /** A job's write: the job is its author. */
    public TwinPatched(JsonDoc tagsPatch, JsonDoc desiredPatch, Versions versions, Instant at, String jobId) {
      this(tagsPatch, desiredPatch, versions, at, jobId, jobId == null ? null : Author.job(jobId));
    }

    public TwinUpdate update() {
      return new TwinUpdate.UpdateTwin(tagsPatch, desiredPatch);
    }
  }

  /** {@code PUT /twins/{id}}: tags and desired replaced together. */
  record TwinReplaced(JsonDoc tags, JsonDoc desired, Versions versions, Instant at,
                      @JsonInclude(JsonInclude.Include.NON_NULL) Author by) implements TwinChanged {
    @JsonCreator
    public TwinReplaced {}

    public TwinReplaced(JsonDoc tags, JsonDoc desired, Versions versions, Instant at) {
      this(tags, desired, versions, at, null);
    }

    public TwinUpdate update() {
      return new TwinUpdate.ReplaceTwin(tags, desired);
    }
  }

  /** The event that records {@code update}, accepted at {@code at} with the resulting versions. */
  static TwinChanged of(TwinUpdate update, Versions v, Instant at) {
    return of(update, v, at, null);
  }

  /** ... written by {@code by} (null: unknown). */
  static TwinChanged of(TwinUpdate update, Versions v, Instant at, Author by) {
    if (update instanceof TwinUpdate.PatchTags u) return new TagsPatched(u.patch(), v, at, by);
    if (update instanceof TwinUpdate.ReplaceTags u) return new TagsReplaced(u.tags(), v, at, by);
    if (update instanceof TwinUpdate.PatchDesired u) return new DesiredPatched(u.patch(), v, at, by);
    if (update instanceof TwinUpdate.ReplaceDesired u) return new DesiredReplaced(u.desired(), v, at, by);
    if (update instanceof TwinUpdate.PatchReported u) return new ReportedPatched(u.patch(), v, at, by);
    if (update instanceof TwinUpdate.UpdateTwin u) return new TwinPatched(u.tagsPatch(), u.desiredPatch(), v, at, null, by);
    if (update instanceof TwinUpdate.ReplaceTwin u) return new TwinReplaced(u.tags(), u.desired(), v, at, by);
    throw new IllegalArgumentException("unknown update " + update);
  }
}
