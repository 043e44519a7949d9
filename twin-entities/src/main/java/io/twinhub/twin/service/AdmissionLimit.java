package io.twinhub.twin.service;

import java.time.Duration;

/**
 * A node's budget of twin writes in flight (admitted, not yet answered by their entity), adapted
 * by AIMD on the latency of the answers: a write is admitted only while fewer than {@link #limit()}
 * are in flight, so the journal's queue, and with it the latency of every admitted write, stays
 * bounded; the rest is refused at once (ThrottlingException) instead of queueing behind it.
 *
 * <p>Why adaptive: the node's capacity (journal writes per second) swings by 2× with what else
 * runs on the machine and with the Cassandra cluster behind it, so a fixed limit is either too low
 * (idle capacity) or too high (seconds of queueing). The limit grows by one per limit's worth of
 * answers within {@code targetLatency} while it is in use, and shrinks by {@code backoff} when an
 * answer took longer or showed overload, at most once per round of the writes that were in flight
 * when it last shrank (those were admitted under the old limit and say nothing about the new).
 * Queueing delay is then about {@code targetLatency}: by Little's law the limit settles near
 * capacity × targetLatency, which keeps the journal busy (goodput at capacity) as long as that is
 * above the concurrency the journal needs to be saturated.
 *
 * <p>The AIMD limit alone lags behind an open-loop load: it grows only while in use, so at an
 * offered load near capacity every stall of a few tens of milliseconds (a GC pause, a busy box)
 * overflowed it and refused writes the node could have done (session 10: 0.82 × capacity at 1×).
 * So the limit in force is at least the node's measured completion rate × {@code targetLatency}
 * (never above {@code maxLimit}): by Little's law an admitted write then waits behind at most about
 * {@code targetLatency} of work, whatever the machine's capacity, and a burst within that is
 * admitted. The rate is the highest answers/s of the recent one-second windows (it decays by a
 * quarter per second, so a stall of a second keeps most of it and a capacity that fell is followed
 * within seconds).
 *
 * <p>Waiting instead of refusing ({@link #acquireOrWait}): a gateway that can hold a request
 * without cost (an MQTT session that stops reading its socket) queues it here while the limit is
 * full; each answer hands its slot to the newest waiter (LIFO: under sustained overload the
 * admitted ones waited little, and the ones that wait past the gateway's bound are the oldest,
 * refused by the gateway with {@link #cancel}). A waiter holds no slot until it is granted one.
 *
 * <p>Pure: the caller measures latency, the clock is given; thread-safe (one lock, a few field
 * updates per request; a granted waiter's callback runs after the lock is released).
 */
public final class AdmissionLimit {

  /**
   * @param initialLimit  the limit at start
   * @param minLimit      never below (the journal's batching needs some concurrency)
   * @param maxLimit      never above: bounds the queue when latency says nothing yet (a burst after idle)
   * @param targetLatency an answer slower than this shrinks the limit
   * @param backoff       the factor a shrink multiplies the limit by, in (0, 1)
   * @param adaptToJournal the AIMD compares the journal's time for a write (carried in the entity's
   *                      answer, {@link #release(long, long, boolean)}) with {@code targetLatency}
   *                      instead of the whole admission → answer time, which also holds the node's
   *                      own CPU queue (session 14: under overload the admitted writes were slow in
   *                      the node, not in the journal, and the limit shrank to its floor, refusing
   *                      more). An answer without a journal time (an older node, a rejection) is
   *                      judged by its whole time as before.
   * @param journalTarget  above 0: a bound on the journal's standing queue (session 18). When even the
   *                      fastest journal time of a one-second window is above it, every admitted write
   *                      waited in the journal's queue (a standing queue, not a burst: CoDel's test),
   *                      and the limit in force is capped at completion rate × this (Little's law: the
   *                      journal then holds about this much work) until a window's mean journal time
   *                      falls below half of it (the journal has room again). Without it the limit in
   *                      force under sustained overload is completion rate × {@code targetLatency}, i.e.
   *                      every admitted write waits ~{@code targetLatency} in the journal. A journal
   *                      slow by itself (a starved box, whose fastest writes are slower than this)
   *                      is not squeezed below what it needs: the cap is at least rate × twice the
   *                      fastest journal time of the recent windows without the cap. 0 = off.
   */
  public record Settings(int initialLimit, int minLimit, int maxLimit, Duration targetLatency, double backoff,
                         boolean adaptToJournal, Duration journalTarget) {
    public Settings(int initialLimit, int minLimit, int maxLimit, Duration targetLatency, double backoff) {
      this(initialLimit, minLimit, maxLimit, targetLatency, backoff, false);
    }

    public Settings(int initialLimit, int minLimit, int maxLimit, Duration targetLatency, double backoff,
                    boolean adaptToJournal) {
      this(initialLimit, minLimit, maxLimit, targetLatency, backoff, adaptToJournal, Duration.ZERO);
    }

    public Settings {
      if (minLimit < 1 || maxLimit < minLimit || initialLimit < minLimit || initialLimit > maxLimit) {
        throw new IllegalArgumentException("admission limits must satisfy 1 <= min-limit <= initial-limit <= max-limit");
      }
      if (!(backoff > 0 && backoff < 1)) throw new IllegalArgumentException("admission backoff must be in (0, 1)");
      if (targetLatency.isNegative() || targetLatency.isZero()) throw new IllegalArgumentException("target-latency must be > 0");
      if (journalTarget.isNegative()) throw new IllegalArgumentException("journal-target must be >= 0 (0 = off)");
    }

    /** A fixed limit (min = initial = max): nothing adapts. */
    public static Settings fixed(int limit) {
      return new Settings(limit, limit, limit, Duration.ofSeconds(1), 0.5);
    }
  }

