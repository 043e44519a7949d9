package io.twinhub.query;

import com.typesafe.config.Config;

import java.time.Duration;
import java.util.Base64;

/**
 * {@code twinhub.query} (defaults in this module's reference.conf).
 *
 * @param defaultPageSize       items per page when the request has no {@code x-ms-max-item-count}
 * @param maxPageSize           the largest page served, whatever the request asks
 * @param readYourWritesTimeout how long a query waits for the index to cover the versions named in
 *                              {@link ReadYourWrites} before answering 503
 * @param continuationKey       HMAC key of continuation tokens; null = a random key per process
 *                              (tokens then only work on the node that issued them)
 * @param parsedQueryCache      how many distinct query texts keep their parsed form
 */
public record QuerySettings(int defaultPageSize, int maxPageSize, Duration readYourWritesTimeout,
                            byte[] continuationKey, int parsedQueryCache) {

  public static final QuerySettings DEFAULT = new QuerySettings(100, 1000, Duration.ofSeconds(5), null, 1000);

  public QuerySettings {
    if (defaultPageSize < 1 || maxPageSize < defaultPageSize) {
      throw new IllegalArgumentException("need 1 <= default-page-size <= max-page-size");
    }
  }

  public static QuerySettings from(Config root) {
    Config c = root.getConfig("twinhub.query");
    String key = c.getString("continuation-key");
    return new QuerySettings(
        c.getInt("default-page-size"),
        c.getInt("max-page-size"),
        c.getDuration("read-your-writes-timeout"),
        key.isBlank() ? null : Base64.getDecoder().decode(key.strip()),
        c.getInt("parsed-query-cache"));
  }

  /** These settings with {@code key} as the continuation-token key. */
  public QuerySettings withContinuationKey(byte[] key) {
    return new QuerySettings(defaultPageSize, maxPageSize, readYourWritesTimeout, key, parsedQueryCache);
  }

  /** The page size for a request's {@code x-ms-max-item-count} (absent or &lt;= 0: the default). */
  public int pageSize(int requested) {
    if (requested <= 0) return defaultPageSize;
    return Math.min(requested, maxPageSize);
  }
}
