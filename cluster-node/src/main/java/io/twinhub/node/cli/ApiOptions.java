package io.twinhub.node.cli;

import io.twinhub.node.NodeSettings;
import io.twinhub.node.TwinhubNode;
import io.twinhub.node.security.SharedAccessPolicies;
import io.twinhub.mqtt.tls.TlsMaterial;
import io.twinhub.twin.auth.ConnectionString;
import io.twinhub.twin.auth.SasToken;
import picocli.CommandLine.Option;

import javax.net.ssl.SSLContext;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * How a command reaches a node's REST API, the same HTTPS + SAS path every back end uses. By
 * default it finds the node as {@code ./twinhub run} configured it (data dir, host name, port from
 * application.conf and TWINHUB_* variables), signs with the {@code iothubowner} key in
 * {@code <data-dir>/security/policies.json} and trusts {@code <data-dir>/tls/ca.pem}.
 */
public final class ApiOptions {
  @Option(names = "--data-dir", paramLabel = "DIR", descriptionKey = "twinhub.data-dir",
      description = "the node's data dir: its owner key and CA (TWINHUB_DATA_DIR; default ${DEFAULT-VALUE})")
  Path dataDir;

  @Option(names = "--url", paramLabel = "https://HOST:PORT",
      description = "the node's REST API (default https://<host-name>:<http-port> of the configuration)")
  URI url;

  @Option(names = "--connection-string", paramLabel = "CS", defaultValue = "${env:TWINHUB_CONNECTION_STRING}",
      description = "sign with this service connection string instead of the data dir's owner key (TWINHUB_CONNECTION_STRING)")
  String connectionString;

  @Option(names = "--ca", paramLabel = "PEM", description = "the CA to trust (default <data-dir>/tls/ca.pem)")
  Path ca;

  /** The node these options name, with a token valid for an hour. */
  public HubClient connect() {
    return connect(3600);
  }

  public HubClient connect(long tokenSeconds) {
    Map<String, Object> overrides = new HashMap<>();
    if (dataDir != null) overrides.put("twinhub.data-dir", dataDir.toString());
    NodeSettings settings = NodeSettings.fromConfig(overrides);
    return connect(settings, url, connectionString, ca, tokenSeconds);
  }

  /** A node's API as its own settings describe it (for commands that already hold them). */
  public static HubClient connect(NodeSettings settings) {
    return connect(settings, null, System.getenv("TWINHUB_CONNECTION_STRING"), null, 3600);
  }

  static HubClient connect(NodeSettings settings, URI url, String connectionString, Path ca, long tokenSeconds) {
    URI base = url != null ? url
        : URI.create("https://" + TwinhubNode.hostForUri(settings.hostName()) + ":" + settings.httpPort());
    if (base.getHost() == null || !"https".equals(base.getScheme()) && !"http".equals(base.getScheme())) {
      throw new IllegalArgumentException("--url must look like https://host:port, got " + base);
    }
    long expiry = Instant.now().getEpochSecond() + tokenSeconds;
    String token;
    if (connectionString != null && !connectionString.isBlank()) {
      ConnectionString parsed = ConnectionString.parse(connectionString);
      if (!parsed.isService()) {
        throw new IllegalArgumentException("--connection-string must be a service (policy) connection string");
      }
      token = parsed.sasToken(expiry);
    } else {
      Path policies = SharedAccessPolicies.fileIn(settings.dataDir());
      if (!Files.exists(policies)) {
        throw new IllegalArgumentException("no node data in " + settings.dataDir()
            + " (no security/policies.json): start a node with ./twinhub run, or pass --data-dir or --connection-string");
      }
      SharedAccessPolicies all;
      try {
        all = SharedAccessPolicies.loadOrCreate(settings.dataDir());
      } catch (java.io.IOException e) {
        throw new TwinhubCli.CommandFailure("cannot read " + policies + ": " + e.getMessage());
      }
      token = SasToken.signForService(settings.hostName(), SharedAccessPolicies.IOTHUBOWNER,
          all.get(SharedAccessPolicies.IOTHUBOWNER).keys().primaryKey(), expiry);
    }
    SSLContext ssl = null;
    if ("https".equals(base.getScheme())) {
      Path trust = ca != null ? ca : settings.dataDir().resolve("tls").resolve("ca.pem");
      try {
        ssl = TlsMaterial.clientSslContext(trust);
      } catch (Exception e) {
        throw new IllegalArgumentException("cannot read the CA " + trust + " (" + e.getMessage() + "): give --ca or --data-dir");
      }
    }
    return new HubClient(base, token, ssl);
  }
}
