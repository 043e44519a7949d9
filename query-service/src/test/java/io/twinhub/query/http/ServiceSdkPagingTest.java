package io.twinhub.query.http;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.http.javadsl.ConnectionContext;
import akka.http.javadsl.Http;
import akka.http.javadsl.ServerBinding;
import akka.http.javadsl.server.Directives;
import akka.http.javadsl.server.Route;
import com.azure.core.credential.AzureSasCredential;
import com.microsoft.azure.sdk.iot.service.exceptions.IotHubBadFormatException;
import com.microsoft.azure.sdk.iot.service.query.QueryClient;
import com.microsoft.azure.sdk.iot.service.query.QueryPageOptions;
import com.microsoft.azure.sdk.iot.service.query.RawQueryResponse;
import com.microsoft.azure.sdk.iot.service.query.TwinQueryResponse;
import com.microsoft.azure.sdk.iot.service.twin.Twin;
import io.twinhub.query.QueryEngine;
import io.twinhub.query.QuerySettings;
import io.twinhub.query.index.TwinIndex;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The official Java service SDK's QueryClient (2.1.9), unchanged, against the query route over
 * HTTPS: 1,000 twins in pages of 100 (exactly 10 requests), a raw aggregate, and a syntax
 * error surfacing as the SDK's own exception. Authentication is the REST layer's; here a
 * directive that only insists on a SharedAccessSignature stands in for it.
 */
class ServiceSdkPagingTest {
  static ActorTestKit kit;
  static TwinIndex index;
  static QueryEngine engine;
  static ServerBinding binding;
  static final AtomicInteger requests = new AtomicInteger();

  @TempDir
  static Path tls;

  @BeforeAll
  static void start() throws Exception {
    SSLContext ssl = selfSignedLocalhost(tls);
    HttpsURLConnection.setDefaultSSLSocketFactory(ssl.getSocketFactory()); // the SDK uses the JVM default
    kit = ActorTestKit.create();
    index = QueryRouteTest.twins(1000);
    engine = new QueryEngine(index, QuerySettings.DEFAULT, Executors.newFixedThreadPool(2));
    Function<Supplier<Route>, Route> authorized = inner -> Directives.headerValueByName("Authorization", auth -> {
      assertTrue(auth.startsWith("SharedAccessSignature sr="), auth);
      requests.incrementAndGet();
      return inner.get();
    });
    binding = Http.get(kit.system()).newServerAt("127.0.0.1", 0).enableHttps(ConnectionContext.httpsServer(ssl))
        .bind(QueryRoute.route(engine, authorized)).toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() {
    binding.unbind();
    engine.close();
    index.close();
    kit.shutdownTestKit();
  }

  /**
   * The SDK's connection-string parser refuses a host with a port; its host + credential
   * constructor takes "localhost:port" verbatim.
   */
  static QueryClient client() {
    String host = "localhost:" + binding.localAddress().getPort();
    return new QueryClient(host, new AzureSasCredential("SharedAccessSignature sr=" + host + "&sig=c2ln&se=4102444800&skn=service"));
  }

  @Test
  void queryClientPagesThroughAThousandTwins() throws Exception {
    requests.set(0);
    TwinQueryResponse r = client().queryTwins("SELECT * FROM devices", QueryPageOptions.builder().pageSize(100).build());
    List<String> ids = new ArrayList<>();
    while (r.hasNext()) {
      Twin t = r.next(QueryPageOptions.builder().pageSize(100).build());
      ids.add(t.getDeviceId());
      assertEquals(1, t.getVersion());
    }
    assertEquals(1000, ids.size());
    assertEquals(1000, ids.stream().distinct().count());
    assertEquals(ids.stream().sorted().toList(), ids);
    assertEquals(10, requests.get(), "ten pages, no empty eleventh");
  }

  @Test
  void rawQueriesAndErrors() throws Exception {
    RawQueryResponse raw = client().queryRaw("SELECT COUNT() AS n FROM devices WHERE tags.n < 10");
    assertTrue(raw.hasNext());
    assertEquals("{\"n\":10}", raw.next());
    assertFalse(raw.hasNext());
    IotHubBadFormatException e = assertThrows(IotHubBadFormatException.class,
        () -> client().queryTwins("SELECT * FROM devices WHERE tags.n = = 1"));
    assertTrue(e.getMessage().contains("line 1, column 38"), e.getMessage());
  }

  /** A PKCS12 key store with a self-signed certificate for localhost/127.0.0.1, made with the JDK's keytool. */
  static SSLContext selfSignedLocalhost(Path dir) throws Exception {
    Path store = dir.resolve("tls.p12");
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
        "-genkeypair", "-alias", "hub", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
        "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "2", "-keystore", store.toString(),
        "-storetype", "PKCS12", "-storepass", "changeit", "-keypass", "changeit")
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), out);
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(store)) {
      ks.load(in, "changeit".toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, "changeit".toCharArray());
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return ctx;
  }
}
