package io.twinhub.twin.c2d;

import java.util.Locale;
import java.util.Optional;

/**
 * The {@code iothub-ack} application property of a cloud-to-device message: which final outcomes
 * the sender wants as feedback records.
 */
public enum DeliveryAck {
  NONE, POSITIVE, NEGATIVE, FULL;

  /** {@code none|positive|negative|full} (any case); an absent property means none. */
  public static Optional<DeliveryAck> parse(String value) {
    if (value == null) return Optional.of(NONE);
    try {
      return Optional.of(valueOf(value.trim().toUpperCase(Locale.ROOT)));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  public boolean wants(FeedbackStatus outcome) {
    return switch (this) {
      case NONE -> false;
      case FULL -> true;
      case POSITIVE -> outcome == FeedbackStatus.Success;
      case NEGATIVE -> outcome != FeedbackStatus.Success;
    };
  }

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
