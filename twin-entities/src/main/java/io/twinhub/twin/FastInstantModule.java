package io.twinhub.twin;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.datatype.jsr310.deser.InstantDeserializer;

import java.io.IOException;
import java.time.Instant;

/**
 * Reads the journal's {@link Instant}s (ISO-8601 as {@code Instant.toString()} writes them:
 * {@code 2026-12-07T02:19:26.123Z}) without {@code DateTimeFormatter}: jackson-datatype-jsr310's
 * {@code InstantDeserializer} parses each through the formatter's generic machinery and a regex,
 * which was half of an event's deserialization and 10 % of the Kafka publisher's CPU reading a
 * backlog (docs/BENCHMARKS.md, "Kafka, session 13"). Anything else (a number, an offset other
 * than {@code Z}, a leap second, a year outside 0000–9999) goes to jsr310's deserializer as
 * before. Registered after jsr310's {@code JavaTimeModule} (the node's
 * {@code akka.serialization.jackson.jackson-modules}), so it is the one Jackson asks first.
 */
public final class FastInstantModule extends SimpleModule {
  public FastInstantModule() {
    super("twinhub-fast-instant");
    addDeserializer(Instant.class, new Deserializer());
  }

  static final class Deserializer extends JsonDeserializer<Instant> {
    @Override
    public Instant deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      if (p.currentToken() == JsonToken.VALUE_STRING) {
        Instant fast = parse(p.getText());
        if (fast != null) return fast;
      }
      return InstantDeserializer.INSTANT.deserialize(p, ctxt);
    }

    @Override
    public Class<?> handledType() {
      return Instant.class;
    }
  }

  /**
   * {@code yyyy-MM-ddTHH:mm:ss[.f{1,9}]Z} as an Instant; null for anything else (including an
   * invalid date such as February 30, which the caller's fallback then rejects as before).
   */
  static Instant parse(String s) {
    int n = s.length();
    if (n < 20 || n > 30 || s.charAt(n - 1) != 'Z' || s.charAt(4) != '-' || s.charAt(7) != '-' || s.charAt(10) != 'T'
        || s.charAt(13) != ':' || s.charAt(16) != ':') {
      return null;
    }
    int year = digits(s, 0, 4);
    int month = digits(s, 5, 2);
    int day = digits(s, 8, 2);
    int hour = digits(s, 11, 2);
    int minute = digits(s, 14, 2);
    int second = digits(s, 17, 2);
    if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59
        || second < 0 || second > 59) {
      return null;
    }
    int nanos = 0;
    if (n > 20) {
      int fraction = n - 21; // between '.' and 'Z'
      if (s.charAt(19) != '.' || fraction < 1 || fraction > 9) return null;
      int f = digits(s, 20, fraction);
      if (f < 0) return null;
      nanos = f * POW10[9 - fraction];
    }
    if (day > 28 && day > java.time.YearMonth.of(year, month).lengthOfMonth()) return null;
    long epochDay = java.time.LocalDate.of(year, month, day).toEpochDay();
    return Instant.ofEpochSecond(epochDay * 86_400L + hour * 3_600L + minute * 60L + second, nanos);
  }

  private static final int[] POW10 = {1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000};

  /** The decimal value of {@code s[from, from + count)}, -1 unless all are ASCII digits. */
  private static int digits(String s, int from, int count) {
    int v = 0;
    for (int i = from; i < from + count; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') return -1;
      v = v * 10 + (c - '0');
    }
    return v;
  }
}
