package io.twinhub.query;

import java.util.Optional;
import java.util.concurrent.CompletionStage;

/** The query API the HTTP route (and any other caller) needs: one page of a query's result. */
@FunctionalInterface
public interface TwinQueries {

  /**
   * @param maxItems        {@code x-ms-max-item-count}; &lt;= 0 for the default
   * @param continuation    {@code x-ms-continuation} of the previous page, or null
   * @param readYourWrites  twin versions the index must cover before the query runs
   * @return the page; fails with {@link io.twinhub.query.lang.QueryException} (400) or
   *     {@link QueryEngine.IndexBehindException} (503)
   */
  CompletionStage<QueryResult> query(String sql, int maxItems, String continuation, Optional<ReadYourWrites> readYourWrites);
}
