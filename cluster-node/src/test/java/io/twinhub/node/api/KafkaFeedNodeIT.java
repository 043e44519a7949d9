package io.twinhub.node.api;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A node started with an embedded Kafka broker publishes its change feed there (the cluster
 * singleton publisher): a twin change made through the REST API reaches a read_committed consumer
 * of {@code twinhub.twinChangeEvents}, keyed by device id; the changes a named route's condition
 * matches (and only those) reach the route's topic {@code twinhub.route.eco}; the publisher's lag
 * is on /metrics and in {@code ./twinhub kafka status}.
 */
class KafkaFeedNodeIT {

  @TempDir
  static Path dataDir;

  @Test
  void aNodeWithKafkaPublishesItsTwinChanges() throws Exception {
    int port = ApiTestNode.freePort();
    try (ApiTestNode hub = ApiTestNode.start(dataDir, Map.of("twinhub.kafka.bootstrap-servers", "embedded",
        "twinhub.kafka.embedded.port", port, "twinhub.kafka.embedded.controller-port", ApiTestNode.freePort(),
        "twinhub.routes", List.of(Map.of("name", "eco", "source", "twinChangeEvents", "condition", "properties.desired.mode = 'eco'")),
        "twinhub.kafka.topics", List.of("sources", "routes")))) {
      assertEquals(200, hub.client.put("/devices/kafka-1", "{\"deviceId\":\"kafka-1\"}").status());
      var patched = hub.client.patch("/twins/kafka-1", "{\"properties\":{\"desired\":{\"temp\":21}}}", null);
      assertEquals(200, patched.status(), patched::toString);
      // Versions 3 and 5 match the route, 4 does not.
      for (String mode : List.of("eco", "boost", "eco")) {
        var r = hub.client.patch("/twins/kafka-1", "{\"properties\":{\"desired\":{\"mode\":\"" + mode + "\"}}}", null);
        assertEquals(200, r.status(), r::toString);
      }

      boolean found = false;
      List<Long> routed = new java.util.ArrayList<>();
      try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
          ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + port,
          ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
          ConsumerConfig.GROUP_ID_CONFIG, "kafka-node-it",
          ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(), new StringDeserializer())) {
        consumer.subscribe(List.of("twinhub.twinChangeEvents", "twinhub.route.eco"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!(found && routed.contains(5L)) && System.nanoTime() < deadline) {
          for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
            if (r.topic().equals("twinhub.route.eco")) {
              assertEquals("kafka-1", r.key(), "keyed by device id");
              assertEquals("updateTwin", new String(r.headers().lastHeader("opType").value(), StandardCharsets.UTF_8));
              assertEquals("twinChangeEvents", new String(r.headers().lastHeader("$iothub-message-source").value(), StandardCharsets.UTF_8));
              routed.add(ApiClient.JSON.readTree(r.value()).path("version").asLong());
            } else if ("kafka-1".equals(r.key()) && ApiClient.JSON.readTree(r.value()).path("version").asLong() == 2) {
              assertEquals(21, ApiClient.JSON.readTree(r.value()).path("properties").path("desired").path("temp").asInt());
              assertEquals("updateTwin", new String(r.headers().lastHeader("opType").value(), StandardCharsets.UTF_8));
              found = true;
            }
          }
        }
      }
      assertTrue(found, "the twin change reached Kafka");
      // One partition per device: a version 4 on the route's topic would have come before 5.
      assertEquals(List.of(3L, 5L), routed, "the route's topic holds the changes that match its condition");
      String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
          + hub.node.settings().managementPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(metrics.contains("twinhub_kafka_feed_lag_seconds"), "lag on /metrics");
      assertTrue(metrics.contains("twinhub_kafka_feed_published"), "count on /metrics");
      io.twinhub.node.cli.CliRun status = io.twinhub.node.cli.CliRun.of("kafka", "status", "--format", "json",
          "--management-url", "http://127.0.0.1:" + hub.node.settings().managementPort());
      assertEquals(0, status.exit(), status::toString);
      var json = ApiClient.JSON.readTree(status.out());
      assertTrue(json.path("publisherOnThisNode").asBoolean(), status::toString);
      assertTrue(json.path("published").asLong() >= 2, status::toString); // the creation and the patch at least
    }
  }
}
