package io.twinhub.ops.bench;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.config.DefaultDriverOption;
import com.datastax.oss.driver.api.core.config.DriverConfigLoader;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Whether the journal's tables exist (the node creates them at start; see BenchNodes). */
final class JournalSchema {

  /** keyspace.table pairs the node's journal, tag queries and snapshots need. */
  static final List<String> TABLES = List.of("twinhub.messages", "twinhub.tag_views", "twinhub.metadata",
      "twinhub.tag_write_progress", "twinhub_snapshot.snapshots");

  private JournalSchema() {}

  static boolean complete(int cqlPort) {
    DriverConfigLoader config = DriverConfigLoader.programmaticBuilder()
        .withDuration(DefaultDriverOption.REQUEST_TIMEOUT, Duration.ofSeconds(30)).build();
    try (CqlSession s = CqlSession.builder().addContactPoint(new InetSocketAddress("127.0.0.1", cqlPort))
        .withLocalDatacenter("datacenter1").withConfigLoader(config).build()) {
      Set<String> present = new HashSet<>();
      s.execute("SELECT keyspace_name, table_name FROM system_schema.tables").forEach(r ->
          present.add(r.getString(0) + "." + r.getString(1)));
      return missing(present).isEmpty();
    }
  }

  static List<String> missing(Set<String> present) {
    return TABLES.stream().filter(t -> !present.contains(t)).toList();
  }
}
