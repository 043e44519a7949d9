package io.twinhub.projections.streams;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.Twin;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinState;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.TwinEvent;
import io.twinhub.twin.telemetry.TelemetryMessage;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Turns a journaled twin event into the message IoT Hub would route for it. Pure: it needs
 * only the event, so any consumer can start anywhere in the journal without folding state.
 */
public final class HubMessages {
  private HubMessages() {}

  /**
   * @param persistenceId "Device|id" or "Module|id/mid"
   * @return the message, or empty for events no source publishes (module registration on the device)
   */
  public static Optional<HubMessage> of(String hubName, String persistenceId, long sequenceNr, TwinEvent event) {
    String twinId = persistenceId.substring(persistenceId.indexOf('|') + 1);
    int slash = persistenceId.startsWith("Module|") ? twinId.indexOf('/') : -1;
    String deviceId = slash < 0 ? twinId : twinId.substring(0, slash);
    String moduleId = slash < 0 ? null : twinId.substring(slash + 1);

    if (event instanceof TwinEvent.TwinChanged e) {
      return Optional.of(message(MessageSource.TWIN_CHANGE_EVENTS, hubName, deviceId, moduleId, twinId, sequenceNr,
          e.versions().version(), e.at(), e.opType(), "twinChangeNotification", twinChangeBody(e)));
    }
    if (event instanceof TwinEvent.IdentityCreated e) {
      Twin twin = new Twin(e.identity(), TwinState.created(e.at(), e.versions().version(),
          e.versions().desiredVersion(), e.versions().reportedVersion()));
      return Optional.of(message(MessageSource.DEVICE_LIFECYCLE_EVENTS, hubName, deviceId, moduleId, twinId, sequenceNr,
          e.versions().version(), e.at(), moduleId == null ? "createDeviceIdentity" : "createModuleIdentity",
          "deviceLifecycleNotification", TwinJson.serviceView(twin)));
    }
    if (event instanceof TwinEvent.IdentityDeleted e) {
      ObjectNode body = JsonNodeFactory.instance.objectNode();
      body.put("deviceId", deviceId);
      if (moduleId != null) body.put("moduleId", moduleId);
      return Optional.of(message(MessageSource.DEVICE_LIFECYCLE_EVENTS, hubName, deviceId, moduleId, twinId, sequenceNr,
          null, e.at(), moduleId == null ? "deleteDeviceIdentity" : "deleteModuleIdentity",
          "deviceLifecycleNotification", body));
    }
    if (event instanceof TwinEvent.ConnectionStateChanged e) {
      ObjectNode body = JsonNodeFactory.instance.objectNode();
      body.put("sequenceNumber", String.format("%032d", sequenceNr));
      return Optional.of(message(MessageSource.DEVICE_CONNECTION_STATE_EVENTS, hubName, deviceId, moduleId, twinId,
          sequenceNr, null, e.at(), e.state() == ConnectionState.CONNECTED ? "deviceConnected" : "deviceDisconnected",
          "deviceConnectionStateNotification", body));
    }
    return Optional.empty();
  }

  private static HubMessage message(MessageSource source, String hubName, String deviceId, String moduleId,
                                    String twinId, long sequenceNr, Long version, Instant at, String opType,
                                    String schema, ObjectNode body) {
    Map<String, String> props = new LinkedHashMap<>();
    props.put("hubName", hubName);
    props.put("deviceId", deviceId);
    if (moduleId != null) props.put("moduleId", moduleId);
    props.put("operationTimestamp", TwinJson.timestamp(at));
    props.put("iothub-message-schema", schema);
    props.put("opType", opType);
    Map<String, String> system = new LinkedHashMap<>();
    system.put("$content-type", "application/json");
    system.put("$content-encoding", "utf-8");
    system.put("$iothub-enqueuedtime", TwinJson.timestamp(at));
    system.put("$iothub-message-source", source.wire());
    system.put("$iothub-connection-device-id", deviceId);
    if (moduleId != null) system.put("$iothub-connection-module-id", moduleId);
    return new HubMessage(source, deviceId, moduleId, twinId, sequenceNr, version, at, props, system, body, null, null);
  }

