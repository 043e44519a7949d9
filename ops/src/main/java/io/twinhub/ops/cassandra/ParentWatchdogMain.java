package io.twinhub.ops.cassandra;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Main class of the Cassandra child JVM: ties the node's life to its launcher, then runs
 * {@code CassandraDaemon.main}.
 *
 * <p>Why a wrapper: a child JVM does not die with its parent, and a {@code kill -9} of the parent
 * runs no shutdown hook. The launcher keeps the child's stdin pipe open for its whole life, so EOF
 * on stdin means the parent is gone (the kernel closes the pipe even on SIGKILL); polling the
 * parent pid every second is a backup. Either way we {@code System.exit} so Cassandra's own
 * shutdown hook drains the node, with a hard {@code halt} if the drain hangs.
 *
 * <p>This class is copied on its own into the child's classpath (see {@link EmbeddedCassandra}),
 * so it must use only the JDK, and must not have nested or anonymous classes (lambdas are fine).
 */
public final class ParentWatchdogMain {

    public static final String PARENT_PID_PROPERTY = "twinhub.watchdog.parentPid";
    public static final String NODE_LOCK_PROPERTY = "twinhub.watchdog.nodeLock";
    static final String HALT_AFTER_PROPERTY = "twinhub.watchdog.haltAfterMs";
    static final String DAEMON_CLASS = "org.apache.cassandra.service.CassandraDaemon";
    /** The child's real main class (the embedded Kafka broker sets {@code kafka.Kafka}); default Cassandra's. */
    public static final String MAIN_CLASS_PROPERTY = "twinhub.watchdog.mainClass";
    /** Exit code when the node lock is taken (another node on the same data dir). */
    static final int EXIT_NODE_LOCKED = 75;

    private static volatile boolean stopping;
    /** Held for the life of the JVM: the OS releases it when this process dies, however it dies. */
    @SuppressWarnings("unused")
    private static FileLock nodeLock;

    private ParentWatchdogMain() {
    }

    public static void main(String[] args) throws Throwable {
        long parentPid = Long.getLong(PARENT_PID_PROPERTY, -1L);
        long haltAfterMs = Long.getLong(HALT_AFTER_PROPERTY, 45_000L);

        // Second line of defence against two nodes on one data dir (the launcher checks first):
        // also covers a node from a killed launcher that is still draining.
        String lockFile = System.getProperty(NODE_LOCK_PROPERTY);
        if (lockFile != null) {
            FileChannel ch = FileChannel.open(Path.of(lockFile), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            nodeLock = ch.tryLock();
            if (nodeLock == null) {
                System.err.println("[twinhub-watchdog] another Cassandra node holds " + lockFile + "; refusing to start");
                System.exit(EXIT_NODE_LOCKED);
            }
            // For the launcher's message if a node outlives its launcher while draining.
            ch.truncate(0);
            ch.write(ByteBuffer.wrap(("pid " + ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
        }

        Thread stdinWatch = new Thread(() -> {
            InputStream in = System.in;
            try {
                while (in.read() >= 0) {
                    // the launcher never writes; ignore anything that arrives
                }
            } catch (IOException ignored) {
                // a broken pipe means the same as EOF
            }
            parentGone("stdin closed (launcher JVM exited)", haltAfterMs);
        }, "twinhub-watchdog-stdin");
        stdinWatch.setDaemon(true);
        stdinWatch.start();

        if (parentPid > 0) {
            Thread pidWatch = new Thread(() -> {
                while (true) {
                    try {
                        Thread.sleep(1000);
                    } catch (InterruptedException e) {
                        return;
                    }
                    boolean alive = ProcessHandle.of(parentPid).map(ProcessHandle::isAlive).orElse(false);
                    if (!alive) {
                        parentGone("launcher pid " + parentPid + " is gone", haltAfterMs);
                        return;
                    }
                }
            }, "twinhub-watchdog-pid");
            pidWatch.setDaemon(true);
            pidWatch.start();
        }

        // No compile dependency on cassandra-all: it is only on the child's classpath.
        try {
            Class.forName(System.getProperty(MAIN_CLASS_PROPERTY, DAEMON_CLASS)).getMethod("main", String[].class)
                    .invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private static synchronized void parentGone(String why, long haltAfterMs) {
        if (stopping) {
            return;
        }
        stopping = true;
        System.err.println("[twinhub-watchdog] " + why + "; shutting the node down");
        // If the drain hangs, do not linger as an orphan.
        Thread halt = new Thread(() -> {
            try {
                Thread.sleep(haltAfterMs);
            } catch (InterruptedException e) {
                return;
            }
            System.err.println("[twinhub-watchdog] drain did not finish in " + haltAfterMs + " ms; halting");
            Runtime.getRuntime().halt(1);
        }, "twinhub-watchdog-halt");
        halt.setDaemon(true);
        halt.start();
        // Runs Cassandra's shutdown hook (drain) on a separate thread so this lock is released.
        new Thread(() -> System.exit(0), "twinhub-watchdog-exit").start();
    }

    /**
     * Copies this single class under {@code root} and returns the classpath entry for a child JVM:
     * putting the launcher's code source on the child's classpath instead would, from a fat jar,
     * put the hub's own Netty/Guava/Jackson in front of the child's.
     */
    public static Path installInto(Path root) throws IOException {
        String resource = ParentWatchdogMain.class.getName().replace('.', '/') + ".class";
        try (InputStream in = ParentWatchdogMain.class.getResourceAsStream("/" + resource)) {
            if (in == null) {
                throw new IOException("cannot find " + resource + " on the classpath");
            }
            Path target = root.resolve(resource);
            Files.createDirectories(target.getParent());
            Files.copy(in, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        return root;
    }
}