  /**
   * A request waiting for a slot: granted once (its callback then runs, holding a slot it must
   * {@link #release} or {@link #releaseUnused}), or cancelled by its gateway, never both.
   */
  public static final class Waiter {
    private static final int WAITING = 0, GRANTED = 1, CANCELLED = 2;
    private final java.util.concurrent.atomic.AtomicInteger state = new java.util.concurrent.atomic.AtomicInteger();
    private final Runnable onGranted;
    /** Only woken when a slot is freed for it: takes no slot, the freed one stays free for whoever comes first. */
    private final boolean wakeOnly;

    private Waiter(Runnable onGranted, boolean wakeOnly) {
      this.onGranted = onGranted;
      this.wakeOnly = wakeOnly;
    }

    private boolean waiting() {
      return state.get() == WAITING;
    }
  }

  private final Settings settings;
  private final long targetNanos;
  /** Waiting requests, oldest first; cancelled ones are dropped lazily from either end. */
  private final java.util.ArrayDeque<Waiter> waiters = new java.util.ArrayDeque<>();
  private double limit;
  private int inFlight;
  /** Answers seen so far. */
  private long answers;
  /** No shrink before this many answers: the writes in flight at the last shrink must be answered first. */
  private long shrinkAfter;
  private long refused;
  /** Sum of the answered writes' admission → answer latency (what an admitted write spends in the node). */
  private long answeredLatencyNanos;
  /** Answered writes slower than {@code targetLatency}. */
  private long answeredSlow;
  /** Answers that carried the journal's time for their write, and the sum of those times. */
  private long journaled;
  private long journalNanos;
  /** System.nanoTime-like clock of the completion-rate windows. */
  private final java.util.function.LongSupplier clock;
  private long windowStart;
  private long windowAnswers;
  /** Highest answers per second of the recent windows (×0.75 per second since). */
  private double peakRate;
  /** max(limit, peakRate × targetLatency), within maxLimit (and the standing-queue cap): the limit in force. */
  private int effective;
  /** journal-target in nanos (0 = off), and the current window's journaled answers: count, fastest, sum. */
  private final long journalTargetNanos;
  private long windowJournaled;
  private long windowJournalMin = Long.MAX_VALUE;
  private long windowJournalSum;
  /** The last window showed a standing queue in the journal and none has shown room since: the cap is on. */
  private boolean standingQueue;
  private long standingWindows;
  /** The fastest journal time of each of the last {@link #FLOOR_WINDOWS} windows without the cap (0 = none yet). */
  private final long[] uncappedMins = new long[FLOOR_WINDOWS];
  private int uncappedNext;
  static final int FLOOR_WINDOWS = 10;

  /** Whether the node is behind in its own CPU queue (see {@link #refuseWhileBehind}); never, unless set. */
  private volatile java.util.function.BooleanSupplier behind = () -> false;
  private long refusedBehind;

