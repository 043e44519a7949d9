package io.twinhub.ops.bench;

import akka.stream.Materializer;
import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Row;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The storage baseline ({@code cassandra-insert}): plain inserts of a payload as big as a twin
 * PATCH's journal event into the hub's own Cassandra, with the same Java driver, asynchronously,
 * with the same concurrency; a plain table (partition = twin id, clustering = sequence number),
 * replication factor 1. What is left out is everything twinhub adds to a write: HTTP, SAS,
 * sharding, validation and merge, and the extra rows Akka Persistence writes (tag views, tag
 * progress, snapshots).
 */
final class CassandraBaseline implements AutoCloseable {

  static final String KEYSPACE = "twinhub_bench_baseline";
  private final CqlSession session;

  CassandraBaseline(InetSocketAddress cassandra) {
    this.session = CqlSession.builder().addContactPoint(cassandra).withLocalDatacenter("datacenter1").build();
    session.execute("CREATE KEYSPACE IF NOT EXISTS " + KEYSPACE
        + " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    session.execute("CREATE TABLE IF NOT EXISTS " + KEYSPACE + ".events (id text, seq bigint, payload blob, PRIMARY KEY ((id), seq))");
  }

  /** Size of the newest journal event of a device twin (the one a PATCH just wrote); -1 if none. */
  int lastEventBytes(String journalKeyspace, String deviceId) {
    List<Row> rows = session.execute("SELECT event FROM " + journalKeyspace + ".messages WHERE persistence_id = ? AND partition_nr = 0 "
        + "ORDER BY sequence_nr DESC LIMIT 1", "Device|" + deviceId).all();
    if (rows.isEmpty() || rows.get(0).getByteBuffer(0) == null) return -1;
    return rows.get(0).getByteBuffer(0).remaining();
  }

  PreparedStatement insertStatement() {
    return session.prepare("INSERT INTO " + KEYSPACE + ".events (id, seq, payload) VALUES (?, ?, ?)");
  }

  /** One row, asynchronously. */
  java.util.concurrent.CompletionStage<Boolean> insert(PreparedStatement insert, String id, long seq, byte[] payload) {
    return session.executeAsync(insert.bind(id, seq, ByteBuffer.wrap(payload))).thenApply(rs -> true);
  }

  LoadLoop.Outcome run(Materializer mat, int concurrency, Duration length, long count, int twins, int payloadBytes) throws Exception {
    PreparedStatement insert = insertStatement();
    byte[] payload = new byte[payloadBytes];
    ThreadLocalRandom.current().nextBytes(payload);
    AtomicLong seq = new AtomicLong();
    return LoadLoop.run(mat, concurrency, length, count,
        i -> insert(insert, RestWorkloads.id(ThreadLocalRandom.current().nextInt(twins)), seq.incrementAndGet(), payload));
  }

  @Override
  public void close() {
    session.close();
  }
}
