package io.twinhub.query.index;

import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FilterDirectory;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.IndexOutput;
import org.apache.lucene.store.FlushInfo;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** A commit's copy of cached files to disk ({@link CommitCopyDirectory}) holds no reader of the directory. */
class CommitCopyDirectoryTest {
  private static final IOContext FLUSH = new IOContext(new FlushInfo(1, 16));

  /** A disk whose writes of {@code held} wait until released (a commit's copy on a slow box). */
  static final class SlowDisk extends FilterDirectory {
    final CountDownLatch copying = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final String held;

    SlowDisk(String held) {
      super(new ByteBuffersDirectory());
      this.held = held;
    }

    @Override
    public IndexOutput createOutput(String name, IOContext context) throws IOException {
      if (name.equals(held)) {
        copying.countDown();
        try {
          release.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          throw new IOException(e);
        }
      }
      return super.createOutput(name, context);
    }
  }

  static void write(Directory dir, String name, int value) throws IOException {
    try (IndexOutput out = dir.createOutput(name, FLUSH)) {
      out.writeInt(value);
    }
  }

  static int read(Directory dir, String name) throws IOException {
    try (IndexInput in = dir.openInput(name, IOContext.DEFAULT)) {
      return in.readInt();
    }
  }

  @Test
  void whileACommitCopiesAFileToDiskOtherFilesOpen() throws Exception {
    SlowDisk disk = new SlowDisk("_0.cfs");
    try (CommitCopyDirectory dir = new CommitCopyDirectory(disk, 8, 64)) {
      write(dir, "_0.cfs", 1);
      write(dir, "_1.cfs", 2);
      assertEquals(List.of("_0.cfs", "_1.cfs"), List.of(dir.listCachedFiles()));
      CompletableFuture<Void> commit = CompletableFuture.runAsync(() -> {
        try {
          dir.sync(List.of("_0.cfs"));
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
      });
      assertTrue(disk.copying.await(60, TimeUnit.SECONDS), "the commit copies");
      // A refresh opening its segment (and writing a new one) meanwhile. A bound against a hang, not a timing.
      CompletableFuture<Integer> refresh = CompletableFuture.supplyAsync(() -> {
        try {
          write(dir, "_2.cfs", 3);
          return read(dir, "_1.cfs") + read(dir, "_2.cfs") + (int) dir.fileLength("_0.cfs");
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
      });
      try {
        assertEquals(2 + 3 + 4, refresh.get(30, TimeUnit.SECONDS), "opened while the commit copied");
      } finally {
        disk.release.countDown();
      }
      commit.get(60, TimeUnit.SECONDS);
      // The copied file now lives on disk only, with what it held.
      assertEquals(List.of("_1.cfs", "_2.cfs"), List.of(dir.listCachedFiles()));
      assertEquals(1, read(disk, "_0.cfs"));
      assertEquals(1, read(dir, "_0.cfs"));
      assertEquals(3, dir.listAll().length);
      assertEquals(8, dir.ramBytesUsed(), "two cached files of 4 bytes");
    }
  }

  @Test
  void aSyncedFileThatIsNotCachedIsLeftAsItIs() throws Exception {
    SlowDisk disk = new SlowDisk("none");
    try (CommitCopyDirectory dir = new CommitCopyDirectory(disk, 8, 64)) {
      try (IndexOutput out = dir.createOutput("segments_1", IOContext.DEFAULT)) { // no flush or merge: not cached
        out.writeInt(7);
      }
      assertEquals(0, dir.listCachedFiles().length);
      dir.sync(List.of("segments_1"));
      assertEquals(7, read(disk, "segments_1"));
    }
  }
}
