package io.twinhub.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The node's settings: application.conf (with its TWINHUB_* environment overrides), then
 * command-line flags on top (io.twinhub.node.cli.NodeOptions turns them into config keys). The resolved {@link #config()} is what the ActorSystem runs with,
 * so a flag, an env var and a config file all end up in one place.
 */
public record NodeSettings(
    Path dataDir,
    String hostName,
    String bindInterface,
    int httpPort,
    int mqttPort,
    int managementPort,
    int remotingPort,
    List<String> cassandraContactPoints,
    int embeddedCassandraPort,
    int embeddedCassandraStoragePort,
    String embeddedCassandraHeap,
    List<String> seedNodes,
    Duration startupTimeout,
    Config config) {

  /** Hosts device and module twins (sharded entities); members without it reach them by proxy. */
  public static final String TWIN_ROLE = "twin";
  /** Serves the REST API. */
  public static final String API_ROLE = "api";
  /** Serves the MQTT device gateway. */
  public static final String MQTT_ROLE = "mqtt";
  /** Runs the query index (see QueryIndexModule). */
  public static final String QUERY_ROLE = "query";
  /** Runs function apps' telemetry and timer triggers (issue #18; the HTTP triggers run where the api role is). */
  public static final String WORKER_ROLE = "worker";
  static final List<String> ROLES = List.of(TWIN_ROLE, API_ROLE, MQTT_ROLE, QUERY_ROLE, WORKER_ROLE);

  /** Overrides (config keys → values) on top of application.conf, system properties first. */
  public static NodeSettings fromConfig(Map<String, Object> overrides) {
    Config base = ConfigFactory.parseMap(overrides).withFallback(ConfigFactory.parseResourcesAnySyntax("application"));
    Config resolved;
    try {
      resolved = ConfigFactory.load(base);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("configuration: " + e.getMessage());
    }
    // twinhub.roles ("twin,api") is what users set; the cluster carries it as akka.cluster.roles.
    resolved = resolved.withValue("akka.cluster.roles",
        ConfigValueFactory.fromIterable(parseRoles(resolved.getString("twinhub.roles"))));
    Config t = resolved.getConfig("twinhub");
    List<String> contactPoints = splitList(t.getString("cassandra.contact-points"));
    List<String> seeds = splitList(t.getString("seed-nodes"));
    NodeSettings s = new NodeSettings(
        Path.of(t.getString("data-dir")).toAbsolutePath().normalize(),
        t.getString("host-name"),
        t.getString("bind-interface"),
        port(t, "http.port"),
        port(t, "mqtt.port"),
        port(t, "management.port"),
        port(t, "remoting.port"),
        contactPoints,
        port(t, "cassandra.embedded.native-port"),
        port(t, "cassandra.embedded.storage-port"),
        t.getString("cassandra.embedded.heap"),
        seeds,
        t.getDuration("startup-timeout"),
        resolved);
    // Fails early, with the key named, on a bad twinhub.http / twinhub.api block.
    try {
      io.twinhub.node.api.ApiSettings.from(resolved);
    } catch (com.typesafe.config.ConfigException e) {
      throw new IllegalArgumentException("configuration: " + e.getMessage());
    }
    return s;
  }

  /** The configuration after the node knows where Cassandra is. */
  public NodeSettings withCassandraContactPoints(List<String> points) {
    Config c = config
        .withValue("datastax-java-driver.basic.contact-points", ConfigValueFactory.fromIterable(points))
        .withValue("akka.cluster.seed-nodes", ConfigValueFactory.fromIterable(seedNodes));
    return new NodeSettings(dataDir, hostName, bindInterface, httpPort, mqttPort, managementPort, remotingPort,
        points, embeddedCassandraPort, embeddedCassandraStoragePort, embeddedCassandraHeap, seedNodes,
        startupTimeout, c);
  }

  /** The node's Lucene query index (nodes with the query role). */
  public Path queryIndexDir() {
    return dataDir.resolve("index");
  }

  /** This member's roles (twinhub.roles). */
  public List<String> roles() {
    return config.getStringList("akka.cluster.roles");
  }

  public boolean hasRole(String role) {
    return roles().contains(role);
  }

  /** "twin, api" → [twin, api]; unknown or no roles are a configuration error. */
  static List<String> parseRoles(String text) {
    List<String> roles = splitList(text).stream().distinct().toList();
    for (String r : roles) {
      if (!ROLES.contains(r)) {
        throw new IllegalArgumentException("twinhub.roles: unknown role '" + r + "' (roles: " + String.join(", ", ROLES) + ")");
      }
    }
    if (roles.isEmpty()) throw new IllegalArgumentException("twinhub.roles: at least one of " + String.join(", ", ROLES));
    return roles;
  }

  public boolean embeddedCassandra() {
    return cassandraContactPoints.isEmpty();
  }

  private static int port(Config t, String path) {
    int p;
    try {
      p = t.getInt(path);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("twinhub." + path + " must be a port number, got '" + t.getValue(path).unwrapped() + "'");
    }
    if (p < 0 || p > 65535) throw new IllegalArgumentException("twinhub." + path + " must be a port number 0-65535, got " + p);
    return p;
  }

  private static List<String> splitList(String s) {
    return Arrays.stream(s.split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList();
  }
}
