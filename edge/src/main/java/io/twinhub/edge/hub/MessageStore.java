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
 * Store and forward: the messages for {@code $upstream}, on the device's disk, in the order edgeHub
 * accepted them. An append-only log ({@code upstream.log}: per record its length, CRC-32 and the
 * message as JSON), forced to disk before {@link #append} returns — so before the module gets its
 * PUBACK — and a checkpoint ({@code upstream.offset}) of what the hub has acknowledged. Recovery
 * reads from the checkpoint and cuts a torn last record. Once everything is forwarded and the log
 * has grown past {@link #ROLL_BYTES}, it is truncated.
 *
 * <p>Why not RocksDB, which IoT Edge uses: this is a strict FIFO queue (append, read in order,
 * drop the acknowledged prefix); an LSM key-value store with its JNI library (tens of MB of native
 * code per platform) adds nothing to that, and a log whose format is ours keeps the durability
 * point (one {@code force} per accepted message) plain to see. Forwarding is at least once: a
 * crash between the hub's PUBACK and the checkpoint write sends that message again.
 */
public final class MessageStore implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MessageStore.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final long ROLL_BYTES = 8L << 20;
  private static final int MAX_RECORD = 1 << 20;

  /** A stored message and where the next one starts. */
  public record Stored(EdgeMessage message, long next) {}

  private final FileChannel records;
  private final FileChannel checkpoint;
  private long size;
  private long acknowledged;
  private long readAt;
  private long pending;
  private boolean closed;

  public MessageStore(Path dir) throws IOException {
    Files.createDirectories(dir);
    this.records = FileChannel.open(dir.resolve("upstream.log"), StandardOpenOption.CREATE, StandardOpenOption.READ,
        StandardOpenOption.WRITE);
    this.checkpoint = FileChannel.open(dir.resolve("upstream.offset"), StandardOpenOption.CREATE,
        StandardOpenOption.READ, StandardOpenOption.WRITE);
    recover();
  }

  private void recover() throws IOException {
    long fileSize = records.size();
    ByteBuffer cp = ByteBuffer.allocate(8);
    acknowledged = checkpoint.read(cp, 0) == 8 ? cp.flip().getLong() : 0;
    // A checkpoint past the end: the log was truncated after everything was forwarded.
    if (acknowledged > fileSize) acknowledged = 0;
    long at = acknowledged;
    long count = 0;
    while (true) {
      Optional<Stored> s = readAt(at, fileSize);
      if (s.isEmpty()) break;
      at = s.get().next();
      count++;
    }
    if (at < fileSize) {
      log.warn("store and forward: cutting {} bytes of a torn record at the end of the log", fileSize - at);
      records.truncate(at);
      records.force(true);
    }
    size = at;
    readAt = acknowledged;
    pending = count;
    if (count > 0) log.info("store and forward: {} messages waiting for the hub", count);
  }

  /** The record at {@code at}, if a whole, intact one is there. */
  private Optional<Stored> readAt(long at, long end) throws IOException {
    if (at + 8 > end) return Optional.empty();
    ByteBuffer head = ByteBuffer.allocate(8);
    records.read(head, at);
    head.flip();
    int length = head.getInt();
    int crc = head.getInt();
    if (length <= 0 || length > MAX_RECORD || at + 8 + length > end) return Optional.empty();
    ByteBuffer body = ByteBuffer.allocate(length);
    records.read(body, at + 8);
    CRC32 c = new CRC32();
    c.update(body.array());
    if ((int) c.getValue() != crc) return Optional.empty();
    return Optional.of(new Stored(JSON.readValue(body.array(), EdgeMessage.class), at + 8 + length));
  }

  /** Appends {@code m} and forces it to disk. */
  public synchronized void append(EdgeMessage m) throws IOException {
    if (closed) throw new IOException("store closed");
    byte[] json = JSON.writeValueAsBytes(m);
    if (json.length > MAX_RECORD) throw new IOException("message too large for the store: " + json.length + " bytes");
    CRC32 c = new CRC32();
    c.update(json);
    ByteBuffer rec = ByteBuffer.allocate(8 + json.length).putInt(json.length).putInt((int) c.getValue()).put(json);
    rec.flip();
    while (rec.hasRemaining()) records.write(rec, size + rec.position());
    records.force(false);
    size += 8 + json.length;
    pending++;
    notifyAll();
  }

  /** The oldest message not yet handed out, waiting up to {@code timeoutMillis}; empty if none. */
  public synchronized Optional<Stored> next(long timeoutMillis) throws IOException, InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    while (readAt >= size && !closed) {
      long wait = deadline - System.currentTimeMillis();
      if (wait <= 0) return Optional.empty();
      wait(wait);
    }
    if (closed) return Optional.empty();
    Optional<Stored> s = readAt(readAt, size);
    s.ifPresent(x -> readAt = x.next());
    return s;
  }

  /** Hands out again from the last acknowledged message (after a failed send). */
  public synchronized void rewind() {
    readAt = acknowledged;
  }

  /** The hub acknowledged (or the time to live dropped) everything before {@code next}. */
  public synchronized void acknowledge(long next) throws IOException {
    acknowledged = next;
    pending--;
    if (acknowledged == size && size > ROLL_BYTES) {
      records.truncate(0);
      records.force(true);
      size = 0;
      acknowledged = 0;
      readAt = 0;
    }
    ByteBuffer cp = ByteBuffer.allocate(8).putLong(acknowledged);
    cp.flip();
    checkpoint.write(cp, 0);
  }

  /** Messages stored and not yet acknowledged by the hub. */
  public synchronized long pending() {
    return pending;
  }

  @Override
  public synchronized void close() throws IOException {
    closed = true;
    notifyAll();
    records.close();
    checkpoint.close();
  }
}
