package io.twinhub.twin.domain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * IoT Hub's rules for tags and desired/reported documents (PROTOCOL.md "Validation"), limits from
 * {@link TwinLimits}. Content rules are checked on what the client sent (a patch or a
 * replacement); the size rule on the section that would result. Together they keep every stored
 * section valid: untouched parts were valid before, and patched parts sit at the same depth in
 * the result as in the patch.
 */
public final class TwinValidator {

    private TwinValidator() {}

    /**
     * Keys, values, depth and arrays of a patch or replacement document for {@code section}.
     * {@code null} members are allowed (delete in a patch, absent in a replacement).
     */
    public static Optional<Rejection> checkContent(JsonDoc doc, Section section, TwinLimits limits) {
        return Optional.ofNullable(new Walker(section, limits, true).root(doc.tree()));
    }

    /** Everything a stored section must satisfy: content rules, no null members, size limit. */
    public static Optional<Rejection> checkSection(JsonDoc values, Section section, TwinLimits limits) {
        Rejection r = new Walker(section, limits, false).root(values.tree());
        if (r == null) {
            r = checkSize(null, values.tree(), section, limits);
        }
        return Optional.ofNullable(r);
    }

    /**
     * Section size as today's IoT Hub documents it: per member, the key plus the value, where a
     * string counts its UTF-8 bytes excluding control characters (C0/C1), a number 8, a boolean
     * 4, an object or array the sum of its contents. Our choice where IoT Hub says nothing: a
     * {@code null} inside an array counts 4, like a boolean. {@code $metadata}/{@code $version}
     * are not part of the values, hence excluded as IoT Hub does.
     */
    public static long sizeOf(JsonDoc doc) {
        return sizeOfObject(doc.tree());
    }

    /**
     * Rejects when {@code after} is over the limit and larger than {@code before} (null = new):
     * IoT Hub refuses operations that would <em>increase</em> a section beyond its limit, which
     * only matters once a limit has been lowered below existing data.
     */
    static Rejection checkSize(ObjectNode before, ObjectNode after, Section section, TwinLimits limits) {
        long limit = limits.maxBytes(section);
        long size = sizeOfObject(after);
        if (size <= limit || (before != null && size <= sizeOfObject(before))) {
            return null;
        }
        return Rejection.of(TwinRule.SECTION_TOO_LARGE, section.path(),
                section.path() + " would be " + size + " bytes, limit " + limit);
    }

