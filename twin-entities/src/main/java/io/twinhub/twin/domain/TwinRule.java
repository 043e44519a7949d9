package io.twinhub.twin.domain;

/**
 * The rule a rejected twin or identity operation broke. The gateway maps each rule once to an
 * IoT Hub error code / HTTP status / MQTT result (that mapping lives with the error-code enum,
 * not here); all rules except {@link #PRECONDITION_FAILED} and {@link #MODULE_LIMIT_EXCEEDED}
 * are plain bad requests (400).
 */
public enum TwinRule {
    /** Body is not JSON, has duplicate keys, trailing data, or is empty. */
    MALFORMED_JSON,
    /** A body or section that must be a JSON object is something else. */
    NOT_AN_OBJECT,
    /** Empty key, or a key with a control char (C0/C1), '.', ' ' or '$' (not leading), or a lone surrogate. */
    KEY_INVALID,
    /** Key longer than {@link TwinLimits#maxKeyBytes()} (UTF-8 bytes). */
    KEY_TOO_LONG,
    /** A member whose name starts with '$' ($metadata, $version, ...): owned by the hub. */
    READ_ONLY_MEMBER,
    /** Object/array nesting deeper than {@link TwinLimits#maxDepth()}. */
    DEPTH_EXCEEDED,
    /** String value longer than {@link TwinLimits#maxStringBytes()} (UTF-8 bytes). */
    STRING_TOO_LONG,
    /** Integer outside [{@link TwinLimits#minInteger()}, {@link TwinLimits#maxInteger()}]. */
    INTEGER_OUT_OF_RANGE,
    /** Floating-point value that is not finite (e.g. 1e400 parses to infinity). */
    NUMBER_OUT_OF_RANGE,
    /** A JSON node kind that has no JSON text form (binary, POJO, missing). */
    VALUE_INVALID,
    /** Arrays are allowed in desired/reported only, not in tags. */
    ARRAY_NOT_ALLOWED,
    /** The resulting section would exceed its size limit. */
    SECTION_TOO_LARGE,
    /** If-Match did not match the current etag (412). */
    PRECONDITION_FAILED,
    /** If-Match is not a list of entity tags or {@code *} (an empty tag, a stray quote). */
    IF_MATCH_INVALID,
    /** Device or module id not of IoT Hub's id syntax. */
    ID_INVALID,
    /** Authentication block inconsistent with its type (keys, thumbprints). */
    AUTHENTICATION_INVALID,
    /** The device already has {@link TwinLimits#maxModulesPerDevice()} modules. */
    MODULE_LIMIT_EXCEEDED
}
