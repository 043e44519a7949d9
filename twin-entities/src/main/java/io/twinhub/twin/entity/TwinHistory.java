package io.twinhub.twin.entity;

import io.twinhub.twin.domain.Author;

import java.time.Instant;

/**
 * The journal read back as a twin's past (twin history, as-of reads): pure functions over
 * journaled events. A past twin is folded by {@link TwinRecord#apply}, the entity's own event
 * handler, so it is exactly the twin the entity had; nothing else is stored for it.
 */
public final class TwinHistory {
  private TwinHistory() {}

  /**
   * Whether a fold towards {@code version} is complete at {@code state}: it has reached that version
   * or passed it. Versions only grow (a re-created identity continues after the deleted one's), so
   * the fold takes every event up to the first that reaches it; the twin at {@code version} is
   * then the state just after the change that produced it, if that change exists ({@link #isAt}).
   */
  public static boolean reached(TwinRecord state, long version) {
    return state.twin() != null && state.twin().state().version() >= version;
  }

  /** Whether the fold ended exactly at {@code version} (else the twin never had it). */
  public static boolean isAt(TwinRecord state, long version) {
    return state.twin() != null && state.twin().state().version() == version;
  }

  /** The twin as it was right after the change that produced {@code version}; empty when it never had that version. */
  public static java.util.Optional<TwinRecord> asOfVersion(Iterable<TwinEvent> events, long version) {
    TwinRecord state = TwinRecord.EMPTY;
    for (TwinEvent e : events) {
      if (reached(state, version)) break;
      state = state.apply(e);
    }
    return isAt(state, version) ? java.util.Optional.of(state) : java.util.Optional.empty();
  }

  /** The identity and twin as they were at {@code at}: empty when the identity did not exist then. */
  public static java.util.Optional<TwinRecord> asOfTime(Iterable<TwinEvent> events, Instant at) {
    TwinRecord state = TwinRecord.EMPTY;
    for (TwinEvent e : events) {
      if (!atOrBefore(e, at)) break;
      state = state.apply(e);
    }
    return state.exists() ? java.util.Optional.of(state) : java.util.Optional.empty();
  }

  /** Whether {@code event} happened at or before {@code at} (as-of time: the twin as it was at that instant). */
  public static boolean atOrBefore(TwinEvent event, Instant at) {
    return !event.at().isAfter(at);
  }

  /**
   * Who made a change: the journaled author, else (events of before authors were recorded) what
   * the event itself says: a job's id, a device's reported patch, otherwise some back end.
   */
  public static Author.Kind source(TwinEvent.TwinChanged change) {
    if (change.by() != null) return change.by().kind();
    if (change instanceof TwinEvent.TwinPatched p && p.jobId() != null) return Author.Kind.JOB;
    if (change instanceof TwinEvent.ReportedPatched) return Author.Kind.DEVICE;
    return Author.Kind.SERVICE;
  }

  /** The author's name (policy, device, configuration or job id), or null when the event does not say. */
  public static String authorName(TwinEvent.TwinChanged change) {
    if (change.by() != null) return change.by().name();
    if (change instanceof TwinEvent.TwinPatched p) return p.jobId();
    return null;
  }
}
