package io.twinhub.projections.streams;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.domain.TwinState;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.TwinEvent;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class HubMessagesTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Instant T0 = Instant.parse("2026-11-24T10:00:00.000Z");

  static JsonDoc doc(String json) throws Exception {
    return JsonDoc.of((ObjectNode) JSON.readTree(json));
  }

  /**
   * The body computed from the event alone equals IoT Hub's notification computed from the
   * real twin after the change, for every kind of update, after a history of other writes.
   */
  @Test
  void twinChangeBodyFromTheEventEqualsTheOneFromTheRealTwin() throws Exception {
    List<TwinUpdate> history = List.of(
        new TwinUpdate.PatchDesired(doc("{\"a\":{\"b\":1},\"c\":\"x\"}")),
        new TwinUpdate.PatchReported(doc("{\"fw\":\"1.0\",\"net\":{\"rssi\":-40}}")),
        new TwinUpdate.PatchTags(doc("{\"site\":\"north\"}")),
        new TwinUpdate.ReplaceDesired(doc("{\"mode\":\"eco\"}")),
        new TwinUpdate.UpdateTwin(doc("{\"floor\":3}"), doc("{\"mode\":null,\"n\":{\"m\":2}}")),
        new TwinUpdate.ReplaceTwin(doc("{\"t\":1}"), doc("{\"d\":[1,2,3]}")),
        new TwinUpdate.PatchReported(doc("{\"net\":{\"rssi\":-41,\"ch\":6}}")),
        new TwinUpdate.ReplaceTags(doc("{\"only\":true}")));
    TwinState state = TwinState.created(T0);
    Instant at = T0;
    for (TwinUpdate u : history) {
      at = at.plusMillis(1234);
      TwinState after = state.decide(u, at, TwinLimits.DEFAULT).optionalValue().orElseThrow();
      var event = TwinEvent.of(u,
          new TwinEvent.Versions(after.version(), after.desired().version(), after.reported().version()), at);
      HubMessage m = HubMessages.of("hub.example", "Device|dev1", after.version(), event).orElseThrow();
      assertEquals(TwinJson.twinChangeNotification(u, after), m.body(), "update " + u);
      assertEquals(MessageSource.TWIN_CHANGE_EVENTS, m.source());
      assertEquals(u.opType(), m.properties().get("opType"));
      assertEquals("twinChangeNotification", m.properties().get("iothub-message-schema"));
      assertEquals(after.version(), m.version());
      state = after;
    }
  }

  @Test
  void lifecycleAndConnectionEventsOfModules() {
    Identity module = Identity.create("dev1", "m1",
        new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas("a2V5MWtleTFrZXkxa2V5MWtleTFrZXkxa2V5MWtleTE=",
            "a2V5MmtleTJrZXkya2V5MmtleTJrZXkya2V5MmtleTI="), false), "g").optionalValue().orElseThrow();
    var created = HubMessages.of("h", "Module|dev1/m1", 1,
        new TwinEvent.ModuleCreated(module, new TwinEvent.Versions(1, 1, 1), T0)).orElseThrow();
    assertEquals(MessageSource.DEVICE_LIFECYCLE_EVENTS, created.source());
    assertEquals("createModuleIdentity", created.properties().get("opType"));
    assertEquals("m1", created.moduleId());
    assertEquals("dev1/m1", created.twinId());
    assertFalse(created.body().toString().contains("a2V5MWtleTF"), "keys never leave in a stream");

    var connected = HubMessages.of("h", "Device|dev1", 7,
        new TwinEvent.ConnectionStateChanged(ConnectionState.CONNECTED, T0)).orElseThrow();
    assertEquals("deviceConnected", connected.properties().get("opType"));
    assertEquals(MessageSource.DEVICE_CONNECTION_STATE_EVENTS, connected.source());

    assertTrue(HubMessages.of("h", "Device|dev1", 8, new TwinEvent.ModuleAdded("m1", T0)).isEmpty());
  }
}
