package io.twinhub.node.jobs;

import io.twinhub.query.TwinQueries;
import io.twinhub.query.lang.QueryException;
import io.twinhub.twin.job.DeviceSelector;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * A job's devices from this node's query index: {@code SELECT deviceId FROM devices WHERE
 * deviceId > '<after>' AND (<condition>)}, one page in device-id order (the index's own order,
 * with the range pushed into Lucene). The index starts after the job entities, hence the supplier.
 */
final class IndexDeviceSelector implements DeviceSelector {
  private final Supplier<TwinQueries> index;

  IndexDeviceSelector(Supplier<TwinQueries> index) {
    this.index = index;
  }

  static String query(String condition, String afterDeviceId) {
    StringBuilder sql = new StringBuilder("SELECT deviceId FROM devices");
    String after = afterDeviceId == null ? null : "deviceId > '" + afterDeviceId.replace("'", "''") + "'";
    boolean hasCondition = condition != null && !condition.isBlank();
    if (after != null && hasCondition) sql.append(" WHERE ").append(after).append(" AND (").append(condition).append(')');
    else if (after != null) sql.append(" WHERE ").append(after);
    else if (hasCondition) sql.append(" WHERE ").append(condition);
    return sql.toString();
  }

  @Override
  public CompletionStage<List<String>> select(String queryCondition, String afterDeviceId, int limit) {
    TwinQueries q = index.get();
    if (q == null) return CompletableFuture.failedFuture(new IllegalStateException("the query index is not started yet"));
    CompletionStage<io.twinhub.query.QueryResult> page;
    try {
      page = q.query(query(queryCondition, afterDeviceId), limit, null, Optional.empty());
    } catch (QueryException e) {
      return CompletableFuture.failedFuture(new IllegalArgumentException(e.getMessage(), e));
    }
    return page.handle((r, e) -> {
      if (e != null) {
        Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        if (cause instanceof QueryException) throw new IllegalArgumentException(cause.getMessage(), cause);
        throw e instanceof CompletionException c ? c : new CompletionException(e);
      }
      return r.json().stream().map(o -> o.path("deviceId").asText()).toList();
    });
  }
}
