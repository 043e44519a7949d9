package io.twinhub.twin.domain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;

/**
 * {@code $metadata} of one node of desired/reported: when it was last written and, for desired,
 * at which desired {@code $version}. Mirrors the value tree exactly: an object value has one
 * child per member, any other value (leaf or array) has none. Rendered by {@link TwinJson}.
 *
 * <p>Invariant: an object's {@code lastUpdated} is the newest of its own last write and its
 * children's ({@code >=} every child, even if timestamps handed in ran backwards). Deleting a key
 * drops its metadata and counts as a write of the parent, which is how IoT Hub keeps the time of
 * removals visible ("stored at every level to preserve updates that remove object keys").
 *
 * @param lastUpdated        millisecond-precision UTC instant of the last write
 * @param lastUpdatedVersion desired {@code $version} of that write; null for reported, and for
 *                           the desired root as created with the identity (IoT Hub shows only
 *                           {@code $lastUpdated} there, see the seed's twin-change example)
 * @param children           metadata per member of an object value; empty for leaves
 */
public record Metadata(Instant lastUpdated, Long lastUpdatedVersion, Map<String, Metadata> children) {

    public Metadata {
        Objects.requireNonNull(lastUpdated, "lastUpdated");
        children = Map.copyOf(children);
    }

    /** Metadata of a freshly written value (object trees get one node per member, recursively). */
    static Metadata written(JsonNode value, Instant at, Long version) {
        if (!value.isObject() || value.isEmpty()) {
            return new Metadata(at, version, Map.of());
        }
        Map<String, Metadata> kids = new HashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = value.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            kids.put(e.getKey(), written(e.getValue(), at, version));
        }
        return new Metadata(at, version, kids);
    }

    /**
     * Metadata after merge-patching this node's (object) value with {@code patch}: every path the
     * patch names is stamped, deleted keys lose their metadata, untouched siblings keep theirs.
     */
    Metadata patched(ObjectNode patch, Instant at, Long version) {
        Map<String, Metadata> kids = new HashMap<>(children);
        Iterator<Map.Entry<String, JsonNode>> it = patch.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey();
            JsonNode p = e.getValue();
            if (p.isNull()) {
                kids.remove(key);
            } else if (p.isObject()) {
                Metadata old = kids.get(key);
                // A leaf (or absent) value turned into an object starts with no child metadata.
                Metadata base = old == null ? new Metadata(at, version, Map.of()) : old;
                kids.put(key, base.patched((ObjectNode) p, at, version));
            } else {
                kids.put(key, written(p, at, version));
            }
        }
        return new Metadata(newest(at, kids), version, kids);
    }

    /** Metadata of a member, or null. */
    public Metadata child(String key) {
        return children.get(key);
    }

    private static Instant newest(Instant at, Map<String, Metadata> kids) {
        Instant max = at;
        for (Metadata m : kids.values()) {
            if (m.lastUpdated.isAfter(max)) {
                max = m.lastUpdated;
            }
        }
        return max;
    }
}