  /**
   * A device-to-cloud message as IoT Hub routes it ({@code iothub-message-source: Telemetry}):
   * the device's application properties as sent, the system properties the gateway journaled
   * ({@code message-id}, {@code correlation-id}, {@code content-type}, {@code content-encoding},
   * {@code iothub-connection-device-id}, {@code iothub-enqueuedtime}, ...) under the same
   * {@code $}-prefixed names as the hub's own notifications, and the body ({@link TelemetryBody}).
   *
   * @param persistenceId "Telemetry|deviceId" or "Telemetry|deviceId/moduleId"
   */
  /**
   * The sender of messages function apps write to a route ({@code @EventHubOutput}): journaled in
   * the telemetry log of this pseudo device (module = the app). {@code [} is not allowed in IoT Hub
   * ids, so no device can send as it.
   */
  public static final String FUNCTIONS_DEVICE = "[functions]";

  /** System property naming the route a function output is for (a message of no other route or source). */
  public static final String ROUTE_PROPERTY = "twinhub-route";

  /** A message a function wrote to a route, not a device's: it belongs to that route's stream only. */
  public static boolean isFunctionOutput(HubMessage m) {
    return FUNCTIONS_DEVICE.equals(m.deviceId()) && m.systemProperties().containsKey("$" + ROUTE_PROPERTY);
  }

  /** The route a function output is for; null for every other message. */
  public static String functionOutputRoute(HubMessage m) {
    return isFunctionOutput(m) ? m.systemProperties().get("$" + ROUTE_PROPERTY) : null;
  }

  public static HubMessage ofTelemetry(String persistenceId, long sequenceNr, TelemetryMessage t) {
    String twinId = persistenceId.substring(persistenceId.indexOf('|') + 1);
    Map<String, String> system = new LinkedHashMap<>();
    t.systemProperties().entrySet().stream().sorted(Map.Entry.comparingByKey())
        .forEach(e -> system.put("$" + e.getKey(), e.getValue()));
    system.put("$iothub-connection-device-id", t.deviceId());
    if (t.moduleId() != null) system.put("$iothub-connection-module-id", t.moduleId());
    system.putIfAbsent("$iothub-enqueuedtime", TwinJson.timestamp(t.enqueuedTime()));
    system.put("$iothub-message-source", FUNCTIONS_DEVICE.equals(t.deviceId()) ? "function" : "Telemetry");
    TelemetryBody body = TelemetryBody.of(t.body(), t.systemProperties().get("content-type"));
    return new HubMessage(MessageSource.DEVICE_MESSAGES, t.deviceId(), t.moduleId(), twinId, sequenceNr, null,
        t.enqueuedTime(), new TreeMap<>(t.properties()), system, body.value(), body.encoding(), null);
  }

  /**
   * IoT Hub's twin change notification body from the event alone. The written paths'
   * metadata is a function of the update, the instant and the resulting versions, so the
   * update is replayed on a blank state carrying the versions just before it.
   */
  public static ObjectNode twinChangeBody(TwinEvent.TwinChanged e) {
    TwinUpdate u = e.update();
    boolean desired = u instanceof TwinUpdate.PatchDesired || u instanceof TwinUpdate.ReplaceDesired
        || u instanceof TwinUpdate.ReplaceTwin || (u instanceof TwinUpdate.UpdateTwin t && t.desiredPatch() != null);
    boolean reported = u instanceof TwinUpdate.PatchReported;
    TwinEvent.Versions v = e.versions();
    TwinState before = TwinState.created(e.at(), v.version() - 1,
        desired ? v.desiredVersion() - 1 : v.desiredVersion(), reported ? v.reportedVersion() - 1 : v.reportedVersion());
    return TwinJson.twinChangeNotification(u, before.apply(u, e.at()));
  }
}
