package io.twinhub.ops.cassandra;

import io.twinhub.ops.net.FreePorts;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One embedded Cassandra per JVM for integration tests: started on first use on free ports
 * in a temporary directory, stopped when the JVM exits (the watchdog covers a crash).
 */
public final class SharedEmbeddedCassandra {
  private static EmbeddedCassandra instance;

  private SharedEmbeddedCassandra() {}

  public static synchronized EmbeddedCassandra get() {
    if (instance == null || !instance.isRunning()) {
      try {
        Path dir = Files.createTempDirectory("twinhub-it-cassandra");
        instance = EmbeddedCassandra.builder()
            .dataDir(dir)
            .nativePort(freePort())
            .storagePort(freePort())
            // 512m ran out of heap (OutOfMemoryError) late in the clean-clone suite of session 8, when the
            // schema of ~40 ITs' own keyspaces had piled up; the box has RAM to spare (notes: RSS ~940 MB at 1g).
            .heap("1g")
            .build()
            .start();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return instance;
  }

  /** Whether this JVM's shared Cassandra runs now (without starting it: for clean-ups after tests). */
  public static synchronized boolean running() {
    return instance != null && instance.isRunning();
  }

  /** {@code host:port} for a driver or the node's contact points. */
  public static String contactPoint() {
    return "127.0.0.1:" + get().nativePort();
  }

  /** A loopback port for a listener told its port before it binds: {@link FreePorts#next()}. */
  public static int freePort() throws IOException {
    return FreePorts.next();
  }
}
