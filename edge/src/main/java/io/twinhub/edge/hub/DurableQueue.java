package io.twinhub.edge.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.zip.CRC32;

/**
 * One of edgeHub's on-disk FIFO queues (IoT Edge's endpoint queues): {@code <name>.log} holds the
 * records in the order they were accepted (per record its length, CRC-32 and the value as JSON),
 * {@code <name>.offset} the checkpoint of what the consumer acknowledged. Only records forced to
 * disk ({@link #append}, or {@link #appendUnsynced} followed by {@link #sync}) are handed out, so
 * nothing leaves the queue that a crash could take back. Recovery reads from the checkpoint and
 * cuts a torn last record; once everything is acknowledged and the log has grown past
 * {@link #ROLL_BYTES} it is truncated. At least once: a crash between the consumer's
 * acknowledgement and the checkpoint write hands that record out again.
 */
public final class DurableQueue<T> implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DurableQueue.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final long ROLL_BYTES = 8L << 20;
  private static final int MAX_RECORD = 1 << 20;

  /** A record and where the next one starts (what {@link #acknowledge} takes). */
  public record Entry<T>(T value, long next) {}

  private final String name;
  private final Class<T> type;
  private final FileChannel records;
  private final FileChannel checkpoint;
  private long size;
  private long synced;
  private long acknowledged;
  private long readAt;
  private long pending;
  private boolean closed;
  /** Incremented when the log is truncated: a force that began before it covers nothing after. */
  private long generation;

  public DurableQueue(Path dir, String name, Class<T> type) throws IOException {
    Files.createDirectories(dir);
    this.name = name;
    this.type = type;
    this.records = FileChannel.open(dir.resolve(name + ".log"), StandardOpenOption.CREATE, StandardOpenOption.READ,
        StandardOpenOption.WRITE);
    this.checkpoint = FileChannel.open(dir.resolve(name + ".offset"), StandardOpenOption.CREATE,
        StandardOpenOption.READ, StandardOpenOption.WRITE);
    recover();
  }

  private void recover() throws IOException {
    long fileSize = records.size();
    ByteBuffer cp = ByteBuffer.allocate(8);
    acknowledged = checkpoint.read(cp, 0) == 8 ? cp.flip().getLong() : 0;
    // A checkpoint past the end: the log was truncated after everything was acknowledged.
    if (acknowledged > fileSize) acknowledged = 0;
    long at = acknowledged;
    long count = 0;
    while (true) {
      Optional<Entry<T>> s = readAt(at, fileSize);
      if (s.isEmpty()) break;
      at = s.get().next();
      count++;
    }
    if (at < fileSize) {
      log.warn("queue {}: cutting {} bytes of a torn record at the end of the log", name, fileSize - at);
      records.truncate(at);
      records.force(true);
    }
    size = at;
    synced = at;
    readAt = acknowledged;
    pending = count;
    if (count > 0) log.info("queue {}: {} records waiting", name, count);
  }

  /** The record at {@code at}, if a whole, intact one is there. */
  private Optional<Entry<T>> readAt(long at, long end) throws IOException {
    if (at + 8 > end) return Optional.empty();
    ByteBuffer head = ByteBuffer.allocate(8);
    records.read(head, at);
    head.flip();
    int length = head.getInt();
    int crc = head.getInt();
    if (length <= 0 || length > MAX_RECORD || at + 8 + length > end) return Optional.empty();
    ByteBuffer body = ByteBuffer.allocate(length);
    while (body.hasRemaining()) {
      if (records.read(body, at + 8 + body.position()) < 0) return Optional.empty();
    }
    CRC32 c = new CRC32();
    c.update(body.array());
    if ((int) c.getValue() != crc) return Optional.empty();
    return Optional.of(new Entry<>(JSON.readValue(body.array(), type), at + 8 + length));
  }

  /** Appends {@code value} and forces it to disk. */
  public synchronized void append(T value) throws IOException {
    appendUnsynced(value);
    sync();
  }

  /** Appends {@code value} without forcing it: handed out after the next {@link #sync} (group commit). */
  public synchronized void appendUnsynced(T value) throws IOException {
    if (closed) throw new IOException("queue " + name + " closed");
    byte[] json = JSON.writeValueAsBytes(value);
    if (json.length > MAX_RECORD) throw new IOException("record too large for the store: " + json.length + " bytes");
    CRC32 c = new CRC32();
    c.update(json);
    ByteBuffer rec = ByteBuffer.allocate(8 + json.length).putInt(json.length).putInt((int) c.getValue()).put(json);
    rec.flip();
    while (rec.hasRemaining()) records.write(rec, size + rec.position());
    size += 8 + json.length;
    pending++;
  }

  /**
   * Forces what was appended to disk and makes it available to {@link #next}. The force runs
   * outside the lock: appends go on meanwhile (they are covered by the next sync).
   */
  public void sync() throws IOException {
    long target;
    long gen;
    synchronized (this) {
      if (synced >= size) return;
      target = size;
      gen = generation;
    }
    records.force(false);
    synchronized (this) {
      if (gen == generation && target > synced) {
        synced = target;
        notifyAll();
      }
    }
  }

  /** The oldest record not yet handed out, waiting up to {@code timeoutMillis}; empty if none. */
  public synchronized Optional<Entry<T>> next(long timeoutMillis) throws IOException, InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    while (readAt >= synced && !closed) {
      long wait = deadline - System.currentTimeMillis();
      if (wait <= 0) return Optional.empty();
      wait(wait);
    }
    if (closed) return Optional.empty();
    Optional<Entry<T>> s = readAt(readAt, synced);
    s.ifPresent(x -> readAt = x.next());
    return s;
  }

  /** The oldest record not acknowledged yet (without handing it out). */
  public synchronized Optional<Entry<T>> peek() throws IOException {
    return closed ? Optional.empty() : readAt(acknowledged, synced);
  }

  /** Hands out again from the oldest record not acknowledged (after a failed send). */
  public synchronized void rewind() {
    readAt = acknowledged;
  }

  /** The consumer acknowledged (or the time to live dropped) the oldest record, which ends at {@code next}. */
  public synchronized void acknowledge(long next) throws IOException {
    if (next <= acknowledged) return;
    acknowledged = next;
    if (readAt < acknowledged) readAt = acknowledged;
    pending--;
    if (acknowledged == size && size > ROLL_BYTES) {
      records.truncate(0);
      records.force(true);
      generation++;
      size = 0;
      synced = 0;
      acknowledged = 0;
      readAt = 0;
    }
    ByteBuffer cp = ByteBuffer.allocate(8).putLong(acknowledged);
    cp.flip();
    checkpoint.write(cp, 0);
  }

  /** The values of the records not yet acknowledged, oldest first (nothing handed out). */
  public synchronized java.util.List<T> pendingValues() throws IOException {
    java.util.List<T> all = new java.util.ArrayList<>();
    long at = acknowledged;
    while (!closed) {
      Optional<Entry<T>> e = readAt(at, synced);
      if (e.isEmpty()) break;
      all.add(e.get().value());
      at = e.get().next();
    }
    return all;
  }

  /** Records stored and not yet acknowledged. */
  public synchronized long pending() {
    return pending;
  }

  public String name() {
    return name;
  }

  @Override
  public synchronized void close() throws IOException {
    closed = true;
    notifyAll();
    records.close();
    checkpoint.close();
  }
}
