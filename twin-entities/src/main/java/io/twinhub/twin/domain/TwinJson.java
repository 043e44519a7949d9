package io.twinhub.twin.domain;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.util.JsonParserDelegate;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;

/**
 * The one place for twin JSON shapes: the service view ({@code GET /twins}), the device view (MQTT
 * twin GET), the desired-change notification (MQTT), the twin change notification body
 * ({@code twinChangeEvents}), and the strict parsing of request bodies.
 *
 * <p>Rendered trees are fresh copies the caller may mutate.
 */
public final class TwinJson {

    /** What IoT Hub shows for a time that never happened (status never changed, never active). */
    public static final String NEVER = "0001-01-01T00:00:00Z";

    private static final DateTimeFormatter TIMESTAMP =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /**
     * Strict: duplicate keys and trailing content are errors (a duplicate key would otherwise
     * silently pick one value). Floats are doubles; integers beyond long become BigInteger nodes
     * that validation rejects with INTEGER_OUT_OF_RANGE instead of failing the parse.
     */
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();

    private TwinJson() {}

    // ---------------------------------------------------------------- rendering

    /** ISO-8601 UTC with milliseconds, e.g. {@code 2026-11-24T09:41:50.123Z}. */
    public static String timestamp(Instant t) {
        long seconds = t.getEpochSecond();
        if (seconds < 0 || seconds >= YEAR_10000) {
            return TIMESTAMP.format(t);
        }
        // The formatter's output, written by hand: it dominated rendering $metadata.
        LocalDateTime d = LocalDateTime.ofEpochSecond(seconds, t.getNano(), ZoneOffset.UTC);
        char[] c = new char[24];
        digits(c, 0, d.getYear(), 4);
        c[4] = '-';
        digits(c, 5, d.getMonthValue(), 2);
        c[7] = '-';
        digits(c, 8, d.getDayOfMonth(), 2);
        c[10] = 'T';
        digits(c, 11, d.getHour(), 2);
        c[13] = ':';
        digits(c, 14, d.getMinute(), 2);
        c[16] = ':';
        digits(c, 17, d.getSecond(), 2);
        c[19] = '.';
        digits(c, 20, t.getNano() / 1_000_000, 3);
        c[23] = 'Z';
        return new String(c);
    }

    /** 10000-01-01T00:00:00Z: from there on the formatter signs the year. */
    private static final long YEAR_10000 = 253_402_300_800L;

    private static void digits(char[] c, int at, int value, int width) {
        for (int i = at + width - 1; i >= at; i--) {
            c[i] = (char) ('0' + value % 10);
            value /= 10;
        }
    }

    /**
     * The full twin as back ends get it ({@code GET/PATCH/PUT /twins}), field names and order as
     * IoT Hub's. {@code tags} is always an object: the service SDK dereferences it unchecked.
     * {@code capabilities} is rendered for device twins only, as IoT Hub does.
     */
    public static ObjectNode serviceView(Twin twin) {
        Identity id = twin.identity();
        TwinState st = twin.state();
        ObjectNode out = NODES.objectNode();
        out.put("deviceId", id.deviceId());
        if (id.isModule()) {
            out.put("moduleId", id.moduleId());
        }
        out.put("etag", twin.etag());
        out.put("deviceEtag", twin.deviceEtag());
        out.put("status", id.status().wire());
        out.put("statusReason", id.statusReason());
        out.put("statusUpdateTime", timestampOrNever(id.statusUpdatedTime()));
        out.put("connectionState", id.connectionState().wire());
        out.put("lastActivityTime", timestampOrNever(id.lastActivityTime()));
        out.put("cloudToDeviceMessageCount", id.cloudToDeviceMessageCount());
        out.put("authenticationType", id.authentication().type().wire());
        ObjectNode x509 = out.putObject("x509Thumbprint");
        x509.put("primaryThumbprint", id.authentication().x509Thumbprint().primaryThumbprint());
        x509.put("secondaryThumbprint", id.authentication().x509Thumbprint().secondaryThumbprint());
        out.put("modelId", id.modelId());
        out.set("version", number(st.version()));
        out.set("tags", st.tags().toObjectNode());
        ObjectNode properties = out.putObject("properties");
        properties.set("desired", section(st.desired(), true));
        properties.set("reported", section(st.reported(), true));
        if (!id.isModule()) {
            out.putObject("capabilities").put("iotEdge", id.iotEdge());
        }
        return out;
    }

