package io.twinhub.node;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Exclusive ownership of a data directory for one node process. The OS releases the lock
 * when the process dies, even on kill -9, so a stale lock file never blocks a restart.
 */
final class DataDirLock implements AutoCloseable {
  private final FileChannel channel;
  private final FileLock lock;

  private DataDirLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  static DataDirLock acquire(Path dataDir) {
    try {
      Files.createDirectories(dataDir);
    } catch (IOException e) {
      throw new NodeStartException("cannot create data directory " + dataDir + ": " + e.getMessage());
    }
    if (!Files.isWritable(dataDir)) {
      throw new NodeStartException("data directory " + dataDir + " is not writable");
    }
    Path file = dataDir.resolve("node.lock");
    FileChannel ch = null;
    try {
      ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
      FileLock l = ch.tryLock();
      if (l == null) {
        String holder = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).trim();
        ch.close();
        throw new NodeStartException("data directory " + dataDir + " is in use by another twinhub node"
            + (holder.isEmpty() ? "" : " (pid " + holder + ")") + "; stop it or choose another --data-dir");
      }
      ch.truncate(0);
      ch.write(java.nio.ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)));
      ch.force(true);
      return new DataDirLock(ch, l);
    } catch (OverlappingFileLockException e) {
      closeQuietly(ch);
      throw new NodeStartException("data directory " + dataDir + " is already used by a node in this process");
    } catch (IOException e) {
      closeQuietly(ch);
      throw new NodeStartException("cannot lock data directory " + dataDir + ": " + e.getMessage());
    }
  }

  /** The lock when no other process holds it, else empty (a node is running on {@code dataDir}). */
  static java.util.Optional<DataDirLock> tryAcquire(Path dataDir) {
    try {
      return java.util.Optional.of(acquire(dataDir));
    } catch (NodeStartException e) {
      // Held by a node: in another process, or (tests, embedding) in this one.
      if (e.getMessage().contains("is in use by another twinhub node")
          || e.getMessage().contains("is already used by a node in this process")) {
        return java.util.Optional.empty();
      }
      throw e;
    }
  }

  @Override
  public void close() {
    try {
      lock.release();
    } catch (IOException ignored) {
      // the channel close below releases it too
    }
    closeQuietly(channel);
  }

  private static void closeQuietly(FileChannel ch) {
    if (ch == null) return;
    try {
      ch.close();
    } catch (IOException ignored) {
      // nothing left to do
    }
  }
}
