package io.twinhub.twin.entity;

import io.twinhub.twin.domain.TwinLimits;

import java.time.Clock;
import java.time.Duration;

/**
 * What device and module entities are configured with.
 *
 * @param sessionTimeout an attached device session that has not re-attached (heart-beat)
 *                       within this time is considered gone and the twin Disconnected
 * @param disconnectGrace how long the twin stays Connected after its session detached (the
 *                       device closed its connection): a reconnect within it journals neither
 *                       Disconnected nor Connected (IoT Hub delays its disconnect events too);
 *                       zero journals Disconnected at once
 */
public record EntitySettings(TwinLimits limits, Duration sessionTimeout, Clock clock, Duration disconnectGrace) {
  public static final EntitySettings DEFAULT = new EntitySettings(TwinLimits.DEFAULT, Duration.ofSeconds(90), Clock.systemUTC());

  /** Without a disconnect grace: Disconnected is journaled when the session detaches. */
  public EntitySettings(TwinLimits limits, Duration sessionTimeout, Clock clock) {
    this(limits, sessionTimeout, clock, Duration.ZERO);
  }

  public EntitySettings withClock(Clock c) {
    return new EntitySettings(limits, sessionTimeout, c, disconnectGrace);
  }

  public EntitySettings withDisconnectGrace(Duration grace) {
    return new EntitySettings(limits, sessionTimeout, clock, grace);
  }
}
