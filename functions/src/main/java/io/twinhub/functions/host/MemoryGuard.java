package io.twinhub.functions.host;

import io.twinhub.functions.runtime.FunctionApp;
import io.twinhub.functions.runtime.InvocationInput;
import io.twinhub.functions.runtime.InvocationResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The kill switch for a function that exhausts the heap. Function apps share the worker's heap
 * (class loaders, not child JVMs: docs/FUNCTIONS.md), and the JVM has no per-class-loader
 * memory bound; an {@code OutOfMemoryError} lands in whichever thread allocates next, which may
 * be one of the node's own (Akka treats that as fatal and the node exits). So the guard acts
 * before the heap is full: after every garbage collection it looks at the heap as the collection
 * left it (the live objects, roughly), and when that is above {@code heapFraction} of its maximum it stops
 * the running invocation that allocated the most since it started, if that is at least
 * {@code minAllocationFraction} of the heap (a function that merely makes garbage is not the
 * culprit of a full heap after a GC). The invocation's thread is stopped ({@code Thread.stop}:
 * a {@code ThreadDeath} thrown where it runs, the only way to end a thread that does not listen
 * to interrupts; the app's objects it held become garbage) and the invocation fails with an
 * error saying so. An {@code OutOfMemoryError} the function itself gets is a failed invocation
 * too ({@link io.twinhub.functions.runtime.FunctionApp#invoke}).
 */
public final class MemoryGuard {
  private static final Logger log = LoggerFactory.getLogger(MemoryGuard.class);

  public record Settings(boolean enabled, double heapFraction, double minAllocationFraction) {
    public static final Settings DEFAULT = new Settings(true, 0.8, 0.25);
  }

  /** A running invocation: its thread and what the thread had allocated when it started. */
  private static final class Running {
    final Thread thread;
    final long allocatedAtStart;
    final String what;
    final String invocationId;
    private boolean active = true;
    private String stoppedBecause;

    Running(Thread thread, long allocatedAtStart, String what, String invocationId) {
      this.thread = thread;
      this.allocatedAtStart = allocatedAtStart;
      this.what = what;
      this.invocationId = invocationId;
    }

    synchronized void end(Map<Long, Running> running) {
      active = false;
      running.remove(thread.getId(), this);
    }

    synchronized String stoppedBecause() {
      return stoppedBecause;
    }

    @SuppressWarnings("deprecation") // Thread.stop: the only end for a thread that ignores interrupts (JDK 17)
    synchronized boolean stop(String reason) {
      if (!active) return false;
      active = false;
      stoppedBecause = reason;
      thread.stop();
      return true;
    }
  }

  private final Settings settings;
  private final com.sun.management.ThreadMXBean threads;
  private final Map<Long, Running> running = new ConcurrentHashMap<>();
  private final long maxHeap;
  private final java.util.Set<String> heapPools;
  private volatile long usedAfterLastGc;

  public MemoryGuard(Settings settings) {
    this.settings = settings;
    this.threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    this.maxHeap = Runtime.getRuntime().maxMemory();
    this.heapPools = ManagementFactory.getMemoryPoolMXBeans().stream().filter(p -> p.getType() == MemoryType.HEAP)
        .map(MemoryPoolMXBean::getName).collect(java.util.stream.Collectors.toSet());
    if (settings.enabled() && threads.isThreadAllocatedMemorySupported()) {
      if (!threads.isThreadAllocatedMemoryEnabled()) threads.setThreadAllocatedMemoryEnabled(true);
      // After every collection, young ones included (a pool's own "collection usage" is updated
      // only by the collections that manage it: G1's old gen only by a full GC, which is too late).
      for (var gc : ManagementFactory.getGarbageCollectorMXBeans()) {
        if (gc instanceof javax.management.NotificationEmitter emitter) {
          emitter.addNotificationListener((n, handback) -> afterGc(n), null, null);
        }
      }
    }
  }

  /**
   * One invocation on the calling thread under the guard: stopped by it, it fails saying so.
   * The guard decides and stops under the invocation's lock, and the invocation ends under it
   * too, so a stop is never meant for what the thread runs next.
   */
  public InvocationResult run(FunctionApp app, String name, InvocationInput input, String id) {
    Thread t = Thread.currentThread();
    InvocationResult result = null;
    Throwable thrown = null;
    Running r = null;
    try {
      r = new Running(t, settings.enabled() ? threads.getThreadAllocatedBytes(t.getId()) : 0, app.name() + "/" + name, id);
      running.put(t.getId(), r);
      try {
        result = app.invoke(name, input, id);
      } finally {
        r.end(running);
      }
    } catch (Throwable e) { // the guard's ThreadDeath arriving outside the function's own frames
      thrown = e;
    }
    String stopped = r == null ? null : r.stoppedBecause();
    if (stopped == null && thrown == null) return result;
    String error = stopped != null ? stopped : thrown.toString();
    List<String> logs = new java.util.ArrayList<>(result == null ? List.of() : result.logs());
    logs.add("ERROR " + error);
    return new InvocationResult(id, name, false, result == null ? 0 : result.durationMicros(), error, logs, null, List.of());
  }

  /**
   * Stops invocation {@code id} if its thread still runs it (a function that ignored the
   * interrupt of its timeout): the thread returns to the pool instead of being lost to the hang.
   * Never stops what the thread runs after that invocation (decided under the invocation's lock).
   */
  public boolean stopHung(String id, String reason) {
    for (Running r : running.values()) {
      if (r.invocationId.equals(id) && r.stop(reason)) {
        log.warn("Function {} invocation {}: {}", r.what, id, reason);
        return true;
      }
    }
    return false;
  }

  private void afterGc(javax.management.Notification n) {
    if (!com.sun.management.GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) return;
    var info = com.sun.management.GarbageCollectionNotificationInfo.from((javax.management.openmbean.CompositeData) n.getUserData());
    long used = 0;
    for (var e : info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
      if (heapPools.contains(e.getKey())) used += e.getValue().getUsed();
    }
    usedAfterLastGc = used;
    check();
  }

  /** The heap as the last collection left it, and the culprit stopped when it is too full. */
  void check() {
    try {
      long used = usedAfterLastGc;
      if (used <= settings.heapFraction() * maxHeap || running.isEmpty()) return;
      Running culprit = null;
      long most = 0;
      for (Running r : running.values()) {
        long allocated = threads.getThreadAllocatedBytes(r.thread.getId()) - r.allocatedAtStart;
        if (allocated > most) {
          most = allocated;
          culprit = r;
        }
      }
      if (culprit == null || most < settings.minAllocationFraction() * maxHeap) return;
      String reason = "stopped by the memory guard: the heap was " + Math.round(100.0 * used / maxHeap)
          + "% full after a garbage collection (limit " + Math.round(settings.heapFraction() * 100) + "%) and this invocation"
          + " had allocated " + (most >> 20) + " MB, the most of the running invocations";
      if (culprit.stop(reason)) log.warn("Function {}: {}", culprit.what, reason);
    } catch (RuntimeException e) {
      log.debug("memory guard check failed: {}", e.toString());
    }
  }
}
