package io.twinhub.node.api;

import akka.cluster.sharding.typed.GetShardRegionState;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.actor.typed.javadsl.AskPattern;
import io.twinhub.node.NodeSettings;
import io.twinhub.node.TestNodes;
import io.twinhub.node.TwinhubNode;
import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;
import io.twinhub.twin.c2d.CloudToDeviceMessage;
import io.twinhub.twin.c2d.CloudToDeviceQueue;
import io.twinhub.twin.c2d.DeliveryAck;
import io.twinhub.twin.entity.DeviceEntity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Roles per member: a "twin" member hosts the twins and serves no REST API or MQTT; an
 * "api,mqtt" member serves the REST API and hosts no twin, reaching them through the first.
 */
class NodeRolesIT {

  @TempDir
  Path dir;

  @Test
  void twinsLiveOnTwinMembersAndApiMembersReachThem() throws Exception {
    String keyspace = "roles_it_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    int twinRemoting = SharedEmbeddedCassandra.freePort();
    int twinHttp = SharedEmbeddedCassandra.freePort();
    int twinMqtt = SharedEmbeddedCassandra.freePort();
    Map<String, Object> t = new HashMap<>(TestNodes.LOADED_BOX);
    t.put("twinhub.data-dir", dir.resolve("twin").toString());
    t.put("twinhub.roles", "twin");
    t.put("twinhub.http.port", twinHttp);
    t.put("twinhub.mqtt.port", twinMqtt);
    t.put("twinhub.amqp.port", SharedEmbeddedCassandra.freePort());
    t.put("twinhub.management.port", SharedEmbeddedCassandra.freePort());
    t.put("twinhub.remoting.port", twinRemoting);
    t.put("twinhub.cassandra.contact-points", SharedEmbeddedCassandra.contactPoint());
    t.put("akka.persistence.cassandra.journal.keyspace", keyspace);
    t.put("akka.persistence.cassandra.snapshot.keyspace", keyspace + "_snapshot");
    TwinhubNode twinMember = TwinhubNode.start(NodeSettings.fromConfig(t));
    try {
      assertNull(twinMember.api(), "no REST API without the api role");
      assertTrue(free(twinHttp) && free(twinMqtt), "nothing listens on its HTTP and MQTT ports");

      try (ApiTestNode apiMember = ApiTestNode.start(dir.resolve("api"), Map.of(
          "twinhub.roles", "api,mqtt",
          "twinhub.seed-nodes", "akka://twinhub@127.0.0.1:" + twinRemoting,
          "akka.persistence.cassandra.journal.keyspace", keyspace,
          "akka.persistence.cassandra.snapshot.keyspace", keyspace + "_snapshot"))) {
        String d = "roles-" + UUID.randomUUID().toString().substring(0, 8);
        assertEquals(200, apiMember.client.put("/devices/" + d, "{}").status());
        ApiClient.Reply patched = apiMember.client.patch("/twins/" + d, "{\"properties\":{\"desired\":{\"x\":1}}}", null);
        assertEquals(200, patched.status(), patched::toString);
        assertEquals(1, apiMember.client.get("/twins/" + d).json().path("properties").path("desired").path("x").asInt());

        assertEquals(1, hostedDevices(twinMember), "the twin lives on the twin member");
        assertEquals(0, hostedDevices(apiMember.node), "the api member hosts no twin");

        // Cloud-to-device across members: the queue lives on the twin member, the device's MQTT
        // session on the api member; the message goes there and its PUBACK comes back.
        String c2dDevice = "roles-c2d-" + UUID.randomUUID().toString().substring(0, 8);
        io.twinhub.node.mqtt.MqttTestNodes.createDevice(apiMember.node.twins(), c2dDevice);
        var c2d = apiMember.node.c2d();
        assertInstanceOf(CloudToDeviceQueue.Queued.class, c2d.send(c2dMessage(c2dDevice, "before-connect"))
            .toCompletableFuture().get(30, TimeUnit.SECONDS), "queued on the twin member");
        List<String> arrived = new CopyOnWriteArrayList<>();
        List<Integer> packetIds = new CopyOnWriteArrayList<>();
        var device = io.twinhub.node.mqtt.MqttTestNodes.cloudToDeviceReceiver(apiMember.node.settings().mqttPort(),
            apiMember.node.api().tls().clientSslContext(), c2dDevice, arrived, packetIds);
        try {
          c2d.send(c2dMessage(c2dDevice, "while-connected")).toCompletableFuture().get(30, TimeUnit.SECONDS);
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
          while (arrived.size() < 2 && System.nanoTime() < deadline) Thread.sleep(100);
          assertEquals(List.of("before-connect", "while-connected"), List.copyOf(arrived));
          for (int id : packetIds) device.messageArrivedComplete(id, 1);
          while (c2d.depth(c2dDevice).toCompletableFuture().get(30, TimeUnit.SECONDS) > 0 && System.nanoTime() < deadline) {
            Thread.sleep(100);
          }
          assertEquals(0, c2d.depth(c2dDevice).toCompletableFuture().get(30, TimeUnit.SECONDS), "both completed by PUBACK");
          assertEquals(0, hostedQueues(apiMember.node), "the queue is hosted on the twin member only");
        } finally {
          device.disconnectForcibly(1000, 1000);
          device.close();
        }
      }
    } finally {
      twinMember.stop().toCompletableFuture().get(90, TimeUnit.SECONDS);
    }
  }

  private static CloudToDeviceMessage c2dMessage(String deviceId, String messageId) {
    return new CloudToDeviceMessage(deviceId, messageId, null, null, null, null, Map.of(), DeliveryAck.NONE, null, null,
        messageId.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  private static int hostedQueues(TwinhubNode node) throws Exception {
    var region = ClusterSharding.get(node.system()).shardState();
    akka.cluster.sharding.ShardRegion.CurrentShardRegionState state =
        AskPattern.<akka.cluster.sharding.typed.ClusterShardingQuery, akka.cluster.sharding.ShardRegion.CurrentShardRegionState>ask(
            region, r -> new GetShardRegionState(CloudToDeviceQueue.TYPE_KEY, r), Duration.ofSeconds(10), node.system().scheduler())
        .toCompletableFuture().get(15, TimeUnit.SECONDS);
    return state.getShards().stream().mapToInt(s -> s.getEntityIds().size()).sum();
  }

  private static int hostedDevices(TwinhubNode node) throws Exception {
    var region = ClusterSharding.get(node.system()).shardState();
    akka.cluster.sharding.ShardRegion.CurrentShardRegionState state =
        AskPattern.<akka.cluster.sharding.typed.ClusterShardingQuery, akka.cluster.sharding.ShardRegion.CurrentShardRegionState>ask(
            region, r -> new GetShardRegionState(DeviceEntity.TYPE_KEY, r), Duration.ofSeconds(10), node.system().scheduler())
        .toCompletableFuture().get(15, TimeUnit.SECONDS);
    return state.getShards().stream().mapToInt(s -> s.getEntityIds().size()).sum();
  }

  private static boolean free(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }
}
