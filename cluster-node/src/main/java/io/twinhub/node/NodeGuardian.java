package io.twinhub.node;

import akka.actor.typed.ActorSystem;

/** Wires the node's parts into the ActorSystem: sharded entities, gateways, projections. */
final class NodeGuardian {
  private NodeGuardian() {}

  static void init(ActorSystem<?> system) {
    // Sharded twin entities, REST, MQTT and projections are registered here as they land.
  }
}
