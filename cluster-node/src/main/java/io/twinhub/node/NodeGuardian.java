package io.twinhub.node;

import akka.actor.typed.ActorSystem;
import io.twinhub.twin.entity.DeviceEntity;
import io.twinhub.twin.entity.ModuleEntity;

/** Wires the node's parts into the ActorSystem: sharded entities, gateways, projections. */
final class NodeGuardian {
  private NodeGuardian() {}

  static void init(ActorSystem<?> system, TwinSettings twin) {
    DeviceEntity.init(system, twin.entitySettings());
    ModuleEntity.init(system, twin.entitySettings());
  }
}
