package io.twinhub.twin.c2d;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The in-memory delivery bookkeeping of one device queue: which queued messages are locked
 * (delivered, awaiting completion) until when, and how often each was delivered. Not journaled:
 * a delivery is not a durable change (a restarted queue delivers again, as after a lost PUBACK);
 * only outcomes are. Lock tokens are {@code <seq>.<delivery>} so a settlement names its message.
 */
final class Deliveries {
  record Lock(long seq, String token, Instant until) {}

  private final Map<Long, Lock> locks = new HashMap<>();
  private final Map<Long, Integer> counts = new HashMap<>();

  /** Locks {@code seq} for one more delivery; the lock token to hand to the device. */
  String lock(long seq, Instant now, java.time.Duration timeout) {
    int n = counts.merge(seq, 1, Integer::sum);
    String token = seq + "." + n;
    locks.put(seq, new Lock(seq, token, now.plus(timeout)));
    return token;
  }

  boolean isLocked(long seq) {
    return locks.containsKey(seq);
  }

  int deliveries(long seq) {
    return counts.getOrDefault(seq, 0);
  }

  int lockedCount() {
    return locks.size();
  }

  /** The message a token names, if that token's lock is still the current one; a stale or foreign token: empty. */
  Optional<Long> seqOf(String token) {
    int dot = token == null ? -1 : token.indexOf('.');
    if (dot <= 0) return Optional.empty();
    try {
      long seq = Long.parseLong(token.substring(0, dot));
      Lock l = locks.get(seq);
      return l != null && l.token().equals(token) ? Optional.of(seq) : Optional.empty();
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** Makes {@code seq} visible again (abandoned, or its lock expired); its delivery count stays. */
  void unlock(long seq) {
    locks.remove(seq);
  }

  /** The message is gone (settled): forget it entirely. */
  void forget(long seq) {
    locks.remove(seq);
    counts.remove(seq);
  }

  /** Unlocks every lock that ran out at {@code now}; whether any did. */
  boolean expireLocks(Instant now) {
    boolean any = false;
    for (Iterator<Lock> it = locks.values().iterator(); it.hasNext(); ) {
      if (!now.isBefore(it.next().until())) {
        it.remove();
        any = true;
      }
    }
    return any;
  }

  /** The receiver went away: everything it held becomes visible again. */
  void unlockAll() {
    locks.clear();
  }

  /** A new device generation: nothing of the old queue is delivered any more. */
  void clear() {
    locks.clear();
    counts.clear();
  }

  /** The earliest lock expiry, if any lock is held. */
  Optional<Instant> nextLockExpiry() {
    return locks.values().stream().map(Lock::until).min(Instant::compareTo);
  }

  /** Messages delivered {@code max} times and not locked: due for dead-lettering. */
  List<Long> exhausted(int max) {
    List<Long> out = new ArrayList<>();
    counts.forEach((seq, n) -> {
      if (n >= max && !locks.containsKey(seq)) out.add(seq);
    });
    return out;
  }
}
