package io.twinhub.projections.streams;

import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * A consumer's request, validated: which sources, from where, for which device, how far
 * behind it may fall. Parsing is pure so every client mistake becomes a message, never an
 * exception.
 */
public record StreamRequest(Set<MessageSource> sources, From from, Instant until, String deviceId, Duration maxLag) {

  /** Where to start. */
  public sealed interface From {
    record Earliest() implements From {}

    record Latest() implements From {}

    record At(Instant time) implements From {}

    record After(JournalPosition position) implements From {}
  }

  public sealed interface Parsed {}

  public record Valid(StreamRequest request) implements Parsed {}

  public record Invalid(String message) implements Parsed {}

  /**
   * @param source      a source name, or "all"
   * @param from        earliest | latest | an ISO-8601 instant | an offset token; null = latest
   * @param lastEventId SSE's Last-Event-ID header: an offset token that wins over {@code from}
   */
  public static Parsed parse(String source, String from, String lastEventId, String deviceId, String maxLagSeconds) {
    return parse(source, from, null, lastEventId, deviceId, maxLagSeconds, Instant.now());
  }

  /**
   * @param to  "now" or an ISO-8601 instant: a finite stream of what the journal holds up to
   *            then (exports); null = live, never ending
   */
  public static Parsed parse(String source, String from, String to, String lastEventId, String deviceId,
                             String maxLagSeconds, Instant now) {
    Set<MessageSource> sources;
    if ("all".equalsIgnoreCase(source)) {
      sources = EnumSet.allOf(MessageSource.class);
    } else {
      Optional<MessageSource> s = MessageSource.fromWire(source);
      if (s.isEmpty()) {
        return new Invalid("unknown message source '" + source + "': one of all, twinChangeEvents, "
            + "deviceLifecycleEvents, deviceConnectionStateEvents, deviceMessages");
      }
      sources = EnumSet.of(s.get());
    }
    Parsed start = lastEventId != null && !lastEventId.isBlank() ? parseOffset(lastEventId, "Last-Event-ID")
        : parseFrom(from == null || from.isBlank() ? "latest" : from.trim());
    if (start instanceof Invalid) return start;
    Duration lag = null;
    if (maxLagSeconds != null && !maxLagSeconds.isBlank()) {
      try {
        long s = Long.parseLong(maxLagSeconds.trim());
        if (s <= 0) throw new NumberFormatException();
        lag = Duration.ofSeconds(s);
      } catch (NumberFormatException e) {
        return new Invalid("maxLagSeconds must be a positive whole number of seconds, got '" + maxLagSeconds + "'");
      }
    }
    Instant until = null;
    if (to != null && !to.isBlank()) {
      if (to.trim().equalsIgnoreCase("now")) {
        until = now;
      } else {
        try {
          until = Instant.parse(to.trim());
        } catch (DateTimeParseException e) {
          return new Invalid("to='" + to + "' is neither 'now' nor an ISO-8601 instant like 2026-11-24T10:00:00Z");
        }
      }
    }
    return new Valid(new StreamRequest(sources, ((StartParsed) start).from, until, blankToNull(deviceId), lag));
  }

  private record StartParsed(From from) implements Parsed {}

  private static Parsed parseFrom(String from) {
    if (from.equalsIgnoreCase("earliest")) return new StartParsed(new From.Earliest());
    if (from.equalsIgnoreCase("latest")) return new StartParsed(new From.Latest());
    if (Character.isDigit(from.charAt(0)) && from.contains("-") && from.contains("T")) {
      try {
        return new StartParsed(new From.At(Instant.parse(from)));
      } catch (DateTimeParseException e) {
        return new Invalid("from='" + from + "' is not an ISO-8601 instant like 2026-11-24T10:00:00Z");
      }
    }
    return parseOffset(from, "from");
  }

  private static Parsed parseOffset(String token, String what) {
    return JournalPosition.parse(token.trim())
        .<Parsed>map(p -> new StartParsed(new From.After(p)))
        .orElseGet(() -> new Invalid(what + " is not an offset this hub issued (nor earliest, latest or an ISO-8601 instant)"));
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }

  /** The position to start at, resolved against the feed's clock for "latest" and instants. */
  public JournalPosition start(ChangeFeed feed) {
    if (from instanceof From.After a) return a.position();
    if (from instanceof From.At a) return feed.at(a.time());
    if (from instanceof From.Latest) return feed.latest();
    return JournalPosition.start();
  }

  /** The journal tags this request needs read. */
  public ChangeFeed.Scope scope() {
    return new ChangeFeed.Scope(sources, deviceId);
  }

  /** The source and device filter; a route's condition is combined by the caller. */
  public Predicate<HubMessage> filter() {
    // A function's route output is a message of its route only, not of a source's stream.
    Predicate<HubMessage> p = m -> sources.contains(m.source()) && !HubMessages.isFunctionOutput(m);
    return deviceId == null ? p : p.and(m -> deviceId.equals(m.deviceId()));
  }

}
