package io.twinhub.edge.agent;

import java.time.Duration;
import java.util.Locale;

/**
 * IoT Edge's restart policies and back-off (edgeAgent's {@code RestartPolicyManager}): a module
 * that is not running and whose policy asks for a restart ({@code always}, or {@code on-failure} /
 * {@code on-unhealthy} after a failure) is in {@code backoff} and restarted once
 * {@code coolOffUnit * 2^restartCount} (at most 5 minutes) has passed since it exited; after
 * {@code maxRestartCount} restarts it stays {@code failed}. IoT Edge's defaults: 10 s, 20.
 */
public enum RestartPolicy {
  NEVER, ON_FAILURE, ON_UNHEALTHY, ALWAYS;

  public static final Duration MAX_COOL_OFF = Duration.ofMinutes(5);

  public static RestartPolicy fromWire(String s) {
    return valueOf(s.toUpperCase(Locale.ROOT).replace('-', '_'));
  }

  public String wire() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** Whether a module that exited with {@code exitCode} is restarted under this policy (before counting). */
  public boolean restarts(int exitCode) {
    return switch (this) {
      case NEVER -> false;
      case ALWAYS -> true;
      // A non-zero exit is a failure; there are no health probes for processes, so unhealthy = failed.
      case ON_FAILURE, ON_UNHEALTHY -> exitCode != 0;
    };
  }

  /** The wait before restart number {@code restartCount + 1}. */
  public static Duration coolOff(Duration unit, int restartCount) {
    double seconds = unit.toMillis() / 1000.0 * Math.pow(2, restartCount);
    return seconds >= MAX_COOL_OFF.toSeconds() ? MAX_COOL_OFF : Duration.ofMillis((long) (seconds * 1000));
  }
}
