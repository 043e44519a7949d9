package io.twinhub.projections.streams;

import io.twinhub.twin.entity.TwinTags;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Base64;
import java.util.Optional;
import java.util.UUID;

/**
 * Where a consumer is in the journal: the last delivered offset (a Cassandra time-based
 * UUID) of each journal tag, or none yet. A stream resumed from a position delivers
 * exactly the events after it: per tag, offsets are exclusive and ordered. Encoded as an
 * opaque URL-safe token (16 bytes per tag).
 */
public record JournalPosition(UUID[] offsets) {
  private static final UUID NONE = new UUID(0, 0);

  public JournalPosition {
    if (offsets.length != TwinTags.COUNT) {
      throw new IllegalArgumentException("a position has one offset per tag");
    }
    offsets = offsets.clone();
  }

  /** Before every event. */
  public static JournalPosition start() {
    UUID[] o = new UUID[TwinTags.COUNT];
    Arrays.fill(o, NONE);
    return new JournalPosition(o);
  }

  /** The same offset for every tag (e.g. "now" or a timestamp). */
  public static JournalPosition uniform(UUID offset) {
    UUID[] o = new UUID[TwinTags.COUNT];
    Arrays.fill(o, offset);
    return new JournalPosition(o);
  }

  /** Offset of tag {@code index}, empty when nothing was delivered from it yet. */
  public Optional<UUID> offset(int index) {
    return offsets[index].equals(NONE) ? Optional.empty() : Optional.of(offsets[index]);
  }

  public JournalPosition with(int index, UUID offset) {
    UUID[] o = offsets.clone();
    o[index] = offset;
    return new JournalPosition(o);
  }

  public String token() {
    ByteBuffer b = ByteBuffer.allocate(16 * offsets.length);
    for (UUID u : offsets) {
      b.putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits());
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
    if (bytes.length != 16 * TwinTags.COUNT) return Optional.empty();
    ByteBuffer b = ByteBuffer.wrap(bytes);
    UUID[] o = new UUID[TwinTags.COUNT];
    for (int i = 0; i < o.length; i++) {
      o[i] = new UUID(b.getLong(), b.getLong());
      if (!o[i].equals(NONE) && o[i].version() != 1) return Optional.empty();
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
