package io.twinhub.twin.domain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.Map;

/**
 * JSON merge patch (RFC 7396), IoT Hub's "partial update": objects merge recursively, {@code null}
 * removes a key, any other value (arrays included) replaces, keys not named stay.
 *
 * <p>Copy-on-write: only objects on patched paths are copied; untouched subtrees and the patch's
 * own leaves/arrays are shared, which is safe because no tree in this package is ever mutated
 * after construction.
 */
final class MergePatch {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private MergePatch() {}

    /** {@code target} (null = absent/non-object) merged with {@code patch}; inputs untouched. */
    static ObjectNode apply(ObjectNode target, ObjectNode patch) {
        ObjectNode out = NODES.objectNode();
        if (target != null) {
            out.setAll(target);
        }
        Iterator<Map.Entry<String, JsonNode>> it = patch.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey();
            JsonNode p = e.getValue();
            if (p.isNull()) {
                out.remove(key);
            } else if (p.isObject()) {
                JsonNode old = out.get(key);
                out.set(key, apply(old instanceof ObjectNode o ? o : null, (ObjectNode) p));
            } else {
                out.set(key, p);
            }
        }
        return out;
    }

    /**
     * A replacement document as stored: {@code doc} merged onto nothing, i.e. {@code null}
     * members (which can only mean "absent") dropped at every object level.
     */
    static ObjectNode normalize(ObjectNode doc) {
        return apply(null, doc);
    }
}
