package io.twinhub.query.index;

import org.apache.lucene.store.Directory;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.store.NRTCachingDirectory;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.util.Collection;
import java.util.List;

/**
 * {@link NRTCachingDirectory} whose commit copies the cached files to disk without holding the
 * directory's lock. Lucene's own copies each file inside {@code synchronized (this)}, the lock
 * every {@code openInput}, {@code fileLength} and {@code deleteFile} and the close of each new
 * cached file take: a refresh beside a commit (opening its new segment's files) waited for the
 * commit's copies, and on a loaded box for the copying thread to get a CPU again
 * (docs/BENCHMARKS.md "Session 19: index lag"). A file being synced belongs to the commit in
 * progress: Lucene neither writes nor deletes it meanwhile, so copying it unlocked is safe; only
 * the switch (dropping the cached copy) is done under the lock.
 */
final class CommitCopyDirectory extends NRTCachingDirectory {
  private final Directory disk;

  CommitCopyDirectory(Directory disk, double maxMergeSizeMB, double maxCachedMB) {
    super(disk, maxMergeSizeMB, maxCachedMB);
    this.disk = disk;
  }

  @Override
  public void sync(Collection<String> fileNames) throws IOException {
    for (String name : fileNames) copyToDisk(name);
    super.sync(fileNames); // nothing left cached of these: only the fsync
  }

  private void copyToDisk(String name) throws IOException {
    if (!cached(name)) return;
    try {
      disk.copyFrom(this, name, name, IOContext.DEFAULT); // reads the cached copy; the lock only to open it
    } catch (FileAlreadyExistsException e) {
      return; // copied already (by Lucene's own path)
    } catch (IOException | RuntimeException e) {
      try {
        disk.deleteFile(name); // no partial copy left to block the next commit's
      } catch (IOException | RuntimeException gone) {
        e.addSuppressed(gone);
      }
      throw e;
    }
    synchronized (this) {
      // From here on readers open the disk copy; the cached one goes (and leaves the cache's size).
      if (cached(name)) super.deleteFile(name);
    }
  }

  private boolean cached(String name) {
    return List.of(listCachedFiles()).contains(name);
  }
}
