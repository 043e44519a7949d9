package io.twinhub.ops.cassandra;

import java.nio.file.Path;

/**
 * Test helper run in its own JVM by {@link EmbeddedCassandraIT}: starts a node, prints its pid,
 * then sleeps until the test kills this JVM with SIGKILL.
 */
public final class OrphanHelperMain {

    static final String PID_PREFIX = "CASSANDRA_PID=";
    static final String FAILED_PREFIX = "START_FAILED=";

    private OrphanHelperMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        EmbeddedCassandra cassandra;
        try {
            cassandra = EmbeddedCassandra.builder()
                    .dataDir(Path.of(args[0]))
                    .nativePort(Integer.parseInt(args[1]))
                    .storagePort(Integer.parseInt(args[2]))
                    .heap("512m")
                    .build()
                    .start();
        } catch (CassandraStartException e) {
            System.out.println(FAILED_PREFIX + e.getMessage().replace('\n', ' '));
            System.exit(1);
            return;
        }
        System.out.println(PID_PREFIX + cassandra.pid());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