    /**
     * {@link #serviceView} as JSON bytes, the same bytes as {@code toBytes(serviceView(twin))}, written
     * straight from the twin: no copies of the value trees, no intermediate tree. The REST API's hot
     * read answers with these.
     */
    public static byte[] serviceViewBytes(Twin twin) {
        Identity id = twin.identity();
        TwinState st = twin.state();
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream(1024);
        try (JsonGenerator g = MAPPER.getFactory().createGenerator(buf)) {
            g.writeStartObject();
            text(g, "deviceId", id.deviceId());
            if (id.isModule()) {
                text(g, "moduleId", id.moduleId());
            }
            text(g, "etag", twin.etag());
            text(g, "deviceEtag", twin.deviceEtag());
            text(g, "status", id.status().wire());
            text(g, "statusReason", id.statusReason());
            text(g, "statusUpdateTime", timestampOrNever(id.statusUpdatedTime()));
            text(g, "connectionState", id.connectionState().wire());
            text(g, "lastActivityTime", timestampOrNever(id.lastActivityTime()));
            g.writeNumberField("cloudToDeviceMessageCount", id.cloudToDeviceMessageCount());
            text(g, "authenticationType", id.authentication().type().wire());
            g.writeObjectFieldStart("x509Thumbprint");
            text(g, "primaryThumbprint", id.authentication().x509Thumbprint().primaryThumbprint());
            text(g, "secondaryThumbprint", id.authentication().x509Thumbprint().secondaryThumbprint());
            g.writeEndObject();
            text(g, "modelId", id.modelId());
            g.writeNumberField("version", st.version());
            // A serializer provider of the mapper toBytes uses, as it serializes trees (nulls in arrays need one).
            SerializerProvider provider = MAPPER.getSerializerProviderInstance();
            g.writeFieldName("tags");
            st.tags().tree().serialize(g, provider);
            g.writeObjectFieldStart("properties");
            MetadataStream metadata = new MetadataStream(g, provider);
            g.writeFieldName("desired");
            metadata.section(st.desired());
            g.writeFieldName("reported");
            metadata.section(st.reported());
            g.writeEndObject();
            if (!id.isModule()) {
                g.writeObjectFieldStart("capabilities");
                g.writeBooleanField("iotEdge", id.iotEdge());
                g.writeEndObject();
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return buf.toByteArray();
    }

    /** A string member; null renders as JSON null, as {@code ObjectNode.put} stores it. */
    private static void text(JsonGenerator g, String name, String value) throws IOException {
        if (value == null) {
            g.writeNullField(name);
        } else {
            g.writeStringField(name, value);
        }
    }

    /**
     * Writes a properties section with its {@code $metadata} the way {@link #section} and
     * {@link MetadataWriter#tree} build it. Consecutive nodes mostly share an instant, so the last
     * one formatted is remembered.
     */
    private static final class MetadataStream {
        private final JsonGenerator g;
        private final SerializerProvider provider;
        private Instant lastInstant;
        private String lastText;

        MetadataStream(JsonGenerator g, SerializerProvider provider) {
            this.g = g;
            this.provider = provider;
        }

        /** Values (never {@code $}-named: the validator refuses those), {@code $metadata}, {@code $version}. */
        void section(PropertySection section) throws IOException {
            ObjectNode values = section.values().tree();
            g.writeStartObject();
            Iterator<Map.Entry<String, JsonNode>> it = values.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                g.writeFieldName(e.getKey());
                e.getValue().serialize(g, provider);
            }
            g.writeFieldName("$metadata");
            tree(values, section.metadata());
            g.writeNumberField("$version", section.version());
            g.writeEndObject();
        }

        private void tree(ObjectNode values, Metadata m) throws IOException {
            g.writeStartObject();
            own(m);
            Iterator<Map.Entry<String, JsonNode>> it = values.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                Metadata child = m.child(e.getKey());
                if (child != null) {
                    g.writeFieldName(e.getKey());
                    JsonNode v = e.getValue();
                    if (v.isObject()) {
                        tree((ObjectNode) v, child);
                    } else {
                        g.writeStartObject();
                        own(child);
                        g.writeEndObject();
                    }
                }
            }
            g.writeEndObject();
        }

        private void own(Metadata m) throws IOException {
            if (!m.lastUpdated().equals(lastInstant)) {
                lastInstant = m.lastUpdated();
                lastText = timestamp(lastInstant);
            }
            g.writeStringField("$lastUpdated", lastText);
            if (m.lastUpdatedVersion() != null) {
                g.writeNumberField("$lastUpdatedVersion", m.lastUpdatedVersion());
            }
        }
    }

