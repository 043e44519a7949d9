package io.twinhub.functions.host;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one trigger partition (one incarnation, from its committed offset on) knows of each device
 * log of its tag, so that the live path ({@code TelemetryFeed}) and the tag read hand every
 * message to the functions once, in per-device order: pure bookkeeping, no I/O, used by one
 * partition's sequential delivery only (not thread-safe).
 *
 * <ul>
 *   <li>A live message is taken when its predecessor was delivered (by either path); otherwise it
 *       waits, up to {@code maxWaiting} messages in all, for the tag read to deliver the
 *       predecessor (after a start, a device's first message always does: the partition cannot
 *       know which of its earlier messages the committed offset covers).</li>
 *   <li>A message taken live is remembered with the host's app generation at that moment until
 *       the tag read passes it; the tag read then skips it, except for apps loaded since (a version
 *       published meanwhile: it gets the message from the tag read). Up to {@code maxAhead} such
 *       messages; beyond, live messages are left to the tag read. Once an app was loaded, a
 *       device's next live message waits until the tag read passed its earlier live ones, so the
 *       new app too sees the device's messages in order.</li>
 * </ul>
 *
 * @param <M> a live message
 */
final class LiveLedger<M> {
  private static final class Device<M> {
    /** Highest sequence number delivered; -1 until the tag read delivered one of this device. */
    long delivered = -1;
    /** Taken live, not yet passed by the tag read: sequence number to the app generation then. */
    TreeMap<Long, Long> live;
    /** Live messages whose predecessor was not delivered yet. */
    TreeMap<Long, M> waiting;
  }

  private final Map<String, Device<M>> devices = new HashMap<>();
  private final int maxWaiting;
  private final int maxAhead;
  private int waiting;
  private int ahead;
  long dropped;

  LiveLedger(int maxWaiting, int maxAhead) {
    this.maxWaiting = maxWaiting;
    this.maxAhead = maxAhead;
  }

  /**
   * A live message of {@code log} at {@code seq}: the messages to invoke now, in order (it, and the
   * waiting ones it makes contiguous), taken at app {@code generation}; empty when it waits, was
   * delivered already, or is left to the tag read.
   */
  List<M> offer(String log, long seq, M message, long generation) {
    Device<M> d = devices.computeIfAbsent(log, k -> new Device<>());
    if (d.delivered >= 0 && seq <= d.delivered) return List.of();
    if (takes(d, seq, generation)) {
      List<M> out = new ArrayList<>();
      take(d, seq, message, generation, out);
      releaseInto(d, generation, out);
      return out;
    }
    if (waiting >= maxWaiting) {
      dropped++;
      return List.of();
    }
    if (d.waiting == null) d.waiting = new TreeMap<>();
    if (d.waiting.put(seq, message) == null) waiting++;
    return List.of();
  }

  /**
   * The tag read reached {@code log} at {@code seq}: null when it is to invoke it (not taken live),
   * else the app generation of its live invocation (the tag read invokes it for apps loaded after
   * that only).
   */
  Long pass(String log, long seq) {
    Device<M> d = devices.computeIfAbsent(log, k -> new Device<>());
    if (d.live != null) {
      Long generation = d.live.remove(seq);
      int before = d.live.size();
      d.live.headMap(seq).clear(); // never taken live and then missed by the tag read; kept tidy
      ahead -= (generation != null ? 1 : 0) + before - d.live.size();
      if (generation != null) return generation;
    }
    d.delivered = Math.max(d.delivered, seq);
    return null;
  }

  /** After the tag read delivered {@code log}'s messages: its waiting live messages now contiguous, taken at {@code generation}. */
  List<M> released(String log, long generation) {
    Device<M> d = devices.get(log);
    List<M> out = new ArrayList<>();
    if (d != null) releaseInto(d, generation, out);
    return out;
  }

  private void releaseInto(Device<M> d, long generation, List<M> out) {
    if (d.waiting == null) return;
    while (!d.waiting.isEmpty()) {
      Map.Entry<Long, M> first = d.waiting.firstEntry();
      if (first.getKey() <= d.delivered) {
        d.waiting.pollFirstEntry();
        waiting--;
      } else if (takes(d, first.getKey(), generation)) {
        d.waiting.pollFirstEntry();
        waiting--;
        take(d, first.getKey(), first.getValue(), generation, out);
      } else {
        break;
      }
    }
    if (d.waiting.isEmpty()) d.waiting = null;
  }

  /**
   * Whether the live path may invoke {@code seq} now: its predecessor was delivered, and every
   * message of the device taken live before was taken with the apps loaded now (else the tag read
   * still has to hand those to an app loaded since, and this one must come after them).
   */
  private boolean takes(Device<M> d, long seq, long generation) {
    return d.delivered >= 0 && seq == d.delivered + 1 && ahead < maxAhead
        && (d.live == null || d.live.isEmpty() || d.live.firstEntry().getValue() >= generation);
  }

  private void take(Device<M> d, long seq, M message, long generation, List<M> out) {
    if (d.live == null) d.live = new TreeMap<>();
    d.live.put(seq, generation);
    ahead++;
    d.delivered = seq;
    out.add(message);
  }

  int waiting() {
    return waiting;
  }

  int ahead() {
    return ahead;
  }
}
