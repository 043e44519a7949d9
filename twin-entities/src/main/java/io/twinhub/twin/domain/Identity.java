package io.twinhub.twin.domain;

import com.fasterxml.jackson.annotation.JsonIgnore;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A device identity ({@code moduleId == null}) or module identity in the identity registry, with
 * the read-only fields a twin shows at its root. Pure and immutable; the identity entity holds it.
 *
 * <p>{@code version} counts accepted identity writes (create = 1, each update +1) and yields the
 * {@code deviceEtag}. Connection state and activity are not identity writes: they change neither
 * version nor etag, so a back end's conditional update does not fail because a device reconnected.
 *
 * @param statusUpdatedTime          last status change, null = never (rendered as IoT Hub's 0001-01-01)
 * @param connectionStateUpdatedTime last connect/disconnect, null = never
 * @param lastActivityTime           last connect/disconnect/activity, null = never
 */
public record Identity(
        String deviceId,
        String moduleId,
        String generationId,
        long version,
        DeviceStatus status,
        String statusReason,
        Instant statusUpdatedTime,
        Authentication authentication,
        boolean iotEdge,
        ConnectionState connectionState,
        Instant connectionStateUpdatedTime,
        Instant lastActivityTime,
        int cloudToDeviceMessageCount,
        String modelId) {

    /** IoT Hub's id syntax for devices and modules: up to 128 ASCII letters, digits and - . + % _ # * ? ! ( ) , : = @ $ ' */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9\\-.+%_#*?!(),:=@$']{1,128}");

    public Identity {
        Objects.requireNonNull(deviceId, "deviceId");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(authentication, "authentication");
        Objects.requireNonNull(connectionState, "connectionState");
        modelId = modelId == null ? "" : modelId;
    }

    /**
     * A new device ({@code moduleId} null) or module identity at version 1, disconnected.
     * {@code generationId} distinguishes re-creations of the same id; like SAS keys it is drawn by
     * the caller (randomness stays out of the domain). {@code statusUpdateTime} stays unset, as IoT
     * Hub shows 0001-01-01 for an identity whose status never changed.
     */
    public static Outcome<Identity> create(String deviceId, String moduleId, IdentitySpec spec, String generationId) {
        Objects.requireNonNull(spec, "spec");
        Optional<Rejection> problem = checkId(deviceId, "deviceId")
                .or(() -> moduleId == null ? Optional.empty() : checkId(moduleId, "moduleId"))
                .or(() -> spec.authentication().check());
        if (problem.isPresent()) {
            return Outcome.rejected(problem.get());
        }
        return Outcome.accepted(new Identity(
                deviceId, moduleId, generationId, 1, spec.status(), spec.statusReason(), null,
                spec.authentication(), moduleId == null && spec.iotEdge(),
                ConnectionState.DISCONNECTED, null, null, 0, ""));
    }

    /**
     * This newly created identity continuing after {@code previous} (same id, deleted earlier):
     * its version, hence its etag, goes on from the previous life instead of restarting at 1.
     */
    public Identity continuing(Identity previous) {
        return new Identity(deviceId, moduleId, generationId, previous.version() + 1, status, statusReason,
                statusUpdatedTime, authentication, iotEdge, connectionState, connectionStateUpdatedTime,
                lastActivityTime, cloudToDeviceMessageCount, modelId);
    }

    /** Applies a back end's update when {@code ifMatch} matches the {@code deviceEtag}. */
    public Outcome<Identity> update(IdentitySpec spec, String ifMatch, Instant at) {
        Objects.requireNonNull(spec, "spec");
        return ETag.check(ifMatch, etag(), this)
                .flatMap(ok -> Outcome.unless(spec.authentication().check(), new Identity(
                        deviceId, moduleId, generationId, version + 1, spec.status(), spec.statusReason(),
                        spec.status() == status ? statusUpdatedTime : TwinState.truncate(at),
                        spec.authentication(), moduleId == null && spec.iotEdge(),
                        connectionState, connectionStateUpdatedTime, lastActivityTime, cloudToDeviceMessageCount, modelId)));
    }

    /** This identity when it may be deleted under {@code ifMatch} ({@code *} or its etag); its twin goes with it. */
    public Outcome<Identity> checkDelete(String ifMatch) {
        return ETag.check(ifMatch, etag(), this);
    }

    /** A connect or disconnect at {@code at} (also counts as activity). */
    public Identity withConnectionState(ConnectionState state, Instant at) {
        Instant t = TwinState.truncate(at);
        return new Identity(deviceId, moduleId, generationId, version, status, statusReason, statusUpdatedTime,
                authentication, iotEdge, state, t, t, cloudToDeviceMessageCount, modelId);
    }

    /** Device traffic at {@code at}. */
    public Identity withActivity(Instant at) {
        return new Identity(deviceId, moduleId, generationId, version, status, statusReason, statusUpdatedTime,
                authentication, iotEdge, connectionState, connectionStateUpdatedTime, TwinState.truncate(at),
                cloudToDeviceMessageCount, modelId);
    }

    /** Number of cloud-to-device messages queued for the device. */
    public Identity withCloudToDeviceMessageCount(int count) {
        return new Identity(deviceId, moduleId, generationId, version, status, statusReason, statusUpdatedTime,
                authentication, iotEdge, connectionState, connectionStateUpdatedTime, lastActivityTime, count, modelId);
    }

    /** The Plug and Play model id a device announces when it connects ("" = none). */
    public Identity withModelId(String newModelId) {
        return new Identity(deviceId, moduleId, generationId, version, status, statusReason, statusUpdatedTime,
                authentication, iotEdge, connectionState, connectionStateUpdatedTime, lastActivityTime,
                cloudToDeviceMessageCount, newModelId);
    }

    /** The identity etag, shown as {@code deviceEtag} in twins and {@code etag} in the registry. */
    public String etag() {
        return ETag.ofIdentityVersion(version);
    }

    @JsonIgnore
    public boolean isModule() {
        return moduleId != null;
    }

    /** Admits one more module on a device that has {@code existingModules}; returns the new count. */
    public static Outcome<Integer> checkModuleQuota(int existingModules, TwinLimits limits) {
        return existingModules < limits.maxModulesPerDevice()
                ? Outcome.accepted(existingModules + 1)
                : Outcome.rejected(TwinRule.MODULE_LIMIT_EXCEEDED, "moduleId",
                        "a device has at most " + limits.maxModulesPerDevice() + " modules");
    }

    /** IoT Hub's id syntax, checked before any operation reaches an entity. */
    public static Optional<Rejection> checkId(String id, String field) {
        return id != null && ID.matcher(id).matches()
                ? Optional.empty()
                : Optional.of(Rejection.of(TwinRule.ID_INVALID, field,
                        field + " must be 1..128 ASCII letters, digits or - . + % _ # * ? ! ( ) , : = @ $ '"));
    }
}