    /**
     * What a device or module gets for MQTT {@code $iothub/twin/GET}: {@code {"desired":{...,
     * "$version":n},"reported":{...,"$version":m}}}. IoT Hub sends no {@code $metadata} here (the
     * device SDKs accept it either way), so neither do we.
     */
    public static ObjectNode deviceView(TwinState state) {
        return deviceView(state, false);
    }

    /** The device view, optionally with {@code $metadata} per section. */
    public static ObjectNode deviceView(TwinState state, boolean withMetadata) {
        ObjectNode out = NODES.objectNode();
        out.set("desired", section(state.desired(), withMetadata));
        out.set("reported", section(state.reported(), withMetadata));
        return out;
    }

    /** A properties section: its values, then {@code $metadata} (optional) and {@code $version}. */
    public static ObjectNode section(PropertySection section, boolean withMetadata) {
        ObjectNode out = section.values().toObjectNode();
        if (withMetadata) {
            out.set("$metadata", metadata(section.values().tree(), section.metadata()));
        }
        out.set("$version", number(section.version()));
        return out;
    }

    /**
     * {@code GET /twins/{id}/delta} (twinhub extension): the desired/reported versions, whether the
     * device owes anything, and per desired path it has not reported the two values with their
     * {@code $lastUpdated} (and the desired {@code $lastUpdatedVersion}).
     */
    public static ObjectNode delta(Twin twin, TwinDelta delta) {
        ObjectNode out = NODES.objectNode();
        out.put("deviceId", twin.identity().deviceId());
        if (twin.identity().moduleId() != null) out.put("moduleId", twin.identity().moduleId());
        out.put("desiredVersion", twin.state().desired().version());
        out.put("reportedVersion", twin.state().reported().version());
        out.put("isEmpty", delta.isEmpty());
        out.put("count", delta.entries().size());
        var list = out.putArray("delta");
        for (TwinDelta.Entry e : delta.entries()) {
            ObjectNode o = list.addObject();
            o.put("path", e.dotted());
            o.set("desired", e.desired());
            if (e.desiredLastUpdated() != null) o.put("desiredLastUpdated", timestamp(e.desiredLastUpdated()));
            if (e.desiredLastUpdatedVersion() != null) o.put("desiredLastUpdatedVersion", e.desiredLastUpdatedVersion());
            if (e.reported() != null) o.set("reported", e.reported());
            if (e.reportedLastUpdated() != null) o.put("reportedLastUpdated", timestamp(e.reportedLastUpdated()));
        }
        return out;
    }

    /**
     * The pseudo-section the query index adds to a twin's indexed paths (not to its JSON):
     * {@code delta.isEmpty} and {@code delta.count}, so {@code WHERE delta.isEmpty = false} finds
     * the twins whose devices have not applied their desired properties.
     */
    public static ObjectNode deltaIndexFields(TwinDelta delta) {
        ObjectNode out = NODES.objectNode();
        out.putObject("delta").put("isEmpty", delta.isEmpty()).put("count", delta.entries().size());
        return out;
    }

    /** {@code $metadata} of a section, mirroring its values. */
    public static ObjectNode metadata(PropertySection section) {
        return metadata(section.values().tree(), section.metadata());
    }

    /**
     * Body of MQTT {@code $iothub/twin/PATCH/properties/desired/?$version=n}: the change as the back
     * end made it (the patch, with its nulls; or the whole new desired document after a replace)
     * plus {@code "$version"}. Empty when the update does not touch desired.
     */
    public static Optional<ObjectNode> desiredNotification(TwinUpdate update, TwinState after) {
        Optional<ObjectNode> body = desiredChange(update, after);
        body.ifPresent(b -> b.set("$version", number(after.desired().version())));
        return body;
    }

