package io.twinhub.twin.domain;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Objects;

/**
 * An immutable JSON object (tags, desired/reported values, a patch). Jackson trees are mutable,
 * so the tree is deep-copied on the way in ({@link #of}) and on the way out
 * ({@link #toObjectNode}); inside this package trees are never mutated after construction, which
 * lets merges share untouched subtrees between successive twin versions.
 *
 * <p>Serialises with Jackson as the plain object (for events and snapshots).
 */
public final class JsonDoc {

    private static final JsonDoc EMPTY = new JsonDoc(JsonNodeFactory.instance.objectNode());

    private final ObjectNode tree;

    private JsonDoc(ObjectNode tree) {
        this.tree = tree;
    }

    /** A copy of {@code object}; later changes to {@code object} do not leak in. */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public static JsonDoc of(ObjectNode object) {
        Objects.requireNonNull(object, "object");
        return new JsonDoc(object.deepCopy());
    }

    public static JsonDoc empty() {
        return EMPTY;
    }

    /** Wraps a tree nobody else references (freshly parsed or built here): no copy. */
    static JsonDoc owned(ObjectNode tree) {
        return new JsonDoc(tree);
    }

    /** The tree itself; callers in this package must not mutate it. */
    @JsonValue
    ObjectNode tree() {
        return tree;
    }

    /** A mutable copy for callers outside the domain. */
    public ObjectNode toObjectNode() {
        return tree.deepCopy();
    }

    /** A copy of the member {@code key}, or null when absent. */
    public JsonNode get(String key) {
        JsonNode n = tree.get(key);
        return n == null ? null : n.deepCopy();
    }

    public boolean isEmpty() {
        return tree.isEmpty();
    }

    public int size() {
        return tree.size();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof JsonDoc d && tree.equals(d.tree);
    }

    @Override
    public int hashCode() {
        return tree.hashCode();
    }

    /** Compact JSON text. */
    @Override
    public String toString() {
        return tree.toString();
    }
}
