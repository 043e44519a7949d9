package io.twinhub.projections.streams;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Base64;
import java.util.Optional;
import java.util.UUID;

/**
 * Where a consumer is in the journal: the last delivered offset (a Cassandra time-based
 * UUID) of each journal tag slot ({@link JournalTags}), or none yet. A stream resumed from a
 * position delivers exactly the events after it: per tag, offsets are exclusive and ordered.
 *
 * <p>Encoded as an opaque URL-safe token: a format byte ({@value #FORMAT}), a 16-bit mask of
 * the slots that hold an offset, then 16 bytes per such offset. Tokens of the first format
 * (exactly 8 × 16 bytes: the twin tags only, issued before telemetry was a source) are still
 * accepted; they carry no telemetry offsets, so telemetry resumes from the beginning of the
 * journal (nothing of it was delivered on them).
 */
public record JournalPosition(UUID[] offsets) {
  private static final UUID NONE = new UUID(0, 0);
  private static final byte FORMAT = 2;
  private static final int LEGACY_SLOTS = JournalTags.TWIN;

  public JournalPosition {
    if (offsets.length != JournalTags.COUNT) {
      throw new IllegalArgumentException("a position has one offset per tag slot");
    }
    offsets = offsets.clone();
  }

  /** Before every event. */
  public static JournalPosition start() {
    return uniform(NONE);
  }

  /** The same offset for every tag (e.g. "now" or a timestamp). */
  public static JournalPosition uniform(UUID offset) {
    UUID[] o = new UUID[JournalTags.COUNT];
    Arrays.fill(o, offset);
    return new JournalPosition(o);
  }

  /** Offset of slot {@code index}, empty when nothing was delivered from it yet. */
  public Optional<UUID> offset(int index) {
    return offsets[index].equals(NONE) ? Optional.empty() : Optional.of(offsets[index]);
  }

  public JournalPosition with(int index, UUID offset) {
    UUID[] o = offsets.clone();
    o[index] = offset;
    return new JournalPosition(o);
  }

  public String token() {
    int mask = 0;
    int set = 0;
    for (int i = 0; i < offsets.length; i++) {
      if (!offsets[i].equals(NONE)) {
        mask |= 1 << i;
        set++;
      }
    }
    ByteBuffer b = ByteBuffer.allocate(3 + 16 * set).put(FORMAT).putShort((short) mask);
    for (UUID u : offsets) {
      if (!u.equals(NONE)) b.putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits());
    }
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b.array());
  }

  /** Parses a token; empty when it is not one (a client's mistake, answered with 400). */
  public static Optional<JournalPosition> parse(String token) {
    byte[] bytes;
    try {
      bytes = Base64.getUrlDecoder().decode(token);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    UUID[] o = new UUID[JournalTags.COUNT];
    Arrays.fill(o, NONE);
    ByteBuffer b = ByteBuffer.wrap(bytes);
    if (bytes.length == 16 * LEGACY_SLOTS) {
      for (int i = 0; i < LEGACY_SLOTS; i++) o[i] = new UUID(b.getLong(), b.getLong());
    } else {
      if (bytes.length < 3 || b.get() != FORMAT) return Optional.empty();
      int mask = Short.toUnsignedInt(b.getShort());
      if (bytes.length != 3 + 16 * Integer.bitCount(mask)) return Optional.empty();
      for (int i = 0; i < o.length; i++) {
        if ((mask & (1 << i)) != 0) {
          o[i] = new UUID(b.getLong(), b.getLong());
          if (o[i].equals(NONE)) return Optional.empty();
        }
      }
    }
    for (UUID u : o) {
      if (!u.equals(NONE) && u.version() != 1) return Optional.empty();
    }
    return Optional.of(new JournalPosition(o));
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof JournalPosition p && Arrays.equals(offsets, p.offsets);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(offsets);
  }

  @Override
  public String toString() {
    return "JournalPosition[" + token() + "]";
  }
}
