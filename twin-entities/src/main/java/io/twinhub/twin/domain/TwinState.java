package io.twinhub.twin.domain;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;

/**
 * The writable part of a device or module twin: tags, desired and reported properties, and the
 * twin {@code version} behind the twin {@code etag}. Pure and immutable; the twin entity holds
 * one and persists accepted {@link TwinUpdate}s with their instant.
 *
 * <p>Versioning (PROTOCOL.md): every accepted update bumps the twin {@code version} by exactly
 * 1 (hence a new etag); each of desired/reported named by the update bumps its {@code $version}
 * by exactly 1 (a replace counts once, a patch that changes nothing still counts, as IoT Hub).
 * Tags have no version of their own.
 *
 * <p>Use {@link #decide} for commands (validate, then apply) and {@link #apply} for replaying
 * persisted events (no validation, so a later change of {@link TwinLimits} cannot break recovery).
 */
public record TwinState(long version, JsonDoc tags, PropertySection desired, PropertySection reported) {

    public TwinState {
        Objects.requireNonNull(tags, "tags");
        Objects.requireNonNull(desired, "desired");
        Objects.requireNonNull(reported, "reported");
    }

    /** The twin as created with its identity: empty sections, all versions 1. */
    public static TwinState created(Instant at) {
        Instant t = truncate(at);
        return new TwinState(1, JsonDoc.empty(), PropertySection.created(t), PropertySection.created(t));
    }

    /**
     * The twin of an identity created again after {@code previous} was deleted: empty, but every
     * version one past the previous life's, so (twin id, version) and etags are never reused.
     */
    /** An empty twin as created at {@code at} with the given versions (events carry them). */
    public static TwinState created(Instant at, long version, long desiredVersion, long reportedVersion) {
        Instant t = truncate(at);
        return new TwinState(version, JsonDoc.empty(),
                PropertySection.created(t).withVersion(desiredVersion),
                PropertySection.created(t).withVersion(reportedVersion));
    }

    public static TwinState recreated(TwinState previous, Instant at) {
        Instant t = truncate(at);
        return new TwinState(previous.version + 1, JsonDoc.empty(),
                PropertySection.created(t).withVersion(previous.desired.version() + 1),
                PropertySection.created(t).withVersion(previous.reported.version() + 1));
    }

    /** The twin etag (without quotes). */
    public String etag() {
        return ETag.ofTwinVersion(version);
    }

    /** This state when {@code ifMatch} (null, "*", or an etag, quoted or not) matches, else 412. */
    public Outcome<TwinState> checkIfMatch(String ifMatch) {
        return ETag.check(ifMatch, etag(), this);
    }

    /** Values of one section. */
    public JsonDoc section(Section section) {
        return switch (section) {
            case TAGS -> tags;
            case DESIRED -> desired.values();
            case REPORTED -> reported.values();
        };
    }

    /** {@link #checkIfMatch} then {@link #decide(TwinUpdate, Instant, TwinLimits)}. */
    public Outcome<TwinState> decide(TwinUpdate update, String ifMatch, Instant at, TwinLimits limits) {
        return checkIfMatch(ifMatch).flatMap(s -> s.decide(update, at, limits));
    }

    /**
     * Validates {@code update} against {@code limits} and returns the state after it, or the first
     * rule broken. All or nothing: a rejection leaves this state as it is.
     */
    public Outcome<TwinState> decide(TwinUpdate update, Instant at, TwinLimits limits) {
        Rejection r = checkContent(update, limits);
        if (r != null) {
            return Outcome.rejected(r);
        }
        TwinState next = apply(update, at);
        // Sizes are a property of the resulting sections, so they are checked on `next`.
        for (Section s : Section.values()) {
            ObjectNode after = next.section(s).tree();
            ObjectNode before = section(s).tree();
            if (after != before) {
                r = TwinValidator.checkSize(before, after, s, limits);
                if (r != null) {
                    return Outcome.rejected(r);
                }
            }
        }
        return Outcome.accepted(next);
    }

    /**
     * The state after an update that was already accepted (event replay). Total and deterministic:
     * the same state, update and instant always give the same result. {@code at} is cut to
     * milliseconds, the precision of {@code $lastUpdated}.
     */
    public TwinState apply(TwinUpdate update, Instant at) {
        Instant t = truncate(at);
        long v = version + 1;
        if (update instanceof TwinUpdate.PatchDesired u) {
            return new TwinState(v, tags, desired.patched(u.patch().tree(), t, true), reported);
        } else if (update instanceof TwinUpdate.PatchReported u) {
            return new TwinState(v, tags, desired, reported.patched(u.patch().tree(), t, false));
        } else if (update instanceof TwinUpdate.PatchTags u) {
            return new TwinState(v, patchTags(u.patch()), desired, reported);
        } else if (update instanceof TwinUpdate.ReplaceDesired u) {
            return new TwinState(v, tags, desired.replaced(u.desired().tree(), t, true), reported);
        } else if (update instanceof TwinUpdate.ReplaceTags u) {
            return new TwinState(v, replaceTags(u.tags()), desired, reported);
        } else if (update instanceof TwinUpdate.UpdateTwin u) {
            return new TwinState(v,
                    u.tagsPatch() == null ? tags : patchTags(u.tagsPatch()),
                    u.desiredPatch() == null ? desired : desired.patched(u.desiredPatch().tree(), t, true),
                    reported);
        } else if (update instanceof TwinUpdate.ReplaceTwin u) {
            return new TwinState(v, replaceTags(u.tags()), desired.replaced(u.desired().tree(), t, true), reported);
        }
        throw new IllegalArgumentException("unknown update " + update);
    }

    private JsonDoc patchTags(JsonDoc patch) {
        return JsonDoc.owned(MergePatch.apply(tags.tree(), patch.tree()));
    }

    private static JsonDoc replaceTags(JsonDoc doc) {
        return JsonDoc.owned(MergePatch.normalize(doc.tree()));
    }

    /** Content rules of every document the update carries, in body order (tags before desired). */
    private static Rejection checkContent(TwinUpdate update, TwinLimits limits) {
        if (update instanceof TwinUpdate.PatchDesired u) {
            return content(u.patch(), Section.DESIRED, limits);
        } else if (update instanceof TwinUpdate.PatchReported u) {
            return content(u.patch(), Section.REPORTED, limits);
        } else if (update instanceof TwinUpdate.PatchTags u) {
            return content(u.patch(), Section.TAGS, limits);
        } else if (update instanceof TwinUpdate.ReplaceDesired u) {
            return content(u.desired(), Section.DESIRED, limits);
        } else if (update instanceof TwinUpdate.ReplaceTags u) {
            return content(u.tags(), Section.TAGS, limits);
        } else if (update instanceof TwinUpdate.UpdateTwin u) {
            Rejection r = u.tagsPatch() == null ? null : content(u.tagsPatch(), Section.TAGS, limits);
            return r != null || u.desiredPatch() == null ? r : content(u.desiredPatch(), Section.DESIRED, limits);
        } else if (update instanceof TwinUpdate.ReplaceTwin u) {
            Rejection r = content(u.tags(), Section.TAGS, limits);
            return r != null ? r : content(u.desired(), Section.DESIRED, limits);
        }
        throw new IllegalArgumentException("unknown update " + update);
    }

    private static Rejection content(JsonDoc doc, Section section, TwinLimits limits) {
        return TwinValidator.checkContent(doc, section, limits).orElse(null);
    }

    static Instant truncate(Instant at) {
        return Objects.requireNonNull(at, "at").truncatedTo(ChronoUnit.MILLIS);
    }
}
