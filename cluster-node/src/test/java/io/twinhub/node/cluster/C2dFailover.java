package io.twinhub.node.cluster;

import com.microsoft.azure.sdk.iot.service.exceptions.IotHubDeviceMaximumQueueDepthExceededException;
import com.microsoft.azure.sdk.iot.service.messaging.IotHubServiceClientProtocol;
import com.microsoft.azure.sdk.iot.service.messaging.Message;
import com.microsoft.azure.sdk.iot.service.messaging.MessagingClient;
import com.microsoft.azure.sdk.iot.service.messaging.MessagingClientOptions;
import io.twinhub.node.mqtt.MqttTestNodes;
import io.twinhub.node.security.SharedAccessPolicies;
import org.eclipse.paho.client.mqttv3.MqttClient;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Cloud-to-device messages across a kill -9 of node 3, on {@link ClusterFailoverIT}'s cluster.
 * The official {@code MessagingClient} sends through node 1 (the one on 5671, the SDK's hard-wired
 * port). {@value #DEVICES} devices hold messages in flight on a Paho session (manual acks) on node 3,
 * the first one PUBACKed and completed; {@value #DEVICES} more are offline with messages queued.
 * Their queue entities spread over the three nodes by shard, so node 3 almost surely hosts queues of
 * both kinds when it is killed (not asserted: where a shard lives is not visible from here). Afterwards every device connects to node 2: each acknowledged send that was not
 * PUBACKed arrives exactly once, and the PUBACKed ones never again.
 *
 * <p>The queue rules hold across the kill too: a device with a full queue (50) still refuses a
 * 51st message ({@code DeviceMaximumQueueDepthExceeded}) and purges exactly 50; a message whose
 * {@code ExpiryTimeUtc} passes after the kill is not delivered when its device connects later, the
 * message queued behind it is.
 */
final class C2dFailover {
  static final int DEVICES = 8;
  /** Longer than the queue's 60 s lock timeout, which frees a lock held for a dead session at the latest. */
  static final Duration DELIVERY = Duration.ofSeconds(180);

  private C2dFailover() {}

  static void run(NodeProcesses cluster) throws Exception {
    String run = UUID.randomUUID().toString().substring(0, 8);
    NodeProcesses.Node first = cluster.nodes.get(0);
    NodeProcesses.Node second = cluster.nodes.get(1);
    NodeProcesses.Node third = cluster.nodes.get(2);
    List<String> online = new ArrayList<>();
    List<String> offline = new ArrayList<>();
    for (int i = 0; i < DEVICES; i++) {
      online.add("c2dk-" + run + "-on-" + i);
      offline.add("c2dk-" + run + "-off-" + i);
    }
    String full = "c2dk-" + run + "-full";
    String expiring = "c2dk-" + run + "-expiring";
    for (String id : concat(concat(online, offline), List.of(full, expiring))) {
      var r = cluster.setUp(first, "PUT", "/devices/" + id, "{\"deviceId\":\"" + id + "\",\"authentication\":{\"type\":\"sas\","
          + "\"symmetricKey\":{\"primaryKey\":\"" + MqttTestNodes.KEY1 + "\",\"secondaryKey\":\"" + MqttTestNodes.KEY1 + "\"}}}");
      assertTrue(r.statusCode() == 200 || r.statusCode() == 409, r::body); // 409: a retried create that did succeed
    }

    var owner = SharedAccessPolicies.loadOrCreate(first.dataDir()).get(SharedAccessPolicies.IOTHUBOWNER);
    MessagingClient sender = new MessagingClient("HostName=" + MqttTestNodes.HOST + ";SharedAccessKeyName=" + owner.keyName()
        + ";SharedAccessKey=" + owner.keys().primaryKey(), IotHubServiceClientProtocol.AMQPS,
        MessagingClientOptions.builder().sslContext(cluster.tls).build());
    sender.open(60_000);
    Map<String, List<String>> expected = new HashMap<>();
    Instant expiresAt = null;
    List<MqttClient> onNode3 = new ArrayList<>();
    try {
      // In flight on node 3: m0, m1, m2 arrive, m0 is PUBACKed and completed, m1 and m2 stay unacknowledged.
      for (String id : online) {
        List<String> arrived = new CopyOnWriteArrayList<>();
        List<Integer> packetIds = new CopyOnWriteArrayList<>();
        onNode3.add(MqttTestNodes.cloudToDeviceReceiver(third.mqttPort(), cluster.tls, id, arrived, packetIds));
        for (int m = 0; m < 3; m++) sender.send(id, message("m" + m), 60_000);
        assertTrue(NodeProcesses.eventually(DELIVERY, () -> arrived.size() >= 3), id + " got " + arrived);
        onNode3.get(onNode3.size() - 1).messageArrivedComplete(packetIds.get(arrived.indexOf("m0")), 1);
        expected.put(id, List.of("m1", "m2"));
      }
      // Queued for devices that are not connected.
      for (String id : offline) {
        for (int m = 0; m < 3; m++) sender.send(id, message("q" + m), 60_000);
        expected.put(id, List.of("q0", "q1", "q2"));
      }
      for (String id : online) awaitQueued(cluster, first, id, 2); // m0's completion is journaled
      for (String id : offline) awaitQueued(cluster, first, id, 3);
      // A full queue, and a message that expires shortly after the kill in front of one that does not.
      for (int m = 0; m < 50; m++) sender.send(full, message("f" + m), 60_000);
      assertThrows(IotHubDeviceMaximumQueueDepthExceededException.class, () -> sender.send(full, message("f50"), 60_000));
      awaitQueued(cluster, first, full, 50);
      Message shortLived = message("e0");
      shortLived.setExpiryTimeUtc(Date.from(Instant.now().plusSeconds(15)));
      sender.send(expiring, shortLived, 60_000);
      sender.send(expiring, message("e1"), 60_000);
      expected.put(expiring, List.of("e1"));
      awaitQueued(cluster, first, expiring, 2);
      expiresAt = shortLived.getExpiryTimeUtc().toInstant();
    } finally {
      sender.close();
    }

    cluster.kill(third);
    Instant killedAt = Instant.now();
    for (MqttClient c : onNode3) {
      try {
        c.close(true);
      } catch (Exception ignored) {
        // its node is gone
      }
    }

    // The depth limit after the kill: the full queue (wherever it lives now) still holds 50 and refuses more.
    awaitQueued(cluster, second, full, 50);
    MessagingClient afterKill = new MessagingClient("HostName=" + MqttTestNodes.HOST + ";SharedAccessKeyName=" + owner.keyName()
        + ";SharedAccessKey=" + owner.keys().primaryKey(), IotHubServiceClientProtocol.AMQPS,
        MessagingClientOptions.builder().sslContext(cluster.tls).build());
    afterKill.open(60_000);
    try {
      Exception[] last = {null};
      // Retried while the queue's shard is still moving (a timeout); an accepted 51st fails at once.
      assertTrue(NodeProcesses.eventually(DELIVERY, () -> {
        try {
          afterKill.send(full, message("f50"), 60_000);
          throw new AssertionError(full + ": a 51st message was accepted after the kill");
        } catch (IotHubDeviceMaximumQueueDepthExceededException e) {
          return true;
        } catch (AssertionError e) {
          throw e;
        } catch (Exception e) {
          last[0] = e;
          return false;
        }
      }), "the full queue refuses a 51st message after the kill; last: " + last[0]);
    } finally {
      afterKill.close();
    }
    var purged = cluster.send(second, "DELETE", "/devices/" + full + "/commands", null);
    assertEquals(200, purged.statusCode(), purged.body());
    assertTrue(purged.body().contains("\"totalMessagesPurged\":50"), purged.body());
    awaitQueued(cluster, second, full, 0);

    // The expiry: its device connects only once e0's expiry time has passed.
    long wait = Duration.between(Instant.now(), expiresAt.plusSeconds(1)).toMillis();
    if (wait > 0) Thread.sleep(wait);

    // Every device on node 2, acknowledging what arrives.
    Map<String, List<String>> arrivedAfter = new HashMap<>();
    Map<String, List<Integer>> packetsAfter = new HashMap<>();
    List<MqttClient> onNode2 = new ArrayList<>();
    try {
      for (String id : concat(concat(online, offline), List.of(expiring))) {
        arrivedAfter.put(id, new CopyOnWriteArrayList<>());
        packetsAfter.put(id, new CopyOnWriteArrayList<>());
        onNode2.add(connectRetrying(cluster, second, id, arrivedAfter.get(id), packetsAfter.get(id)));
      }
      int[] acked = new int[onNode2.size()];
      List<String> all = concat(concat(online, offline), List.of(expiring));
      boolean delivered = NodeProcesses.eventually(DELIVERY, () -> {
        for (int i = 0; i < all.size(); i++) {
          List<Integer> ids = packetsAfter.get(all.get(i));
          while (acked[i] < ids.size()) {
            try {
              onNode2.get(i).messageArrivedComplete(ids.get(acked[i]), 1);
            } catch (Exception e) {
              throw new AssertionError(e);
            }
            acked[i]++;
          }
        }
        return all.stream().allMatch(id -> arrivedAfter.get(id).size() >= expected.get(id).size());
      });
      assertTrue(delivered, "every unacknowledged message arrives after the kill: " + arrivedAfter);
      for (String id : all) awaitQueued(cluster, second, id, 0); // all completed
      for (String id : all) {
        List<String> got = new ArrayList<>(arrivedAfter.get(id));
        got.sort(null);
        assertEquals(expected.get(id), got, id + ": exactly the unacknowledged ones, each once");
      }
      // Not asserted (it depends on the box's speed): whether e0's expiry came after the kill, as intended.
      System.out.printf("C2dFailover: %d messages in flight and %d queued at the kill, each delivered once after it;"
          + " a full queue still full; e0 expired %.1f s after the kill and was not delivered%n", 2 * DEVICES, 3 * DEVICES,
          Duration.between(killedAt, expiresAt).toMillis() / 1000.0);
    } finally {
      for (MqttClient c : onNode2) {
        try {
          c.disconnectForcibly(1000, 1000);
          c.close();
        } catch (Exception ignored) {
          // already gone
        }
      }
    }
  }

  static Message message(String messageId) {
    Message m = new Message(messageId.getBytes(StandardCharsets.UTF_8));
    m.setMessageId(messageId);
    return m;
  }

  /** Until the identity shows {@code count} messages queued ({@code cloudToDeviceMessageCount}). */
  static void awaitQueued(NodeProcesses cluster, NodeProcesses.Node via, String id, int count) throws Exception {
    String[] last = {""};
    boolean ok = NodeProcesses.eventually(DELIVERY, () -> {
      try {
        var r = cluster.send(via, "GET", "/devices/" + id, null);
        last[0] = r.body();
        return r.statusCode() == 200 && NodeProcesses.JSON.readTree(r.body()).path("cloudToDeviceMessageCount").asInt(-1) == count;
      } catch (Exception e) {
        last[0] = e.toString();
        return false;
      }
    });
    assertTrue(ok, id + ": expected " + count + " queued, last: " + last[0]);
  }

  /** Right after the kill the device's entities may still be moving to a survivor: the connect is retried. */
  static MqttClient connectRetrying(NodeProcesses cluster, NodeProcesses.Node node, String id, List<String> arrived,
                                    List<Integer> packetIds) throws Exception {
    long deadline = System.nanoTime() + DELIVERY.toNanos();
    while (true) {
      try {
        return MqttTestNodes.cloudToDeviceReceiver(node.mqttPort(), cluster.tls, id, arrived, packetIds);
      } catch (Exception e) {
        if (System.nanoTime() > deadline) throw e;
        Thread.sleep(1000);
      }
    }
  }

  static List<String> concat(List<String> a, List<String> b) {
    List<String> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }
}
