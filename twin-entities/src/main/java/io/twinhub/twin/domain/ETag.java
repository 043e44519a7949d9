package io.twinhub.twin.domain;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Etags derived from versions, so they are the same after replay, failover or rebalancing.
 * Twin etags follow IoT Hub's shape: base64 of the 8-byte big-endian version
 * ({@code "AAAAAAAAAAE="} = 1). Identity etags ({@code deviceEtag}) follow IoT Hub's other
 * shape: base64 of the decimal digits ({@code "MQ=="} = 1).
 */
public final class ETag {

    private ETag() {}

    public static String ofTwinVersion(long version) {
        return Base64.getEncoder().encodeToString(ByteBuffer.allocate(Long.BYTES).putLong(version).array());
    }

    public static String ofIdentityVersion(long version) {
        return Base64.getEncoder().encodeToString(Long.toString(version).getBytes(StandardCharsets.US_ASCII));
    }

    /** The etag as an HTTP {@code ETag} header value (RFC 7232 strong validator, quoted). */
    public static String quoted(String etag) {
        return '"' + etag + '"';
    }

    /**
     * The {@code If-Match} header (or a bulk entry's {@code eTag}) in the one form {@link #matches}
     * compares: empty when absent or blank, {@code *} for any, else the listed etags unquoted and
     * comma-separated. Clients send every form: the Java SDK unquoted ({@code *}, {@code AAAAAAAAAAE=}),
     * the Node SDK quoted as RFC 7232 asks ({@code "*"}, {@code "AAAAAAAAAAE="}). Weak tags
     * ({@code W/"..."}) are refused before the entity is asked, as 412 with a message that says why
     * (If-Match compares strongly, so they never match); a malformed list is 400.
     */
    public static Outcome<java.util.Optional<String>> parseIfMatch(String header) {
        if (header == null || header.isBlank()) {
            return Outcome.accepted(java.util.Optional.empty());
        }
        java.util.List<String> tags = new java.util.ArrayList<>();
        for (String candidate : header.split(",")) {
            String c = candidate.strip();
            if (c.startsWith("W/")) {
                // RFC 7232: If-Match compares strongly, so a weak tag never matches: 412, said plainly.
                return Outcome.rejected(TwinRule.PRECONDITION_FAILED, "",
                        "If-Match '" + clip(header) + "' holds a weak entity tag, which never matches (If-Match"
                                + " compares strong etags only); send the etag as received, e.g. \"AAAAAAAAAAE=\", or *");
            }
            if (c.length() >= 2 && c.startsWith("\"") && c.endsWith("\"")) {
                c = c.substring(1, c.length() - 1);
            }
            if (c.isEmpty() || c.indexOf('"') >= 0) {
                return Outcome.rejected(TwinRule.IF_MATCH_INVALID, "",
                        "If-Match '" + clip(header) + "' is not a list of entity tags or *");
            }
            if (c.equals("*")) {
                return Outcome.accepted(java.util.Optional.of(ANY));
            }
            tags.add(c);
        }
        return Outcome.accepted(java.util.Optional.of(String.join(",", tags)));
    }

    /** If-Match {@code *} or {@code "*"}: any current etag. */
    public static final String ANY = "*";

    private static String clip(String s) {
        return s.length() <= 100 ? s : s.substring(0, 100) + "...";
    }

    /**
     * RFC 7232 {@code If-Match} against the current etag: absent, blank or {@code *} matches
     * (unconditional); otherwise one of the listed etags, quoted or not, must equal it (strong
     * comparison, so weak {@code W/"..."} tags never match).
     */
    public static boolean matches(String ifMatch, String current) {
        if (ifMatch == null || ifMatch.isBlank()) {
            return true;
        }
        for (String candidate : ifMatch.split(",")) {
            String c = candidate.strip();
            if (c.startsWith("W/")) {
                continue;
            }
            if (c.length() >= 2 && c.startsWith("\"") && c.endsWith("\"")) {
                c = c.substring(1, c.length() - 1);
            }
            if (c.equals("*") || c.equals(current)) {
                return true;
            }
        }
        return false;
    }

    /** Rejection when {@code ifMatch} does not match {@code current}, as an Outcome of {@code value}. */
    public static <T> Outcome<T> check(String ifMatch, String current, T value) {
        return matches(ifMatch, current)
                ? Outcome.accepted(value)
                : Outcome.rejected(TwinRule.PRECONDITION_FAILED, "",
                        "If-Match " + ifMatch + " does not match the current etag " + quoted(current));
    }
}
