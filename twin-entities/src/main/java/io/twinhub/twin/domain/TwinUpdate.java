package io.twinhub.twin.domain;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.util.Objects;

/**
 * A write to a twin's tags/desired/reported, as the back end (HTTPS) or the device (MQTT) asks
 * for it. Carries no timestamp: {@link TwinState#decide} and {@link TwinState#apply} take the
 * instant separately so an event can carry (update, instant) and replay stays deterministic.
 *
 * <p>Jackson-serialisable (property {@code "op"}) so entities may persist it inside events.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "op")
@JsonSubTypes({
        @JsonSubTypes.Type(value = TwinUpdate.PatchDesired.class, name = "patchDesired"),
        @JsonSubTypes.Type(value = TwinUpdate.PatchReported.class, name = "patchReported"),
        @JsonSubTypes.Type(value = TwinUpdate.PatchTags.class, name = "patchTags"),
        @JsonSubTypes.Type(value = TwinUpdate.ReplaceDesired.class, name = "replaceDesired"),
        @JsonSubTypes.Type(value = TwinUpdate.ReplaceTags.class, name = "replaceTags"),
        @JsonSubTypes.Type(value = TwinUpdate.UpdateTwin.class, name = "updateTwin"),
        @JsonSubTypes.Type(value = TwinUpdate.ReplaceTwin.class, name = "replaceTwin")
})
public sealed interface TwinUpdate {

    /** IoT Hub's {@code opType} of the twin change notification this update causes. */
    String opType();

    /** Back end: merge patch of {@code properties.desired}. */
    record PatchDesired(JsonDoc patch) implements TwinUpdate {
        public PatchDesired {
            Objects.requireNonNull(patch, "patch");
        }

        public String opType() {
            return "updateTwin";
        }
    }

    /** Device/module (MQTT PATCH properties/reported): merge patch of {@code properties.reported}. */
    record PatchReported(JsonDoc patch) implements TwinUpdate {
        public PatchReported {
            Objects.requireNonNull(patch, "patch");
        }

        public String opType() {
            return "updateTwin";
        }
    }

    /** Back end: merge patch of {@code tags}. */
    record PatchTags(JsonDoc patch) implements TwinUpdate {
        public PatchTags {
            Objects.requireNonNull(patch, "patch");
        }

        public String opType() {
            return "updateTwin";
        }
    }

    /** Back end: replace all desired properties ({@code null} members mean absent). */
    record ReplaceDesired(JsonDoc desired) implements TwinUpdate {
        public ReplaceDesired {
            Objects.requireNonNull(desired, "desired");
        }

        public String opType() {
            return "replaceTwin";
        }
    }

    /** Back end: replace all tags. */
    record ReplaceTags(JsonDoc tags) implements TwinUpdate {
        public ReplaceTags {
            Objects.requireNonNull(tags, "tags");
        }

        public String opType() {
            return "replaceTwin";
        }
    }

    /**
     * {@code PATCH /twins/{id}}: body {@code {"tags":{..}, "properties":{"desired":{..}}}}, each
     * part optional (null = not named). One write: twin {@code version} +1 once; desired
     * {@code $version} +1 when a desired patch is present.
     */
    record UpdateTwin(JsonDoc tagsPatch, JsonDoc desiredPatch) implements TwinUpdate {
        public String opType() {
            return "updateTwin";
        }
    }

    /**
     * {@code PUT /twins/{id}}: replaces tags and desired together (absent = empty, which is
     * what the service SDK always sends anyway). Reported properties are untouched.
     */
    record ReplaceTwin(JsonDoc tags, JsonDoc desired) implements TwinUpdate {
        public ReplaceTwin {
            Objects.requireNonNull(tags, "tags");
            Objects.requireNonNull(desired, "desired");
        }

        public String opType() {
            return "replaceTwin";
        }
    }
}
