package io.twinhub.ops.cassandra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Input validation that needs no Cassandra. */
class EmbeddedCassandraBuilderTest {

    @Test
    void defaults() {
        EmbeddedCassandra c = EmbeddedCassandra.builder().dataDir(Path.of("target/x")).build();
        assertEquals(9042, c.nativePort());
        assertEquals(7000, c.storagePort());
        assertEquals(Path.of("target/x").toAbsolutePath().normalize(), c.dataDir());
        assertEquals(c.dataDir().resolve("logs/cassandra-stdout.log"), c.logFile());
    }

    @Test
    void badInputIsRejectedWithAClearMessage() {
        assertEquals("dataDir is required",
                assertThrows(IllegalArgumentException.class, () -> EmbeddedCassandra.builder().build()).getMessage());
        assertEquals("nativePort must be 1-65535, got: 70000",
                assertThrows(IllegalArgumentException.class, () -> EmbeddedCassandra.builder().nativePort(70000)).getMessage());
        assertEquals("nativePort and storagePort must differ, both are 9000",
                assertThrows(IllegalArgumentException.class, () -> EmbeddedCassandra.builder()
                        .dataDir(Path.of("x")).nativePort(9000).storagePort(9000).build()).getMessage());
        assertEquals("heap must look like 512m or 1g, got: lots",
                assertThrows(IllegalArgumentException.class, () -> EmbeddedCassandra.builder().heap("lots")).getMessage());
        assertEquals("heap must be at least 256m for Cassandra, got: 128m",
                assertThrows(IllegalArgumentException.class, () -> EmbeddedCassandra.builder().heap("128m")).getMessage());
        assertThrows(IllegalArgumentException.class, () -> EmbeddedCassandra.builder().startTimeout(Duration.ZERO));
    }

    @Test
    void addressAndSeedsForALocalMultiNodeCluster() {
        EmbeddedCassandra c = EmbeddedCassandra.builder().dataDir(Path.of("target/x")).build();
        assertEquals("127.0.0.1", c.address().getHostAddress());
        assertEquals("127.0.0.2", EmbeddedCassandra.builder().dataDir(Path.of("target/x")).address("127.0.0.2")
                .seeds("127.0.0.1:7000").build().address().getHostAddress());
        assertEquals("address must be a loopback IP like 127.0.0.2, got: 10.0.0.1",
                assertThrows(IllegalArgumentException.class, () -> EmbeddedCassandra.builder().address("10.0.0.1")).getMessage());
        assertEquals("seeds must look like 127.0.0.1:7000,127.0.0.2:7000, got: 127.0.0.1;rm",
                assertThrows(IllegalArgumentException.class, () -> EmbeddedCassandra.builder().seeds("127.0.0.1;rm")).getMessage());
    }

    @Test
    void heapSizes() {
        assertEquals(512L << 20, EmbeddedCassandra.heapBytes("512m"));
        assertEquals(1L << 30, EmbeddedCassandra.heapBytes("1G"));
    }

    @Test
    void extraJvmOptionsAreTheWhiteSpaceSeparatedWordsOfTheProperty() {
        assertEquals(java.util.List.of(), EmbeddedCassandra.extraJvmOptions(null));
        assertEquals(java.util.List.of(), EmbeddedCassandra.extraJvmOptions("  "));
        assertEquals(java.util.List.of("-XX:TieredStopAtLevel=1", "-Dx=y"),
                EmbeddedCassandra.extraJvmOptions(" -XX:TieredStopAtLevel=1 \n -Dx=y "));
    }

    @Test
    void pidAndStartTimeNeedAStart() {
        EmbeddedCassandra c = EmbeddedCassandra.builder().dataDir(Path.of("target/x")).build();
        assertThrows(IllegalStateException.class, c::pid);
        assertThrows(IllegalStateException.class, c::startedIn);
        c.stop(); // no-op before start
    }
}
