package io.twinhub.ops.cassandra;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Apache Cassandra node (cassandra-all, resolved by Maven) running as a child JVM on
 * 127.0.0.1, for the hub's dev mode and integration tests.
 *
 * <pre>{@code
 * try (EmbeddedCassandra cassandra = EmbeddedCassandra.builder().dataDir(dir).build().start()) {
 *     // CQL is up on 127.0.0.1:cassandra.nativePort()
 * }
 * }</pre>
 *
 * <ul>
 *   <li>{@link #start()} blocks until the node answers a native-protocol OPTIONS request.</li>
 *   <li>The data directory is reused: data survives stop/start.</li>
 *   <li>The child never outlives this JVM, even on {@code kill -9} (see {@link ParentWatchdogMain}).</li>
 *   <li>One launcher per data directory, enforced with a file lock on {@code <dataDir>/cassandra.lock}.</li>
 *   <li>The node's stdout/stderr go to {@code <dataDir>/logs/cassandra-stdout.log} unless {@code logTo} is set.</li>
 * </ul>
 */
public final class EmbeddedCassandra implements AutoCloseable {

    static final InetAddress LOOPBACK = loopback();
    static final String CLASSPATH_RESOURCE = "/io/twinhub/ops/cassandra/cassandra.classpath";
    static final String CLUSTER_NAME = "twinhub";
    /** Changing this for an existing data dir makes Cassandra refuse to start: never change it. */
    static final int NUM_TOKENS = 16;

    public static final int DEFAULT_NATIVE_PORT = 9042;
    public static final int DEFAULT_STORAGE_PORT = 7000;
    public static final String DEFAULT_HEAP = "768m";
    public static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(120);
    /** How long {@link #stop()} waits for the drain after SIGTERM before killing the node. */
    static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    private static final String INITIAL_HEAP = "256m";
    /**
     * JVM options added to the node's own, separated by white space (e.g. the test suite's
     * {@code -XX:TieredStopAtLevel=1}: a node that lives for a few tests starts on half the CPU
     * without C2, measured in docs/BENCHMARKS.md "Test suite"). Read at each start.
     */
    public static final String JVM_OPTIONS_PROPERTY = "twinhub.embedded-cassandra.jvm-options";
    private static final int LOG_TAIL_LINES = 20;

    private static final Logger log = LoggerFactory.getLogger(EmbeddedCassandra.class);
    private static final Pattern HEAP_SIZE = Pattern.compile("(\\d+)([kKmMgG])");
    /**
     * Data dirs held by launchers in this JVM. Checked before touching the lock file because on
     * Linux closing ANY descriptor of a file drops all of this process's locks on it.
     */
    private static final Set<Path> DATA_DIRS_IN_USE = ConcurrentHashMap.newKeySet();

    private final Path dataDir;
    private final InetAddress address;
    private final String seeds;
    private final int nativePort;
    private final int storagePort;
    private final String heap;
    private final Duration startTimeout;
    private final Path javaHome;
    private final Path logFile;
    private final boolean stopOnJvmExit;

    private volatile Process process;
    private OutputStream childStdin;
    private FileChannel lockChannel;
    private FileLock lock;
    private Path lockedDir;
    private Thread shutdownHook;
    private volatile long pid = -1;
    private volatile Duration startedIn;

    private EmbeddedCassandra(Builder b) {
        this.dataDir = b.dataDir.toAbsolutePath().normalize();
        this.address = b.address;
        this.nativePort = b.nativePort;
        this.storagePort = b.storagePort;
        this.heap = b.heap;
        this.startTimeout = b.startTimeout;
        this.javaHome = b.javaHome;
        this.stopOnJvmExit = b.stopOnJvmExit;
        this.seeds = b.seeds != null ? b.seeds : b.address.getHostAddress() + ":" + b.storagePort;
        this.logFile = b.logTo != null ? b.logTo.toAbsolutePath().normalize()
                : this.dataDir.resolve("logs").resolve("cassandra-stdout.log");
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Launches the node and blocks until it accepts CQL connections.
     *
     * @return this, for try-with-resources
     * @throws CassandraStartException with a one-line reason (plus the log tail if the node failed)
     * @throws IllegalStateException if this launcher's node is already running
     */
    public synchronized EmbeddedCassandra start() {
        if (process != null) {
            if (process.isAlive()) {
                throw new IllegalStateException("Cassandra is already running (pid " + pid + "); call stop() first");
            }
            stop(); // it died on its own: release the lock before starting again
        }
        long t0 = System.nanoTime();
        prepareDataDir();
        acquireLock();
        try {
            checkNodeNotRunning();
            checkPortFree(address, nativePort, "CQL native port");
            checkPortFree(address, storagePort, "storage (gossip) port");
            List<String> cassandraClasspath = cassandraClasspath();
            List<String> command = command(cassandraClasspath);
            writeConfig();
            rotateLog();
            launch(command);
            awaitCql(t0);
        } catch (RuntimeException | Error e) {
            killQuietly();
            releaseLock();
            throw e;
        }
        startedIn = Duration.ofNanos(System.nanoTime() - t0);
        log.info("Cassandra up on {}:{} in {} ms (pid {}, data {})", address.getHostAddress(), nativePort,
                startedIn.toMillis(), pid, dataDir);
        return this;
    }

    /**
     * SIGTERM, then up to 30 s for Cassandra's drain, then SIGKILL. Idempotent. Releases the
     * data-dir lock.
     */
    public synchronized void stop() {
        Process p = process;
        if (p == null) {
            return;
        }
        boolean clean = terminate(p);
        log.info("Cassandra pid {} stopped{}", p.pid(), clean ? "" : " (killed: no clean exit within " + STOP_TIMEOUT.toSeconds() + " s)");
        process = null;
        closeStdin();
        removeShutdownHook();
        releaseLock();
    }

    @Override
    public void close() {
        stop();
    }

    /** True while the child JVM is alive. */
    public boolean isRunning() {
        Process p = process;
        return p != null && p.isAlive();
    }

    /** Pid of the current (or last) child JVM. */
    public long pid() {
        if (pid < 0) {
            throw new IllegalStateException("Cassandra has not been started");
        }
        return pid;
    }

    /** Time the last successful {@link #start()} took, from call to CQL answering. */
    public Duration startedIn() {
        Duration d = startedIn;
        if (d == null) {
            throw new IllegalStateException("Cassandra has not been started");
        }
        return d;
    }

    public int nativePort() {
        return nativePort;
    }

    /** The loopback address the node listens on (CQL and storage). */
    public InetAddress address() {
        return address;
    }

    public int storagePort() {
        return storagePort;
    }

    public Path dataDir() {
        return dataDir;
    }

    /** Where the node's stdout/stderr (its whole log) goes. */
    public Path logFile() {
        return logFile;
    }

    /** Blocks until the child exits; returns its exit code. For a launcher that stays in the foreground ({@code ./twinhub cassandra}). */
    public int awaitExit() throws InterruptedException {
        Process p = process;
        return p == null ? 0 : p.waitFor();
    }

    // ---------------------------------------------------------------- pre-launch checks

    private void prepareDataDir() {
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new CassandraStartException("Data directory " + dataDir + " cannot be created: " + reason(e));
        }
        if (!Files.isDirectory(dataDir)) {
            throw new CassandraStartException("Data directory " + dataDir + " is not a directory");
        }
        // Files.isWritable lies for root and on read-only mounts: really write something.
        try {
            Path probe = Files.createTempFile(dataDir, ".write-probe", ".tmp");
            Files.delete(probe);
            for (String sub : new String[] {"data", "commitlog", "saved_caches", "hints", "cdc_raw", "logs", "triggers"}) {
                Files.createDirectories(dataDir.resolve(sub));
            }
            Files.createDirectories(logFile.getParent());
        } catch (IOException e) {
            throw new CassandraStartException("Data directory " + dataDir + " is not writable: " + reason(e));
        }
    }

    private void acquireLock() {
        Path dir;
        try {
            dir = dataDir.toRealPath();
        } catch (IOException e) {
            throw new CassandraStartException("Data directory " + dataDir + " cannot be resolved: " + reason(e));
        }
        if (!DATA_DIRS_IN_USE.add(dir)) {
            throw new CassandraStartException("Data directory " + dataDir
                    + " is already in use by another Cassandra launcher in this JVM (pid " + ProcessHandle.current().pid()
                    + "); stop it first or use another data directory");
        }
        FileChannel ch = null;
        try {
            ch = FileChannel.open(dir.resolve("cassandra.lock"), StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            FileLock l;
            try {
                l = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                l = null;
            }
            if (l == null) {
                String owner = readOwner(ch);
                ch.close();
                DATA_DIRS_IN_USE.remove(dir);
                throw new CassandraStartException("Data directory " + dataDir + " is already in use by another Cassandra launcher"
                        + (owner.isEmpty() ? "" : " (" + owner + ")") + "; stop it first or use another data directory");
            }
            // Who holds it, for the message the next launcher shows.
            ch.truncate(0);
            ch.write(ByteBuffer.wrap(("pid " + ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)), 0);
            ch.force(false);
            lockChannel = ch;
            lock = l;
            lockedDir = dir;
        } catch (IOException e) {
            closeQuietly(ch);
            DATA_DIRS_IN_USE.remove(dir);
            throw new CassandraStartException("Cannot lock data directory " + dataDir + ": " + reason(e));
        }
    }

    /**
     * The node itself holds {@code cassandra-node.lock} (see {@link ParentWatchdogMain}); it can
     * outlive a killed launcher by the few seconds of its drain.
     */
    private void checkNodeNotRunning() {
        Path nodeLock = lockedDir.resolve("cassandra-node.lock");
        try (FileChannel ch = FileChannel.open(nodeLock, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            FileLock l = ch.tryLock();
            if (l == null) {
                String owner = readOwner(ch);
                throw new CassandraStartException("A Cassandra node" + (owner.isEmpty() ? "" : " (" + owner + ")")
                        + " is still running on data directory " + dataDir
                        + " after its launcher exited; it shuts itself down within a minute, retry then");
            }
            l.release();
        } catch (IOException e) {
            throw new CassandraStartException("Cannot check " + nodeLock + ": " + reason(e));
        }
    }

    private static void checkPortFree(InetAddress address, int port, String what) {
        // SO_REUSEADDR as Cassandra itself binds: ports in TIME_WAIT from a previous run are fine.
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(address, port));
        } catch (IOException e) {
            throw new CassandraStartException(what + " " + port + " on " + address.getHostAddress() + " is already in use (" + reason(e)
                    + "); free it or choose another port");
        }
    }

    private static List<String> cassandraClasspath() {
        String text;
        try (InputStream in = EmbeddedCassandra.class.getResourceAsStream(CLASSPATH_RESOURCE)) {
            if (in == null) {
                throw new CassandraStartException("Resource " + CLASSPATH_RESOURCE
                        + " is not on the classpath; add the io.twinhub:twinhub-cassandra-classpath dependency");
            }
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            throw new CassandraStartException("Cannot read " + CLASSPATH_RESOURCE + ": " + reason(e));
        }
        List<String> entries = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (String entry : text.split(File.pathSeparator)) {
            if (entry.isBlank()) {
                continue;
            }
            entries.add(entry);
            if (!Files.isRegularFile(Path.of(entry))) {
                missing.add(entry);
            }
        }
        if (!missing.isEmpty()) {
            throw new CassandraStartException(missing.size() + " of the " + entries.size()
                    + " Cassandra jars are missing from the local Maven repository (first: " + missing.get(0)
                    + "); run: mvn -pl ops -am install -DskipTests");
        }
        if (entries.stream().noneMatch(e -> e.contains("cassandra-all"))) {
            throw new CassandraStartException(CLASSPATH_RESOURCE + " does not list cassandra-all; rebuild twinhub-cassandra-classpath");
        }
        return entries;
    }

    // ---------------------------------------------------------------- launch

    private List<String> command(List<String> cassandraClasspath) {
        Path javaBin = (javaHome != null ? javaHome : Path.of(System.getProperty("java.home"))).resolve("bin").resolve("java");
        if (!Files.isExecutable(javaBin)) {
            throw new CassandraStartException("No java executable at " + javaBin
                    + (javaHome != null ? "; check javaHome(...)" : ""));
        }
        String jamm = cassandraClasspath.stream()
                .filter(e -> Path.of(e).getFileName().toString().startsWith("jamm-"))
                .findFirst()
                .orElseThrow(() -> new CassandraStartException(
                        CLASSPATH_RESOURCE + " does not list the jamm jar Cassandra needs as -javaagent"));

        List<String> cmd = new ArrayList<>();
        cmd.add(javaBin.toString());
        cmd.add("-Xms" + smaller(INITIAL_HEAP, heap));
        cmd.add("-Xmx" + heap);
        cmd.add("-Xss256k"); // Cassandra's own default; it runs hundreds of threads
        cmd.add("-XX:+UseG1GC");
        cmd.add("-XX:+ExitOnOutOfMemoryError");
        cmd.add("-Djava.net.preferIPv4Stack=true");
        cmd.add("-Djdk.attach.allowAttachSelf=true");
        cmd.add("-javaagent:" + jamm); // memory metering of memtables
        // Module flags from Cassandra's conf/jvm17-server.options.
        for (String pkg : new String[] {"java.base/jdk.internal.misc", "java.base/jdk.internal.ref", "java.base/sun.nio.ch",
                "java.management.rmi/com.sun.jmx.remote.internal.rmi", "java.rmi/sun.rmi.registry",
                "java.rmi/sun.rmi.server", "java.sql/java.sql", "java.base/java.lang.ref", "jdk.unsupported/sun.misc"}) {
            cmd.add("--add-exports");
            cmd.add(pkg + "=ALL-UNNAMED");
        }
        for (String pkg : new String[] {"java.base/java.lang.module", "java.base/jdk.internal.loader",
                "java.base/jdk.internal.ref", "java.base/jdk.internal.reflect", "java.base/jdk.internal.math",
                "java.base/jdk.internal.module", "java.base/jdk.internal.util.jar",
                "jdk.management/com.sun.management.internal", "java.base/sun.nio.ch", "java.base/java.io",
                "java.base/java.nio", "java.base/java.util.concurrent", "java.base/java.util",
                "java.base/java.util.concurrent.atomic", "java.base/java.lang", "java.base/java.math",
                "java.base/java.lang.reflect", "java.base/java.net"}) {
            cmd.add("--add-opens");
            cmd.add(pkg + "=ALL-UNNAMED");
        }
        cmd.add("-Dcassandra.config=" + lockedDir.resolve("cassandra.yaml").toUri());
        cmd.add("-Dcassandra-foreground=yes"); // otherwise CassandraDaemon closes stdout/stderr
        cmd.add("-Dcassandra.storagedir=" + lockedDir);
        cmd.add("-Dcassandra.logdir=" + lockedDir.resolve("logs"));
        cmd.add("-Dlogback.configurationFile=" + lockedDir.resolve("logback.xml"));
        // No JMX at all (no cassandra.jmx.*.port): nothing listens beyond CQL and storage.
        // Alone: nothing to wait for in gossip or the ring. Joining others: a few seconds to learn
        // the ring from gossip before taking tokens (Cassandra's default waits 30 s).
        boolean alone = seeds.equals(address.getHostAddress() + ":" + storagePort);
        cmd.add("-Dcassandra.skip_wait_for_gossip_to_settle=" + (alone ? 0 : 1));
        cmd.add("-Dcassandra.ring_delay_ms=" + (alone ? 100 : 3000));
        cmd.add("-Dcassandra.superuser_setup_delay_ms=0");
        // Skips a 1-3 s CPU-bound estimate at start-up (memtable accounting only); 180 is what
        // it computes on JDK 17 with compressed oops.
        cmd.add("-Dcassandra.memtable.row_overhead_size=180");
        // No peers to tell about our shutdown: saves 2 s of every stop.
        if (alone) cmd.add("-Dcassandra.shutdown_announce_in_ms=0");
        cmd.add("-Dcassandra.triggers_dir=" + lockedDir.resolve("triggers"));
        cmd.add("-D" + ParentWatchdogMain.PARENT_PID_PROPERTY + "=" + ProcessHandle.current().pid());
        cmd.add("-D" + ParentWatchdogMain.NODE_LOCK_PROPERTY + "=" + lockedDir.resolve("cassandra-node.lock"));
        cmd.add("-Dtwinhub.embedded-cassandra=" + lockedDir); // to find it with pgrep -f
        cmd.addAll(extraJvmOptions(System.getProperty(JVM_OPTIONS_PROPERTY)));
        cmd.add("-cp");
        cmd.add(watchdogClasspathEntry() + File.pathSeparator + String.join(File.pathSeparator, cassandraClasspath));
        cmd.add(ParentWatchdogMain.class.getName());
        return cmd;
    }

    /** The options in {@code value} of {@link #JVM_OPTIONS_PROPERTY} (or Kafka's), none when it is unset or blank. */
    public static List<String> extraJvmOptions(String value) {
        if (value == null || value.isBlank()) return List.of();
        return List.of(value.trim().split("\\s+"));
    }

    /**
     * Copies the single watchdog class into {@code <dataDir>/.launcher}: putting this module's
     * code source on the child's classpath instead would, from a fat jar, put the hub's own
     * Netty/Guava/Jackson in front of Cassandra's.
     */
    private Path watchdogClasspathEntry() {
        Path root = lockedDir.resolve(".launcher");
        try {
            return ParentWatchdogMain.installInto(root);
        } catch (IOException e) {
            throw new CassandraStartException("Cannot write the watchdog class under " + root + ": " + reason(e));
        }
    }

    private void writeConfig() {
        Path d = lockedDir;
        String yaml = String.join("\n",
                "# Written by io.twinhub.ops.cassandra.EmbeddedCassandra on every start; edits are overwritten.",
                "cluster_name: " + quote(CLUSTER_NAME),
                "num_tokens: " + NUM_TOKENS,
                "partitioner: org.apache.cassandra.dht.Murmur3Partitioner",
                "data_file_directories:",
                "  - " + quote(d.resolve("data").toString()),
                "commitlog_directory: " + quote(d.resolve("commitlog").toString()),
                "saved_caches_directory: " + quote(d.resolve("saved_caches").toString()),
                "hints_directory: " + quote(d.resolve("hints").toString()),
                "cdc_raw_directory: " + quote(d.resolve("cdc_raw").toString()),
                "commitlog_sync: periodic",
                "commitlog_sync_period: 10000ms",
                "seed_provider:",
                "  - class_name: org.apache.cassandra.locator.SimpleSeedProvider",
                "    parameters:",
                "      - seeds: \"" + seeds + "\"",
                "listen_address: " + address.getHostAddress(),
                "rpc_address: " + address.getHostAddress(),
                "storage_port: " + storagePort,
                "native_transport_port: " + nativePort,
                "start_native_transport: true",
                "endpoint_snitch: SimpleSnitch",
                // Data-protecting defaults (auto_snapshot, disk/commit failure policies) are left as they are.
                "");
        // Console only: the launcher sends the child's stdout to the log file.
        String logback = String.join("\n",
                "<configuration>",
                "  <appender name=\"STDOUT\" class=\"ch.qos.logback.core.ConsoleAppender\">",
                "    <encoder><pattern>%-5level [%thread] %date{ISO8601} %logger{0} - %msg%n</pattern></encoder>",
                "  </appender>",
                "  <root level=\"INFO\"><appender-ref ref=\"STDOUT\"/></root>",
                "</configuration>",
                "");
        try {
            Files.writeString(d.resolve("cassandra.yaml"), yaml);
            Files.writeString(d.resolve("logback.xml"), logback);
        } catch (IOException e) {
            throw new CassandraStartException("Cannot write the Cassandra configuration into " + dataDir + ": " + reason(e));
        }
    }

    /** One log per run (the previous one kept as .1), so the tail in error messages is this run's. */
    private void rotateLog() {
        try {
            if (Files.exists(logFile)) {
                Files.move(logFile, logFile.resolveSibling(logFile.getFileName() + ".1"), StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new CassandraStartException("Cannot rotate " + logFile + ": " + reason(e));
        }
    }

    private void launch(List<String> command) {
        ProcessBuilder pb = new ProcessBuilder(command)
                .directory(lockedDir.toFile())
                .redirectErrorStream(true)
                // The child writes the file itself: no pump thread, and its logging survives our death.
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
        // stdin stays a pipe that we never write to nor close while the node runs: EOF on it is
        // how the watchdog learns that this JVM died.
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new CassandraStartException("Cannot launch " + command.get(0) + ": " + reason(e));
        }
        process = p;
        childStdin = p.getOutputStream();
        pid = p.pid();
        if (shutdownHook == null && stopOnJvmExit) {
            // Normal exit or SIGTERM of this JVM: stop the node cleanly. Not synchronized with start()
            // so that it cannot wait behind a start() that is still polling.
            Thread hook = new Thread(() -> {
                Process current = process;
                if (current != null) {
                    terminate(current);
                }
            }, "embedded-cassandra-shutdown-" + pid);
            Runtime.getRuntime().addShutdownHook(hook);
            shutdownHook = hook;
        }
        log.info("Launched Cassandra pid {} (data {}, log {})", pid, dataDir, logFile);
    }

    private void awaitCql(long t0) {
        long deadline = t0 + startTimeout.toNanos();
        while (true) {
            Process p = process;
            if (!p.isAlive()) {
                int code = p.exitValue();
                if (code == ParentWatchdogMain.EXIT_NODE_LOCKED) {
                    throw new CassandraStartException("Data directory " + dataDir
                            + " is already in use by another running Cassandra node");
                }
                throw new CassandraStartException("Cassandra exited with code " + code + " before CQL was up on " + address.getHostAddress() + ":"
                        + nativePort + ". Last lines of " + logFile + ":\n" + tail());
            }
            if (CqlProbe.answers(address, nativePort, 1000)) {
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new CassandraStartException("Cassandra did not accept CQL connections on " + address.getHostAddress() + ":" + nativePort
                        + " within " + startTimeout.toSeconds() + " s; it was killed. Last lines of " + logFile + ":\n" + tail());
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CassandraStartException("Interrupted while waiting for Cassandra to start");
            }
        }
    }

    // ---------------------------------------------------------------- stop and cleanup

    /** SIGTERM, wait for the drain, SIGKILL if it does not finish. True if it exited by itself. */
    private static boolean terminate(Process p) {
        p.destroy();
        try {
            if (p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                return true;
            }
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        return false;
    }

    /** After a failed start: the node is useless, do not wait for a drain. */
    private void killQuietly() {
        Process p = process;
        if (p != null) {
            p.destroyForcibly();
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            process = null;
            closeStdin();
            removeShutdownHook();
        }
    }

    private void closeStdin() {
        closeQuietly(childStdin);
        childStdin = null;
    }

    private void removeShutdownHook() {
        if (shutdownHook != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException alreadyShuttingDown) {
                // the hook is running or done; nothing to undo
            }
            shutdownHook = null;
        }
    }

    private void releaseLock() {
        if (lock != null) {
            try {
                lock.release();
            } catch (IOException ignored) {
                // closing the channel below releases it anyway
            }
            lock = null;
        }
        closeQuietly(lockChannel);
        lockChannel = null;
        if (lockedDir != null) {
            DATA_DIRS_IN_USE.remove(lockedDir);
            lockedDir = null;
        }
    }

    // ---------------------------------------------------------------- helpers

    private String tail() {
        try (RandomAccessFile f = new RandomAccessFile(logFile.toFile(), "r")) {
            long len = f.length();
            long from = Math.max(0, len - 64 * 1024);
            byte[] buf = new byte[(int) (len - from)];
            f.seek(from);
            f.readFully(buf);
            List<String> lines = Arrays.asList(new String(buf, StandardCharsets.UTF_8).split("\\R"));
            return String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()));
        } catch (IOException e) {
            return "(log unreadable: " + reason(e) + ")";
        }
    }

    private static String readOwner(FileChannel ch) {
        try {
            ByteBuffer buf = ByteBuffer.allocate(256);
            ch.read(buf, 0);
            return new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            return "";
        }
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "''") + "'";
    }

    static String reason(Exception e) {
        String m = e.getMessage();
        String type = e.getClass().getSimpleName();
        return m == null || m.isBlank() ? type : type + ": " + m;
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // nothing useful to do
            }
        }
    }

    static long heapBytes(String size) {
        Matcher m = HEAP_SIZE.matcher(size);
        if (!m.matches()) {
            throw new IllegalArgumentException("heap must look like 512m or 1g, got: " + size);
        }
        long n = Long.parseLong(m.group(1));
        switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "k": return n << 10;
            case "m": return n << 20;
            default: return n << 30;
        }
    }

    private static String smaller(String a, String b) {
        return heapBytes(a) <= heapBytes(b) ? a : b;
    }

    private static InetAddress loopback() {
        try {
            return InetAddress.getByAddress("127.0.0.1", new byte[] {127, 0, 0, 1});
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** Builder; only {@link #dataDir(Path)} is required. */
    public static final class Builder {
        private Path dataDir;
        private InetAddress address = LOOPBACK;
        private String seeds;
        private int nativePort = DEFAULT_NATIVE_PORT;
        private int storagePort = DEFAULT_STORAGE_PORT;
        private String heap = DEFAULT_HEAP;
        private Duration startTimeout = DEFAULT_START_TIMEOUT;
        private Path javaHome;
        private Path logTo;
        private boolean stopOnJvmExit = true;

        private Builder() {
        }

        /** Where the node keeps everything; reused across starts. Required. */
        public Builder dataDir(Path dataDir) {
            this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
            return this;
        }

        /**
         * Loopback address to listen on (listen and rpc address), default 127.0.0.1. Nodes of one
         * local multi-node cluster use 127.0.0.1, 127.0.0.2, ... with the same ports (Linux routes
         * all of 127.0.0.0/8 to lo).
         */
        public Builder address(String loopbackAddress) {
            InetAddress a;
            try {
                a = InetAddress.getByName(Objects.requireNonNull(loopbackAddress, "address"));
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("address must be a loopback IP like 127.0.0.2, got: " + loopbackAddress);
            }
            if (!a.isLoopbackAddress() || !(a instanceof java.net.Inet4Address)) {
                throw new IllegalArgumentException("address must be a loopback IP like 127.0.0.2, got: " + loopbackAddress);
            }
            this.address = a;
            return this;
        }

        /**
         * Seed nodes as Cassandra's SimpleSeedProvider takes them ({@code "127.0.0.1:7000,..."});
         * default: this node alone ({@code <address>:<storagePort>}).
         */
        public Builder seeds(String seeds) {
            if (seeds == null || !seeds.matches("[0-9.]+(:[0-9]+)?(,[0-9.]+(:[0-9]+)?)*")) {
                throw new IllegalArgumentException("seeds must look like 127.0.0.1:7000,127.0.0.2:7000, got: " + seeds);
            }
            this.seeds = seeds;
            return this;
        }

        /** CQL port on the node's address; default 9042. */
        public Builder nativePort(int port) {
            this.nativePort = checkPort(port, "nativePort");
            return this;
        }

        /** Internode (gossip) port on 127.0.0.1; default 7000. */
        public Builder storagePort(int port) {
            this.storagePort = checkPort(port, "storagePort");
            return this;
        }

        /** Maximum heap (-Xmx) like "512m" or "1g"; default 768m. -Xms is 256m (or less). */
        public Builder heap(String maxHeap) {
            long bytes = heapBytes(Objects.requireNonNull(maxHeap, "heap"));
            if (bytes < (256L << 20)) {
                throw new IllegalArgumentException("heap must be at least 256m for Cassandra, got: " + maxHeap);
            }
            this.heap = maxHeap;
            return this;
        }

        /** How long {@link EmbeddedCassandra#start()} waits for CQL; default 120 s. */
        public Builder startTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("startTimeout must be positive, got: " + timeout);
            }
            this.startTimeout = timeout;
            return this;
        }

        /** JDK to run Cassandra with (JDK 17); default: the JDK running this JVM. */
        public Builder javaHome(Path javaHome) {
            this.javaHome = javaHome;
            return this;
        }

        /** File for the node's stdout/stderr; default {@code <dataDir>/logs/cassandra-stdout.log}. */
        public Builder logTo(Path logFile) {
            this.logTo = logFile;
            return this;
        }

        /**
         * Whether a JVM shutdown hook stops the node (default true). An owner that must stop
         * Cassandra at a precise point of its own shutdown (the hub node: after its journal
         * writes) turns this off and calls {@link EmbeddedCassandra#stop()} itself; the
         * watchdog still ends the child if this JVM dies.
         */
        public Builder stopOnJvmExit(boolean stop) {
            this.stopOnJvmExit = stop;
            return this;
        }

        public EmbeddedCassandra build() {
            if (dataDir == null) {
                throw new IllegalArgumentException("dataDir is required");
            }
            if (nativePort == storagePort) {
                throw new IllegalArgumentException("nativePort and storagePort must differ, both are " + nativePort);
            }
            return new EmbeddedCassandra(this);
        }

        private static int checkPort(int port, String name) {
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException(name + " must be 1-65535, got: " + port);
            }
            return port;
        }
    }
}
