package io.twinhub.node.api;

import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.headers.RawHeader;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.node.security.SharedAccessPolicies;
import io.twinhub.query.QueryEngine;
import io.twinhub.query.QueryResult;
import io.twinhub.query.QuerySettings;
import io.twinhub.query.http.QueryRoute;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.query.index.TwinKey;
import io.twinhub.twin.auth.SasToken;
import io.twinhub.twin.auth.SasVerifier;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.Twin;
import io.twinhub.twin.domain.TwinJson;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which query requests the query path takes (everything else goes through the route tree), and
 * that what it answers is the query's page from a real index, as the route renders it.
 */
class QueryPathTest {
  static final String HOST = "hub.example.com";
  static final String VERSION = "2021-04-12";
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path dataDir;

  SharedAccessPolicies policies;
  TwinIndex index;
  QueryEngine engine;
  ExecutorService threads;
  QueryPath path;

  @BeforeEach
  void setUp() throws Exception {
    policies = SharedAccessPolicies.loadOrCreate(dataDir);
    Clock clock = Clock.systemUTC();
    ServiceAuth auth = new ServiceAuth(new SasVerifier(List.of(HOST), clock), policies, clock, 16);
    index = TwinIndex.inMemory();
    IdentitySpec spec = new IdentitySpec(DeviceStatus.ENABLED, null,
        Authentication.sas("a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U="), false);
    for (int i = 0; i < 30; i++) {
      String id = String.format("t-%02d", i);
      Twin twin = Twin.created(Identity.create(id, null, spec, "g").optionalValue().orElseThrow(), Instant.parse("2026-11-01T00:00:00Z"));
      var view = TwinJson.serviceView(twin);
      ((com.fasterxml.jackson.databind.node.ObjectNode) view.get("tags")).put("n", i);
      index.put(TwinKey.device(id), view, i + 1, null);
    }
    index.refresh();
    threads = Executors.newFixedThreadPool(2);
    engine = new QueryEngine(index, QuerySettings.DEFAULT, threads);
    path = new QueryPath(QueryRoute.answer(engine), auth, Set.of(VERSION), r -> HttpResponse.create().withStatus(503));
  }

  @AfterEach
  void tearDown() {
    engine.close();
    threads.shutdownNow();
    index.close();
  }

  String token(String policy) {
    return SasToken.signForService(HOST, policy, policies.get(policy).keys().primaryKey(), Instant.now().getEpochSecond() + 3600);
  }

  static HttpRequest query(String uri, String sql, HttpHeader... headers) {
    String body = JSON.createObjectNode().put("query", sql).toString();
    return HttpRequest.POST(uri).withEntity(ContentTypes.APPLICATION_JSON, body.getBytes(StandardCharsets.UTF_8))
        .addHeaders(List.of(headers));
  }

  static HttpHeader auth(String token) {
    return RawHeader.create("Authorization", token);
  }

