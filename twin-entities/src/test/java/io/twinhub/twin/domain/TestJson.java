package io.twinhub.twin.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;

/** Test helpers: JSON literals with single quotes, instants, outcome assertions. */
final class TestJson {

    private static final ObjectMapper LENIENT = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_SINGLE_QUOTES)
            .build();

    private TestJson() {}

    static ObjectNode obj(String json) {
        try {
            return (ObjectNode) LENIENT.readTree(json);
        } catch (Exception e) {
            throw new IllegalArgumentException(json, e);
        }
    }

    static JsonNode node(String json) {
        try {
            return LENIENT.readTree(json);
        } catch (Exception e) {
            throw new IllegalArgumentException(json, e);
        }
    }

    static JsonDoc doc(String json) {
        return JsonDoc.of(obj(json));
    }

    static Instant at(String iso) {
        return Instant.parse(iso);
    }

    static <T> T accepted(Outcome<T> outcome) {
        if (outcome instanceof Outcome.Rejected<T> r) {
            fail("expected accepted, got " + r.rejection());
        }
        return outcome.optionalValue().orElseThrow();
    }

    static <T> Rejection rejected(Outcome<T> outcome, TwinRule rule, String path) {
        assertTrue(outcome instanceof Outcome.Rejected, () -> "expected rejection " + rule + ", got " + outcome);
        Rejection r = outcome.optionalRejection().orElseThrow();
        assertEquals(rule, r.rule(), () -> "rule of " + r);
        assertEquals(path, r.path(), () -> "path of " + r);
        assertTrue(!r.message().isBlank(), "message");
        return r;
    }

    static void assertJson(String expected, JsonNode actual) {
        assertEquals(node(expected), actual, () -> "actual: " + actual);
    }
}
