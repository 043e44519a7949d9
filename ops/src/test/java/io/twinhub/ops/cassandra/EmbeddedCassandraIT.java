package io.twinhub.ops.cassandra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.config.DefaultDriverOption;
import com.datastax.oss.driver.api.core.config.DriverConfigLoader;
import com.datastax.oss.driver.api.core.cql.Row;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Starts real Cassandra 5 nodes. One node is shared by the tests that need a running node
 * (a cold start costs ~7-10 s on 2 cores); the orphan test needs its own, in another JVM.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class EmbeddedCassandraIT {

    @TempDir
    static Path tmp;

    private static Path sharedDir;
    private static EmbeddedCassandra shared;

    @BeforeAll
    static void startSharedNode() {
        sharedDir = tmp.resolve("shared");
        shared = EmbeddedCassandra.builder()
                .dataDir(sharedDir)
                .nativePort(freePort())
                .storagePort(freePort())
                .heap("512m")
                .build()
                .start();
        System.out.printf("cold start: %d ms, idle RSS: %s%n", shared.startedIn().toMillis(), rss(shared.pid()));
    }

    @AfterAll
    static void stopSharedNode() {
        if (shared != null) {
            long pid = shared.pid();
            shared.close();
            assertFalse(alive(pid), "Cassandra pid " + pid + " still alive after close()");
        }
    }

    @Test
    void dataSurvivesRestartAndStopLeavesNoProcess() {
        try (CqlSession session = session(shared.nativePort())) {
            session.execute("CREATE KEYSPACE IF NOT EXISTS it_ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
            session.execute("CREATE TABLE IF NOT EXISTS it_ks.twins (id text PRIMARY KEY, reported text)");
            session.execute("INSERT INTO it_ks.twins (id, reported) VALUES ('device-1', '{\"temp\":21}')");
        }

        long firstPid = shared.pid();
        long t0 = System.nanoTime();
        shared.stop();
        long stopMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertFalse(shared.isRunning());
        assertFalse(alive(firstPid), "Cassandra pid " + firstPid + " still alive after stop()");

        shared.start(); // same launcher, same data dir
        System.out.printf("stop: %d ms, warm restart: %d ms%n", stopMs, shared.startedIn().toMillis());
        assertTrue(shared.isRunning());
        assertNotEquals(firstPid, shared.pid());
        try (CqlSession session = session(shared.nativePort())) {
            Row row = session.execute("SELECT reported FROM it_ks.twins WHERE id = 'device-1'").one();
            assertNotNull(row, "row written before the restart is gone");
            assertEquals("{\"temp\":21}", row.getString("reported"));
        }
    }

    @Test
    void secondLauncherOnARunningDataDirIsRefused() {
        EmbeddedCassandra second = EmbeddedCassandra.builder()
                .dataDir(sharedDir)
                .nativePort(freePort())
                .storagePort(freePort())
                .build();
        CassandraStartException e = assertFastFailure(second);
        assertTrue(e.getMessage().contains("is already in use by another Cassandra launcher"), e.getMessage());
        assertTrue(e.getMessage().contains(sharedDir.toString()), e.getMessage());
        assertTrue(shared.isRunning(), "the running node must be left alone");
    }

    @Test
    void portInUseIsRefusedWithinSeconds() throws IOException {
        Path dir = tmp.resolve("ports");
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            int port = taken.getLocalPort();

            CassandraStartException nativeTaken = assertFastFailure(EmbeddedCassandra.builder()
                    .dataDir(dir).nativePort(port).storagePort(freePort()).build());
            assertTrue(nativeTaken.getMessage().startsWith("CQL native port " + port + " on 127.0.0.1 is already in use"),
                    nativeTaken.getMessage());

            // Also proves the data-dir lock was released by the failed start.
            CassandraStartException storageTaken = assertFastFailure(EmbeddedCassandra.builder()
                    .dataDir(dir).nativePort(freePort()).storagePort(port).build());
            assertTrue(storageTaken.getMessage().startsWith("storage (gossip) port " + port + " on 127.0.0.1 is already in use"),
                    storageTaken.getMessage());
        }
    }

    @Test
    void unwritableDataDirIsRefused() throws IOException {
        Path file = Files.writeString(tmp.resolve("not-a-dir"), "x");
        CassandraStartException e = assertFastFailure(EmbeddedCassandra.builder()
                .dataDir(file.resolve("data")).nativePort(freePort()).storagePort(freePort()).build());
        assertTrue(e.getMessage().startsWith("Data directory " + file.resolve("data") + " cannot be created"), e.getMessage());
    }

    @Test
    void childExitingBeforeCqlIsReportedWithItsOutput() throws IOException {
        Path jdk = fakeJdk("fake-jdk-exits", "echo 'simulated failure: cannot start'\nexit 3");
        CassandraStartException e = assertFastFailure(EmbeddedCassandra.builder()
                .dataDir(tmp.resolve("exits")).nativePort(freePort()).storagePort(freePort()).javaHome(jdk).build());
        assertTrue(e.getMessage().startsWith("Cassandra exited with code 3 before CQL was up"), e.getMessage());
        assertTrue(e.getMessage().contains("simulated failure: cannot start"), e.getMessage());
    }

    @Test
    void startTimeoutIsReportedAndTheChildKilled() throws IOException {
        Path jdk = fakeJdk("fake-jdk-hangs", "echo $$ > \"$PWD/fake.pid\"\nexec sleep 300");
        Path dir = tmp.resolve("hangs");
        CassandraStartException e = assertFastFailure(EmbeddedCassandra.builder()
                .dataDir(dir).nativePort(freePort()).storagePort(freePort()).javaHome(jdk)
                .startTimeout(Duration.ofSeconds(2)).build());
        assertTrue(e.getMessage().startsWith("Cassandra did not accept CQL connections on 127.0.0.1:"), e.getMessage());
        long pid = Long.parseLong(Files.readString(dir.resolve("fake.pid")).trim());
        assertFalse(alive(pid), "timed-out child " + pid + " still alive");
    }

    /** The launcher JVM is SIGKILLed: its Cassandra child must not survive it. */
    @Test
    void nodeDiesWithItsLauncherEvenOnKill9() throws Exception {
        Path dir = tmp.resolve("orphan");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        // The suite's extra Cassandra options (C1 only) reach the launcher's Cassandra as every other IT's.
        String cassandraOptions = System.getProperty(EmbeddedCassandra.JVM_OPTIONS_PROPERTY, "");
        Process launcher = new ProcessBuilder(java.toString(), "-D" + EmbeddedCassandra.JVM_OPTIONS_PROPERTY + "=" + cassandraOptions,
                "-cp", System.getProperty("java.class.path"),
                OrphanHelperMain.class.getName(), dir.toString(), String.valueOf(freePort()), String.valueOf(freePort()))
                .redirectErrorStream(true)
                .start();
        long cassandraPid = -1;
        try {
            cassandraPid = awaitCassandraPid(launcher);
            assertTrue(alive(cassandraPid));

            // While it runs, the lock file really locks across processes.
            CassandraStartException refused = assertFastFailure(EmbeddedCassandra.builder()
                    .dataDir(dir).nativePort(freePort()).storagePort(freePort()).build());
            assertTrue(refused.getMessage().contains("already in use by another Cassandra launcher (pid " + launcher.pid() + ")"),
                    refused.getMessage());

            launcher.destroyForcibly(); // SIGKILL: no shutdown hook runs in the launcher
            assertTrue(launcher.waitFor(10, TimeUnit.SECONDS));
            long t0 = System.nanoTime();
            while (alive(cassandraPid) && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(30)) {
                Thread.sleep(100);
            }
            assertFalse(alive(cassandraPid), "Cassandra pid " + cassandraPid + " outlived its SIGKILLed launcher by 30 s");
            System.out.printf("orphaned node exited %d ms after its launcher was killed%n",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        } finally {
            launcher.destroyForcibly();
            if (cassandraPid > 0) {
                ProcessHandle.of(cassandraPid).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    private static long awaitCassandraPid(Process launcher) throws InterruptedException {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(launcher.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException ignored) {
                // launcher killed
            }
        }, "orphan-launcher-output");
        reader.setDaemon(true);
        reader.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
        while (System.nanoTime() < deadline) {
            String line = lines.poll(1, TimeUnit.SECONDS);
            if (line == null) {
                if (!launcher.isAlive() && lines.isEmpty()) {
                    fail("launcher JVM exited with " + launcher.exitValue() + " before printing the Cassandra pid");
                }
                continue;
            }
            if (line.startsWith(OrphanHelperMain.PID_PREFIX)) {
                return Long.parseLong(line.substring(OrphanHelperMain.PID_PREFIX.length()).trim());
            }
            if (line.startsWith(OrphanHelperMain.FAILED_PREFIX)) {
                fail("launcher JVM could not start Cassandra: " + line);
            }
        }
        return fail("launcher JVM printed no Cassandra pid within 150 s");
    }

    /** Failures before the node is up must come fast and as a CassandraStartException. */
    private static CassandraStartException assertFastFailure(EmbeddedCassandra launcher) {
        long t0 = System.nanoTime();
        CassandraStartException e = assertThrows(CassandraStartException.class, launcher::start);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(ms < 10_000, "took " + ms + " ms to fail: " + e.getMessage());
        assertFalse(launcher.isRunning());
        return e;
    }

    private static Path fakeJdk(String name, String script) throws IOException {
        Path bin = Files.createDirectories(tmp.resolve(name).resolve("bin"));
        Path java = bin.resolve("java");
        Files.writeString(java, "#!/bin/sh\n" + script + "\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        return tmp.resolve(name);
    }

    private static CqlSession session(int port) {
        DriverConfigLoader config = DriverConfigLoader.programmaticBuilder()
                .withDuration(DefaultDriverOption.REQUEST_TIMEOUT, Duration.ofSeconds(30))
                .withDuration(DefaultDriverOption.CONNECTION_INIT_QUERY_TIMEOUT, Duration.ofSeconds(10))
                .withDuration(DefaultDriverOption.METADATA_SCHEMA_REQUEST_TIMEOUT, Duration.ofSeconds(30))
                .build();
        return CqlSession.builder()
                .addContactPoint(new InetSocketAddress("127.0.0.1", port))
                .withLocalDatacenter("datacenter1")
                .withConfigLoader(config)
                .build();
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    private static String rss(long pid) {
        try {
            List<String> status = Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"));
            return status.stream().filter(l -> l.startsWith("VmRSS:")).map(l -> l.substring(6).trim()).findFirst().orElse("?");
        } catch (IOException e) {
            return "?";
        }
    }

    /** A port free right now, never the same one twice in this run. */
    private static int freePort() {
        return io.twinhub.ops.net.FreePorts.next();
    }
}
