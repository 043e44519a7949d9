package io.twinhub.node.api;

import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.Outcome;
import io.twinhub.twin.entity.TwinEvent;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The view's bookkeeping, fed the events the entities journal (the stream part runs in RegistryViewIT). */
class JournalRegistryViewTest {
  static final Instant AT = Instant.parse("2026-11-24T10:00:00Z");
  static final TwinEvent.Versions V1 = new TwinEvent.Versions(1, 1, 1);

  final JournalRegistryView view = new JournalRegistryView();

  static Identity identity(String deviceId, String moduleId, DeviceStatus status) {
    return ((Outcome.Accepted<Identity>) Identity.create(deviceId, moduleId,
        new IdentitySpec(status, null, Authentication.sas(null, null).withKeysGeneratedIfAbsent(new java.util.Random(1)), false),
        "1")).value();
  }

  void device(String id, long seq, TwinEvent e) {
    view.apply("Device|" + id, seq, e);
  }

  void assertCounts(long total, long enabled, long disabled, long connected) {
    assertEquals(new RegistryStatistics.DeviceCounts(total, enabled, disabled), view.deviceCounts());
    assertEquals(connected, view.connectedDeviceCount());
  }

  @Test
  void countsFollowCreateUpdateConnectAndDelete() {
    device("a", 1, new TwinEvent.DeviceCreated(identity("a", null, DeviceStatus.ENABLED), V1, AT));
    device("b", 1, new TwinEvent.DeviceCreated(identity("b", null, DeviceStatus.DISABLED), V1, AT));
    device("c", 1, new TwinEvent.DeviceCreated(identity("c", null, DeviceStatus.ENABLED), V1, AT));
    assertCounts(3, 2, 1, 0);
    device("a", 2, new TwinEvent.ConnectionStateChanged(ConnectionState.CONNECTED, AT));
    device("c", 2, new TwinEvent.ConnectionStateChanged(ConnectionState.CONNECTED, AT));
    assertCounts(3, 2, 1, 2);
    device("a", 3, new TwinEvent.DeviceUpdated(identity("a", null, DeviceStatus.DISABLED)
        .withConnectionState(ConnectionState.CONNECTED, AT), AT));
    assertCounts(3, 1, 2, 2);
    device("a", 4, new TwinEvent.DesiredPatched(JsonDoc.empty(), new TwinEvent.Versions(2, 2, 1), AT));
    assertCounts(3, 1, 2, 2);
    device("c", 3, new TwinEvent.DeviceDeleted(List.of(), AT));
    assertCounts(2, 0, 2, 1);
    assertEquals(List.of("a", "b"), view.firstDeviceIds(10));
    // Re-created: counted again, starting disconnected.
    device("c", 4, new TwinEvent.DeviceCreated(identity("c", null, DeviceStatus.ENABLED), new TwinEvent.Versions(4, 2, 2), AT));
    assertCounts(3, 1, 2, 1);
    assertEquals(List.of("a", "b"), view.firstDeviceIds(2));
    assertEquals(List.of("a", "b", "c"), view.firstDeviceIds(1000));
  }

  @Test
  void redeliveredEventsAndModuleEventsChangeNothing() {
    device("a", 1, new TwinEvent.DeviceCreated(identity("a", null, DeviceStatus.ENABLED), V1, AT));
    device("a", 2, new TwinEvent.DeviceDeleted(List.of("m"), AT));
    // A stream restart redelivers from an older offset: the tombstone's sequence number wins.
    device("a", 1, new TwinEvent.DeviceCreated(identity("a", null, DeviceStatus.ENABLED), V1, AT));
    assertCounts(0, 0, 0, 0);
    view.apply("Module|a/m", 1, new TwinEvent.ModuleCreated(identity("a", "m", DeviceStatus.ENABLED), V1, AT));
    view.apply("Module|a/m", 2, new TwinEvent.ConnectionStateChanged(ConnectionState.CONNECTED, AT));
    assertCounts(0, 0, 0, 0);
    assertEquals(List.of(), view.firstDeviceIds(10));
  }
}
