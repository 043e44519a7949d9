package io.twinhub.twin.entity;

import java.time.Duration;

/**
 * When a twin journals Disconnected. IoT Hub does not report every drop: its connection-state
 * events come from a periodic snapshot (about 60 s) and a device that reconnects within it shows
 * neither a disconnect nor a new connect. Here the twin stays Connected for a configurable grace
 * after its session detached; a session attaching within it journals nothing (the twin is still
 * Connected), so a reconnect storm costs no connection-state events, while a real disconnect is
 * journaled (with the time of the detach) once the grace is over.
 */
final class ConnectionGrace {
  private ConnectionGrace() {}

  /**
   * Whether a detach waits for the grace instead of journaling Disconnected now: only a Connected
   * twin, only with a grace, and not when the gateway stops (the twin may move to another node and
   * its timer would be lost with it; a crashed node's twins still expire after the session timeout).
   */
  static boolean deferDisconnect(boolean connected, boolean immediate, Duration grace) {
    return connected && !immediate && grace != null && !grace.isZero() && !grace.isNegative();
  }
}
