package io.twinhub.node;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** twinhub.roles (flag --roles, env TWINHUB_ROLES) becomes the member's akka.cluster.roles. */
class NodeRolesTest {

  @Test
  void everyRoleByDefault() {
    NodeSettings s = NodeSettings.fromConfig(Map.of());
    assertEquals(List.of("twin", "api", "mqtt", "query", "worker"), s.roles());
    assertEquals(s.roles(), s.config().getStringList("akka.cluster.roles"));
  }

  @Test
  void rolesFlagSetsTheClusterRoles() {
    NodeSettings s = NodeSettings.fromConfig(Map.of("twinhub.roles", "api, mqtt,api"));
    assertEquals(List.of("api", "mqtt"), s.config().getStringList("akka.cluster.roles"));
    assertTrue(s.hasRole(NodeSettings.API_ROLE));
    assertFalse(s.hasRole(NodeSettings.TWIN_ROLE));
    // The cluster roles survive the contact-point step that the node applies before starting.
    assertEquals(List.of("api", "mqtt"), s.withCassandraContactPoints(List.of("127.0.0.1:9042")).roles());
  }

  @Test
  void unknownOrNoRolesAreRefusedByName() {
    assertEquals("twinhub.roles: unknown role 'web' (roles: twin, api, mqtt, query, worker)",
        assertThrows(IllegalArgumentException.class, () -> NodeSettings.fromConfig(Map.of("twinhub.roles", "twin,web"))).getMessage());
    assertEquals("twinhub.roles: at least one of twin, api, mqtt, query, worker",
        assertThrows(IllegalArgumentException.class, () -> NodeSettings.fromConfig(Map.of("twinhub.roles", " , "))).getMessage());
  }
}
