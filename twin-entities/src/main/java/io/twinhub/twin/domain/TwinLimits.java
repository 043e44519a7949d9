package io.twinhub.twin.domain;

/**
 * Every twin limit in one place (PROTOCOL.md "Validation", column "ours"). Defaults are today's
 * IoT Hub values; the node binds one config block to this record.
 *
 * <ul>
 *   <li>{@code maxKeyBytes}: key length in UTF-8 bytes (1 KB).</li>
 *   <li>{@code maxDepth}: nesting of containers below the section root. The section object
 *       ({@code tags}, {@code properties.desired}, ...) is depth 0; an object or array that is a
 *       member or element of a depth-d container has depth d+1; every container must have
 *       depth &le; maxDepth. With 10, {@code {"l1":{..{"l10":{"leaf":1}}}}} is the deepest valid
 *       shape, as in IoT Hub's documented example (the seed's depth-5 example likewise).</li>
 *   <li>{@code maxStringBytes}: string value length in UTF-8 bytes (4 KB).</li>
 *   <li>{@code minInteger}/{@code maxInteger}: -4503599627370496 .. 4503599627370495 (-2^52 .. 2^52-1).</li>
 *   <li>{@code maxTagsBytes}/{@code maxDesiredBytes}/{@code maxReportedBytes}: section sizes as
 *       computed by {@link TwinValidator#sizeOf} (8 KB / 32 KB / 32 KB).</li>
 *   <li>{@code maxModulesPerDevice}: 50.</li>
 * </ul>
 */
public record TwinLimits(
        int maxKeyBytes,
        int maxDepth,
        int maxStringBytes,
        long minInteger,
        long maxInteger,
        int maxTagsBytes,
        int maxDesiredBytes,
        int maxReportedBytes,
        int maxModulesPerDevice) {

    public static final TwinLimits DEFAULT = new TwinLimits(
            1024, 10, 4096, -4503599627370496L, 4503599627370495L, 8 * 1024, 32 * 1024, 32 * 1024, 50);

    public TwinLimits {
        if (maxKeyBytes < 1 || maxDepth < 1 || maxStringBytes < 0 || maxTagsBytes < 0
                || maxDesiredBytes < 0 || maxReportedBytes < 0 || maxModulesPerDevice < 0 || minInteger > maxInteger) {
            throw new IllegalArgumentException("inconsistent twin limits: " + this);
        }
    }

    /** Size limit of one section. */
    public int maxBytes(Section section) {
        return switch (section) {
            case TAGS -> maxTagsBytes;
            case DESIRED -> maxDesiredBytes;
            case REPORTED -> maxReportedBytes;
        };
    }

    /**
     * Nesting accepted by the JSON parser before the validator sees the tree: a twin body wraps a
     * section in up to 3 levels ({} / properties / desired), plus slack so that the validator, not
     * the parser, reports ordinary depth violations with their exact path.
     */
    public int maxParseNesting() {
        return maxDepth + 8;
    }
}
