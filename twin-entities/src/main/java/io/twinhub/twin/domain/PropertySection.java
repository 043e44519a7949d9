package io.twinhub.twin.domain;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * {@code properties.desired} or {@code properties.reported}: the values, their
 * {@code $metadata} and the section's {@code $version}.
 *
 * <p>{@code $version} grows by exactly 1 with every accepted write of the section, whether or not
 * it changed a value: IoT Hub does the same (a repeated identical desired patch is a new version
 * and is notified again), and it keeps version arithmetic independent of value comparison.
 */
public record PropertySection(JsonDoc values, Metadata metadata, long version) {

    public PropertySection {
        Objects.requireNonNull(values, "values");
        Objects.requireNonNull(metadata, "metadata");
    }

    /** As created with the identity: empty, {@code $version} 1, root stamped with the creation time. */
    static PropertySection created(Instant at) {
        return new PropertySection(JsonDoc.empty(), new Metadata(at, null, Map.of()), 1);
    }

    public PropertySection withVersion(long newVersion) {
        return new PropertySection(values, metadata, newVersion);
    }

    /** After a merge patch; {@code versioned} = stamp {@code $lastUpdatedVersion} (desired). */
    PropertySection patched(ObjectNode patch, Instant at, boolean versioned) {
        long next = version + 1;
        Long stamp = versioned ? next : null;
        return new PropertySection(
                JsonDoc.owned(MergePatch.apply(values.tree(), patch)), metadata.patched(patch, at, stamp), next);
    }

    /** After a full replacement: every node is written now. */
    PropertySection replaced(ObjectNode doc, Instant at, boolean versioned) {
        long next = version + 1;
        ObjectNode stored = MergePatch.normalize(doc);
        return new PropertySection(JsonDoc.owned(stored), Metadata.written(stored, at, versioned ? next : null), next);
    }
}