    private static long sizeOfObject(ObjectNode o) {
        long size = 0;
        Iterator<Map.Entry<String, JsonNode>> it = o.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            size += textSize(e.getKey()) + sizeOfValue(e.getValue());
        }
        return size;
    }

    private static long sizeOfValue(JsonNode v) {
        switch (v.getNodeType()) {
            case OBJECT:
                return sizeOfObject((ObjectNode) v);
            case ARRAY: {
                long size = 0;
                for (JsonNode e : v) {
                    size += sizeOfValue(e);
                }
                return size;
            }
            case STRING:
                return textSize(v.textValue());
            case NUMBER:
                return 8;
            default: // BOOLEAN, NULL
                return 4;
        }
    }

    private static long textSize(String s) {
        long bytes = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                bytes += Character.isISOControl(c) ? 0 : 1;
            } else if (c < 0x800) {
                bytes += Character.isISOControl(c) ? 0 : 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    /** UTF-8 length of {@code s}, or -1 when it holds a lone surrogate (not encodable). */
    static int utf8Length(String s) {
        int bytes = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                bytes += 1;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c)) {
                if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) {
                    return -1;
                }
                bytes += 4;
                i++;
            } else if (Character.isLowSurrogate(c)) {
                return -1;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    /** One validation pass; keeps the current path as segments and renders it only on error. */
    private static final class Walker {
        private final Section section;
        private final TwinLimits limits;
        private final boolean nullMembersAllowed;
        private final List<Object> path = new ArrayList<>();

        Walker(Section section, TwinLimits limits, boolean nullMembersAllowed) {
            this.section = section;
            this.limits = limits;
            this.nullMembersAllowed = nullMembersAllowed;
        }

        Rejection root(ObjectNode doc) {
            return members(doc, 0);
        }

        /** Members of an object at {@code depth}; their containers sit at depth + 1. */
        private Rejection members(ObjectNode o, int depth) {
            Iterator<Map.Entry<String, JsonNode>> it = o.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                path.add(e.getKey());
                Rejection r = key(e.getKey());
                if (r == null) {
                    r = value(e.getValue(), depth + 1, true);
                }
                if (r != null) {
                    return r;
                }
                path.remove(path.size() - 1);
            }
            return null;
        }

        private Rejection key(String key) {
            if (key.isEmpty()) {
                return reject(TwinRule.KEY_INVALID, "empty key");
            }
            if (key.charAt(0) == '$') {
                return reject(TwinRule.READ_ONLY_MEMBER, "'" + key + "' is maintained by the hub; members starting with '$' cannot be written");
            }
            for (int i = 0; i < key.length(); i++) {
                char c = key.charAt(i);
                if (c == '.' || c == ' ' || c == '$' || Character.isISOControl(c)) {
                    return reject(TwinRule.KEY_INVALID, String.format("key contains forbidden character U+%04X", (int) c));
                }
            }
            int bytes = utf8Length(key);
            if (bytes < 0) {
                return reject(TwinRule.KEY_INVALID, "key contains an unpaired surrogate");
            }
            if (bytes > limits.maxKeyBytes()) {
                return reject(TwinRule.KEY_TOO_LONG, "key is " + bytes + " bytes, limit " + limits.maxKeyBytes());
            }
            return null;
        }

        private Rejection value(JsonNode v, int depth, boolean member) {
            switch (v.getNodeType()) {
                case OBJECT:
                    if (depth > limits.maxDepth()) {
                        return reject(TwinRule.DEPTH_EXCEEDED, "nesting depth " + depth + " exceeds " + limits.maxDepth());
                    }
                    return members((ObjectNode) v, depth);
                case ARRAY:
                    if (!section.arraysAllowed()) {
                        return reject(TwinRule.ARRAY_NOT_ALLOWED, "arrays are not allowed in " + section.path());
                    }
                    if (depth > limits.maxDepth()) {
                        return reject(TwinRule.DEPTH_EXCEEDED, "nesting depth " + depth + " exceeds " + limits.maxDepth());
                    }
                    for (int i = 0; i < v.size(); i++) {
                        path.add(i);
                        Rejection r = value(v.get(i), depth + 1, false);
                        if (r != null) {
                            return r;
                        }
                        path.remove(path.size() - 1);
                    }
                    return null;
                case STRING:
                    return string(v.textValue());
                case NUMBER:
                    return number(v);
                case BOOLEAN:
                    return null;
                case NULL:
                    return member && !nullMembersAllowed
                            ? reject(TwinRule.VALUE_INVALID, "a stored document has no null members") : null;
                default:
                    return reject(TwinRule.VALUE_INVALID, "not a JSON value: " + v.getNodeType());
            }
        }

        private Rejection string(String s) {
            // Cheap bound first: no UTF-16 unit encodes to more than 3 UTF-8 bytes.
            if ((long) s.length() * 3 <= limits.maxStringBytes()) {
                return null;
            }
            int bytes = utf8Length(s);
            if (bytes < 0) {
                bytes = (int) Math.min(Integer.MAX_VALUE, (long) s.length() * 3);
            }
            return bytes > limits.maxStringBytes()
                    ? reject(TwinRule.STRING_TOO_LONG, "string is " + bytes + " bytes, limit " + limits.maxStringBytes())
                    : null;
        }

        private Rejection number(JsonNode v) {
            if (v.isIntegralNumber()) {
                if (v.canConvertToLong()) {
                    long x = v.longValue();
                    if (x >= limits.minInteger() && x <= limits.maxInteger()) {
                        return null;
                    }
                }
                return reject(TwinRule.INTEGER_OUT_OF_RANGE, "integer " + v.asText() + " outside "
                        + limits.minInteger() + ".." + limits.maxInteger());
            }
            return Double.isFinite(v.doubleValue())
                    ? null : reject(TwinRule.NUMBER_OUT_OF_RANGE, "number is not finite");
        }

        private Rejection reject(TwinRule rule, String message) {
            return Rejection.of(rule, render(section.path(), path), message);
        }
    }

    /** {@code prefix.a.b[2].c} from path segments (String keys, Integer indexes). */
    static String render(String prefix, List<Object> segments) {
        StringBuilder sb = new StringBuilder(prefix);
        for (Object s : segments) {
            if (s instanceof Integer i) {
                sb.append('[').append(i).append(']');
            } else {
                if (sb.length() > 0) {
                    sb.append('.');
                }
                sb.append(s);
            }
        }
        return sb.toString();
    }
}
