package io.twinhub.twin.entity;

import io.twinhub.twin.domain.TwinLimits;

import java.time.Clock;
import java.time.Duration;

/**
 * What device and module entities are configured with.
 *
 * @param sessionTimeout an attached device session that has not re-attached (heart-beat)
 *                       within this time is considered gone and the twin Disconnected
 */
public record EntitySettings(TwinLimits limits, Duration sessionTimeout, Clock clock) {
  public static final EntitySettings DEFAULT = new EntitySettings(TwinLimits.DEFAULT, Duration.ofSeconds(90), Clock.systemUTC());

  public EntitySettings withClock(Clock c) {
    return new EntitySettings(limits, sessionTimeout, c);
  }
}
