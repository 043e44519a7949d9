package io.twinhub.node.api;

import com.typesafe.config.Config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The {@code twinhub.http} and {@code twinhub.api} config blocks, bound once.
 *
 * @param httpsPort        the REST API over TLS
 * @param plainPort        an optional plain-HTTP listener for local curl (empty = off, the default)
 * @param keystore         an operator's PKCS12 keystore replacing the generated CA and certificate (null = generate)
 * @param keystorePassword its password (never logged)
 * @param apiVersions      the {@code api-version} values accepted; anything else is 400
 * @param extraHostNames   names besides {@code twinhub.host-name} that a token's {@code sr} may carry
 * @param maxBodyBytes     request bodies above this are refused with 413 before they are read
 * @param maxListTop       the largest {@code GET /devices?top=N}
 * @param maxBulkDevices   the most devices one {@code POST /devices} may name
 * @param fanOut           concurrent entity calls one list/bulk/module-list request may make
 * @param maxConnections   open connections per listener; with one request per connection in
 *                         flight this bounds the work the node accepts (back-pressure beyond)
 * @param requestTimeout   a request still unanswered after this gets 503 with Retry-After
 * @param retryAfter       the Retry-After of 503 answers
 * @param sasCacheSize     verified service tokens remembered (by exact header value) to spare the HMAC
 */
public record ApiSettings(
    int httpsPort,
    OptionalInt plainPort,
    Path keystore,
    char[] keystorePassword,
    Set<String> apiVersions,
    List<String> extraHostNames,
    int maxBodyBytes,
    int maxListTop,
    int maxBulkDevices,
    int fanOut,
    int maxConnections,
    Duration requestTimeout,
    Duration retryAfter,
    int sasCacheSize,
    Duration idleTimeout) {

  public static ApiSettings from(Config config) {
    Config http = config.getConfig("twinhub.http");
    Config api = config.getConfig("twinhub.api");
    String plain = http.getString("plain-port").strip();
    OptionalInt plainPort = plain.isEmpty() || plain.equalsIgnoreCase("off")
        ? OptionalInt.empty() : OptionalInt.of(port(plain, "twinhub.http.plain-port"));
    String keystore = http.getString("tls.keystore").strip();
    Set<String> versions = new LinkedHashSet<>(api.getStringList("api-versions"));
    if (versions.isEmpty()) {
      throw new IllegalArgumentException("twinhub.api.api-versions must name at least one version");
    }
    return new ApiSettings(
        http.getInt("port"),
        plainPort,
        keystore.isEmpty() ? null : Path.of(keystore).toAbsolutePath().normalize(),
        http.getString("tls.keystore-password").toCharArray(),
        Set.copyOf(versions),
        api.getStringList("extra-host-names"),
        positive(api.getBytes("max-body-size"), "twinhub.api.max-body-size"),
        positive(api.getInt("max-list-top"), "twinhub.api.max-list-top"),
        positive(api.getInt("max-bulk-devices"), "twinhub.api.max-bulk-devices"),
        positive(api.getInt("fan-out"), "twinhub.api.fan-out"),
        positive(api.getInt("max-connections"), "twinhub.api.max-connections"),
        api.getDuration("request-timeout"),
        api.getDuration("retry-after"),
        positive(api.getInt("sas-cache-size"), "twinhub.api.sas-cache-size"),
        idleTimeout(config));
  }

  /** Akka HTTP closes a connection that carries nothing this long, even with a request in flight. */
  private static Duration idleTimeout(Config config) {
    String key = "akka.http.server.idle-timeout";
    if (!config.hasPath(key) || config.getString(key).strip().equalsIgnoreCase("infinite")) {
      return Duration.ofDays(1);
    }
    return config.getDuration(key);
  }

  private static int port(String value, String key) {
    try {
      int p = Integer.parseInt(value);
      if (p >= 0 && p <= 65535) return p;
    } catch (NumberFormatException ignored) {
      // reported below
    }
    throw new IllegalArgumentException(key + " must be 'off' or a port number, got '" + value + "'");
  }

  private static int positive(long value, String key) {
    if (value < 1 || value > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(key + " must be a positive number, got " + value);
    }
    return (int) value;
  }

  /** Keeps the keystore password out of logs. */
  @Override
  public String toString() {
    return "ApiSettings[httpsPort=" + httpsPort + ", plainPort=" + plainPort + ", keystore=" + keystore
        + ", apiVersions=" + apiVersions + ", maxBodyBytes=" + maxBodyBytes + ", requestTimeout=" + requestTimeout + "]";
  }
}