  static final long WINDOW_NANOS = 1_000_000_000L;
  static final double PEAK_DECAY = 0.75;

  public AdmissionLimit(Settings settings) {
    this(settings, System::nanoTime);
  }

  public AdmissionLimit(Settings settings, java.util.function.LongSupplier clock) {
    this.settings = settings;
    this.targetNanos = settings.targetLatency().toNanos();
    this.journalTargetNanos = settings.journalTarget().toNanos();
    this.limit = settings.initialLimit();
    this.clock = clock;
    this.windowStart = clock.getAsLong();
    this.effective = settings.initialLimit();
  }

  /** Admits one write if fewer than the limit are in flight; each admitted write must be {@link #release}d once. */
  public synchronized boolean tryAcquire() {
    if (inFlight >= effective) {
      refused++;
      return false;
    }
    inFlight++;
    return true;
  }

  /**
   * An admitted write was answered.
   *
   * @param latencyNanos admission → answer
   * @param overloaded   the answer itself shows overload (no answer in time, refused by its deadline)
   */
  public void release(long latencyNanos, boolean overloaded) {
    release(latencyNanos, 0, overloaded);
  }

  /**
   * An admitted write was answered, with the journal's time for it when its answer carries one.
   *
   * @param latencyNanos admission → answer
   * @param journalNanos the entity's command → journal acknowledgement for this write; 0 when unknown
   *                     (nothing journaled, or an answer from a node that does not report it)
   * @param overloaded   the answer itself shows overload (no answer in time, refused by its deadline)
   */
  public void release(long latencyNanos, long journalNanos, boolean overloaded) {
    synchronized (this) {
      releaseLocked(latencyNanos, journalNanos, overloaded);
    }
    runGranted();
  }

  private void releaseLocked(long latencyNanos, long journalNanos, boolean overloaded) {
    if (inFlight == 0) throw new IllegalStateException("release without an admitted write");
    boolean wasFull = inFlight >= (int) limit;
    inFlight--;
    answers++;
    answeredLatencyNanos += Math.max(0, latencyNanos);
    if (latencyNanos > targetNanos) answeredSlow++;
    if (journalNanos > 0) {
      journaled++;
      this.journalNanos += journalNanos;
      windowJournaled++;
      windowJournalSum += journalNanos;
      windowJournalMin = Math.min(windowJournalMin, journalNanos);
    }
    countAnswer();
    // What the limit adapts to: the journal's own time when asked to and known, else the whole time.
    long judged = settings.adaptToJournal() && journalNanos > 0 ? journalNanos : latencyNanos;
    if (overloaded || judged > targetNanos) {
      if (answers >= shrinkAfter) {
        limit = Math.max(settings.minLimit(), limit * settings.backoff());
        shrinkAfter = answers + inFlight + 1;
      }
    } else if (wasFull || (inFlight + 1) * 2 >= limit) {
      // In use (at least half of it) and fast enough: about one more per round of answers (additive increase).
      limit = Math.min(settings.maxLimit(), limit + 1.0 / limit);
    }
    effective = effectiveLimit();
    grantWaiters();
  }

  /**
   * A slot granted to a waiter (or admitted by {@link #tryAcquire}) was not used after all (the
   * request was invalid, or its connection closed): freed without counting an answer.
   */
  public void releaseUnused() {
    synchronized (this) {
      if (inFlight == 0) throw new IllegalStateException("release without an admitted write");
      inFlight--;
      grantWaiters();
    }
    runGranted();
  }

  /**
   * Admits one write now (true: it holds a slot, as after {@link #tryAcquire}), or queues
   * {@code onGranted} to run once a slot is free for it (false: {@code waiter[0]} is the queued
   * waiter, to {@link #cancel} when the gateway stops waiting). {@code onGranted} runs on the
   * thread of the answer that freed the slot: it should only hand the grant over (e.g. tell an actor).
   */
  public boolean acquireOrWait(Runnable onGranted, Waiter[] waiter) {
    synchronized (this) {
      dropCancelledOldest();
      if (inFlight < effective && waiters.isEmpty()) {
        inFlight++;
        return true;
      }
      Waiter w = new Waiter(onGranted, false);
      waiters.addLast(w);
      waiter[0] = w;
      return false;
    }
  }

