package io.twinhub.ops.cassandra;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Runs one embedded Cassandra node until this JVM gets SIGTERM / Ctrl-C (manual runs, dev
 * mode, measurements).
 *
 * <pre>
 * java -cp ... io.twinhub.ops.cassandra.EmbeddedCassandraMain \
 *     [--data-dir DIR] [--address 127.0.0.1] [--seeds 127.0.0.1:7000,...] [--native-port 9042]
 *     [--storage-port 7000] [--heap 768m] [--start-timeout 120]
 * </pre>
 * Each option falls back to an environment variable (TWINHUB_CASSANDRA_DATA_DIR,
 * TWINHUB_CASSANDRA_NATIVE_PORT, TWINHUB_CASSANDRA_STORAGE_PORT, TWINHUB_CASSANDRA_HEAP,
 * TWINHUB_CASSANDRA_START_TIMEOUT), then to its default; the data dir defaults to
 * {@code .twinhub/cassandra} under the working directory. Exit codes: 143 after SIGTERM (the JVM's
 * usual), 1 if the node died by itself, 2 on bad arguments or a failed start.
 */
public final class EmbeddedCassandraMain {

    private static volatile boolean shuttingDown;

    private EmbeddedCassandraMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        EmbeddedCassandra cassandra;
        try {
            Map<String, String> opts = parse(args);
            EmbeddedCassandra.Builder b = EmbeddedCassandra.builder()
                    .dataDir(Path.of(opt(opts, "data-dir", "TWINHUB_CASSANDRA_DATA_DIR", ".twinhub/cassandra")));
            String v;
            if ((v = opt(opts, "address", "TWINHUB_CASSANDRA_ADDRESS", null)) != null) {
                b.address(v);
            }
            if ((v = opt(opts, "seeds", "TWINHUB_CASSANDRA_SEEDS", null)) != null) {
                b.seeds(v);
            }
            if ((v = opt(opts, "native-port", "TWINHUB_CASSANDRA_NATIVE_PORT", null)) != null) {
                b.nativePort(intOpt("native-port", v));
            }
            if ((v = opt(opts, "storage-port", "TWINHUB_CASSANDRA_STORAGE_PORT", null)) != null) {
                b.storagePort(intOpt("storage-port", v));
            }
            if ((v = opt(opts, "heap", "TWINHUB_CASSANDRA_HEAP", null)) != null) {
                b.heap(v);
            }
            if ((v = opt(opts, "start-timeout", "TWINHUB_CASSANDRA_START_TIMEOUT", null)) != null) {
                b.startTimeout(Duration.ofSeconds(intOpt("start-timeout", v)));
            }
            cassandra = b.build();
        } catch (IllegalArgumentException e) {
            System.err.println("embedded-cassandra: " + e.getMessage());
            System.exit(2);
            return;
        }

        Runtime.getRuntime().addShutdownHook(new Thread(() -> shuttingDown = true, "embedded-cassandra-main-exit"));
        try {
            cassandra.start();
        } catch (CassandraStartException e) {
            System.err.println("embedded-cassandra: " + e.getMessage());
            System.exit(2);
            return;
        }
        System.out.printf("Cassandra ready on %s:%d (storage port %d, pid %d) in %.1f s%n  data: %s%n  log:  %s%n"
                        + "SIGTERM or Ctrl-C stops it.%n",
                cassandra.address().getHostAddress(), cassandra.nativePort(), cassandra.storagePort(), cassandra.pid(), cassandra.startedIn().toMillis() / 1000.0,
                cassandra.dataDir(), cassandra.logFile());
        System.out.flush();

        int code = cassandra.awaitExit();
        if (!shuttingDown) {
            // Not our SIGTERM: the node died by itself.
            System.err.println("embedded-cassandra: Cassandra exited by itself with code " + code + "; see " + cassandra.logFile());
            cassandra.stop();
            System.exit(1);
        }
        // Shutting down: the launcher's shutdown hook is draining the node; let it finish.
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> opts = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument: " + a + usage());
            }
            int eq = a.indexOf('=');
            if (eq > 0) {
                opts.put(a.substring(2, eq), a.substring(eq + 1));
            } else if (i + 1 < args.length) {
                opts.put(a.substring(2), args[++i]);
            } else {
                throw new IllegalArgumentException("missing value for " + a + usage());
            }
        }
        for (String k : opts.keySet()) {
            if (!k.matches("data-dir|address|seeds|native-port|storage-port|heap|start-timeout")) {
                throw new IllegalArgumentException("unknown option --" + k + usage());
            }
        }
        return opts;
    }

    private static String usage() {
        return "\nusage: EmbeddedCassandraMain [--data-dir DIR] [--address 127.0.0.N] [--seeds IP:PORT,...] [--native-port N]"
                + " [--storage-port N] [--heap 768m] [--start-timeout SECONDS]";
    }

    private static String opt(Map<String, String> opts, String name, String env, String dflt) {
        String v = opts.get(name);
        if (v == null) {
            v = System.getenv(env);
        }
        return v == null || v.isBlank() ? dflt : v;
    }

    private static int intOpt(String name, String v) {
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be a number, got: " + v);
        }
    }
}
