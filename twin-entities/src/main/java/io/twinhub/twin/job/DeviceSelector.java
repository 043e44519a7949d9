package io.twinhub.twin.job;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Selects a job's devices from the query index, in device-id order, one page at a time. Paging
 * by "after this device id" (not by an opaque token) lets a job that moved to another node go on
 * exactly where its journal says it was.
 */
@FunctionalInterface
public interface DeviceSelector {

  /**
   * Up to {@code limit} device ids greater than {@code afterDeviceId} (null: from the first)
   * whose twins match {@code queryCondition} (empty: every device), in ascending order.
   * Fails with {@link IllegalArgumentException} for a condition the query language refuses.
   */
  CompletionStage<List<String>> select(String queryCondition, String afterDeviceId, int limit);
}
