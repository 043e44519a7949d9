package io.twinhub.node;

import akka.actor.typed.ActorSystem;
import io.twinhub.twin.c2d.CloudToDeviceQueue;
import io.twinhub.twin.c2d.CloudToDeviceSettings;
import io.twinhub.twin.entity.DeviceEntity;
import io.twinhub.twin.entity.ModuleEntity;

/** Wires the node's parts into the ActorSystem: sharded entities, gateways, projections. */
final class NodeGuardian {
  private NodeGuardian() {}

  /** Twins live on members with the twin role; every other member reaches them through a proxy. */
  static void init(ActorSystem<?> system, TwinSettings twin) {
    DeviceEntity.init(system, twin.entitySettings(), NodeSettings.TWIN_ROLE);
    // A device's cloud-to-device queue lives where twins live.
    CloudToDeviceQueue.init(system, CloudToDeviceSettings.from(system.settings().config()), NodeSettings.TWIN_ROLE);
    io.twinhub.twin.c2d.FeedbackCursor.init(system, NodeSettings.TWIN_ROLE);
    // The gateway's persistent sessions and telemetry logs live on mqtt members, and every member
    // knows their regions: otherwise their coordinators (on the oldest member) never start when that
    // member has no gateway, and every MQTT CONNECT on a gateway-only member hangs.
    io.twinhub.mqtt.session.SessionStore.init(system, NodeSettings.MQTT_ROLE);
    io.twinhub.mqtt.telemetry.TelemetryLog.init(system, NodeSettings.MQTT_ROLE);
    ModuleEntity.init(system, twin.entitySettings(), NodeSettings.TWIN_ROLE);
    io.twinhub.twin.configuration.ConfigurationStoreEntity.init(system, java.time.Clock.systemUTC(),
        io.twinhub.node.configurations.ConfigurationSettings.from(system.settings().config()).maxConfigurations(),
        NodeSettings.TWIN_ROLE);
  }
}
