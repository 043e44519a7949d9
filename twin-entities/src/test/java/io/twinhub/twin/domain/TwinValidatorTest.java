package io.twinhub.twin.domain;

import static io.twinhub.twin.domain.TestJson.accepted;
import static io.twinhub.twin.domain.TestJson.at;
import static io.twinhub.twin.domain.TestJson.doc;
import static io.twinhub.twin.domain.TestJson.rejected;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.domain.TwinUpdate.PatchDesired;
import io.twinhub.twin.domain.TwinUpdate.PatchReported;
import io.twinhub.twin.domain.TwinUpdate.PatchTags;
import io.twinhub.twin.domain.TwinUpdate.ReplaceDesired;
import io.twinhub.twin.domain.TwinUpdate.ReplaceTags;
import io.twinhub.twin.domain.TwinUpdate.ReplaceTwin;
import io.twinhub.twin.domain.TwinUpdate.UpdateTwin;
import java.math.BigInteger;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TwinValidatorTest {

    private static final Instant T = at("2026-11-24T09:41:50.123Z");
    private static final TwinLimits L = TwinLimits.DEFAULT;
    private static final JsonNodeFactory N = JsonNodeFactory.instance;

    private static Outcome<TwinState> patchDesired(ObjectNode patch) {
        return TwinState.created(T).decide(new PatchDesired(JsonDoc.of(patch)), T, L);
    }

    private static ObjectNode one(String key, Object value) {
        ObjectNode o = N.objectNode();
        o.set(key, toNode(value));
        return o;
    }

    private static com.fasterxml.jackson.databind.JsonNode toNode(Object v) {
        if (v instanceof String s) {
            return N.textNode(s);
        } else if (v instanceof Long l) {
            return N.numberNode(l);
        } else if (v instanceof BigInteger b) {
            return N.numberNode(b);
        } else if (v instanceof Double d) {
            return N.numberNode(d);
        } else if (v instanceof com.fasterxml.jackson.databind.JsonNode n) {
            return n;
        }
        throw new IllegalArgumentException(String.valueOf(v));
    }

    // ------------------------------------------------------------------ keys

    @Test
    void keyLengthBoundaryInUtf8Bytes() {
        accepted(patchDesired(one("k".repeat(1024), "v")));
        rejected(patchDesired(one("k".repeat(1025), "v")), TwinRule.KEY_TOO_LONG, "properties.desired." + "k".repeat(1025));
        accepted(patchDesired(one("é".repeat(512), "v"))); // 2 bytes each = 1024
        rejected(patchDesired(one("é".repeat(512) + "k", "v")), TwinRule.KEY_TOO_LONG, "properties.desired." + "é".repeat(512) + "k");
        accepted(patchDesired(one("😀".repeat(256), "v"))); // 4 bytes each = 1024
    }

    @ParameterizedTest
    @ValueSource(strings = {"a.b", "a b", "a$b", "a\u0000b", "a\u001fb", "a\u007fb", "a\u0080b", "a\u0085b", "a\u009fb", "a\nb", "\ud800x", ""})
    void forbiddenKeyCharacters(String key) {
        rejected(patchDesired(one(key, 1L)), TwinRule.KEY_INVALID, "properties.desired" + (key.isEmpty() ? "." : "." + key));
    }

    @ParameterizedTest
    @ValueSource(strings = {"a-b", "a_b", "ünï", "a:b", "a/b", "a\u00a0b", "日本"})
    void allowedKeyCharacters(String key) {
        accepted(patchDesired(one(key, 1L)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"$metadata", "$version", "$etag", "$lastUpdated", "$anything"})
    void dollarMembersAreReadOnlyAtAnyLevel(String key) {
        rejected(patchDesired(one(key, 1L)), TwinRule.READ_ONLY_MEMBER, "properties.desired." + key);
        rejected(patchDesired(one("a", one(key, 1L))), TwinRule.READ_ONLY_MEMBER, "properties.desired.a." + key);
        rejected(TwinState.created(T).decide(new PatchReported(JsonDoc.of(one(key, 1L))), T, L),
                TwinRule.READ_ONLY_MEMBER, "properties.reported." + key);
        rejected(TwinState.created(T).decide(new ReplaceTags(JsonDoc.of(one(key, 1L))), T, L),
                TwinRule.READ_ONLY_MEMBER, "tags." + key);
    }

    // ------------------------------------------------------------------ depth

    /** {"l1":{"l2":...{"lN":{"leaf":1}}}}: N nested objects below the section root. */
    private static ObjectNode nested(int levels) {
        ObjectNode inner = N.objectNode().put("leaf", 1);
        for (int i = levels; i >= 1; i--) {
            inner = N.objectNode().set("l" + i, inner);
        }
        return inner;
    }

    private static String nestedPath(String prefix, int levels) {
        StringBuilder sb = new StringBuilder(prefix);
        for (int i = 1; i <= levels; i++) {
            sb.append(".l").append(i);
        }
        return sb.toString();
    }

    @Test
    void depthBoundaryCountsObjectsBelowTheSectionRoot() {
        accepted(patchDesired(nested(10)));
        rejected(patchDesired(nested(11)), TwinRule.DEPTH_EXCEEDED, nestedPath("properties.desired", 11));
        accepted(TwinState.created(T).decide(new PatchTags(JsonDoc.of(nested(10))), T, L));
        rejected(TwinState.created(T).decide(new PatchTags(JsonDoc.of(nested(11))), T, L),
                TwinRule.DEPTH_EXCEEDED, nestedPath("tags", 11));
        // The seed's example of the (then) limit 5 is valid at maxDepth 5 and one more level is not.
        TwinLimits five = new TwinLimits(1024, 5, 4096, L.minInteger(), L.maxInteger(), 8192, 8192, 8192, 20);
        accepted(TwinState.created(T).decide(new PatchTags(doc(
                "{'one':{'two':{'three':{'four':{'five':{'property':'value'}}}}}}")), T, five));
        rejected(TwinState.created(T).decide(new PatchTags(doc(
                "{'one':{'two':{'three':{'four':{'five':{'six':{}}}}}}}")), T, five),
                TwinRule.DEPTH_EXCEEDED, "tags.one.two.three.four.five.six");
    }

    @Test
    void arraysCountAsNestingLevels() {
        ObjectNode nine = nested(9);
        // Leaf container at depth 10 is an array: fine; an object inside it would be depth 11.
        ObjectNode at10 = (ObjectNode) nine.at("/l1/l2/l3/l4/l5/l6/l7/l8/l9");
        at10.set("arr", N.arrayNode().add(1));
        accepted(patchDesired(nine));
        at10.set("arr", N.arrayNode().add(N.objectNode()));
        rejected(patchDesired(nine), TwinRule.DEPTH_EXCEEDED, nestedPath("properties.desired", 9) + ".arr[0]");
    }

    @Test
    void depthOfAMergedResultIsTheDepthOfThePatch() {
        // Existing depth 9 subtree, patch adds two levels at depth 10 and 11.
        TwinState s = accepted(TwinState.created(T).decide(new PatchDesired(JsonDoc.of(nested(9))), T, L));
        ObjectNode deeper = nested(9);
        ((ObjectNode) deeper.at("/l1/l2/l3/l4/l5/l6/l7/l8/l9")).set("x", N.objectNode().set("y", N.objectNode()));
        rejected(s.decide(new PatchDesired(JsonDoc.of(deeper)), T, L), TwinRule.DEPTH_EXCEEDED,
                nestedPath("properties.desired", 9) + ".x.y");
    }

    // ------------------------------------------------------------------ values

    @Test
    void stringLengthBoundaryInUtf8Bytes() {
        accepted(patchDesired(one("s", "x".repeat(4096))));
        rejected(patchDesired(one("s", "x".repeat(4097))), TwinRule.STRING_TOO_LONG, "properties.desired.s");
        accepted(patchDesired(one("s", "€".repeat(1365)))); // 3 bytes each = 4095
        rejected(patchDesired(one("s", "€".repeat(1366))), TwinRule.STRING_TOO_LONG, "properties.desired.s");
        rejected(TwinState.created(T).decide(new PatchReported(doc("{'a':[1,'" + "x".repeat(4097) + "']}")), T, L),
                TwinRule.STRING_TOO_LONG, "properties.reported.a[1]");
    }

    @Test
    void integerRangeBoundaries() {
        accepted(patchDesired(one("i", 4503599627370495L)));
        rejected(patchDesired(one("i", 4503599627370496L)), TwinRule.INTEGER_OUT_OF_RANGE, "properties.desired.i");
        accepted(patchDesired(one("i", -4503599627370496L)));
        rejected(patchDesired(one("i", -4503599627370497L)), TwinRule.INTEGER_OUT_OF_RANGE, "properties.desired.i");
        rejected(patchDesired(one("i", new BigInteger("123456789012345678901234567890"))),
                TwinRule.INTEGER_OUT_OF_RANGE, "properties.desired.i");
        rejected(patchDesired(one("i", Long.MAX_VALUE)), TwinRule.INTEGER_OUT_OF_RANGE, "properties.desired.i");
        // Floating-point numbers are not integers: no integer range, but they must be finite.
        accepted(patchDesired(one("f", 1e300)));
        rejected(patchDesired(one("f", Double.POSITIVE_INFINITY)), TwinRule.NUMBER_OUT_OF_RANGE, "properties.desired.f");
        rejected(patchDesired(one("f", Double.NaN)), TwinRule.NUMBER_OUT_OF_RANGE, "properties.desired.f");
    }

    @Test
    void arraysAllowedInPropertiesNotInTags() {
        accepted(patchDesired(doc("{'a':[1,'x',{'b':true},null,[2]]}").toObjectNode()));
        accepted(TwinState.created(T).decide(new PatchReported(doc("{'a':[1]}")), T, L));
        rejected(TwinState.created(T).decide(new PatchTags(doc("{'a':{'b':[1]}}")), T, L),
                TwinRule.ARRAY_NOT_ALLOWED, "tags.a.b");
        rejected(TwinState.created(T).decide(new ReplaceTwin(doc("{'a':[1]}"), JsonDoc.empty()), T, L),
                TwinRule.ARRAY_NOT_ALLOWED, "tags.a");
    }

    @Test
    void keysInsideArraysAreValidatedWithIndexedPaths() {
        rejected(TwinState.created(T).decide(new PatchReported(doc("{'a':[{'ok':1},{'b.c':1}]}")), T, L),
                TwinRule.KEY_INVALID, "properties.reported.a[1].b.c");
    }

    @Test
    void nonJsonNodesAreRefused() {
        ObjectNode o = N.objectNode();
        o.set("bin", N.binaryNode(new byte[] {1}));
        rejected(patchDesired(o), TwinRule.VALUE_INVALID, "properties.desired.bin");
    }

    // ------------------------------------------------------------------ sizes

    @Test
    void sizeCountsKeysAndValuesLikeIotHub() {
        assertEquals(0, TwinValidator.sizeOf(JsonDoc.empty()));
        assertEquals(1 + 8, TwinValidator.sizeOf(doc("{'a':12345}")));
        assertEquals(1 + 8, TwinValidator.sizeOf(doc("{'a':1.5}")));
        assertEquals(1 + 4, TwinValidator.sizeOf(doc("{'a':false}")));
        assertEquals(2 + 3, TwinValidator.sizeOf(doc("{'ab':'xyz'}")));
        assertEquals(1 + 2, TwinValidator.sizeOf(doc("{'a':'é'}")));
        assertEquals(1 + 2, TwinValidator.sizeOf(doc("{'a':'x\\ny'}")), "control characters do not count");
        assertEquals(1 + (1 + 8) + (1 + 1), TwinValidator.sizeOf(doc("{'a':{'b':1,'c':'d'}}")));
        assertEquals(1 + 8 + 1 + 4 + 4, TwinValidator.sizeOf(doc("{'a':[1,'x',true,null]}")));
    }

    /** A desired/tags doc of exactly {@code bytes} by the size rule: key "k" + string of bytes-1. */
    private static ObjectNode sized(int bytes) {
        return one("k", "x".repeat(bytes - 1 - 4096 * ((bytes - 1) / 4096)))
                .setAll(filler((bytes - 1) / 4096));
    }

    /** n members "fNNN" of 4 bytes key + 4092-byte string = 4096 bytes each. */
    private static ObjectNode filler(int n) {
        ObjectNode o = N.objectNode();
        for (int i = 0; i < n; i++) {
            o.put(String.format("f%03d", i), "y".repeat(4092));
        }
        return o;
    }

    @Test
    void sectionSizeBoundaries() {
        ObjectNode tags8k = sized(8192);
        assertEquals(8192, TwinValidator.sizeOf(JsonDoc.of(tags8k)));
        accepted(TwinState.created(T).decide(new ReplaceTags(JsonDoc.of(tags8k)), T, L));
        rejected(TwinState.created(T).decide(new ReplaceTags(JsonDoc.of(sized(8193))), T, L),
                TwinRule.SECTION_TOO_LARGE, "tags");
        accepted(TwinState.created(T).decide(new ReplaceDesired(JsonDoc.of(sized(32768))), T, L));
        rejected(TwinState.created(T).decide(new ReplaceDesired(JsonDoc.of(sized(32769))), T, L),
                TwinRule.SECTION_TOO_LARGE, "properties.desired");
        accepted(TwinState.created(T).decide(new PatchReported(JsonDoc.of(sized(32768))), T, L));
        rejected(TwinState.created(T).decide(new PatchReported(JsonDoc.of(sized(32769))), T, L),
                TwinRule.SECTION_TOO_LARGE, "properties.reported");
    }

    @Test
    void sizeIsCheckedOnTheMergedSection() {
        TwinState s = accepted(TwinState.created(T).decide(new PatchTags(JsonDoc.of(filler(1))), T, L)); // 4096
        s = accepted(s.decide(new PatchTags(JsonDoc.of(sized(4096))), T, L)); // +4096 = 8192
        assertEquals(8192, TwinValidator.sizeOf(s.tags()));
        TwinState full = s;
        // One more byte anywhere is too much, though the patch itself is tiny.
        rejected(full.decide(new PatchTags(doc("{'z':true}")), T, L), TwinRule.SECTION_TOO_LARGE, "tags");
        rejected(full.decide(new UpdateTwin(doc("{'z':true}"), doc("{'d':1}")), T, L), TwinRule.SECTION_TOO_LARGE, "tags");
        // Replacing a big value by a small one in the same patch that adds a key is fine.
        accepted(full.decide(new PatchTags(doc("{'f000':'small','z':true}")), T, L));
        accepted(full.decide(new PatchTags(doc("{'f000':null}")), T, L));
    }

    @Test
    void aSectionAlreadyOverALoweredLimitMayShrinkButNotGrow() {
        TwinState s = accepted(TwinState.created(T).decide(new PatchReported(JsonDoc.of(filler(2))), T, L)); // 8192
        TwinLimits lowered = new TwinLimits(1024, 10, 4096, L.minInteger(), L.maxInteger(), 8192, 32768, 4096, 50);
        accepted(s.decide(new PatchReported(doc("{'f000':'short'}")), T, lowered));
        rejected(s.decide(new PatchReported(doc("{'more':1}")), T, lowered), TwinRule.SECTION_TOO_LARGE, "properties.reported");
    }

    @Test
    void checkSectionValidatesStoredDocuments() {
        assertTrue(TwinValidator.checkSection(doc("{'a':{'b':[1,null]}}"), Section.DESIRED, L).isEmpty());
        assertEquals(TwinRule.VALUE_INVALID,
                TwinValidator.checkSection(doc("{'a':null}"), Section.DESIRED, L).orElseThrow().rule());
        assertEquals(TwinRule.ARRAY_NOT_ALLOWED,
                TwinValidator.checkSection(doc("{'a':[1]}"), Section.TAGS, L).orElseThrow().rule());
        assertEquals(TwinRule.SECTION_TOO_LARGE,
                TwinValidator.checkSection(JsonDoc.of(sized(8193)), Section.TAGS, L).orElseThrow().rule());
    }

    @Test
    void modulesPerDeviceBoundary() {
        assertEquals(50, accepted(Identity.checkModuleQuota(49, L)));
        rejected(Identity.checkModuleQuota(50, L), TwinRule.MODULE_LIMIT_EXCEEDED, "moduleId");
    }
}
