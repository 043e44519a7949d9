package io.twinhub.projections.streams;

import io.twinhub.twin.entity.TwinTags;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.EnumSet;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.*;

class StreamRequestTest {

  static UUID timeUuid(long n) {
    // A version-1 UUID: the version nibble of the most significant bits is 1.
    return new UUID((n << 16) | 0x1000L, 0x8000000000000000L | n);
  }

  @Test
  void positionTokensRoundTripAndRejectGarbage() {
    JournalPosition p = JournalPosition.start().with(3, timeUuid(42)).with(7, timeUuid(43));
    assertEquals(p, JournalPosition.parse(p.token()).orElseThrow());
    assertTrue(JournalPosition.parse(p.token()).orElseThrow().offset(0).isEmpty());
    assertEquals(timeUuid(42), JournalPosition.parse(p.token()).orElseThrow().offset(3).orElseThrow());
    assertTrue(JournalPosition.parse("not a token!").isEmpty());
    assertTrue(JournalPosition.parse("AAAA").isEmpty(), "wrong length");
    String tampered = JournalPosition.uniform(new UUID(0x4000L, 1)).token();
    assertTrue(JournalPosition.parse(tampered).isEmpty(), "offsets are time-based (version 1) UUIDs");
    assertEquals(TwinTags.COUNT * 16 * 4 / 3 + 1, p.token().length());
  }

  @Test
  void parsesSourcesAndStarts() {
    var all = valid(StreamRequest.parse("all", null, null, null, null));
    assertEquals(EnumSet.allOf(MessageSource.class), all.sources());
    assertInstanceOf(StreamRequest.From.Latest.class, all.from());
    var twin = valid(StreamRequest.parse("twinChangeEvents", "earliest", null, "dev1", "30"));
    assertEquals(EnumSet.of(MessageSource.TWIN_CHANGE_EVENTS), twin.sources());
    assertInstanceOf(StreamRequest.From.Earliest.class, twin.from());
    assertEquals("dev1", twin.deviceId());
    assertEquals(30, twin.maxLag().toSeconds());
    var at = valid(StreamRequest.parse("deviceLifecycleEvents", "2026-11-24T10:00:00Z", null, null, null));
    assertEquals(new StreamRequest.From.At(Instant.parse("2026-11-24T10:00:00Z")), at.from());
    String token = JournalPosition.start().with(1, timeUuid(5)).token();
    var resumed = valid(StreamRequest.parse("all", "earliest", token, null, null));
    assertInstanceOf(StreamRequest.From.After.class, resumed.from(), "Last-Event-ID wins over from");
  }

  @Test
  void clientMistakesAreMessagesNotExceptions() {
    assertTrue(invalid(StreamRequest.parse("twinChanges", null, null, null, null)).contains("unknown message source"));
    assertTrue(invalid(StreamRequest.parse("all", "yesterday", null, null, null)).contains("not an offset"));
    assertTrue(invalid(StreamRequest.parse("all", "2026-13-45T99:00:00Z", null, null, null)).contains("ISO-8601"));
    assertTrue(invalid(StreamRequest.parse("all", null, "garbage", null, null)).contains("Last-Event-ID"));
    assertTrue(invalid(StreamRequest.parse("all", null, null, null, "-3")).contains("maxLagSeconds"));
    assertTrue(invalid(StreamRequest.parse("all", null, null, null, "soon")).contains("maxLagSeconds"));
  }

  private static StreamRequest valid(StreamRequest.Parsed p) {
    return assertInstanceOf(StreamRequest.Valid.class, p, () -> p.toString()).request();
  }

  private static String invalid(StreamRequest.Parsed p) {
    return assertInstanceOf(StreamRequest.Invalid.class, p).message();
  }
}
