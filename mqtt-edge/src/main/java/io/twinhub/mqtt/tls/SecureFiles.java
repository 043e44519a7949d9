package io.twinhub.mqtt.tls;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/** Atomic, permission-aware writes for key material. */
public final class SecureFiles {

  public static final Set<PosixFilePermission> OWNER_ONLY_FILE = PosixFilePermissions.fromString("rw-------");
  public static final Set<PosixFilePermission> OWNER_ONLY_DIR = PosixFilePermissions.fromString("rwx------");
  public static final Set<PosixFilePermission> PUBLIC_FILE = PosixFilePermissions.fromString("rw-r--r--");

  private SecureFiles() {}

  public static boolean isPosix(Path path) {
    return path.getFileSystem().supportedFileAttributeViews().contains("posix");
  }

  /** Creates {@code dir} (and parents); restricts it to the owner if {@code ownerOnly}. */
  public static void ensureDirectory(Path dir, boolean ownerOnly) throws IOException {
    Files.createDirectories(dir);
    if (ownerOnly && isPosix(dir)) {
      Files.setPosixFilePermissions(dir, OWNER_ONLY_DIR);
    }
  }

  /**
   * Writes {@code content} to a temporary file beside {@code target} (created owner-only when
   * {@code secret}, so the bytes are never readable by others, not even briefly), forces it to
   * disk and moves it over {@code target}: readers see the old file or the new one, never half.
   */
  public static void writeAtomically(Path target, byte[] content, boolean secret) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    boolean posix = isPosix(dir);
    FileAttribute<?>[] attrs = posix
        ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(secret ? OWNER_ONLY_FILE : PUBLIC_FILE)}
        : new FileAttribute<?>[0];
    Path tmp = Files.createTempFile(dir, "." + target.getFileName(), ".tmp", attrs);
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer buf = ByteBuffer.wrap(content);
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        ch.force(true);
      }
      if (posix) {
        // createTempFile's attribute is subject to the umask; set the mode explicitly.
        Files.setPosixFilePermissions(tmp, secret ? OWNER_ONLY_FILE : PUBLIC_FILE);
      }
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** Tightens an existing secret file to owner-only (e.g. after a copy by hand). */
  public static void restrictToOwner(Path file) throws IOException {
    if (isPosix(file) && Files.exists(file)) {
      Files.setPosixFilePermissions(file, OWNER_ONLY_FILE);
    }
  }
}
