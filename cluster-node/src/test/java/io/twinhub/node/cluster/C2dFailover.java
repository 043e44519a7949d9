package io.twinhub.node.cluster;

import com.microsoft.azure.sdk.iot.service.messaging.IotHubServiceClientProtocol;
import com.microsoft.azure.sdk.iot.service.messaging.Message;
import com.microsoft.azure.sdk.iot.service.messaging.MessagingClient;
import com.microsoft.azure.sdk.iot.service.messaging.MessagingClientOptions;
import io.twinhub.node.mqtt.MqttTestNodes;
import io.twinhub.node.security.SharedAccessPolicies;
import org.eclipse.paho.client.mqttv3.MqttClient;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
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
    for (String id : concat(online, offline)) {
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
    } finally {
      sender.close();
    }

    cluster.kill(third);
    for (MqttClient c : onNode3) {
      try {
        c.close(true);
      } catch (Exception ignored) {
        // its node is gone
      }
    }

    // Every device on node 2, acknowledging what arrives.
    Map<String, List<String>> arrivedAfter = new HashMap<>();
    Map<String, List<Integer>> packetsAfter = new HashMap<>();
    List<MqttClient> onNode2 = new ArrayList<>();
    try {
      for (String id : concat(online, offline)) {
        arrivedAfter.put(id, new CopyOnWriteArrayList<>());
        packetsAfter.put(id, new CopyOnWriteArrayList<>());
        onNode2.add(connectRetrying(cluster, second, id, arrivedAfter.get(id), packetsAfter.get(id)));
      }
      int[] acked = new int[onNode2.size()];
      List<String> all = concat(online, offline);
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
      System.out.printf("C2dFailover: %d messages in flight and %d queued at the kill, each delivered once after it%n",
          2 * DEVICES, 3 * DEVICES);
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
