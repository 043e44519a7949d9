package io.twinhub.ops.bench.mqtt;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.IntPredicate;

/**
 * Which of a fleet's devices may send their next twin operation: a device SDK awaits the answer to
 * one before it sends the next (and backs off on 429), so a device is busy from its request to its
 * answer. Requests go round-robin to the next idle device; when every device is busy the fleet
 * cannot offer more (the bench counts that instead of pipelining packets into a busy device's
 * socket, where a refusal would be measured behind the packets before it). Thread-safe.
 */
final class IdleDevices {
  private final AtomicIntegerArray busy;
  private final AtomicInteger cursor = new AtomicInteger();

  IdleDevices(int devices) {
    this.busy = new AtomicIntegerArray(devices);
  }

  /** Devices looked at per request at most: when all are busy (a node that stopped answering) a full scan per offered request would cost the load client a core. */
  static final int MAX_SCAN = 1024;

  /**
   * The index of an idle device for which {@code usable} holds, now marked busy; -1 if none of the
   * next {@link #MAX_SCAN} is. Round-robin: the devices after the cursor are the ones that sent
   * longest ago, so they are the likeliest to be idle.
   */
  int acquire(IntPredicate usable) {
    int n = busy.length();
    for (int tries = 0, max = Math.min(n, MAX_SCAN); tries < max; tries++) {
      int i = Math.floorMod(cursor.getAndIncrement(), n);
      if (busy.get(i) == 0 && usable.test(i) && busy.compareAndSet(i, 0, 1)) return i;
    }
    return -1;
  }

  /** The device's request was answered: it may send again. */
  void release(int device) {
    busy.set(device, 0);
  }

  int busyCount() {
    int b = 0;
    for (int i = 0; i < busy.length(); i++) b += busy.get(i);
    return b;
  }
}
