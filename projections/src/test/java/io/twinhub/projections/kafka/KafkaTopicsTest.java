package io.twinhub.projections.kafka;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import io.twinhub.projections.streams.HubMessage;
import io.twinhub.projections.streams.HubMessages;
import io.twinhub.projections.streams.NamedRoute;
import io.twinhub.projections.streams.RouteConditions;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.TwinEvent;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class KafkaTopicsTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Instant T0 = Instant.parse("2026-11-24T10:00:00Z");
  static final List<NamedRoute> ROUTES = RouteConditions.fromConfig(ConfigFactory.parseString("""
      twinhub.routes = [
        { name = eco, source = twinChangeEvents, condition = "properties.desired.mode = 'eco'" },
        { name = pumps, source = twinChangeEvents, condition = "STARTSWITH(deviceId, 'pump-')" },
        { name = lifecycle, source = deviceLifecycleEvents }
      ]"""));

  static HubMessage desiredChange(String persistenceId, String patch) throws Exception {
    TwinUpdate u = new TwinUpdate.PatchDesired(JsonDoc.of((ObjectNode) JSON.readTree(patch)));
    return HubMessages.of("h", persistenceId, 2, TwinEvent.of(u, new TwinEvent.Versions(2, 2, 1), T0)).orElseThrow();
  }

  @Test
  void perSourceIsTheDefault() throws Exception {
    assertEquals(List.of("twinhub.twinChangeEvents"),
        KafkaTopics.perSource("twinhub.").apply(desiredChange("Device|pump-1", "{\"mode\":\"eco\"}")));
  }

  @Test
  void aMessageGoesToEveryRouteItMatches() throws Exception {
    var topics = KafkaTopics.of("t.", List.of("sources", "routes"), ROUTES);
    assertEquals(List.of("t.twinChangeEvents", "t.route.eco", "t.route.pumps"), topics.apply(desiredChange("Device|pump-1", "{\"mode\":\"eco\"}")));
    assertEquals(List.of("t.twinChangeEvents", "t.route.pumps"), topics.apply(desiredChange("Device|pump-1", "{\"mode\":\"boost\"}")));
    assertEquals(List.of("t.twinChangeEvents"), topics.apply(desiredChange("Device|fan-1", "{\"mode\":\"boost\"}")));
  }

  @Test
  void routesOnlyOrOneRouteOrOneSource() throws Exception {
    HubMessage eco = desiredChange("Device|fan-1", "{\"mode\":\"eco\"}");
    assertEquals(List.of("t.route.eco"), KafkaTopics.of("t.", List.of("routes"), ROUTES).apply(eco));
    assertEquals(List.of(), KafkaTopics.of("t.", List.of("route:pumps"), ROUTES).apply(eco), "matches no published route");
    assertEquals(List.of("t.twinChangeEvents"), KafkaTopics.of("t.", List.of("twinChangeEvents"), ROUTES).apply(eco));
    assertEquals(List.of(), KafkaTopics.of("t.", List.of("deviceMessages"), ROUTES).apply(eco));
  }

  @Test
  void badSelectionsAreNamed() {
    var unknown = assertThrows(IllegalArgumentException.class, () -> KafkaTopics.of("t.", List.of("everything"), ROUTES));
    assertTrue(unknown.getMessage().contains("'everything'"), unknown.getMessage());
    var noRoute = assertThrows(IllegalArgumentException.class, () -> KafkaTopics.of("t.", List.of("route:nope"), ROUTES));
    assertTrue(noRoute.getMessage().contains("no route 'nope'"), noRoute.getMessage());
    var illegal = assertThrows(IllegalArgumentException.class, () -> KafkaTopics.of("t/", List.of("sources"), ROUTES));
    assertTrue(illegal.getMessage().contains("'t/twinChangeEvents'"), illegal.getMessage());
  }

  @Test
  void aRecordIsKeyedByDeviceWithTheHubsPropertiesAsHeaders() throws Exception {
    HubMessage m = desiredChange("Module|pump-1/m", "{\"mode\":\"eco\"}");
    ProducerRecord<byte[], byte[]> r = KafkaFeedPublisher.record("t.route.eco", m);
    assertEquals("t.route.eco", r.topic());
    assertEquals("pump-1", new String(r.key(), StandardCharsets.UTF_8));
    assertEquals(T0.toEpochMilli(), r.timestamp());
    assertEquals("updateTwin", header(r, "opType"));
    assertEquals("m", header(r, "moduleId"));
    assertEquals("twinChangeEvents", header(r, "$iothub-message-source"));
    assertEquals("pump-1/m", header(r, "twinhub-twin-id"));
    assertEquals("eco", JSON.readTree(r.value()).path("properties").path("desired").path("mode").asText());
  }

  static String header(ProducerRecord<byte[], byte[]> r, String name) {
    var h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }
}
