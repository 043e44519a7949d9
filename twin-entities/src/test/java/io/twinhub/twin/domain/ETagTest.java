package io.twinhub.twin.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ETagTest {

    @Test
    void twinEtagIsBase64OfTheBigEndianVersion() {
        assertEquals("AAAAAAAAAAE=", ETag.ofTwinVersion(1));
        assertEquals("AAAAAAAAAAc=", ETag.ofTwinVersion(7)); // seed 003's module twin
        assertEquals("AAAAAAAAAQA=", ETag.ofTwinVersion(256));
        assertEquals(ETag.ofTwinVersion(42), ETag.ofTwinVersion(42));
    }

    @Test
    void identityEtagIsBase64OfTheDecimalVersion() {
        assertEquals("MQ==", ETag.ofIdentityVersion(1));
        assertEquals("NzM4NzU4NTA4", ETag.ofIdentityVersion(738758508));
    }

    @Test
    void ifMatch() {
        String e = "AAAAAAAAAAE=";
        assertTrue(ETag.matches(null, e));
        assertTrue(ETag.matches("", e));
        assertTrue(ETag.matches("*", e));
        assertTrue(ETag.matches(e, e));
        assertTrue(ETag.matches("\"" + e + "\"", e));
        assertTrue(ETag.matches(" \"x\" , \"" + e + "\" ", e));
        assertFalse(ETag.matches("\"AAAAAAAAAAI=\"", e));
        assertFalse(ETag.matches("W/\"" + e + "\"", e));
        assertFalse(ETag.matches("\"" + e, e));
        assertEquals("\"" + e + "\"", ETag.quoted(e));
        assertEquals(TwinRule.PRECONDITION_FAILED,
                ETag.check("x", e, "v").optionalRejection().orElseThrow().rule());
    }

    @Test
    void ifMatchHeaderIsNormalizedFromEveryFormClientsSend() {
        String e = ETag.ofTwinVersion(2);
        // Absent or blank: unconditional.
        assertEquals(java.util.Optional.empty(), ETag.parseIfMatch(null).optionalValue().orElseThrow());
        assertEquals(java.util.Optional.empty(), ETag.parseIfMatch("  ").optionalValue().orElseThrow());
        // The wildcard, as the Java SDK (*) and the Node SDK ("*") send it.
        assertEquals("*", ETag.parseIfMatch("*").optionalValue().orElseThrow().orElseThrow());
        assertEquals("*", ETag.parseIfMatch("\"*\"").optionalValue().orElseThrow().orElseThrow());
        // An etag, unquoted (Java SDK) or quoted (Node SDK, RFC 7232); a list.
        assertEquals(e, ETag.parseIfMatch(e).optionalValue().orElseThrow().orElseThrow());
        assertEquals(e, ETag.parseIfMatch("\"" + e + "\"").optionalValue().orElseThrow().orElseThrow());
        assertEquals("a,b", ETag.parseIfMatch("\"a\", b").optionalValue().orElseThrow().orElseThrow());
        // Weak and malformed tags are refused, never a silent 412.
        for (String weak : new String[] {"W/\"" + e + "\"", "\"a\", W/\"b\""}) {
            assertEquals(TwinRule.PRECONDITION_FAILED, ETag.parseIfMatch(weak).optionalRejection().orElseThrow().rule(), weak);
        }
        for (String bad : new String[] {"\"", "\"\"", "a,,b", "\"a\"b\""}) {
            assertEquals(TwinRule.IF_MATCH_INVALID, ETag.parseIfMatch(bad).optionalRejection().orElseThrow().rule(), bad);
        }
        assertTrue(ETag.matches("\"*\"", e));
        assertTrue(ETag.matches(ETag.parseIfMatch("\"" + e + "\"").optionalValue().orElseThrow().orElseThrow(), e));
        assertFalse(ETag.matches(ETag.parseIfMatch("\"x\"").optionalValue().orElseThrow().orElseThrow(), e));
    }
}
