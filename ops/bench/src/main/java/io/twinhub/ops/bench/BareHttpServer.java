package io.twinhub.ops.bench;

import akka.actor.ActorSystem;
import akka.http.javadsl.ConnectionContext;
import akka.http.javadsl.Http;
import akka.http.javadsl.ServerBinding;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.ResponseEntity;
import akka.http.javadsl.settings.ServerSettings;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.twinhub.mqtt.tls.TlsMaterial;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The HTTP baseline ({@code http-bare}): a bare Akka HTTP HTTPS endpoint answering every request
 * with one fixed JSON document (as big as a twin GET's answer), in a JVM of its own like a node,
 * with the node's TLS (a server certificate from {@link TlsMaterial} under the hub's CA) and the
 * node's connection settings (one request in flight per connection, same connection cap). What is
 * left out is everything twinhub adds: routing DSL, SAS check, sharding ask, twin rendering.
 *
 * <p>With a Cassandra address it is the durable-write baseline ({@code http-cassandra}): every
 * request's body is inserted into {@link CassandraBaseline}'s table (one row, the driver's default
 * consistency) before the answer, so it is the least any HTTPS service that stores a write before
 * acknowledging it does: TLS, HTTP parsing and one Cassandra insert.
 *
 * <pre>java -cp ... io.twinhub.ops.bench.BareHttpServer DATA_DIR PORT BODY_BYTES [CASSANDRA_HOST:PORT]</pre>
 * DATA_DIR must hold {@code tls/ca.pem} and {@code tls/ca.key} (copied from the node).
 */
public final class BareHttpServer {

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int port = Integer.parseInt(args[1]);
    byte[] body = document(Integer.parseInt(args[2]));
    Config node = ConfigFactory.load();
    // Akka's reference settings, not the node's cluster config: this JVM serves HTTP only.
    Config config = ConfigFactory.parseString("akka.actor.provider = local\nakka.loglevel = WARNING")
        .withFallback(node.getConfig("akka.http").atPath("akka.http"))
        .withFallback(ConfigFactory.defaultReference());
    ActorSystem system = ActorSystem.create("bare-http", config);
    TlsMaterial tls = TlsMaterial.loadOrCreate(dir, List.of("127.0.0.1"), Clock.systemUTC());
    ServerSettings settings = ServerSettings.create(system)
        .withMaxConnections(node.getInt("twinhub.api.max-connections"))
        .withPipeliningLimit(1);
    ResponseEntity entity = HttpEntities.create(ContentTypes.APPLICATION_JSON, body);
    HttpResponse response = HttpResponse.create().withEntity(entity);
    var server = Http.get(system).newServerAt("127.0.0.1", port)
        .enableHttps(ConnectionContext.httpsServer(tls.serverSslContext()))
        .withSettings(settings);
    ServerBinding binding;
    if (args.length > 3) {
      CassandraBaseline store = new CassandraBaseline(address(args[3]));
      var insert = store.insertStatement();
      AtomicLong seq = new AtomicLong();
      akka.japi.function.Function<HttpRequest, CompletionStage<HttpResponse>> handler = request ->
          request.entity().toStrict(5_000, system)
              .thenCompose(strict -> store.insert(insert, request.getUri().path(), seq.incrementAndGet(),
                  strict.getData().toArray()))
              .thenApply(done -> response);
      binding = server.bind(handler)
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
    } else {
      binding = server.bindSync(request -> {
            request.discardEntityBytes(system);
            return response;
          })
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    System.out.println("bare http ready on " + binding.localAddress() + ", " + body.length + " byte document"
        + (args.length > 3 ? ", storing each body in Cassandra" : ""));
    Runtime.getRuntime().addShutdownHook(new Thread(system::terminate));
  }

  static InetSocketAddress address(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
  }

  /** A JSON object of exactly {@code bytes} bytes (at least 12). */
  static byte[] document(int bytes) {
    String head = "{\"pad\":\"";
    String tail = "\"}";
    int pad = Math.max(0, bytes - head.length() - tail.length());
    char[] p = new char[pad];
    Arrays.fill(p, 'x');
    return (head + new String(p) + tail).getBytes(StandardCharsets.UTF_8);
  }
}
