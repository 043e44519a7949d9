package io.twinhub.node.api;

import akka.cluster.sharding.typed.GetShardRegionState;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.actor.typed.javadsl.AskPattern;
import io.twinhub.node.NodeSettings;
import io.twinhub.node.TestNodes;
import io.twinhub.node.TwinhubNode;
import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;
import io.twinhub.twin.entity.DeviceEntity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
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
      }
    } finally {
      twinMember.stop().toCompletableFuture().get(90, TimeUnit.SECONDS);
    }
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
