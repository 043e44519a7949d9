package io.twinhub.node;

import com.typesafe.config.Config;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.entity.EntitySettings;
import io.twinhub.twin.service.AdmissionLimit;

import java.time.Clock;

import java.time.Duration;

/** The {@code twinhub.twin} config block, bound once. */
public record TwinSettings(TwinLimits limits, Duration askTimeout, Duration sessionTimeout,
                           java.util.Optional<AdmissionLimit.Settings> admission, Duration admissionDeadline,
                           Duration disconnectGrace, Duration unreachableHold, Duration maxNodeLag) {

  /** How often the node's dispatchers are probed for twinhub.twin.admission.max-node-lag. */
  static final Duration NODE_LAG_PROBE = Duration.ofMillis(20);

  /** The node's admission limit of gateway twin writes, if on. */
  public AdmissionLimit newAdmissionLimit() {
    return admission.map(AdmissionLimit::new).orElse(null);
  }

  /**
   * twinhub.twin.admission.max-node-lag: above 0, the node's dispatchers are probed and the
   * gateways' cheap refusal check refuses while they lag more than that, even with slots free
   * (AdmissionLimit#refuseWhileBehind). The probe, for /metrics; empty when off.
   */
  public java.util.Optional<io.twinhub.twin.service.NodeLag> refuseWhileBehind(akka.actor.typed.ActorSystem<?> system,
                                                                                AdmissionLimit admission) {
    if (maxNodeLag.isZero() || maxNodeLag.isNegative()) return java.util.Optional.empty();
    var lag = io.twinhub.twin.service.NodeLag.start(system, NODE_LAG_PROBE);
    long boundNanos = maxNodeLag.toNanos();
    admission.refuseWhileBehind(() -> lag.lagNanos() > boundNanos);
    return java.util.Optional.of(lag);
  }

  public EntitySettings entitySettings() {
    return new EntitySettings(limits, sessionTimeout, Clock.systemUTC(), disconnectGrace);
  }

  /** twinhub.twin.admission.adapt-to: "journal" or "answer". */
  static boolean adaptToJournal(String value) {
    return switch (value) {
      case "journal" -> true;
      case "answer" -> false;
      default -> throw new IllegalArgumentException("twinhub.twin.admission.adapt-to must be journal or answer, not " + value);
    };
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
    Config a = t.getConfig("admission");
    var admission = a.getBoolean("enabled")
        ? java.util.Optional.of(new AdmissionLimit.Settings(a.getInt("initial-limit"), a.getInt("min-limit"),
            a.getInt("max-limit"), a.getDuration("target-latency"), a.getDouble("backoff"), adaptToJournal(a.getString("adapt-to")),
            a.getDuration("journal-target")))
        : java.util.Optional.<AdmissionLimit.Settings>empty();
    return new TwinSettings(limits, t.getDuration("ask-timeout"), t.getDuration("session-timeout"), admission,
        a.getDuration("deadline"), t.getDuration("disconnect-grace"), t.getDuration("unreachable-hold"),
        a.getDuration("max-node-lag"));
  }
}
