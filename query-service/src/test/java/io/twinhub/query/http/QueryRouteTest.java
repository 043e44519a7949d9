package io.twinhub.query.http;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.http.javadsl.Http;
import akka.http.javadsl.ServerBinding;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.Directives;
import akka.http.javadsl.server.Route;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.query.QueryEngine;
import io.twinhub.query.QuerySettings;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.query.index.TwinKey;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.Twin;
import io.twinhub.twin.domain.TwinJson;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;

/** POST /devices/query over a real HTTP server: headers, paging, errors as IoT Hub renders them. */
class QueryRouteTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static ActorTestKit kit;
  static TwinIndex index;
  static QueryEngine engine;
  static ServerBinding binding;
  static String base;
  static final HttpClient http = HttpClient.newHttpClient();

  /** Twins t-0000 .. t-(n-1), each with tags.n = i. */
  static TwinIndex twins(int n) {
    TwinIndex index = TwinIndex.inMemory();
    IdentitySpec spec = new IdentitySpec(DeviceStatus.ENABLED, null,
        Authentication.sas("a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U="), false);
    for (int i = 0; i < n; i++) {
      String id = String.format("t-%04d", i);
      Identity identity = Identity.create(id, null, spec, "g").optionalValue().orElseThrow();
      Twin twin = Twin.created(identity, Instant.parse("2026-11-01T00:00:00Z"));
      var view = TwinJson.serviceView(twin);
      ((com.fasterxml.jackson.databind.node.ObjectNode) view.get("tags")).put("n", i);
      index.put(TwinKey.device(id), view, i + 1, null);
    }
    index.refresh();
    return index;
  }

  @BeforeAll
  static void start() throws Exception {
    kit = ActorTestKit.create();
    index = twins(250);
    engine = new QueryEngine(index, QuerySettings.DEFAULT, Executors.newFixedThreadPool(2));
    // The REST layer's SAS directive stands here: requests without Authorization get 401.
    Function<Supplier<Route>, Route> authorized = inner -> Directives.optionalHeaderValueByName("Authorization",
        auth -> auth.isPresent() ? inner.get() : Directives.complete(StatusCodes.UNAUTHORIZED));
    binding = Http.get(kit.system()).newServerAt("127.0.0.1", 0).bind(QueryRoute.route(engine, authorized))
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    base = "http://127.0.0.1:" + binding.localAddress().getPort();
  }

  @AfterAll
  static void stop() {
    binding.unbind();
    engine.close();
    index.close();
    kit.shutdownTestKit();
  }

  static HttpResponse<String> post(String body, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/devices/query?api-version=2021-04-12"))
        .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json; charset=utf-8")
        .header("Authorization", "SharedAccessSignature sr=x&sig=y&se=1&skn=service");
    for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static String query(String sql) throws Exception {
    return JSON.writeValueAsString(JSON.createObjectNode().put("query", sql));
  }

  @Test
  void pagesWithContinuationHeaders() throws Exception {
    List<String> ids = new ArrayList<>();
    String token = null;
    int requests = 0;
    do {
      HttpResponse<String> r = token == null ? post(query("SELECT * FROM devices"), "x-ms-max-item-count", "100")
          : post(query("SELECT * FROM devices"), "x-ms-max-item-count", "100", "x-ms-continuation", token);
      requests++;
      assertEquals(200, r.statusCode(), r.body());
      assertEquals("twin", r.headers().firstValue("x-ms-item-type").orElseThrow());
      assertTrue(r.headers().firstValue("content-type").orElseThrow().startsWith("application/json"));
      JSON.readTree(r.body()).forEach(t -> ids.add(t.get("deviceId").asText()));
      token = r.headers().firstValue("x-ms-continuation").orElse(null);
      if (token != null) assertFalse(token.isEmpty());
    } while (token != null);
    assertEquals(3, requests);
    assertEquals(250, ids.size());
    assertEquals("t-0000", ids.get(0));
    assertEquals("t-0249", ids.get(249));
  }

  @Test
  void defaultPageSizeIs100() throws Exception {
    HttpResponse<String> r = post(query("SELECT deviceId FROM devices"));
    assertEquals(100, JSON.readTree(r.body()).size());
    assertEquals("raw", r.headers().firstValue("x-ms-item-type").orElseThrow());
    assertTrue(r.headers().firstValue("x-ms-continuation").isPresent());
  }

  @Test
  void lastPageHasNoContinuation() throws Exception {
    HttpResponse<String> r = post(query("SELECT COUNT() AS n FROM devices WHERE tags.n >= 200"));
    assertEquals("[{\"n\":50}]", r.body());
    assertTrue(r.headers().firstValue("x-ms-continuation").isEmpty());
  }

  @Test
  void syntaxErrorIs400WithPositionInIotHubsErrorShape() throws Exception {
    HttpResponse<String> r = post(query("SELECT * FROM devices WHERE tags.n = = 1"));
    assertEquals(400, r.statusCode());
    assertEquals("ArgumentInvalid", r.headers().firstValue("iothub-errorcode").orElseThrow());
    JsonNode inner = io.twinhub.twin.error.IotHubError.parseBody(r.body()).orElseThrow();
    assertEquals(400004, inner.get("errorCode").asInt());
    assertEquals("line 1, column 38: unexpected '='", inner.get("message").asText());
  }

  @Test
  void badBodiesAndHeadersAre400() throws Exception {
    assertEquals(400, post("not json").statusCode());
    assertEquals(400, post("{\"sql\": \"SELECT * FROM devices\"}").statusCode());
    assertEquals(400, post(query("SELECT * FROM devices"), "x-ms-max-item-count", "many").statusCode());
    HttpResponse<String> bad = post(query("SELECT * FROM devices"), "x-ms-continuation", "forged.token");
    assertEquals(400, bad.statusCode());
    assertTrue(bad.body().contains("continuation token"), bad.body());
    assertEquals(400, post(query("SELECT * FROM devices"), "x-twinhub-min-twin-version", "nonsense").statusCode());
  }

  @Test
  void readYourWritesTimeoutIs503() throws Exception {
    QueryEngine impatient = new QueryEngine(index, new QuerySettings(100, 1000, java.time.Duration.ofMillis(200), null, 10),
        Executors.newSingleThreadExecutor());
    ServerBinding b = Http.get(kit.system()).newServerAt("127.0.0.1", 0).bind(QueryRoute.route(impatient, Supplier::get))
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + b.localAddress().getPort()
            + "/devices/query")).POST(HttpRequest.BodyPublishers.ofString(query("SELECT * FROM devices")))
        .header("x-twinhub-min-twin-version", "5:t-0001").build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(503, r.statusCode());
    assertEquals("ServiceUnavailable", r.headers().firstValue("iothub-errorcode").orElseThrow());
    HttpResponse<String> ok = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + b.localAddress().getPort()
            + "/devices/query")).POST(HttpRequest.BodyPublishers.ofString(query("SELECT deviceId FROM devices WHERE tags.n = 1")))
        .header("x-twinhub-min-twin-version", "1:t-0001").build(), HttpResponse.BodyHandlers.ofString());
    assertEquals("[{\"deviceId\":\"t-0001\"}]", ok.body());
    b.unbind();
    impatient.close();
  }

  /**
   * The client here must drop an idle pooled connection before this server aborts it (its
   * idle-timeout): else a POST sent on it just as the server aborts it fails with "HTTP/1.1 header
   * parser received no bytes" (session 17: this class took 71 s on a loaded box). JDK 17's HttpClient
   * keeps idle connections 1200 s unless {@code jdk.httpclient.keepalive.timeout} says less (the
   * build sets 30 s for every test JVM); Akka HTTP's server aborts after 60 s.
   */
  @Test
  void theClientDropsIdleConnectionsBeforeTheServerAbortsThem() {
    long clientSeconds = Long.getLong("jdk.httpclient.keepalive.timeout", 1200);
    java.time.Duration server = kit.system().settings().config().getDuration("akka.http.server.idle-timeout");
    assertTrue(clientSeconds < server.toSeconds(), "client keeps idle connections " + clientSeconds + " s, the server "
        + server.toSeconds() + " s");
  }

  @Test
  void authorizationWrapsTheRoute() throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/devices/query"))
        .POST(HttpRequest.BodyPublishers.ofString(query("SELECT * FROM devices"))).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(401, r.statusCode());
  }
}
