package io.twinhub.node.cli;

import io.twinhub.ops.cassandra.CassandraStartException;
import io.twinhub.ops.cassandra.EmbeddedCassandra;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code ./twinhub cassandra}: one embedded Cassandra node alone, in the foreground (what
 * {@code cluster start} and the bench run for a Cassandra shared by several hub nodes). It prints
 * "Cassandra ready on ..." once CQL answers; SIGTERM drains and stops it. Exit 1 if Cassandra died
 * by itself, 2 on a failed start.
 */
@Command(name = "cassandra", description = {
    "Run one embedded Cassandra node in the foreground (a real Apache Cassandra child JVM), e.g. to share it between nodes.",
    "Prints \"Cassandra ready on ADDRESS:PORT\" once CQL answers; Ctrl-C or SIGTERM drains and stops it."})
public final class CassandraCommand implements Callable<Integer> {
  @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "${env:TWINHUB_CASSANDRA_DATA_DIR:-.twinhub/cassandra}",
      description = "Cassandra's data, commit log and log (TWINHUB_CASSANDRA_DATA_DIR; default ${DEFAULT-VALUE})")
  Path dataDir;

  @Option(names = "--address", paramLabel = "127.0.0.N", defaultValue = "${env:TWINHUB_CASSANDRA_ADDRESS}",
      description = "loopback address to listen on (TWINHUB_CASSANDRA_ADDRESS; default 127.0.0.1)")
  String address;

  @Option(names = "--seeds", paramLabel = "IP:PORT,...", defaultValue = "${env:TWINHUB_CASSANDRA_SEEDS}",
      description = "seed nodes of a multi-node ring (TWINHUB_CASSANDRA_SEEDS; default: itself)")
  String seeds;

  @Option(names = "--native-port", paramLabel = "PORT", defaultValue = "${env:TWINHUB_CASSANDRA_NATIVE_PORT}",
      description = "CQL port (TWINHUB_CASSANDRA_NATIVE_PORT; default 9042)")
  Integer nativePort;

  @Option(names = "--storage-port", paramLabel = "PORT", defaultValue = "${env:TWINHUB_CASSANDRA_STORAGE_PORT}",
      description = "gossip port (TWINHUB_CASSANDRA_STORAGE_PORT; default 7000)")
  Integer storagePort;

  @Option(names = "--heap", paramLabel = "SIZE", defaultValue = "${env:TWINHUB_CASSANDRA_HEAP}",
      description = "max heap, e.g. 768m (TWINHUB_CASSANDRA_HEAP)")
  String heap;

  @Option(names = "--start-timeout", paramLabel = "SECONDS", defaultValue = "${env:TWINHUB_CASSANDRA_START_TIMEOUT}",
      description = "give up a start after this long (TWINHUB_CASSANDRA_START_TIMEOUT)")
  Integer startTimeoutSeconds;

  @Spec
  CommandSpec spec;

  private static volatile boolean shuttingDown;

  @Override
  public Integer call() throws InterruptedException {
    EmbeddedCassandra.Builder b = EmbeddedCassandra.builder().dataDir(dataDir);
    if (address != null) b.address(address);
    if (seeds != null) b.seeds(seeds);
    if (nativePort != null) b.nativePort(nativePort);
    if (storagePort != null) b.storagePort(storagePort);
    if (heap != null) b.heap(heap);
    if (startTimeoutSeconds != null) b.startTimeout(java.time.Duration.ofSeconds(startTimeoutSeconds));
    EmbeddedCassandra cassandra = b.build();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> shuttingDown = true, "embedded-cassandra-exit"));
    try {
      cassandra.start();
    } catch (CassandraStartException e) {
      throw new IllegalStateException(e.getMessage());
    }
    var out = spec.commandLine().getOut();
    out.printf("Cassandra ready on %s:%d (storage port %d, pid %d) in %.1f s%n  data: %s%n  log:  %s%n"
            + "SIGTERM or Ctrl-C stops it.%n",
        cassandra.address().getHostAddress(), cassandra.nativePort(), cassandra.storagePort(), cassandra.pid(),
        cassandra.startedIn().toMillis() / 1000.0, cassandra.dataDir(), cassandra.logFile());
    out.flush();
    int code = cassandra.awaitExit();
    if (!shuttingDown) {
      // Not our SIGTERM: the node died by itself.
      cassandra.stop();
      throw new TwinhubCli.CommandFailure("Cassandra exited by itself with code " + code + "; see " + cassandra.logFile());
    }
    // Shutting down: EmbeddedCassandra's shutdown hook is draining the node; let it finish.
    return RunCommand.KEEP_RUNNING;
  }
}
