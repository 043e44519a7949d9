package io.twinhub.twin.domain;

import java.time.Instant;
import java.util.Objects;

/**
 * A whole device or module twin as clients see it: the identity's read-only fields plus the
 * writable {@link TwinState}. Rendered by {@link TwinJson#serviceView}.
 */
public record Twin(Identity identity, TwinState state) {

    public Twin {
        Objects.requireNonNull(identity, "identity");
        Objects.requireNonNull(state, "state");
    }

    /** The twin that comes into being with {@code identity} (twin lifecycle follows identity). */
    public static Twin created(Identity identity, Instant at) {
        return new Twin(identity, TwinState.created(at));
    }

    /** Twin etag (tags/desired/reported); {@link #deviceEtag()} is the identity's. */
    public String etag() {
        return state.etag();
    }

    public String deviceEtag() {
        return identity.etag();
    }

    public Twin withState(TwinState newState) {
        return new Twin(identity, newState);
    }

    public Twin withIdentity(Identity newIdentity) {
        return new Twin(newIdentity, state);
    }
}
