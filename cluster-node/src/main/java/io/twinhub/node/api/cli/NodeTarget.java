package io.twinhub.node.api.cli;

import io.twinhub.node.NodeSettings;
import io.twinhub.node.TwinhubNode;
import io.twinhub.node.security.SharedAccessPolicies;
import io.twinhub.node.security.TlsMaterial;
import io.twinhub.twin.auth.ConnectionString;
import io.twinhub.twin.auth.SasToken;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * Where and how a command-line tool reaches a node's REST API: the URL (from {@code --url} or the
 * node's settings), an owner SAS token signed with the key in the node's data dir (or from
 * {@code --connection-string}), and the node's CA.
 */
public record NodeTarget(URI base, String hostName, String authorization, SSLContext ssl) {

  public static NodeTarget resolve(Map<String, String> options) throws IOException, java.security.GeneralSecurityException {
    Map<String, Object> overrides = new HashMap<>();
    if (options.containsKey("--data-dir")) {
      overrides.put("twinhub.data-dir", options.get("--data-dir"));
    }
    if (options.containsKey("--http-port")) {
      overrides.put("twinhub.http.port", options.get("--http-port"));
    }
    NodeSettings settings = NodeSettings.fromConfig(overrides);
    URI base = URI.create(options.getOrDefault("--url", "https://" + TwinhubNode.hostForUri(settings.hostName()) + ":" + settings.httpPort()));
    if (base.getHost() == null || !"https".equals(base.getScheme()) && !"http".equals(base.getScheme())) {
      throw new IllegalArgumentException("--url must look like https://host:port, got " + base);
    }
    String cs = options.getOrDefault("--connection-string", System.getenv("TWINHUB_CONNECTION_STRING"));
    long expiry = Instant.now().getEpochSecond() + 3600;
    String token;
    String hostName;
    if (cs != null && !cs.isBlank()) {
      ConnectionString parsed = ConnectionString.parse(cs);
      if (!parsed.isService()) {
        throw new IllegalArgumentException("--connection-string must be a service (policy) connection string");
      }
      hostName = parsed.hostName();
      token = parsed.sasToken(expiry);
    } else {
      Path policies = SharedAccessPolicies.fileIn(settings.dataDir());
      if (!Files.exists(policies)) {
        throw new IllegalArgumentException("no node data in " + settings.dataDir()
            + " (no security/policies.json): start a node with ./twinhub run, or pass --data-dir or --connection-string");
      }
      hostName = settings.hostName();
      token = SasToken.signForService(hostName, SharedAccessPolicies.IOTHUBOWNER,
          SharedAccessPolicies.loadOrCreate(settings.dataDir()).get(SharedAccessPolicies.IOTHUBOWNER).keys().primaryKey(),
          expiry);
    }
    Path ca = Path.of(options.getOrDefault("--ca", settings.dataDir().resolve("tls").resolve("ca.pem").toString()));
    SSLContext ssl = "https".equals(base.getScheme()) ? TlsMaterial.clientSslContext(ca) : null;
    return new NodeTarget(base, hostName, token, ssl);
  }

  /** An HTTP client that trusts the node's CA. */
  public HttpClient http() {
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
    if (ssl != null) b.sslContext(ssl);
    return b.build();
  }

  /** {@code path} (starting with /) on the node. */
  public URI uri(String path) {
    return URI.create(base.toString().replaceAll("/+$", "") + path);
  }
}