  /**
   * The gateway stops waiting (its bound passed, or its connection closed): true if the waiter
   * was still waiting (counted as refused; it never holds a slot), false if it was granted a slot
   * first (its callback ran or is running: the slot is the caller's, to use or {@link #releaseUnused}).
   */
  public boolean cancel(Waiter w) {
    if (!w.state.compareAndSet(Waiter.WAITING, Waiter.CANCELLED)) return false;
    synchronized (this) {
      refused++;
      dropCancelledOldest();
    }
    return true;
  }

  /**
   * A gateway that holds a request unread (an MQTT connection refused a moment ago, its socket not
   * read) asks to be woken when the node has room: true if a slot is free now (nothing queued),
   * else {@code onFree} runs once a freed slot comes to this waiter (the newest first, as grants;
   * one waiter per freed slot) and {@code waiter[0]} is what to {@link #withdraw}. A woken waiter
   * takes no slot: the freed one stays free for the first write that asks, which may be the woken
   * gateway's. So waking costs no slot, and a woken connection with nothing to send wastes none.
   */
  public boolean wakeWhenFree(Runnable onFree, Waiter[] waiter) {
    synchronized (this) {
      dropCancelledOldest();
      if (inFlight < effective) return true;
      Waiter w = new Waiter(onFree, true);
      waiters.addLast(w);
      waiter[0] = w;
      return false;
    }
  }

  /**
   * The gateway no longer needs the slot it waited for and refuses nothing for it (an MQTT
   * connection held after a refusal whose hold ran out: it reads on, and its next patch is decided
   * as any other): true if the waiter was still waiting (not counted as refused), false if it was
   * granted a slot first (its callback ran or is running: the slot is the caller's).
   */
  public boolean withdraw(Waiter w) {
    if (!w.state.compareAndSet(Waiter.WAITING, Waiter.CANCELLED)) return false;
    synchronized (this) {
      dropCancelledOldest();
    }
    return true;
  }

  /** Requests waiting for a slot now (cancelled ones not yet dropped included). */
  public synchronized int waiting() {
    return waiters.size();
  }

  private final ThreadLocal<java.util.ArrayList<Waiter>> granted = ThreadLocal.withInitial(java.util.ArrayList::new);

  /** Under the lock: free slots go to the newest waiters; their callbacks run after the lock ({@link #runGranted}). */
  private void grantWaiters() {
    int free = effective - inFlight;
    while (free > 0 && !waiters.isEmpty()) {
      Waiter w = waiters.pollLast();
      if (w.state.compareAndSet(Waiter.WAITING, Waiter.GRANTED)) {
        if (!w.wakeOnly) inFlight++;
        free--;
        granted.get().add(w);
      }
    }
    dropCancelledOldest();
  }

  private void dropCancelledOldest() {
    while (!waiters.isEmpty() && !waiters.peekFirst().waiting()) waiters.pollFirst();
  }

  private void runGranted() {
    java.util.ArrayList<Waiter> list = granted.get();
    if (list.isEmpty()) return;
    Waiter[] run = list.toArray(new Waiter[0]);
    list.clear();
    for (Waiter w : run) w.onGranted.run();
  }

  /** Counts an answer in the current window; a window that is over updates the completion rate. */
  private void countAnswer() {
    windowAnswers++;
    long now = clock.getAsLong();
    long elapsed = now - windowStart;
    if (elapsed < WINDOW_NANOS) return;
    double rate = windowAnswers * 1e9 / elapsed;
    // ×0.75 per second since the peak: a stall of a second or two (a GC pause, a busy box) keeps
    // most of it, an idle minute leaves nothing.
    double decayed = peakRate * Math.pow(PEAK_DECAY, (double) elapsed / WINDOW_NANOS);
    peakRate = Math.max(rate, decayed);
    windowStart = now;
    windowAnswers = 0;
    judgeJournalQueue();
  }

