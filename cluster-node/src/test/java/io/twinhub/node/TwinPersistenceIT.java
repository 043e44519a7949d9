package io.twinhub.node;

import io.twinhub.mqtt.tls.TlsMaterial;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.Twin;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.error.IotHubErrorCode;
import io.twinhub.twin.service.TwinService;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Twins on the real embedded Cassandra survive an ActorSystem restart exactly: versions,
 * metadata, etags, identities. Also: a deleted device takes its modules with it. One node for
 * the class: the restart test stops it and leaves the restarted one running for the other test
 * (a node start and stop less).
 */
class TwinPersistenceIT {
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  static Path dataDir;
  static TwinhubNode node;

  @BeforeAll
  static void start() throws Exception {
    node = TestNodes.start(dataDir);
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) node.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  record TwinKey(String deviceId, String moduleId) {}

  @Test
  void thousandMixedCommandsSurviveARestartExactly() throws Exception {
    String run = UUID.randomUUID().toString().substring(0, 8);
    Random random = new Random(42);
    Map<TwinKey, Twin> expected = new LinkedHashMap<>();
    List<TwinKey> keys = new ArrayList<>();

    try {
      TwinService twins = node.twins();
      for (int d = 0; d < 35; d++) keys.add(new TwinKey("dev-" + run + "-" + d, null));
      for (int m = 0; m < 15; m++) keys.add(new TwinKey("dev-" + run + "-" + (m % 5), "mod" + m));
      for (TwinKey k : keys) {
        TwinReply r = k.moduleId() == null ? await(twins.createDevice(k.deviceId(), spec()))
            : await(twins.createModule(k.deviceId(), k.moduleId(), spec()));
        assertInstanceOf(TwinReply.Accepted.class, r, () -> "create " + k + ": " + r);
      }
      int accepted = 0;
      int rejected = 0;
      for (int i = 0; i < 1000 - keys.size(); i++) {
        TwinKey k = keys.get(random.nextInt(keys.size()));
        TwinReply r = await(randomCommand(twins, k, random, i));
        if (r instanceof TwinReply.Accepted) accepted++;
        else rejected++;
      }
      assertTrue(accepted > 700, "most commands are accepted: " + accepted);
      assertTrue(rejected > 10, "stale etags are rejected: " + rejected);
      for (TwinKey k : keys) expected.put(k, twin(await(twins.getTwin(k.deviceId(), k.moduleId()))));

      // A REST request without credentials: 401, counted as a 4xx.
      var https = java.net.http.HttpClient.newBuilder()
          .sslContext(io.twinhub.mqtt.tls.TlsMaterial.clientSslContext(node.api().tls().caPemPath())).build();
      assertEquals(401, https.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
              "https://127.0.0.1:" + node.api().httpsPort() + "/twins/nobody?api-version=2021-04-12")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode());
      // The round trips are visible to Prometheus on the management port. The driver's session
      // metrics are bridged once the node is ready and sampled periodically, so their first non-zero
      // count may take a moment on a loaded machine: read until it is there (or the deadline).
      String metrics = "";
      // Nodes started earlier in this JVM must not hold the meters: their driver metrics are gone
      // once collected (the count read NaN and this check failed now and then).
      System.gc();
      long deadline = System.nanoTime() + java.time.Duration.ofSeconds(60).toNanos();
      do {
        if (!metrics.isEmpty()) Thread.sleep(500);
        metrics = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + node.settings().managementPort() + "/metrics")).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString()).body();
      } while (!metrics.matches("(?s).*twinhub_cassandra_requests_total\\{[^}]*} [1-9].*") && System.nanoTime() < deadline);
      assertTrue(metrics.contains("twinhub_twin_requests_seconds_count{")
          && metrics.contains("operation=\"updateTwin\"") && metrics.contains("outcome=\"PreconditionFailed\""),
          "twin request metrics exported");
      assertTrue(metrics.contains("jvm_memory_used_bytes"), "JVM metrics exported");
      assertTrue(metrics.contains("twinhub_sharding_entities"), "sharding gauges exported");
      assertTrue(metrics.contains("twinhub_http_requests_seconds_count{") && metrics.contains("status=\"4xx\""),
          "REST request metrics exported");
      assertTrue(metrics.matches("(?s).*twinhub_cassandra_requests_total\\{[^}]*} [1-9].*"),
          "journal session's CQL request count exported");
      assertTrue(metrics.contains("twinhub_cassandra_request_latency_seconds{"), "CQL latency exported");
      assertTrue(metrics.contains("twinhub_mqtt_sessions{"), "MQTT session gauge exported");
    } finally {
      TwinhubNode stopping = node;
      node = null;
      stopping.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
    // Its gauges leave the JVM-wide registries with it: the node started next registers its own
    // (a name already there would be ignored, and /metrics would read the stopped node).
    for (String name : List.of("twinhub.mqtt.sessions", "twinhub.mqtt.connections.accepted", "twinhub.amqp.connections")) {
      assertTrue(io.micrometer.core.instrument.Metrics.globalRegistry.find(name).meters().isEmpty(), name + " removed at the stop");
    }
    for (String name : List.of("twinhub.sharding.entities", "twinhub.sharding.shards")) {
      assertTrue(io.twinhub.node.metrics.NodeMetrics.registry().find(name).meters().isEmpty(), name + " removed at the stop");
    }

    node = TestNodes.start(dataDir); // stopped by stop(), after the other test may have used it
    for (TwinKey k : keys) {
      Twin after = twin(await(node.twins().getTwin(k.deviceId(), k.moduleId())));
      assertEquals(expected.get(k), after, "twin " + k + " after restart");
      assertEquals(TwinJson.toText(TwinJson.serviceView(expected.get(k))), TwinJson.toText(TwinJson.serviceView(after)));
    }
  }

  @Test
  void deletingADeviceDeletesItsModules() throws Exception {
    String dev = "cascade-" + UUID.randomUUID().toString().substring(0, 8);
    if (node == null) node = TestNodes.start(dataDir); // the restart test failed between its stop and start
    TwinService twins = node.twins();
    assertInstanceOf(TwinReply.Accepted.class, await(twins.createDevice(dev, spec())));
    for (String m : List.of("a", "b", "c")) {
      assertInstanceOf(TwinReply.Accepted.class, await(twins.createModule(dev, m, spec())));
    }
    TwinReply deleted = await(twins.deleteDevice(dev, "*"));
    assertEquals(List.of("a", "b", "c"), ((TwinReply.Accepted) deleted).moduleIds());
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    for (String m : List.of("a", "b", "c")) {
      TwinReply r;
      do {
        r = await(twins.getTwin(dev, m));
        if (r instanceof TwinReply.Accepted) Thread.sleep(100);
      } while (r instanceof TwinReply.Accepted && System.nanoTime() < deadline);
      assertEquals(IotHubErrorCode.ModuleNotFound, ((TwinReply.Rejected) r).error().code(), "module " + m);
    }
    assertEquals(IotHubErrorCode.DeviceNotFound,
        ((TwinReply.Rejected) await(twins.createModule(dev, "d", spec()))).error().code());
  }

  private static java.util.concurrent.CompletionStage<TwinReply> randomCommand(TwinService twins, TwinKey k, Random random, int i)
      throws Exception {
    String d = k.deviceId();
    String m = k.moduleId();
    return switch (random.nextInt(7)) {
      case 0 -> twins.updateTwin(d, m, new TwinUpdate.PatchDesired(doc("{\"cfg\":{\"n\":" + i + ",\"on\":" + (i % 2 == 0) + "}}")), null);
      case 1 -> twins.updateTwin(d, m, new TwinUpdate.PatchReported(doc("{\"temp\":" + (i * 0.5) + ",\"drop\":null}")), null);
      case 2 -> twins.updateTwin(d, m, new TwinUpdate.PatchTags(doc("{\"site\":\"s" + (i % 7) + "\"}")), null);
      case 3 -> twins.updateTwin(d, m, new TwinUpdate.ReplaceTwin(doc("{\"t\":" + i + "}"), doc("{\"r\":\"x" + i + "\"}")), null);
      case 4 -> {
        // Conditional write with the current etag: accepted; with a stale one: rejected.
        Twin current = twin(await(twins.getTwin(d, m)));
        String etag = random.nextBoolean() ? current.etag() : "AAAAAAAAAAE=";
        yield twins.updateTwin(d, m, new TwinUpdate.UpdateTwin(doc("{\"c\":" + i + "}"), doc("{\"c\":" + i + "}")), etag);
      }
      case 5 -> twins.setConnectionState(d, m, i % 2 == 0 ? ConnectionState.CONNECTED : ConnectionState.DISCONNECTED);
      default -> twins.updateTwin(d, m, new TwinUpdate.PatchReported(doc("{\"bad key\":1}")), null);
    };
  }

  static IdentitySpec spec() {
    return new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(null, null), false);
  }

  static JsonDoc doc(String json) throws Exception {
    return JsonDoc.of((ObjectNode) JSON.readTree(json));
  }

  static Twin twin(TwinReply r) {
    return assertInstanceOf(TwinReply.Accepted.class, r, () -> "rejected: " + r).twin();
  }

  static TwinReply await(java.util.concurrent.CompletionStage<TwinReply> f) throws Exception {
    return f.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
