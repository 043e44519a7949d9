package io.twinhub.ops.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.twinhub.mqtt.tls.TlsMaterial;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PlainHttpsClientTest {

  private static InputStream bytes(String s) {
    return new PlainHttpsClient.Buffered(new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8)), 7);
  }

  @Test
  void answerWithLengthKeepsTheConnectionAndLeavesTheNextAnswerUnread() throws IOException {
    InputStream in = bytes("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 7\r\n\r\n[{\"n\":1}HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    PlainHttpsClient.Response r = PlainHttpsClient.readResponse(in);
    assertEquals(200, r.status());
    assertEquals("[{\"n\":1", new String(r.body(), StandardCharsets.UTF_8));
    assertTrue(r.keepAlive());
    // the byte after the body starts the next answer
    assertEquals('}', in.read());
    PlainHttpsClient.Response next = PlainHttpsClient.readResponse(in);
    assertEquals(404, next.status());
    assertEquals(0, next.body().length);
  }

  @Test
  void chunkedAnswerIsJoinedWithExtensionsAndTrailers() throws IOException {
    PlainHttpsClient.Response r = PlainHttpsClient.readResponse(bytes(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\n[{\"a\r\nd\r\n\":1},{\"b\":2}]\r\n0\r\nX-Trailer: 1\r\n\r\n"));
    assertEquals("[{\"a\":1},{\"b\":2}]", new String(r.body(), StandardCharsets.UTF_8));
    assertTrue(r.keepAlive());
  }

  @Test
  void answerWithoutLengthIsReadToTheEndAndClosesTheConnection() throws IOException {
    PlainHttpsClient.Response r = PlainHttpsClient.readResponse(bytes("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\nbusy"));
    assertEquals(503, r.status());
    assertEquals("busy", new String(r.body(), StandardCharsets.UTF_8));
    assertFalse(r.keepAlive());
    assertFalse(PlainHttpsClient.readResponse(bytes("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")).keepAlive());
  }

  @Test
  void aConnectionClosedBeforeTheAnswerIsStaleAndACutAnswerIsNot() {
    assertThrows(PlainHttpsClient.StaleConnection.class, () -> PlainHttpsClient.readResponse(bytes("")));
    IOException cut = assertThrows(IOException.class, () -> PlainHttpsClient.readResponse(bytes("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc")));
    assertFalse(cut instanceof PlainHttpsClient.StaleConnection);
  }

  @Test
  void requestHasTheLineTheFixedHeadersAndTheBodyWithItsLength() {
    byte[] fixed = "Host: 127.0.0.1:8443\r\nAuthorization: SAS\r\n".getBytes(StandardCharsets.ISO_8859_1);
    assertEquals("POST /devices/query?api-version=2021-04-12 HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nAuthorization: SAS\r\n"
            + "Content-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"q\":\"é\"}",
        new String(PlainHttpsClient.request("POST", "/devices/query?api-version=2021-04-12", fixed, "{\"q\":\"é\"}"), StandardCharsets.UTF_8));
    assertEquals("GET /twins/a HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nAuthorization: SAS\r\n\r\n",
        new String(PlainHttpsClient.request("GET", "/twins/a", fixed, null), StandardCharsets.ISO_8859_1));
  }

  @Test
  void httpClientOptionIsAkkaUnlessPlainIsNamed() {
    assertEquals(RestClient.Kind.AKKA, RestClient.Kind.parse(null));
    assertEquals(RestClient.Kind.AKKA, RestClient.Kind.parse("akka"));
    assertEquals(RestClient.Kind.PLAIN, RestClient.Kind.parse("PLAIN"));
    assertThrows(IllegalArgumentException.class, () -> RestClient.Kind.parse("netty"));
  }

  @Test
  void queryBodiesAreTheJsonOfTheQueries() throws Exception {
    ObjectMapper json = new ObjectMapper();
    for (int q = 0; q < RestWorkloads.QUERIES.size(); q++) {
      String text = String.format(Locale.ROOT, RestWorkloads.QUERIES.get(q), RestWorkloads.id(4711));
      assertEquals(json.createObjectNode().put("query", text), json.readTree(RestWorkloads.queryBody(q, 4711)), "query " + q);
    }
  }

  /**
   * Against a real HTTPS server (the JDK's, with a certificate of the hub's CA for 127.0.0.1):
   * the SAS header is sent, connections are kept alive and reused, and a chunked answer is read.
   */
  @Test
  void keepAliveHttpsRequestsCarryTheAuthorizationAndReuseConnections(@TempDir Path dir) throws Exception {
    TlsMaterial tls = TlsMaterial.loadOrCreate(dir, List.of("127.0.0.1", "localhost"), Clock.systemUTC());
    HttpsServer server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(tls.serverSslContext()));
    List<String> seen = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger connections = new AtomicInteger();
    java.util.Set<Object> peers = java.util.concurrent.ConcurrentHashMap.newKeySet();
    server.createContext("/", ex -> {
      if (peers.add(ex.getRemoteAddress())) connections.incrementAndGet();
      byte[] body = ex.getRequestBody().readAllBytes();
      seen.add(ex.getRequestMethod() + " " + ex.getRequestURI() + " " + ex.getRequestHeaders().getFirst("Authorization")
          + " " + new String(body, StandardCharsets.UTF_8));
      byte[] answer = ("{\"echo\":" + body.length + "}").getBytes(StandardCharsets.UTF_8);
      boolean chunked = ex.getRequestURI().getPath().endsWith("chunked");
      ex.sendResponseHeaders(chunked ? 201 : 200, chunked ? 0 : answer.length);
      ex.getResponseBody().write(answer);
      ex.close();
    });
    server.start();
    URI url = URI.create("https://127.0.0.1:" + server.getAddress().getPort());
    try (PlainHttpsClient client = new PlainHttpsClient(List.of(url), TlsMaterial.clientSslContext(tls.caPemPath()), "SharedAccessSignature sr=x", 2)) {
      for (int i = 0; i < 10; i++) {
        RestClient.Answer a = client.send(0, "POST", "/devices/query?n=" + i, "{\"q\":" + i + "}").toCompletableFuture().get(20, TimeUnit.SECONDS);
        assertEquals(200, a.status());
        assertEquals("{\"echo\":7}", a.text());
      }
      RestClient.Answer c = client.send(0, "GET", "/chunked", null).toCompletableFuture().get(20, TimeUnit.SECONDS);
      assertEquals(201, c.status());
      assertEquals("{\"echo\":0}", c.text());
    } finally {
      server.stop(0);
    }
    assertEquals("POST /devices/query?n=3 SharedAccessSignature sr=x {\"q\":3}", seen.get(3));
    assertEquals("GET /chunked SharedAccessSignature sr=x ", seen.get(10));
    assertEquals(1, connections.get(), "one request at a time: one keep-alive connection");
  }
}
