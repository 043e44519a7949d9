package io.twinhub.functions.runtime;

import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NCrontabTest {

  @Test
  void everyFiveSeconds() {
    NCrontab c = NCrontab.parse("*/5 * * * * *");
    assertEquals(Instant.parse("2026-01-01T00:00:05Z"), c.next(Instant.parse("2026-01-01T00:00:00Z")));
    assertEquals(Instant.parse("2026-01-01T00:00:05Z"), c.next(Instant.parse("2026-01-01T00:00:04.900Z")));
    assertEquals(Instant.parse("2026-01-01T00:01:00Z"), c.next(Instant.parse("2026-01-01T00:00:55Z")));
  }

  @Test
  void weekdaysAtHalfPastNine() {
    NCrontab c = NCrontab.parse("0 30 9 * * 1-5");
    // 2026-01-03 is a Saturday: the next is Monday the 5th.
    assertEquals(Instant.parse("2026-01-05T09:30:00Z"), c.next(Instant.parse("2026-01-03T10:00:00Z")));
    assertEquals(Instant.parse("2026-01-06T09:30:00Z"), c.next(Instant.parse("2026-01-05T09:30:00Z")));
  }

  @Test
  void namesListsAndSundayAsSeven() {
    NCrontab c = NCrontab.parse("0 0 12 1 JAN,jul SUN-SAT");
    assertEquals(Instant.parse("2026-07-01T12:00:00Z"), c.next(Instant.parse("2026-01-01T12:00:00Z")));
    NCrontab sunday = NCrontab.parse("0 0 0 * * 7");
    assertEquals(Instant.parse("2026-01-04T00:00:00Z"), sunday.next(Instant.parse("2026-01-01T00:00:00Z")));
  }

  @Test
  void refusesWhatIsNotSixFields() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> NCrontab.parse("*/5 * * * *")).getMessage().contains("six fields"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> NCrontab.parse("61 * * * * *")).getMessage().contains("second"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> NCrontab.parse("* * * * 13 *")).getMessage().contains("month"));
  }
}
