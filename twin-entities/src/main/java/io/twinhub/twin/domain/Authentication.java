package io.twinhub.twin.domain;

import java.util.Base64;
import java.util.Objects;
import java.util.Optional;
import java.util.random.RandomGenerator;
import java.util.regex.Pattern;

/**
 * How a device or module authenticates: its type plus SAS keys or X.509 thumbprints, shaped like
 * IoT Hub's {@code authentication} block.
 */
public record Authentication(AuthenticationType type, SymmetricKey symmetricKey, X509Thumbprint x509Thumbprint) {

    /** Base64 SAS keys; IoT Hub accepts 16..64 decoded bytes. */
    public record SymmetricKey(String primaryKey, String secondaryKey) {
        public static final SymmetricKey NONE = new SymmetricKey(null, null);

        /** Keys never reach logs. */
        @Override
        public String toString() {
            return "SymmetricKey[primaryKey=" + (primaryKey == null ? "null" : "***")
                    + ", secondaryKey=" + (secondaryKey == null ? "null" : "***") + "]";
        }

        /** A fresh 32-byte key (IoT Hub's size); randomness comes from the caller, never from here. */
        public static String generateKey(RandomGenerator random) {
            byte[] key = new byte[32];
            random.nextBytes(key);
            return Base64.getEncoder().encodeToString(key);
        }
    }

    /** Hex SHA-1 (40) or SHA-256 (64) certificate thumbprints. */
    public record X509Thumbprint(String primaryThumbprint, String secondaryThumbprint) {
        public static final X509Thumbprint NONE = new X509Thumbprint(null, null);
    }

    private static final Pattern THUMBPRINT = Pattern.compile("[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64}");

    public Authentication {
        Objects.requireNonNull(type, "type");
        symmetricKey = symmetricKey == null ? SymmetricKey.NONE : symmetricKey;
        x509Thumbprint = x509Thumbprint == null ? X509Thumbprint.NONE : x509Thumbprint;
    }

    /** The symmetric keys a token may be signed with; empty unless both are present and valid. */
    public Optional<io.twinhub.twin.auth.SymmetricKeyPair> keyPair() {
        if (symmetricKey.primaryKey() == null || symmetricKey.secondaryKey() == null) return Optional.empty();
        try {
            return Optional.of(new io.twinhub.twin.auth.SymmetricKeyPair(symmetricKey.primaryKey(), symmetricKey.secondaryKey()));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    public static Authentication sas(String primaryKey, String secondaryKey) {
        return new Authentication(AuthenticationType.SAS, new SymmetricKey(primaryKey, secondaryKey), null);
    }

    public static Authentication selfSigned(String primaryThumbprint, String secondaryThumbprint) {
        return new Authentication(AuthenticationType.SELF_SIGNED, null, new X509Thumbprint(primaryThumbprint, secondaryThumbprint));
    }

    public static Authentication certificateAuthority() {
        return new Authentication(AuthenticationType.CERTIFICATE_AUTHORITY, null, null);
    }

    /**
     * For SAS: missing keys generated from {@code random} (IoT Hub generates keys a create or
     * update leaves out). The caller draws them before persisting, so replay never re-rolls them.
     */
    public Authentication withKeysGeneratedIfAbsent(RandomGenerator random) {
        if (type != AuthenticationType.SAS) {
            return this;
        }
        String p = symmetricKey.primaryKey() == null ? SymmetricKey.generateKey(random) : symmetricKey.primaryKey();
        String s = symmetricKey.secondaryKey() == null ? SymmetricKey.generateKey(random) : symmetricKey.secondaryKey();
        return new Authentication(type, new SymmetricKey(p, s), x509Thumbprint);
    }

    /** Consistency of keys/thumbprints with the type. */
    public Optional<Rejection> check() {
        switch (type) {
            case SAS:
                return key(symmetricKey.primaryKey(), "primaryKey").or(() -> key(symmetricKey.secondaryKey(), "secondaryKey"));
            case SELF_SIGNED:
                if (x509Thumbprint.primaryThumbprint() == null) {
                    return reject("authentication.x509Thumbprint.primaryThumbprint", "selfSigned needs a primary thumbprint");
                }
                return thumbprint(x509Thumbprint.primaryThumbprint(), "primaryThumbprint")
                        .or(() -> x509Thumbprint.secondaryThumbprint() == null
                                ? Optional.empty() : thumbprint(x509Thumbprint.secondaryThumbprint(), "secondaryThumbprint"));
            default:
                return Optional.empty();
        }
    }

    private static Optional<Rejection> key(String key, String name) {
        String path = "authentication.symmetricKey." + name;
        if (key == null) {
            return reject(path, "sas authentication needs both keys");
        }
        try {
            int n = Base64.getDecoder().decode(key).length;
            return n >= 16 && n <= 64 ? Optional.empty() : reject(path, "key must decode to 16..64 bytes, got " + n);
        } catch (IllegalArgumentException e) {
            return reject(path, "key is not base64");
        }
    }

    private static Optional<Rejection> thumbprint(String t, String name) {
        return THUMBPRINT.matcher(t).matches() ? Optional.empty()
                : reject("authentication.x509Thumbprint." + name, "thumbprint must be 40 or 64 hex digits");
    }

    private static Optional<Rejection> reject(String path, String message) {
        return Optional.of(Rejection.of(TwinRule.AUTHENTICATION_INVALID, path, message));
    }
}
