package io.twinhub.ops.bench;

import akka.actor.ActorSystem;
import akka.http.javadsl.ConnectionContext;
import akka.http.javadsl.Http;
import akka.http.javadsl.HttpsConnectionContext;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpMethods;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.headers.RawHeader;
import akka.stream.Materializer;
import akka.util.ByteString;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.twinhub.mqtt.tls.TlsMaterial;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * The REST load client: Akka HTTP's client connection pools (one per node, keep-alive HTTPS
 * connections trusting the hub's CA), every request signed with one SAS token of the owner
 * policy. Also drives the bare-HTTP baseline, so both sides of a ratio pay the same client cost.
 */
public final class RestClient implements AutoCloseable {

  public static final String API_VERSION = "api-version=2021-04-12";

  /** An answered request: status and the whole body. */
  public record Answer(int status, ByteString body) {
    public boolean ok() {
      return status >= 200 && status < 300;
    }

    public String text() {
      return body.utf8String();
    }
  }

  private final ActorSystem system;
  private final Materializer materializer;
  private final HttpsConnectionContext https;
  private final List<URI> urls;
  private final String authorization;
  /** {@code --http-client plain}: requests go through {@link PlainHttpsClient} instead of Akka HTTP's pools. */
  private final PlainHttpsClient plain;

  /** Which HTTP client sends the requests ({@code --http-client}). */
  public enum Kind {
    /** Akka HTTP's host connection pools (the harness's client until session 14). */
    AKKA,
    /** {@link PlainHttpsClient}: blocking keep-alive TLS sockets on a thread per request in flight. */
    PLAIN;

    /** {@code --http-client}'s value (akka when not given). */
    public static Kind parse(String value) {
      if (value == null || value.isBlank()) return AKKA;
      return switch (value.strip().toLowerCase(Locale.ROOT)) {
        case "akka" -> AKKA;
        case "plain" -> PLAIN;
        default -> throw new IllegalArgumentException("--http-client is akka or plain, not " + value);
      };
    }
  }

  public RestClient(List<URI> urls, Path caPem, String ownerConnectionString, int concurrency) throws Exception {
    this(urls, caPem, ownerConnectionString, concurrency, Kind.AKKA);
  }

  public RestClient(List<URI> urls, Path caPem, String ownerConnectionString, int concurrency, Kind kind) throws Exception {
    this.urls = List.copyOf(urls);
    this.system = ActorSystem.create("bench-client", config(concurrency));
    this.materializer = Materializer.createMaterializer(system);
    javax.net.ssl.SSLContext tls = TlsMaterial.clientSslContext(caPem);
    this.https = ConnectionContext.httpsClient(tls);
    this.authorization = sasToken(ownerConnectionString, Instant.now().plus(Duration.ofHours(6)));
    this.plain = kind == Kind.PLAIN ? new PlainHttpsClient(this.urls, tls, authorization, concurrency) : null;
  }

  /**
   * Akka's reference settings (not the node's application.conf, which is on this classpath too and
   * would make this a cluster member) with a pool per node big enough for the whole concurrency.
   */
  static Config config(int concurrency) {
    int open = Integer.highestOneBit(Math.max(concurrency, 16) * 2 - 1) * 2;
    return ConfigFactory.parseString(String.format(Locale.ROOT, """
        akka.actor.provider = local
        # ERROR: closing the pools at the end logs every TLS connection's termination at WARNING.
        akka.loglevel = ERROR
        akka.stdout-loglevel = ERROR
        akka.http.host-connection-pool.max-connections = %d
        akka.http.host-connection-pool.max-open-requests = %d
        akka.http.host-connection-pool.max-retries = 0
        akka.http.host-connection-pool.response-entity-subscription-timeout = 30s
        akka.http.client.idle-timeout = 60s
        """, Math.max(concurrency, 4), open)).withFallback(ConfigFactory.defaultReference());
  }

  public List<URI> urls() {
    return urls;
  }

  public ActorSystem system() {
    return system;
  }

  public Materializer materializer() {
    return materializer;
  }

  /** Sends a request to node {@code node % nodes} and reads the whole answer. */
  public CompletionStage<Answer> send(int node, String method, String pathAndQuery, String jsonBody) {
    if (plain != null) return plain.send(node, method, pathAndQuery, jsonBody);
    URI base = urls.get(Math.floorMod(node, urls.size()));
    HttpRequest req = HttpRequest.create(base + pathAndQuery)
        .withMethod(HttpMethods.lookup(method).orElseThrow())
        .addHeader(RawHeader.create("Authorization", authorization));
    if (jsonBody != null) req = req.withEntity(ContentTypes.APPLICATION_JSON, jsonBody);
    return Http.get(system).singleRequest(req, https)
        .thenCompose(resp -> resp.entity().toStrict(30_000, materializer)
            .thenApply(strict -> new Answer(resp.status().intValue(), strict.getData())));
  }

  public Answer sendAndWait(int node, String method, String pathAndQuery, String jsonBody) throws Exception {
    return send(node, method, pathAndQuery, jsonBody).toCompletableFuture().get(120, TimeUnit.SECONDS);
  }

  /** An IoT Hub service SAS token for the policy of {@code connectionString}. */
  static String sasToken(String connectionString, Instant expiry) throws Exception {
    String host = null, keyName = null, key = null;
    for (String part : connectionString.split(";")) {
      int eq = part.indexOf('=');
      if (eq <= 0) continue;
      String k = part.substring(0, eq).strip(), v = part.substring(eq + 1).strip();
      switch (k) {
        case "HostName" -> host = v;
        case "SharedAccessKeyName" -> keyName = v;
        case "SharedAccessKey" -> key = v;
        default -> { }
      }
    }
    if (host == null || keyName == null || key == null) {
      throw new IllegalArgumentException("connection string needs HostName, SharedAccessKeyName and SharedAccessKey");
    }
    return SasTokens.sign(host, key, keyName, expiry.getEpochSecond());
  }

  @Override
  public void close() {
    if (plain != null) plain.close();
    try {
      Http.get(system).shutdownAllConnectionPools().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception ignored) {
      // terminating anyway
    }
    system.terminate();
  }
}
