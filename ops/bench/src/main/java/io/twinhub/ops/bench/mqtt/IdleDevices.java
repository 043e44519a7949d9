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

  /** The index of an idle device for which {@code usable} holds, now marked busy; -1 if there is none. */
  int acquire(IntPredicate usable) {
    int n = busy.length();
    for (int tries = 0; tries < n; tries++) {
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
