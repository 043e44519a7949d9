package io.twinhub.node.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.projections.index.QueryIndex;
import io.twinhub.query.QueryResult;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The registry view of a node with the query role: counts and the device list are queries on
 * the local query index, which already holds every twin. A node without it would read every
 * event of every tag a second time, and replay the whole journal at each start, for the same
 * answers (the query index's projection is the one reader of the journal per node).
 *
 * <p>As eventually consistent as the index (a write is visible within its refresh interval), like
 * IoT Hub's own statistics.
 */
public final class IndexRegistryView implements RegistryView {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private final QueryIndex index;

  public IndexRegistryView(QueryIndex index) {
    this.index = index;
  }

  @Override
  public DeviceCounts deviceCounts() {
    long total = count("SELECT COUNT() AS n FROM devices");
    long enabled = count("SELECT COUNT() AS n FROM devices WHERE status = 'enabled'");
    return new DeviceCounts(total, enabled, total - enabled);
  }

  @Override
  public long connectedDeviceCount() {
    return count("SELECT COUNT() AS n FROM devices WHERE connectionState = 'Connected'");
  }

  @Override
  public List<String> firstDeviceIds(int max) {
    List<String> ids = new ArrayList<>(Math.min(max, 1024));
    String continuation = null;
    do {
      // Pages come in the index's order: ascending device id.
      QueryResult page = query("SELECT deviceId FROM devices", max - ids.size(), continuation);
      for (ObjectNode row : page.json()) {
        if (ids.size() < max) ids.add(row.get("deviceId").asText());
      }
      continuation = page.continuation();
    } while (continuation != null && ids.size() < max);
    return ids;
  }

  private long count(String sql) {
    List<ObjectNode> rows = query(sql, 1, null).json();
    return rows.isEmpty() ? 0 : rows.get(0).get("n").asLong();
  }

  private QueryResult query(String sql, int maxItems, String continuation) {
    try {
      return index.query(sql, maxItems, continuation, Optional.empty()).toCompletableFuture()
          .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while querying the index", e);
    } catch (Exception e) {
      throw new IllegalStateException("the query index did not answer: " + e, e);
    }
  }

  /** The index belongs to the node, which closes it. */
  @Override
  public void close() {}
}
