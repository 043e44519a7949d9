package io.twinhub.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** kubernetes.conf resolves with the environment a pod gets, and asks for what Kubernetes needs. */
class KubernetesConfigTest {

  private static Config load(Map<String, String> env) {
    // HOCON looks a ${VAR} up as a config path before the environment, so root-level keys
    // stand in for the pod's environment variables.
    return ConfigFactory.parseResources("kubernetes.conf")
        .withFallback(ConfigFactory.parseMap(env))
        .withFallback(ConfigFactory.defaultReference())
        .resolve();
  }

  @Test
  void podEnvironmentGivesBootstrapOnKubernetesApiAndQuorumWrites() {
    Config c = load(Map.of("POD_IP", "10.1.2.3", "TWINHUB_CASSANDRA_CONTACT_POINTS", "cassandra-0.cassandra:9042"));
    assertEquals("10.1.2.3", c.getString("akka.remote.artery.canonical.hostname"));
    assertEquals("10.1.2.3", c.getString("akka.management.http.hostname"));
    assertEquals("0.0.0.0", c.getString("twinhub.bind-interface"));
    assertTrue(c.getBoolean("twinhub.cluster.bootstrap"));
    assertEquals("kubernetes-api", c.getString("akka.management.cluster.bootstrap.contact-point-discovery.discovery-method"));
    assertEquals("app=%s", c.getString("akka.discovery.kubernetes-api.pod-label-selector"));
    assertEquals("QUORUM", c.getString("datastax-java-driver.profiles.twinhub-quorum.basic.request.consistency"));
    assertEquals("twinhub-quorum", c.getString("akka.persistence.cassandra.write-profile"));
    assertEquals(3, c.getInt("twinhub.cassandra.replication-factor"));
    assertEquals("cassandra-0.cassandra:9042", c.getString("twinhub.cassandra.contact-points"));
    // The rest of the node's configuration comes along.
    assertEquals("io.twinhub.node.metrics.MetricsRouteProvider", c.getString("akka.management.http.routes.prometheus"));
  }

  @Test
  void missingCassandraContactPointsIsAnErrorNotADefault() {
    assertThrows(com.typesafe.config.ConfigException.UnresolvedSubstitution.class,
        () -> load(Map.of("POD_IP", "10.1.2.3")));
  }
}