    /**
     * Body of a twin change notification ({@code twinChangeEvents}): the change in patch form
     * with the new twin {@code version}, and per touched properties section its values, the
     * {@code $metadata} of the written paths and its new {@code $version}.
     */
    public static ObjectNode twinChangeNotification(TwinUpdate update, TwinState after) {
        ObjectNode out = NODES.objectNode();
        out.set("version", number(after.version()));
        tagsChange(update, after).ifPresent(t -> out.set("tags", t));
        ObjectNode properties = NODES.objectNode();
        desiredChange(update, after).ifPresent(d -> properties.set("desired", withMetadata(d, after.desired())));
        if (update instanceof TwinUpdate.PatchReported u) {
            properties.set("reported", withMetadata(u.patch().toObjectNode(), after.reported()));
        }
        if (!properties.isEmpty()) {
            out.set("properties", properties);
        }
        return out;
    }

    public static byte[] toBytes(JsonNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String toText(JsonNode node) {
        return new String(toBytes(node), StandardCharsets.UTF_8);
    }

    /** An int node when it fits, as a parser reads it back: rendered trees equal their re-parsed text. */
    private static JsonNode number(long v) {
        return v == (int) v ? NODES.numberNode((int) v) : NODES.numberNode(v);
    }

    private static String timestampOrNever(Instant t) {
        return t == null ? NEVER : timestamp(t);
    }

    /**
     * Renders {@code $metadata} nodes. Formatting an instant costs far more than building the node,
     * and most nodes of a section share a few instants, so each render memoises them.
     */
    private static final class MetadataWriter {
        private final Map<Instant, String> formatted = new HashMap<>();

        /** IoT Hub's order: own {@code $lastUpdated}/{@code $lastUpdatedVersion} first, then members. */
        ObjectNode node(Metadata m) {
            ObjectNode out = NODES.objectNode();
            out.put("$lastUpdated", formatted.computeIfAbsent(m.lastUpdated(), TwinJson::timestamp));
            if (m.lastUpdatedVersion() != null) {
                out.set("$lastUpdatedVersion", number(m.lastUpdatedVersion()));
            }
            return out;
        }

        ObjectNode tree(ObjectNode values, Metadata m) {
            ObjectNode out = node(m);
            Iterator<Map.Entry<String, JsonNode>> it = values.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                Metadata child = m.child(e.getKey());
                if (child != null) {
                    JsonNode v = e.getValue();
                    out.set(e.getKey(), v.isObject() ? tree((ObjectNode) v, child) : node(child));
                }
            }
            return out;
        }

        /** {@code $metadata} of just the paths a patch wrote (deleted keys have none left). */
        ObjectNode patch(ObjectNode patch, Metadata m) {
            ObjectNode out = node(m);
            Iterator<Map.Entry<String, JsonNode>> it = patch.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                Metadata child = m.child(e.getKey());
                if (child != null && !e.getValue().isNull()) {
                    JsonNode p = e.getValue();
                    out.set(e.getKey(), p.isObject() ? patch((ObjectNode) p, child) : node(child));
                }
            }
            return out;
        }
    }

    private static ObjectNode metadata(ObjectNode values, Metadata m) {
        return new MetadataWriter().tree(values, m);
    }

    private static ObjectNode withMetadata(ObjectNode change, PropertySection after) {
        change.set("$metadata", new MetadataWriter().patch(change, after.metadata()));
        change.set("$version", number(after.version()));
        return change;
    }

    private static Optional<ObjectNode> desiredChange(TwinUpdate update, TwinState after) {
        if (update instanceof TwinUpdate.PatchDesired u) {
            return Optional.of(u.patch().toObjectNode());
        } else if (update instanceof TwinUpdate.UpdateTwin u && u.desiredPatch() != null) {
            return Optional.of(u.desiredPatch().toObjectNode());
        } else if (update instanceof TwinUpdate.ReplaceDesired || update instanceof TwinUpdate.ReplaceTwin) {
            return Optional.of(after.desired().values().toObjectNode());
        }
        return Optional.empty();
    }

    private static Optional<ObjectNode> tagsChange(TwinUpdate update, TwinState after) {
        if (update instanceof TwinUpdate.PatchTags u) {
            return Optional.of(u.patch().toObjectNode());
        } else if (update instanceof TwinUpdate.UpdateTwin u && u.tagsPatch() != null) {
            return Optional.of(u.tagsPatch().toObjectNode());
        } else if (update instanceof TwinUpdate.ReplaceTags || update instanceof TwinUpdate.ReplaceTwin) {
            return Optional.of(after.tags().toObjectNode());
        }
        return Optional.empty();
    }

    // ---------------------------------------------------------------- parsing

    /**
     * A request body that must be one JSON object, e.g. a reported patch ({@code path}
     * "properties.reported") or a replacement document. Rejects MALFORMED_JSON, NOT_AN_OBJECT,
     * and DEPTH_EXCEEDED beyond {@link TwinLimits#maxParseNesting()}. Content rules are checked
     * later by {@link TwinState#decide}.
     */
    public static Outcome<JsonDoc> parseObject(byte[] body, String path, TwinLimits limits) {
        return parseTree(body, path, limits).flatMap(n -> n.isObject()
                ? Outcome.accepted(JsonDoc.owned((ObjectNode) n))
                : Outcome.rejected(TwinRule.NOT_AN_OBJECT, path, "expected a JSON object, got " + kind(n)));
    }

    /** A merge patch body for one section (MQTT reported patch: {@code Section.REPORTED}). */
    public static Outcome<TwinUpdate> parseSectionPatch(byte[] body, Section section, TwinLimits limits) {
        return parseObject(body, section.path(), limits).map(doc -> switch (section) {
            case TAGS -> new TwinUpdate.PatchTags(doc);
            case DESIRED -> new TwinUpdate.PatchDesired(doc);
            case REPORTED -> new TwinUpdate.PatchReported(doc);
        });
    }

    /**
     * {@code PATCH /twins/{id}} body: {@code {"tags":{..}, "properties":{"desired":{..}}}}. Absent
     * or null parts are not named. Identity fields (deviceId, etag, status, ...) are ignored: the
     * service SDK sends them all as null, and tools echo a fetched twin. Writing
     * {@code properties.reported} is refused (READ_ONLY_MEMBER): only the device writes it.
     */
    public static Outcome<TwinUpdate> parseTwinPatch(byte[] body, TwinLimits limits) {
        return parseTwinBody(body, limits).map(p -> new TwinUpdate.UpdateTwin(p[0], p[1]));
    }

    /**
     * {@code PUT /twins/{id}} body: same shape as {@link #parseTwinPatch}; replaces tags and desired,
     * an absent or null part meaning empty.
     */
    public static Outcome<TwinUpdate> parseTwinReplacement(byte[] body, TwinLimits limits) {
        return parseTwinBody(body, limits).map(p -> new TwinUpdate.ReplaceTwin(
                p[0] == null ? JsonDoc.empty() : p[0], p[1] == null ? JsonDoc.empty() : p[1]));
    }

    /** [tags, desired], each null when not named. */
    private static Outcome<JsonDoc[]> parseTwinBody(byte[] body, TwinLimits limits) {
        return parseObject(body, "", limits).flatMap(doc -> {
            ObjectNode root = doc.tree();
            Outcome<JsonDoc> tags = optionalObject(root.get("tags"), "tags");
            if (!tags.isAccepted()) {
                return ((Outcome.Rejected<JsonDoc>) tags).cast();
            }
            JsonNode properties = root.get("properties");
            if (properties == null || properties.isNull()) {
                return Outcome.accepted(new JsonDoc[] {tags.optionalValue().filter(d -> d != NOT_NAMED).orElse(null), null});
            }
            if (!properties.isObject()) {
                return Outcome.rejected(TwinRule.NOT_AN_OBJECT, "properties", "expected a JSON object, got " + kind(properties));
            }
            JsonNode reported = properties.get("reported");
            if (reported != null && !reported.isNull()) {
                return Outcome.rejected(TwinRule.READ_ONLY_MEMBER, "properties.reported",
                        "reported properties are written by the device only");
            }
            return optionalObject(properties.get("desired"), "properties.desired").map(desired -> new JsonDoc[] {
                    tags.optionalValue().filter(d -> d != NOT_NAMED).orElse(null), desired == NOT_NAMED ? null : desired});
        });
    }

    /** Marks an absent or null part (Outcome cannot hold null). */
    private static final JsonDoc NOT_NAMED = JsonDoc.owned(NODES.objectNode());

    private static Outcome<JsonDoc> optionalObject(JsonNode n, String path) {
        if (n == null || n.isNull()) {
            return Outcome.accepted(NOT_NAMED);
        }
        return n.isObject()
                ? Outcome.accepted(JsonDoc.owned((ObjectNode) n))
                : Outcome.rejected(TwinRule.NOT_AN_OBJECT, path, "expected a JSON object, got " + kind(n));
    }

    private static Outcome<JsonNode> parseTree(byte[] body, String path, TwinLimits limits) {
        if (body == null || body.length == 0) {
            return Outcome.rejected(TwinRule.MALFORMED_JSON, path, "empty body");
        }
        NestingGuard guard = null;
        try {
            guard = new NestingGuard(MAPPER.createParser(body), limits.maxParseNesting());
            JsonNode tree = MAPPER.readTree(guard);
            if (tree == null || tree.isMissingNode()) {
                return Outcome.rejected(TwinRule.MALFORMED_JSON, path, "empty body");
            }
            if (guard.nextToken() != null) {
                return Outcome.rejected(TwinRule.MALFORMED_JSON, path, "trailing content after the JSON value");
            }
            return Outcome.accepted(tree);
        } catch (IOException e) {
            if (guard != null && guard.tooDeepAt != null) {
                return Outcome.rejected(TwinRule.DEPTH_EXCEEDED, join(path, guard.tooDeepAt),
                        "JSON nesting deeper than " + limits.maxParseNesting());
            }
            String msg = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            if (e instanceof JsonProcessingException j && j.getLocation() != null) {
                msg += " (line " + j.getLocation().getLineNr() + ", column " + j.getLocation().getColumnNr() + ")";
            }
            return Outcome.rejected(TwinRule.MALFORMED_JSON, path, msg);
        } finally {
            if (guard != null) {
                try {
                    guard.close();
                } catch (IOException ignored) {
                    // in-memory input: nothing to release
                }
            }
        }
    }

    private static String join(String prefix, String rel) {
        if (prefix.isEmpty()) {
            return rel.startsWith(".") ? rel.substring(1) : rel;
        }
        return prefix + rel;
    }

    private static String kind(JsonNode n) {
        return n.getNodeType().name().toLowerCase();
    }

    /**
     * Stops parsing at a nesting limit, before the tree is built: bounds recursion and memory for
     * hostile bodies (Jackson 2.13 has no StreamReadConstraints yet). Remembers where.
     */
    private static final class NestingGuard extends JsonParserDelegate {
        private final int max;
        String tooDeepAt;

        NestingGuard(JsonParser parser, int max) {
            super(parser);
            this.max = max;
        }

        @Override
        public JsonToken nextToken() throws IOException {
            return guard(delegate.nextToken());
        }

        @Override
        public JsonToken nextValue() throws IOException {
            return guard(delegate.nextValue());
        }

        private JsonToken guard(JsonToken t) throws IOException {
            if ((t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY)
                    && depth(delegate.getParsingContext()) > max) {
                tooDeepAt = relativePath(delegate.getParsingContext().getParent());
                throw new JsonParseException(delegate, "nesting deeper than " + max);
            }
            return t;
        }

        private static int depth(JsonStreamContext ctx) {
            int d = 0;
            for (JsonStreamContext c = ctx; c != null && !c.inRoot(); c = c.getParent()) {
                d++;
            }
            return d;
        }

        /** ".a.b[2]" of the member or element currently being read in {@code ctx}. */
        private static String relativePath(JsonStreamContext ctx) {
            StringBuilder sb = new StringBuilder();
            for (JsonStreamContext c = ctx; c != null && !c.inRoot(); c = c.getParent()) {
                String seg = c.inArray() ? "[" + c.getCurrentIndex() + "]" : "." + c.getCurrentName();
                sb.insert(0, seg);
            }
            return sb.toString();
        }
    }
}