  /**
   * At a window's end: a standing queue in the journal when even its fastest write waited longer than
   * journal-target (a burst leaves some fast ones); room again when the window's mean is below half
   * of it. A window without journaled answers changes nothing.
   */
  private void judgeJournalQueue() {
    if (journalTargetNanos > 0 && windowJournaled > 0) {
      if (!standingQueue) {
        uncappedMins[uncappedNext] = windowJournalMin;
        uncappedNext = (uncappedNext + 1) % FLOOR_WINDOWS;
      }
      if (windowJournalMin > journalTargetNanos) standingQueue = true;
      else if (windowJournalSum / windowJournaled < journalTargetNanos / 2) standingQueue = false;
      if (standingQueue) standingWindows++;
    }
    windowJournaled = 0;
    windowJournalSum = 0;
    windowJournalMin = Long.MAX_VALUE;
  }

  private int effectiveLimit() {
    double byRate = peakRate * targetNanos / 1e9;
    double inForce = Math.min(settings.maxLimit(), Math.max(limit, byRate));
    if (standingQueue) {
      // Little's law: about journal-target of work in the journal at the rate it completes, but
      // never less than the journal needs when it is slow by itself (twice its recent fastest write).
      long bound = Math.max(journalTargetNanos, 2 * journalFloorNanos());
      inForce = Math.min(inForce, Math.max(settings.minLimit(), peakRate * bound / 1e9));
    }
    return (int) inForce;
  }

  /** The fastest journal time of the recent windows without the cap: what a write costs the journal without a queue. */
  private long journalFloorNanos() {
    long floor = Long.MAX_VALUE;
    for (long m : uncappedMins) if (m > 0) floor = Math.min(floor, m);
    return floor == Long.MAX_VALUE ? 0 : floor;
  }

  /**
   * Whether a write would be refused now, counted as refused if so: lets a gateway refuse before it
   * spends anything on the request (parsing its body), so refusals stay cheap under overload. A
   * write that passes still goes through {@link #tryAcquire}.
   */
  public synchronized boolean refuseIfFull() {
    if (inFlight < effective) {
      if (!behind.getAsBoolean()) return false;
      refusedBehind++;
    }
    refused++;
    return true;
  }

  /**
   * Also refuse at the gateway's cheap check ({@link #refuseIfFull}) while {@code nodeBehind} says the
   * node is behind in its own work (e.g. its dispatcher's queue is older than a bound, NodeLag), with
   * slots free: a refusal costs a fraction of an admitted write, so shedding writes while the node
   * is behind lets it catch up, instead of the packets read after them waiting ever longer. Writes
   * that passed that check ({@link #tryAcquire}) are not affected.
   */
  public void refuseWhileBehind(java.util.function.BooleanSupplier nodeBehind) {
    this.behind = nodeBehind;
  }

  /** Writes refused by {@link #refuseIfFull} with slots free because the node was behind (part of {@link #refused()}). */
  public synchronized long refusedBehind() {
    return refusedBehind;
  }

  /** Writes that may be in flight now: the AIMD limit, or the completion rate × target latency if higher. */
  public synchronized int limit() {
    return effective;
  }

  /** Whether the journal-target cap is on now (a standing queue in the journal, see {@link Settings#journalTarget}). */
  public synchronized boolean standingQueue() {
    return standingQueue;
  }

  /** One-second windows that ended with the journal-target cap on, since start. */
  public synchronized long standingWindows() {
    return standingWindows;
  }

  /** The highest recent completion rate (answers per second) the limit is measured against. */
  public synchronized double completionRate() {
    return peakRate;
  }

  public synchronized int inFlight() {
    return inFlight;
  }

  /** Admitted writes answered since start (their entity answered, refused by its deadline, or timed out). */
  public synchronized long answered() {
    return answers;
  }

  /** Sum of the answered writes' admission → answer latency, in seconds: over {@link #answered()} it is the mean time a write spends in the node. */
  public synchronized double answeredLatencySeconds() {
    return answeredLatencyNanos / 1e9;
  }

  /** Answered writes that took longer than {@code target-latency} from admission to answer. */
  public synchronized long answeredSlow() {
    return answeredSlow;
  }

  /** Answers that carried the journal's time for their write (see {@link #release(long, long, boolean)}). */
  public synchronized long journaled() {
    return journaled;
  }

  /** Sum of those journal times, in seconds: over {@link #journaled()} the mean time a write spent in the journal. */
  public synchronized double journalSeconds() {
    return journalNanos / 1e9;
  }

  /** Writes refused since start. */
  public synchronized long refused() {
    return refused;
  }

  public Settings settings() {
    return settings;
  }
}
