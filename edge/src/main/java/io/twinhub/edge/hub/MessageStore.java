package io.twinhub.edge.hub;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Store and forward: the messages for {@code $upstream}, on the device's disk, in the order edgeHub
 * accepted them — a {@link DurableQueue} named {@code upstream} ({@code upstream.log}, checkpoint
 * {@code upstream.offset}), forced to disk before the module gets its PUBACK. Module inputs and
 * reported properties queued while offline use queues of the same format (see {@link EdgeHub}).
 *
 * <p>Why not RocksDB, which IoT Edge uses: these are strict FIFO queues (append, read in order,
 * drop the acknowledged prefix); an LSM key-value store with its JNI library (tens of MB of native
 * code per platform) adds nothing to that, and a log whose format is ours keeps the durability
 * point (one {@code force} per batch of accepted messages) plain to see. Forwarding is at least
 * once: a crash between the hub's PUBACK and the checkpoint write sends that message again.
 */
public final class MessageStore implements AutoCloseable {
  static final long ROLL_BYTES = DurableQueue.ROLL_BYTES;

  /** A stored message and where the next one starts. */
  public record Stored(EdgeMessage message, long next) {}

  private final DurableQueue<EdgeMessage> queue;

  public MessageStore(Path dir) throws IOException {
    this.queue = new DurableQueue<>(dir, "upstream", EdgeMessage.class);
  }

  /** Appends {@code m} and forces it to disk. */
  public void append(EdgeMessage m) throws IOException {
    queue.append(m);
  }

  /** The queue itself, for group commit ({@link DurableQueue#appendUnsynced} then {@link DurableQueue#sync}). */
  DurableQueue<EdgeMessage> queue() {
    return queue;
  }

  /** The oldest message not yet handed out, waiting up to {@code timeoutMillis}; empty if none. */
  public Optional<Stored> next(long timeoutMillis) throws IOException, InterruptedException {
    return queue.next(timeoutMillis).map(e -> new Stored(e.value(), e.next()));
  }

  /** Hands out again from the last acknowledged message (after a failed send). */
  public void rewind() {
    queue.rewind();
  }

  /** The hub acknowledged (or the time to live dropped) everything before {@code next}. */
  public void acknowledge(long next) throws IOException {
    queue.acknowledge(next);
  }

  /** Messages stored and not yet acknowledged by the hub. */
  public long pending() {
    return queue.pending();
  }

  @Override
  public void close() throws IOException {
    queue.close();
  }
}
