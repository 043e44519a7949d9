package io.twinhub.twin.domain;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import java.time.Instant;
import java.util.List;
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
 * @param deviceScope                IoT Edge's device scope: an IoT Edge device's own
 *                                   ({@code ms-azure-iot-edge://<id>-<generationId>}), or for a device
 *                                   behind a gateway its parent's; "" = none (also for modules)
 * @param parentScopes               the scopes of the device's parents (a leaf device: its gateway's)
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
        String modelId,
        String deviceScope,
        List<String> parentScopes) {

    /** The prefix of IoT Edge device scopes. */
    public static final String EDGE_SCOPE_PREFIX = "ms-azure-iot-edge://";

    /** IoT Hub's id syntax for devices and modules: up to 128 ASCII letters, digits and - . + % _ # * ? ! ( ) , : = @ $ ' */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9\\-.+%_#*?!(),:=@$']{1,128}");

    @JsonCreator // the canonical one (events journaled before scopes existed have none: null → "")
    public Identity {
        Objects.requireNonNull(deviceId, "deviceId");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(authentication, "authentication");
        Objects.requireNonNull(connectionState, "connectionState");
        modelId = modelId == null ? "" : modelId;
        deviceScope = deviceScope == null ? "" : deviceScope;
        parentScopes = parentScopes == null ? List.of() : List.copyOf(parentScopes);
    }

    /** An identity without device scopes (neither an IoT Edge device nor behind one). */
    public Identity(String deviceId, String moduleId, String generationId, long version, DeviceStatus status,
                    String statusReason, Instant statusUpdatedTime, Authentication authentication, boolean iotEdge,
                    ConnectionState connectionState, Instant connectionStateUpdatedTime, Instant lastActivityTime,
                    int cloudToDeviceMessageCount, String modelId) {
        this(deviceId, moduleId, generationId, version, status, statusReason, statusUpdatedTime, authentication,
                iotEdge, connectionState, connectionStateUpdatedTime, lastActivityTime, cloudToDeviceMessageCount,
                modelId, "", List.of());
    }

    /**
     * The scopes after a create or update, as IoT Hub keeps them: an IoT Edge device's own scope
     * comes from its id and generation; a device behind a gateway takes {@code deviceScope} (or the
     * first of {@code parentScopes}) from the spec, and that is its one parent scope; a spec that
     * names neither keeps {@code previous}. Modules have none.
     */
    static String[] scopes(String deviceId, String moduleId, String generationId, IdentitySpec spec, Identity previous) {
        if (moduleId != null) return new String[] {"", null};
        String parent;
        if (spec.iotEdge()) {
            // An IoT Edge device's deviceScope is its own (a back end echoes it): only parentScopes name a parent.
            parent = spec.parentScopes() != null ? spec.parentScopes().stream().findFirst().orElse("")
                    : previous != null && previous.iotEdge() ? previous.parentScopes().stream().findFirst().orElse("") : "";
            return new String[] {EDGE_SCOPE_PREFIX + deviceId + "-" + generationId, parent};
        }
        if (spec.deviceScope() != null) parent = spec.deviceScope();
        else if (spec.parentScopes() != null) parent = spec.parentScopes().isEmpty() ? "" : spec.parentScopes().get(0);
        else if (previous == null) parent = "";
        else parent = previous.iotEdge() ? previous.parentScopes().stream().findFirst().orElse("") : previous.deviceScope();
        return new String[] {parent, parent};
    }

    private static List<String> parents(String parent) {
        return parent == null || parent.isEmpty() ? List.of() : List.of(parent);
    }

    /** Whether this identity sits directly behind the IoT Edge device whose scope is {@code edgeScope}. */
    public boolean isChildOf(String edgeScope) {
        return !edgeScope.isEmpty() && moduleId == null && parentScopes.contains(edgeScope);
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
        String[] scopes = scopes(deviceId, moduleId, generationId, spec, null);
        return Outcome.accepted(new Identity(
                deviceId, moduleId, generationId, 1, spec.status(), spec.statusReason(), null,
                spec.authentication(), moduleId == null && spec.iotEdge(),
                ConnectionState.DISCONNECTED, null, null, 0, "", scopes[0], parents(scopes[1])));
    }

    /**
     * This newly created identity continuing after {@code previous} (same id, deleted earlier):
     * its version, hence its etag, goes on from the previous life instead of restarting at 1.
     */
    public Identity continuing(Identity previous) {
        return new Identity(deviceId, moduleId, generationId, previous.version() + 1, status, statusReason,
                statusUpdatedTime, authentication, iotEdge, connectionState, connectionStateUpdatedTime,
                lastActivityTime, cloudToDeviceMessageCount, modelId, deviceScope, parentScopes);
    }

    /** Applies a back end's update when {@code ifMatch} matches the {@code deviceEtag}. */
    public Outcome<Identity> update(IdentitySpec spec, String ifMatch, Instant at) {
        Objects.requireNonNull(spec, "spec");
        String[] scopes = scopes(deviceId, moduleId, generationId, spec, this);
        return ETag.check(ifMatch, etag(), this)
                .flatMap(ok -> Outcome.unless(spec.authentication().check(), new Identity(
                        deviceId, moduleId, generationId, version + 1, spec.status(), spec.statusReason(),
                        spec.status() == status ? statusUpdatedTime : TwinState.truncate(at),
                        spec.authentication(), moduleId == null && spec.iotEdge(),
                        connectionState, connectionStateUpdatedTime, lastActivityTime, cloudToDeviceMessageCount, modelId,
                        scopes[0], parents(scopes[1]))));
    }

    /** This identity when it may be deleted under {@code ifMatch} ({@code *} or its etag); its twin goes with it. */
    public Outcome<Identity> checkDelete(String ifMatch) {
        return ETag.check(ifMatch, etag(), this);
    }

    /** A connect or disconnect at {@code at} (also counts as activity). */
    public Identity withConnectionState(ConnectionState state, Instant at) {
        Instant t = TwinState.truncate(at);
        return new Identity(deviceId, moduleId, generationId, version, status, statusReason, statusUpdatedTime,
                authentication, iotEdge, state, t, t, cloudToDeviceMessageCount, modelId, deviceScope, parentScopes);
    }

    /** Device traffic at {@code at}. */
    public Identity withActivity(Instant at) {
        return new Identity(deviceId, moduleId, generationId, version, status, statusReason, statusUpdatedTime,
                authentication, iotEdge, connectionState, connectionStateUpdatedTime, TwinState.truncate(at),
                cloudToDeviceMessageCount, modelId, deviceScope, parentScopes);
    }

    /** Number of cloud-to-device messages queued for the device. */
    public Identity withCloudToDeviceMessageCount(int count) {
        return new Identity(deviceId, moduleId, generationId, version, status, statusReason, statusUpdatedTime,
                authentication, iotEdge, connectionState, connectionStateUpdatedTime, lastActivityTime, count, modelId,
                deviceScope, parentScopes);
    }

    /** The Plug and Play model id a device announces when it connects ("" = none). */
    public Identity withModelId(String newModelId) {
        return new Identity(deviceId, moduleId, generationId, version, status, statusReason, statusUpdatedTime,
                authentication, iotEdge, connectionState, connectionStateUpdatedTime, lastActivityTime,
                cloudToDeviceMessageCount, newModelId, deviceScope, parentScopes);
    }

    /** This identity with {@code a} (the query index keeps identities without their keys). */
    public Identity withAuthentication(Authentication a) {
        return new Identity(deviceId, moduleId, generationId, version, status, statusReason, statusUpdatedTime,
                a, iotEdge, connectionState, connectionStateUpdatedTime, lastActivityTime,
                cloudToDeviceMessageCount, modelId, deviceScope, parentScopes);
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