  static HttpResponse await(CompletionStage<HttpResponse> answer) throws Exception {
    return answer.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  static String body(HttpResponse r) throws Exception {
    return ((akka.http.javadsl.model.HttpEntity.Strict) r.entity()).getData().utf8String();
  }

  @Test
  void answersAPlainQueryWithThePageTheEngineGives() throws Exception {
    String sql = "SELECT deviceId, tags.n FROM devices WHERE tags.n >= 10";
    Optional<CompletionStage<HttpResponse>> taken = path.serve(query("/devices/query?api-version=" + VERSION, sql,
        auth(token(SharedAccessPolicies.SERVICE)), RawHeader.create(QueryRoute.MAX_ITEM_COUNT, "7")));
    assertTrue(taken.isPresent());
    HttpResponse r = await(taken.get());
    assertEquals(200, r.status().intValue());
    QueryResult page = engine.query(sql, 7, null);
    assertEquals(JSON.readTree(page.body()), JSON.readTree(body(r)));
    assertEquals(7, JSON.readTree(body(r)).size());
    assertEquals("raw", r.getHeader(QueryRoute.ITEM_TYPE).orElseThrow().value());
    // The continuation leads on like the route's: the next page from it, then no more.
    String next = r.getHeader(QueryRoute.CONTINUATION).orElseThrow().value();
    HttpResponse second = await(path.serve(query("/devices/query?api-version=" + VERSION, sql,
        auth(token(SharedAccessPolicies.SERVICE)), RawHeader.create(QueryRoute.MAX_ITEM_COUNT, "100"),
        RawHeader.create(QueryRoute.CONTINUATION, next))).orElseThrow());
    JsonNode rest = JSON.readTree(body(second));
    assertEquals(13, rest.size());
    assertEquals("t-29", rest.get(12).path("deviceId").asText());
    assertTrue(second.getHeader(QueryRoute.CONTINUATION).isEmpty());
  }

  @Test
  void aRegistryReadTokenIsEnoughAsOnTheRoute() throws Exception {
    HttpResponse r = await(path.serve(query("/devices/query?api-version=" + VERSION, "SELECT COUNT() AS n FROM devices",
        auth(token(SharedAccessPolicies.REGISTRY_READ)))).orElseThrow());
    assertEquals(200, r.status().intValue());
    assertEquals(30, JSON.readTree(body(r)).get(0).path("n").asInt());
  }

  @Test
  void errorsOfTheQueryAreTheRoutesAnswers() throws Exception {
    HttpResponse r = await(path.serve(query("/devices/query?api-version=" + VERSION, "SELECT FROM WHERE",
        auth(token(SharedAccessPolicies.SERVICE)))).orElseThrow());
    assertEquals(400, r.status().intValue());
    assertEquals("ArgumentInvalid", r.getHeader("iothub-errorcode").orElseThrow().value());
  }

  @Test
  void leavesEveryOtherRequestToTheRouteTree() {
    String sql = "SELECT * FROM devices";
    HttpHeader service = auth(token(SharedAccessPolicies.SERVICE));
    String uri = "/devices/query?api-version=" + VERSION;
    // another method, path or query string
    assertTrue(path.serve(HttpRequest.GET(uri).addHeader(service)).isEmpty());
    assertTrue(path.serve(query("/devices/query/?api-version=" + VERSION, sql, service)).isEmpty());
    assertTrue(path.serve(query("/devices/queryx?api-version=" + VERSION, sql, service)).isEmpty());
    assertTrue(path.serve(query("/devices/d1?api-version=" + VERSION, sql, service)).isEmpty());
    assertTrue(path.serve(query("/devices/query", sql, service)).isEmpty());
    assertTrue(path.serve(query("/devices/query?api-version=1999-01-01", sql, service)).isEmpty());
    assertTrue(path.serve(query(uri + "&top=1", sql, service)).isEmpty());
    // the route's refusals: no token, a token without either right, a method override
    assertTrue(path.serve(query(uri, sql)).isEmpty());
    assertTrue(path.serve(query(uri, sql, auth("SharedAccessSignature sr=x&sig=y&se=1&skn=service"))).isEmpty());
    assertTrue(path.serve(query(uri, sql, auth(token(SharedAccessPolicies.DEVICE)))).isEmpty());
    assertTrue(path.serve(query(uri, sql, service, RawHeader.create("x-http-method-override", "GET"))).isEmpty());
    // a body still streaming, or larger than the route reads
    ByteString json = ByteString.fromString("{\"query\":\"" + sql + "\"}");
    assertTrue(path.serve(HttpRequest.POST(uri).addHeader(service)
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, json.size(), Source.single(json)))).isEmpty());
    String large = "{\"query\":\"" + sql + "\",\"pad\":\"" + "x".repeat((int) QueryRoute.MAX_BODY_BYTES) + "\"}";
    assertTrue(path.serve(HttpRequest.POST(uri).addHeader(service)
        .withEntity(ContentTypes.APPLICATION_JSON, large.getBytes(StandardCharsets.UTF_8))).isEmpty());
  }
}
