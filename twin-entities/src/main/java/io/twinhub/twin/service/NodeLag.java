package io.twinhub.twin.service;

import akka.actor.typed.ActorSystem;

import java.time.Duration;
import java.util.concurrent.Executor;

/**
 * How far behind the node is in its own work: every {@code interval} a probe task is queued on
 * each of the given executors (the actor system's dispatchers: streams, sessions and entities run
 * on the default one, the TCP connections on the internal one), and the lag is how long the newest
 * probe waited to run — or, while one still waits, how long it has waited so far (a stalled
 * dispatcher reads as behind at once, not after it recovers). Under overload the node's CPU, not
 * the journal, is where packets wait (docs/BENCHMARKS.md "Session 14"): this measures that wait.
 */
public final class NodeLag {

  private final class Probe implements Runnable {
    private final Executor executor;
    /** nanoTime the pending probe was queued; 0 when none is pending. */
    private volatile long queuedAt;
    private volatile long last;

    Probe(Executor executor) {
      this.executor = executor;
    }

    void tick() {
      if (queuedAt != 0) return; // the last one still waits: its age is the lag
      queuedAt = clock.getAsLong();
      executor.execute(this);
    }

    @Override
    public void run() {
      long q = queuedAt;
      if (q != 0) last = clock.getAsLong() - q;
      queuedAt = 0;
    }

    long lag(long now) {
      long q = queuedAt;
      return q == 0 ? last : Math.max(last, now - q);
    }
  }

  private final Probe[] probes;
  /** System.nanoTime, or a test's. */
  private final java.util.function.LongSupplier clock;

  NodeLag(java.util.function.LongSupplier clock, Executor... executors) {
    this.clock = clock;
    probes = new Probe[executors.length];
    for (int i = 0; i < executors.length; i++) probes[i] = new Probe(executors[i]);
  }

  /** Probes the system's default and internal dispatchers every {@code interval}. */
  public static NodeLag start(ActorSystem<?> system, Duration interval) {
    var dispatchers = system.classicSystem().dispatchers();
    NodeLag lag = new NodeLag(System::nanoTime, system.executionContext(), dispatchers.lookup("akka.actor.internal-dispatcher"));
    // Ticks on the scheduler's own thread: a tick queued on a dispatcher would be as late as the probes it starts.
    system.scheduler().scheduleAtFixedRate(interval, interval, lag::tick, akka.dispatch.ExecutionContexts.fromExecutor(Runnable::run));
    return lag;
  }

  void tick() {
    for (Probe p : probes) p.tick();
  }

  /** The largest wait of the probes now, in nanoseconds. */
  public long lagNanos() {
    long now = clock.getAsLong();
    long max = 0;
    for (Probe p : probes) max = Math.max(max, p.lag(now));
    return max;
  }

  public double lagSeconds() {
    return lagNanos() / 1e9;
  }
}
