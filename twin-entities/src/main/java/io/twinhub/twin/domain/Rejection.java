package io.twinhub.twin.domain;

import java.util.Objects;

/**
 * Why an operation was refused: the rule, the offending JSON path in twin-document terms
 * (e.g. {@code properties.desired.a.b}, {@code tags.x[2]}; empty when the whole request is
 * meant) and a message for humans.
 */
public record Rejection(TwinRule rule, String path, String message) {
    public Rejection {
        Objects.requireNonNull(rule, "rule");
        path = path == null ? "" : path;
        message = message == null ? "" : message;
    }

    public static Rejection of(TwinRule rule, String path, String message) {
        return new Rejection(rule, path, message);
    }
}
