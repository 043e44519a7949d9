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
                           Duration disconnectGrace, Duration unreachableHold) {

  /** The node's admission limit of gateway twin writes, if on. */
  public AdmissionLimit newAdmissionLimit() {
    return admission.map(AdmissionLimit::new).orElse(null);
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
            a.getInt("max-limit"), a.getDuration("target-latency"), a.getDouble("backoff"), adaptToJournal(a.getString("adapt-to"))))
        : java.util.Optional.<AdmissionLimit.Settings>empty();
    return new TwinSettings(limits, t.getDuration("ask-timeout"), t.getDuration("session-timeout"), admission,
        a.getDuration("deadline"), t.getDuration("disconnect-grace"), t.getDuration("unreachable-hold"));
  }
}
