package io.twinhub.twin;

/**
 * The receiving side of a numbered live feed ({@code TwinEventFeed}): per sender incarnation, the
 * number of the next message expected, so that a message lost on the way (an outbound queue that
 * overflowed, a subscriber not listed yet, a sender restarted) shows as a gap. Pure; one thread.
 *
 * <p>A sender numbers its messages 1, 2, 3, … per incarnation and tells them to each subscriber in
 * that order (Akka keeps the order of one sender's messages to one recipient), and tells a
 * high-water mark (the last number it told) after traffic and now and then when idle, so that a
 * lost <em>last</em> message shows too. What counts as a loss:
 * <ul>
 *   <li>a message or mark above the next number expected (the ones in between were lost);</li>
 *   <li>the first message or mark of a sender incarnation never heard from (a sender started, or
 *       one that lists this subscriber only now: what it told before may never have come here).</li>
 * </ul>
 * A number below the next expected (a re-sent mark) is no loss. Senders not heard from for
 * {@code forgetAfterMillis} are forgotten (a sender that speaks again after that is a new one,
 * i.e. a loss: safe).
 */
public final class LiveGaps {
  /** What a message or mark shows. */
  public enum Heard {
    /** nothing missed */
    IN_ORDER,
    /** the first word of a sender incarnation: what it told before may not have come here */
    NEW_SENDER,
    /** messages of a known sender were lost */
    GAP;

    /** Whether something may have been missed. */
    public boolean loss() {
      return this != IN_ORDER;
    }
  }

  private final long forgetAfterMillis;
  // A handful of senders (one per node): arrays scanned linearly, nothing allocated per message.
  private long[] senders = new long[8];
  private long[] next = new long[8];
  private long[] heardAt = new long[8];
  private int size;
  private int last = -1;

  public LiveGaps(long forgetAfterMillis) {
    this.forgetAfterMillis = forgetAfterMillis;
  }

  /** Message number {@code number} of {@code sender}, received at {@code now}. */
  public Heard received(long sender, long number, long now) {
    return heard(sender, number, number + 1, now);
  }

  /** A high-water mark: {@code sender} has told messages up to {@code lastNumber}. */
  public Heard marked(long sender, long lastNumber, long now) {
    return heard(sender, lastNumber + 1, lastNumber + 1, now);
  }

  /** {@code atLeast}: the next expected must be at least this for nothing to be missing; then it becomes {@code nextAfter}. */
  private Heard heard(long sender, long atLeast, long nextAfter, long now) {
    int i = indexOf(sender);
    if (i < 0) {
      add(sender, nextAfter, now);
      return Heard.NEW_SENDER;
    }
    heardAt[i] = now;
    long expected = next[i];
    if (atLeast <= expected) {
      next[i] = Math.max(expected, nextAfter);
      return Heard.IN_ORDER;
    }
    next[i] = nextAfter;
    return Heard.GAP;
  }

  private int indexOf(long sender) {
    if (last >= 0 && senders[last] == sender) return last;
    for (int i = 0; i < size; i++) {
      if (senders[i] == sender) return last = i;
    }
    return -1;
  }

  private void add(long sender, long nextNumber, long now) {
    // Forget senders long silent (restarted incarnations) before growing.
    int kept = 0;
    for (int i = 0; i < size; i++) {
      if (now - heardAt[i] < forgetAfterMillis) {
        senders[kept] = senders[i];
        next[kept] = next[i];
        heardAt[kept] = heardAt[i];
        kept++;
      }
    }
    size = kept;
    if (size == senders.length) {
      senders = java.util.Arrays.copyOf(senders, size * 2);
      next = java.util.Arrays.copyOf(next, size * 2);
      heardAt = java.util.Arrays.copyOf(heardAt, size * 2);
    }
    senders[size] = sender;
    next[size] = nextNumber;
    heardAt[size] = now;
    last = size++;
  }

  /**
   * Up to when nothing can be missing unnoticed: every word of a sender either shows its messages
   * complete or reports a loss, so what a sender told before its last word here is accounted for.
   * The oldest last word over the senders heard within {@code forgetAfterMillis} (a live sender
   * speaks at least every idle-mark interval); {@code Long.MAX_VALUE} when none. A consumer that
   * moves a durable position with the live path moves it no further than this (minus its margin),
   * or a loss noticed late could lie before the position.
   */
  public long heardUntil(long now) {
    long min = Long.MAX_VALUE;
    for (int i = 0; i < size; i++) {
      if (now - heardAt[i] < forgetAfterMillis) min = Math.min(min, heardAt[i]);
    }
    return min;
  }

  /** Sender incarnations currently remembered. */
  public int senders() {
    return size;
  }
}
