package io.twinhub.ops.bench;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What a workload runs against: the hub's nodes (each with its REST URL, MQTT port, management
 * port, AMQP port and process id), the CA clients trust, the owner connection string, and the Cassandra the
 * nodes write to (for the storage baseline). Built by {@link BenchNodes} (nodes started for the
 * run) or from {@code --url}/{@code --connection-string}/{@code --ca} (an existing node; then pids
 * are unknown unless {@code --pid} is given, and CPU/heap read n/a).
 *
 * @param nodes         one or more nodes; load is spread over all of them
 * @param caPem         the CA certificate (PEM) every client trusts
 * @param ownerConnectionString {@code HostName=..;SharedAccessKeyName=iothubowner;SharedAccessKey=..}
 * @param cassandra     CQL address of the nodes' Cassandra, when known
 * @param workDir       a scratch directory of this run (baseline servers' data, JFR files)
 */
public record BenchTarget(List<Node> nodes, Path caPem, String ownerConnectionString,
                          Optional<InetSocketAddress> cassandra, Path workDir) {

  /**
   * One hub node. {@code pid} is -1 when unknown (a node the harness did not start);
   * {@code amqpPort} is its AMQPS service endpoint (cloud-to-device sends).
   */
  public record Node(URI restUrl, String mqttHost, int mqttPort, int managementPort, long pid, int amqpPort, List<String> roles) {
    /** Every role (a node started without --node-roles, or one the harness did not start). */
    public static final List<String> ALL_ROLES = List.of("twin", "api", "mqtt", "query", "worker");

    public Node(URI restUrl, String mqttHost, int mqttPort, int managementPort, long pid, int amqpPort) {
      this(restUrl, mqttHost, mqttPort, managementPort, pid, amqpPort, ALL_ROLES);
    }

    public boolean has(String role) {
      return roles.contains(role);
    }
  }

  /** The REST URLs of the nodes that serve the REST API (the api role), node 1 first. */
  public List<URI> restUrls() {
    return nodes.stream().filter(n -> n.has("api")).map(Node::restUrl).toList();
  }

  /** Positions in {@link #restUrls()} of the nodes that answer queries (api and query roles). */
  public List<Integer> queryNodes() {
    List<Node> api = nodes.stream().filter(n -> n.has("api")).toList();
    List<Integer> out = new java.util.ArrayList<>();
    for (int i = 0; i < api.size(); i++) if (api.get(i).has("query")) out.add(i);
    return out;
  }

  public List<Long> pids() {
    return nodes.stream().map(Node::pid).filter(p -> p > 0).toList();
  }

  /** A connection-string field ({@code HostName}, {@code SharedAccessKeyName}, {@code SharedAccessKey}). */
  public String connectionStringPart(String name) {
    for (String part : ownerConnectionString.split(";")) {
      int eq = part.indexOf('=');
      if (eq > 0 && part.substring(0, eq).strip().equals(name)) return part.substring(eq + 1).strip();
    }
    throw new IllegalArgumentException("connection string has no " + name);
  }
}
