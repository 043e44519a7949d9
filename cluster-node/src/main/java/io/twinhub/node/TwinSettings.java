package io.twinhub.node;

import com.typesafe.config.Config;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.entity.EntitySettings;

import java.time.Clock;

import java.time.Duration;

/** The {@code twinhub.twin} config block, bound once. */
public record TwinSettings(TwinLimits limits, Duration askTimeout, Duration sessionTimeout) {

  public EntitySettings entitySettings() {
    return new EntitySettings(limits, sessionTimeout, Clock.systemUTC());
  }

  public static TwinSettings from(Config config) {
    Config t = config.getConfig("twinhub.twin");
    Config l = t.getConfig("limits");
    TwinLimits limits = new TwinLimits(
        l.getInt("max-key-bytes"),
        l.getInt("max-depth"),
        l.getInt("max-string-bytes"),
        l.getLong("min-integer"),
        l.getLong("max-integer"),
        l.getInt("max-tags-bytes"),
        l.getInt("max-desired-bytes"),
        l.getInt("max-reported-bytes"),
        l.getInt("max-modules-per-device"));
    return new TwinSettings(limits, t.getDuration("ask-timeout"), t.getDuration("session-timeout"));
  }
}
