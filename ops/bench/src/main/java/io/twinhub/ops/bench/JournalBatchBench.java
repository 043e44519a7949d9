package io.twinhub.ops.bench;

import akka.stream.Materializer;
import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.config.DefaultDriverOption;
import com.datastax.oss.driver.api.core.config.DriverConfigLoader;
import com.datastax.oss.driver.api.core.cql.BatchStatement;
import com.datastax.oss.driver.api.core.cql.BatchStatementBuilder;
import com.datastax.oss.driver.api.core.cql.BatchType;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Statement;
import com.datastax.oss.driver.api.core.metadata.schema.TableMetadata;
import com.datastax.oss.driver.api.core.uuid.Uuids;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Group commit's evidence ({@code cassandra-batch}, issue 23): journal-shaped rows (a copy of the
 * node's {@code messages} table, every column the plugin writes, random twins' partitions) written
 * as single inserts and as unlogged batches of {@code n} rows of distinct partitions, against the
 * same Cassandra. What a cross-twin group commit could save in Cassandra and the driver per row is
 * the difference per row between the two.
 *
 * <p>The same rows are in flight whatever the batch size ({@code concurrency} rows, as many PATCHes
 * in flight), so {@code max(2, concurrency / n)} requests: a group commit can only batch what is
 * waiting. Rows, not requests, are the operations of the rows it returns.
 */
final class JournalBatchBench implements AutoCloseable {

  static final List<Integer> SIZES = List.of(1, 4, 16, 64);
  private static final String TABLE = CassandraBaseline.KEYSPACE + ".messages";

  private final CqlSession session;
  private final PreparedStatement insert;
  private final String writerUuid = UUID.randomUUID().toString();
  private final String bucket = LocalDate.now(ZoneOffset.UTC).toString();
  private final AtomicLong seq = new AtomicLong();

  JournalBatchBench(InetSocketAddress cassandra, String journalKeyspace) {
    // Batches over 5 KB draw a server warning each (batch_size_warn_threshold); the driver would log every one.
    this.session = CqlSession.builder().addContactPoint(cassandra).withLocalDatacenter("datacenter1")
        .withConfigLoader(DriverConfigLoader.programmaticBuilder().withBoolean(DefaultDriverOption.REQUEST_LOG_WARNINGS, false).build())
        .build();
    session.execute("CREATE KEYSPACE IF NOT EXISTS " + CassandraBaseline.KEYSPACE
        + " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    // The journal's own columns and key (akka-persistence-cassandra 1.1.1, CassandraJournalStatements.createTable),
    // checked against the node's table so that the rows stay journal-shaped if the plugin changes.
    TableMetadata messages = session.getMetadata().getKeyspace(journalKeyspace).flatMap(k -> k.getTable("messages"))
        .orElseThrow(() -> new IllegalStateException(journalKeyspace + ".messages not found"));
    if (messages.getColumns().size() != 14 || messages.getPartitionKey().size() != 2 || messages.getClusteringColumns().size() != 2) {
      throw new IllegalStateException("the journal's messages table changed: " + messages.describe(false));
    }
    session.execute("CREATE TABLE IF NOT EXISTS " + TABLE + " (persistence_id text, partition_nr bigint, sequence_nr bigint, "
        + "timestamp timeuuid, timebucket text, writer_uuid text, ser_id int, ser_manifest text, event_manifest text, event blob, "
        + "meta_ser_id int, meta_ser_manifest text, meta blob, tags set<text>, "
        + "PRIMARY KEY ((persistence_id, partition_nr), sequence_nr, timestamp)) "
        + "WITH compaction = {'class': 'SizeTieredCompactionStrategy'}");
    // The plugin's insert without metadata (akka-persistence-cassandra 1.1.1, CassandraJournalStatements.writeMessage).
    this.insert = session.prepare("INSERT INTO " + TABLE + " (persistence_id, partition_nr, sequence_nr, timestamp, timebucket, "
        + "writer_uuid, ser_id, ser_manifest, event_manifest, event, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  }

  private Statement<?> row(int twins, byte[] event) {
    String twin = RestWorkloads.id(ThreadLocalRandom.current().nextInt(twins));
    return insert.bind("Device|" + twin, 0L, seq.incrementAndGet(), Uuids.timeBased(), bucket, writerUuid,
        9001, "", "twin-desired-patched", ByteBuffer.wrap(event), Set.of("twin-" + (twin.hashCode() & 15)));
  }

  /** One request: a single insert ({@code n} = 1) or an unlogged batch of {@code n} rows of distinct twins. */
  CompletionStage<Boolean> write(int n, int twins, byte[] event) {
    if (n == 1) return session.executeAsync(row(twins, event)).thenApply(rs -> true);
    BatchStatementBuilder b = BatchStatement.builder(BatchType.UNLOGGED);
    for (int i = 0; i < n; i++) b.addStatement((com.datastax.oss.driver.api.core.cql.BatchableStatement<?>) row(twins, event));
    return session.executeAsync(b.build()).thenApply(rs -> true);
  }

  static int requestsInFlight(int concurrency, int n) {
    return Math.max(2, concurrency / n);
  }

  LoadLoop.Outcome run(Materializer mat, int n, int concurrency, Duration length, int twins, byte[] event) throws Exception {
    return LoadLoop.run(mat, requestsInFlight(concurrency, n), length, 0, i -> write(n, twins, event));
  }

  /** Rows per second and per-row CPU figures from a run of batches of {@code n}: the outcome counts requests. */
  static BenchResult rows(String workload, int n, LoadLoop.Outcome out) {
    BenchResult r = out.result(workload);
    return new BenchResult(workload, r.operations() * n, r.errors() * n, r.seconds(), r.rate() * n,
        r.p50Micros(), r.p99Micros(), r.p999Micros(), Double.NaN, -1, "");
  }

  static List<Integer> sizes(String spec) {
    List<Integer> out = new ArrayList<>();
    for (String s : spec.split(",")) out.add(Integer.parseInt(s.trim()));
    return out;
  }

  static String note(int n, int concurrency, int bytes, double clientCpuPercent, double rowsPerSecond) {
    return String.format(Locale.ROOT, "%s, %d requests in flight, %d B events, RF 1; server = Cassandra; "
            + "client (driver) CPU %.0f %% = %.0f µs/row; latency per request",
        n == 1 ? "single inserts" : "unlogged batches of " + n + " partitions", requestsInFlight(concurrency, n), bytes,
        clientCpuPercent, rowsPerSecond > 0 ? clientCpuPercent * 1e4 / rowsPerSecond : Double.NaN);
  }

  @Override
  public void close() {
    session.close();
  }
}
