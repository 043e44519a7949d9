package io.twinhub.node.query;

import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.azure.core.credential.AzureSasCredential;
import com.microsoft.azure.sdk.iot.service.exceptions.IotHubBadFormatException;
import com.microsoft.azure.sdk.iot.service.exceptions.IotHubUnauthorizedException;
import com.microsoft.azure.sdk.iot.service.query.QueryClient;
import com.microsoft.azure.sdk.iot.service.query.QueryPageOptions;
import com.microsoft.azure.sdk.iot.service.query.RawQueryResponse;
import com.microsoft.azure.sdk.iot.service.query.TwinQueryResponse;
import com.microsoft.azure.sdk.iot.service.twin.Twin;
import io.twinhub.node.TestNodes;
import io.twinhub.node.TwinhubNode;
import io.micrometer.core.instrument.Metrics;
import io.twinhub.node.security.SharedAccessPolicies;
import io.twinhub.mqtt.tls.TlsMaterial;
import io.twinhub.projections.index.QueryIndex;
import io.twinhub.twin.auth.SasToken;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.TwinReply;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLSocketFactory;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Acceptance: the official Java service SDK's QueryClient (iot-service-client 2.1.9, unchanged)
 * pages through 1,000 twins written through a real node, 100 per page, over HTTPS with the
 * node's TLS identity and SAS policies; the index behind it is the projection of the node's
 * journal. The SDK talks to the node's own API port (POST /devices/query behind the REST
 * layer's authorizer: ServiceConnect or RegistryRead).
 */
class QueryAcceptanceIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String RUN = UUID.randomUUID().toString().substring(0, 6);

  @TempDir
  static Path dataDir;

  static TwinhubNode node;
  static QueryIndex index;
  static String host;
  static SSLSocketFactory previousFactory;

  @BeforeAll
  static void start() throws Exception {
    Map<String, Object> o = new HashMap<>(TestNodes.ownKeyspace("query_it"));
    o.put("twinhub.query.read-your-writes-timeout", "60s");
    node = TwinhubNode.start(TestNodes.settings(dataDir, o));
    index = node.queryIndex().orElseThrow();
    host = node.settings().hostName() + ":" + node.api().httpsPort();
    previousFactory = HttpsURLConnection.getDefaultSSLSocketFactory();
    HttpsURLConnection.setDefaultSSLSocketFactory(
        TlsMaterial.clientSslContext(node.api().tls().caPemPath()).getSocketFactory());
  }

  @AfterAll
  static void stop() throws Exception {
    if (previousFactory != null) HttpsURLConnection.setDefaultSSLSocketFactory(previousFactory);
    if (node != null) node.stop().toCompletableFuture().get(90, TimeUnit.SECONDS);
  }

  /** Query pages the node has answered so far (its {@code twinhub.query.requests} timer). */
  static long queryPages() {
    return Metrics.globalRegistry.get("twinhub.query.requests").timer().count();
  }

  static QueryClient client(String policy) {
    String token = SasToken.signForService(host, policy, node.policies().get(policy).keys().primaryKey(),
        Instant.now().getEpochSecond() + 3600);
    return new QueryClient(host, new AzureSasCredential(token));
  }

  @Test
  void queryClientPagesThroughAThousandTwinsWrittenThroughTheNode() throws Exception {
    IdentitySpec spec = new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(null, null), false);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 1000; i++) ids.add(String.format("acc-%s-%04d", RUN, i));
    long created = Source.from(ids)
        .mapAsync(16, id -> node.twins().createDevice(id, spec)
            .thenCompose(r -> node.twins().updateTwin(id, null, new TwinUpdate.PatchTags(
                JsonDoc.of(JSON.createObjectNode().put("n", Integer.parseInt(id.substring(id.length() - 4))))), null)))
        .filter(r -> r instanceof TwinReply.Accepted)
        .runWith(Sink.fold(0L, (n, r) -> n + 1), node.system()).toCompletableFuture().get(600, TimeUnit.SECONDS);
    assertEquals(1000, created);
    // Read-your-writes: the first page waits until the index covers the last twin written.
    String last = ids.get(999);
    assertEquals(1, index.query("SELECT deviceId FROM devices WHERE deviceId = '" + last + "'", 10, null,
        Optional.of(io.twinhub.query.ReadYourWrites.of(io.twinhub.query.index.TwinKey.device(last), 2)))
        .toCompletableFuture().get(90, TimeUnit.SECONDS).items().size());
    // Each twin's two events (created, tags) reach the index through its own tag stream, so the
    // last twin's read-your-writes says nothing of the others: wait until every tags write is in.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (index.query("SELECT COUNT() AS n FROM devices WHERE STARTSWITH(deviceId, 'acc-" + RUN + "') AND IS_DEFINED(tags.n)", 1, null,
        Optional.empty()).toCompletableFuture().get().json().get(0).get("n").asInt() < 1000) {
      assertTrue(System.nanoTime() < deadline, "all 1,000 twins indexed in time: " + index.status().toJson());
      Thread.sleep(200);
    }

    long pagesBefore = queryPages();
    QueryPageOptions pages = QueryPageOptions.builder().pageSize(100).build();
    TwinQueryResponse r = client(SharedAccessPolicies.SERVICE)
        .queryTwins("SELECT * FROM devices WHERE STARTSWITH(deviceId, 'acc-" + RUN + "')", pages);
    List<String> seen = new ArrayList<>();
    while (r.hasNext()) {
      Twin t = r.next(pages);
      seen.add(t.getDeviceId());
      assertEquals(Integer.parseInt(t.getDeviceId().substring(t.getDeviceId().length() - 4)),
          ((Number) t.getTags().get("n")).intValue());
      assertEquals(2, t.getVersion());
    }
    assertEquals(ids, seen, "every twin once, in id order");
    assertEquals(10, queryPages() - pagesBefore, "ten pages of 100, no empty eleventh");
  }

  @Test
  void registryReadMayQueryOthersMayNot() throws Exception {
    RawQueryResponse raw = client(SharedAccessPolicies.REGISTRY_READ).queryRaw("SELECT COUNT() AS n FROM devices.modules");
    assertEquals("{\"n\":0}", raw.next());
    IotHubUnauthorizedException denied = assertThrows(IotHubUnauthorizedException.class,
        () -> client(SharedAccessPolicies.DEVICE).queryRaw("SELECT COUNT() AS n FROM devices"));
    assertEquals(401002, denied.getErrorCode());
    IotHubBadFormatException bad = assertThrows(IotHubBadFormatException.class,
        () -> client(SharedAccessPolicies.SERVICE).queryTwins("SELECT * FROM devices WHERE"));
    assertTrue(bad.getMessage().contains("line 1, column 28"), bad.getMessage());
  }
}
