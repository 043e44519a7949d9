package io.twinhub.twin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class FastInstantModuleTest {
  /** As Akka's jackson-json mapper is set up: JavaTimeModule, then ours; dates as ISO strings. */
  private final ObjectMapper fast = new ObjectMapper().registerModule(new JavaTimeModule()).registerModule(new FastInstantModule())
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
  private final ObjectMapper jsr310 = new ObjectMapper().registerModule(new JavaTimeModule())
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);

  record Event(Instant at, List<Instant> more) {}

  @Test
  void readsWhatInstantToStringWritesAtEveryPrecisionAsJsr310Does() throws Exception {
    SplittableRandom random = new SplittableRandom(20);
    for (int i = 0; i < 20_000; i++) {
      long second = random.nextLong(Instant.parse("0000-01-01T00:00:00Z").getEpochSecond(), Instant.parse("9999-12-31T23:59:59Z").getEpochSecond());
      int nanos = switch (i % 4) {
        case 0 -> 0;
        case 1 -> random.nextInt(1000) * 1_000_000;
        case 2 -> random.nextInt(1_000_000) * 1_000;
        default -> random.nextInt(1_000_000_000);
      };
      Instant t = Instant.ofEpochSecond(second, nanos);
      String json = fast.writeValueAsString(new Event(t, List.of(t)));
      assertEquals(t, FastInstantModule.parse(t.toString()), t.toString());
      assertEquals(jsr310.readValue(json, Event.class), fast.readValue(json, Event.class), json);
    }
  }

  @Test
  void leavesEveryOtherFormToJsr310() throws Exception {
    for (String s : List.of("2026-12-07T02:19:26.1234Z", "2026-02-28T23:59:59.9Z", "2024-02-29T00:00:00Z",
        "2026-12-07T02:19:26+01:00", "2026-12-07T02:19:26.5+00:00", "1700000000", "1700000000.123456789")) {
      String json = s.matches("[0-9.]+") ? s : "\"" + s + "\"";
      assertEquals(jsr310.readValue(json, Instant.class), fast.readValue(json, Instant.class), s);
    }
    // not this parser's: null here, so jsr310 decides (and rejects or accepts) as before
    for (String s : List.of("2026-12-07T02:19:26+01:00", "2026-12-07T23:59:60Z", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z",
        "2026-12-07T24:00:00Z", "2026-12-07T02:19:26.Z", "2026-12-07T02:19:26.1234567890Z", "+10000-01-01T00:00:00Z",
        "2026-12-07 02:19:26Z", "2026-1a-07T02:19:26Z", "")) {
      assertNull(FastInstantModule.parse(s), s);
    }
    assertThrows(Exception.class, () -> jsr310.readValue("\"2026-02-30T00:00:00Z\"", Instant.class));
    assertThrows(Exception.class, () -> fast.readValue("\"2026-02-30T00:00:00Z\"", Instant.class));
  }
}
