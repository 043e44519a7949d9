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
    assertEquals(base64Length(3 + 2 * 16), p.token().length(), "only offsets that are set are in the token");
    assertEquals(base64Length(3 + JournalTags.COUNT * 16), JournalPosition.uniform(timeUuid(1)).token().length());
    JournalPosition telemetry = p.with(JournalTags.TWIN + 3, timeUuid(44));
    assertEquals(timeUuid(44), JournalPosition.parse(telemetry.token()).orElseThrow().offset(JournalTags.TWIN + 3).orElseThrow());
  }

  /** Tokens issued before telemetry was a source: the 8 twin offsets back to back, still accepted. */
  @Test
  void firstFormatTokensStillResume() {
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(TwinTags.COUNT * 16);
    for (int i = 0; i < TwinTags.COUNT; i++) {
      UUID u = i == 2 ? new UUID(0, 0) : timeUuid(100 + i);
      b.putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits());
    }
    String legacy = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b.array());
    JournalPosition p = JournalPosition.parse(legacy).orElseThrow();
    assertEquals(timeUuid(100), p.offset(0).orElseThrow());
    assertTrue(p.offset(2).isEmpty());
    assertEquals(timeUuid(107), p.offset(7).orElseThrow());
    for (int slot = JournalTags.TWIN; slot < JournalTags.COUNT; slot++) {
      assertTrue(p.offset(slot).isEmpty(), "no telemetry was delivered on an old token");
    }
    assertEquals(p, JournalPosition.parse(p.token()).orElseThrow());
  }

  @Test
  void tokensWithAWrongFormatOrLengthAreRefused() {
    String good = JournalPosition.start().with(0, timeUuid(1)).token();
    byte[] bytes = java.util.Base64.getUrlDecoder().decode(good);
    byte[] wrongFormat = bytes.clone();
    wrongFormat[0] = 9;
    assertTrue(JournalPosition.parse(java.util.Base64.getUrlEncoder().encodeToString(wrongFormat)).isEmpty());
    byte[] truncated = java.util.Arrays.copyOf(bytes, bytes.length - 1);
    assertTrue(JournalPosition.parse(java.util.Base64.getUrlEncoder().encodeToString(truncated)).isEmpty());
    byte[] wrongMask = bytes.clone();
    wrongMask[2] = 3; // claims two offsets, holds one
    assertTrue(JournalPosition.parse(java.util.Base64.getUrlEncoder().encodeToString(wrongMask)).isEmpty());
  }

  @Test
  void aStreamReadsOnlyTheTagsItsSourcesAndDeviceNeed() {
    assertEquals(JournalTags.COUNT, valid(StreamRequest.parse("all", null, null, null, null)).scope().slots().size());
    var twin = valid(StreamRequest.parse("twinChangeEvents", null, null, null, null)).scope().slots();
    assertEquals(java.util.List.of(0, 1, 2, 3, 4, 5, 6, 7), twin);
    var telemetry = valid(StreamRequest.parse("deviceMessages", null, null, null, null)).scope().slots();
    assertEquals(java.util.List.of(8, 9, 10, 11, 12, 13, 14, 15), telemetry);
    int tag = TwinTags.ALL.indexOf(TwinTags.forDevice("pump-7"));
    assertEquals(java.util.List.of(tag, JournalTags.TWIN + tag),
        valid(StreamRequest.parse("all", null, null, "pump-7", null)).scope().slots());
    assertEquals(java.util.List.of(JournalTags.TWIN + tag),
        valid(StreamRequest.parse("deviceMessages", null, null, "pump-7", null)).scope().slots());
    assertEquals("telemetry-" + tag, JournalTags.name(JournalTags.TWIN + tag));
    assertEquals(io.twinhub.twin.telemetry.TelemetryTags.forDevice("pump-7"), JournalTags.name(JournalTags.TWIN + tag));
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

  private static int base64Length(int bytes) {
    return (bytes * 8 + 5) / 6;
  }

  private static StreamRequest valid(StreamRequest.Parsed p) {
    return assertInstanceOf(StreamRequest.Valid.class, p, () -> p.toString()).request();
  }

  private static String invalid(StreamRequest.Parsed p) {
    return assertInstanceOf(StreamRequest.Invalid.class, p).message();
  }
}
