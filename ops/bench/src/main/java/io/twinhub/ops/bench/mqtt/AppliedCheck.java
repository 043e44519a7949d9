package io.twinhub.ops.bench.mqtt;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Whether reported patches the node did not accept were applied anyway, from what the devices saw:
 * only the bench writes a bench device's reported properties and a device has one patch in flight
 * at a time, so between two of its 204 answers (each carries the reported {@code $version}) the
 * version grows by one plus the patches in between that were applied although not answered 204.
 * A 429 (refused at admission) must never be; a 503 (an admitted write past its deadline, or no
 * answer within the ask timeout) or an unanswered patch may have been, so a gap is charged to
 * those first and only the rest to the refusals. After the run, {@link #toReadBack} names the
 * devices whose last patches were not accepted; their twin's reported {@code $version} read back
 * ({@link #readBack}) settles those. Patches before a device's first 204 are not checked (the
 * version before them is unknown). Thread-safe: one lock per device.
 */
final class AppliedCheck {
  private final long[] lastVersion;
  /** Per device, since its last 204: refused (429), failed otherwise (503, 500…), and unanswered. */
  private final int[] refusedSince;
  private final int[] failedSince;
  private final int[] unansweredSince;
  private final Object[] locks;
  private long refusedChecked;
  private long refusedApplied;
  private long otherChecked;
  private long otherApplied;

  AppliedCheck(int devices) {
    lastVersion = new long[devices];
    java.util.Arrays.fill(lastVersion, -1);
    refusedSince = new int[devices];
    failedSince = new int[devices];
    unansweredSince = new int[devices];
    locks = new Object[devices];
    for (int i = 0; i < devices; i++) locks[i] = new Object();
  }

  /** A 204 answer with the reported {@code $version} it gave (negative: none in the topic). */
  void accepted(int device, long version) {
    synchronized (locks[device]) {
      if (version >= 0) {
        if (lastVersion[device] >= 0) settle(device, version - lastVersion[device] - 1);
        lastVersion[device] = version;
      }
      clear(device);
    }
  }

  /** Any other answer: {@code 429} is a refusal at admission, the rest failures. */
  void notAccepted(int device, String status) {
    synchronized (locks[device]) {
      if (status.equals("429")) refusedSince[device]++;
      else failedSince[device]++;
    }
  }

  /** A patch still without an answer when the run ended. */
  void unanswered(int device) {
    synchronized (locks[device]) {
      unansweredSince[device]++;
    }
  }

  /** Devices whose patches after their last 204 were not accepted: their twin's version settles them. */
  List<Integer> toReadBack() {
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < lastVersion.length; i++) {
      synchronized (locks[i]) {
        if (lastVersion[i] >= 0 && refusedSince[i] + failedSince[i] + unansweredSince[i] > 0) out.add(i);
      }
    }
    return out;
  }

  /** The device's twin's reported {@code $version}, read after the run. */
  void readBack(int device, long version) {
    synchronized (locks[device]) {
      if (lastVersion[device] < 0) return;
      settle(device, version - lastVersion[device]);
      lastVersion[device] = version;
      clear(device);
    }
  }

  /** {@code applied} patches of the interval since the device's last 204 were applied without a 204. */
  private void settle(int device, long applied) {
    int others = failedSince[device] + unansweredSince[device];
    long byOthers = Math.max(0, Math.min(applied, others));
    synchronized (this) {
      refusedChecked += refusedSince[device];
      otherChecked += others;
      otherApplied += byOthers;
      refusedApplied += Math.max(0, applied - byOthers);
    }
  }

  private void clear(int device) {
    refusedSince[device] = 0;
    failedSince[device] = 0;
    unansweredSince[device] = 0;
  }

  synchronized long refusedChecked() {
    return refusedChecked;
  }

  /** Refused (429) patches that were applied: the goal is 0. */
  synchronized long refusedApplied() {
    return refusedApplied;
  }

  synchronized String summary() {
    return String.format(Locale.ROOT, "%d of %d checked refusals (429) applied; %d of %d other non-204 or unanswered applied",
        refusedApplied, refusedChecked, otherApplied, otherChecked);
  }
}
