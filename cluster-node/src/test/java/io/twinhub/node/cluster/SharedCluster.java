package io.twinhub.node.cluster;

import io.twinhub.node.ClassKeyspaces;
import io.twinhub.node.mqtt.MqttTestNodes;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The three node processes of {@link ClusterFailoverIT}, {@link RollingRestartIT} and
 * {@link FunctionsClusterIT}: one cluster for all three instead of a start and stop each (a node
 * start is the slowest step of these classes: ~25-40 s of a loaded 2-core box). Node 1 has the api,
 * twin, mqtt and query roles and no worker (FunctionsClusterIT publishes through a node without
 * one) and node 1's AMQPS listener is on 5671 (the service SDK's hard-wired port, for
 * C2dFailover); nodes 2 and 3 have every role. The JVM options the scenarios need are given to
 * every node: the jobs' small slices (JobsFailover), Artery's test mode (PartitionFailover) and the
 * function workers' 30 s refresh and ledger directory (FunctionsClusterIT), each of which only
 * concerns its own feature. Each class's scenarios use devices, jobs and apps of their own.
 * (KafkaFailoverIT keeps a cluster of its own: its nodes need the broker's address from their
 * start.)
 *
 * <p>The three run first, in that order ({@code @Order} on each, junit-platform.properties): each
 * leaves the cluster whole for the next (ClusterFailoverIT's last scenario and the rolling restart
 * start their nodes again themselves), so only FunctionsClusterIT's last kill -9 is never followed
 * by a node start. {@link #acquire()} starts the cluster, or starts again the nodes an earlier
 * scenario killed (another order, or one class alone) and waits until all three are Up in one
 * cluster. It stops when a test class that does not use it starts ({@link StopForOtherTests},
 * like {@code EdgeTestHub}) and when the JVM exits.
 */
public final class SharedCluster {
  static final Set<Class<?>> USERS = Set.of(ClusterFailoverIT.class, FunctionsClusterIT.class, RollingRestartIT.class);

  private static NodeProcesses cluster;
  private static Path dir;

  private SharedCluster() {}

  /** The running cluster with its three nodes Up. */
  static synchronized NodeProcesses acquire() throws Exception {
    if (cluster == null) {
      dir = Files.createTempDirectory("twinhub-shared-cluster");
      Path ledgers = Files.createDirectories(ledgers());
      List<String> options = new ArrayList<>(JobsFailover.JVM_OPTIONS);
      // Artery's test mode and the blackhole route, for PartitionFailover's network partition (test only).
      options.addAll(PartitionFailover.JVM_OPTIONS);
      // Workers look for new app versions only every 30 s (2 s by default): see FunctionsClusterIT.
      options.addAll(List.of("-Dledger.dir=" + ledgers, "-Dtwinhub.functions.refresh-interval=30s"));
      cluster = NodeProcesses.startCluster(dir, 3, "shared", options,
          i -> i == 1 ? List.of("-Dtwinhub.roles=twin,api,mqtt,query") : List.<String>of(),
          MqttTestNodes.requirePortFree(MqttTestNodes.SERVICE_SDK_AMQP_PORT));
      // Several classes use it: its keyspaces outlive each class and are dropped when it stops.
      ClassKeyspaces.keepAcrossClasses(cluster.keyspace());
      NodeProcesses started = cluster;
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try {
          killAll(started); // the JVM exits: its nodes go with it (the keyspaces go with the shared Cassandra)
        } catch (Exception ignored) {
          // exiting anyway
        }
      }, "shared-cluster-stop"));
    } else {
      allNodesUp(cluster);
    }
    return cluster;
  }

  /** Where FunctionsClusterIT's function app writes its ledgers (a JVM option of every node). */
  static synchronized Path ledgers() {
    return dir.resolve("ledgers");
  }

  /** Every node killed by an earlier scenario started again, and the cluster whole. */
  static void allNodesUp(NodeProcesses cluster) throws Exception {
    List<NodeProcesses.Node> started = new ArrayList<>();
    for (NodeProcesses.Node n : cluster.nodes) {
      if (!n.current().isAlive()) {
        cluster.start(n);
        started.add(n);
      }
    }
    for (NodeProcesses.Node n : started) cluster.awaitReady(n);
    for (NodeProcesses.Node n : cluster.nodes) cluster.awaitMembers(n, cluster.nodes.size());
  }

  /**
   * kill -9 of every node still running: nothing of theirs is kept (the keyspaces are dropped, the
   * directory deleted), and three graceful leaves take seconds of a loaded box for nothing.
   */
  private static void killAll(NodeProcesses cluster) throws InterruptedException {
    for (NodeProcesses.Node n : cluster.nodes) {
      if (n.current() != null && n.current().isAlive()) cluster.kill(n);
    }
  }

  /** Stops the cluster if it runs, drops its keyspaces and deletes its directory. */
  static synchronized void stopShared() {
    if (cluster == null) return;
    long t0 = System.nanoTime();
    try {
      killAll(cluster);
    } catch (Exception e) {
      System.err.println("SharedCluster: stopping the nodes: " + e);
    }
    System.out.printf("SharedCluster: nodes stopped in %.1f s%n", (System.nanoTime() - t0) / 1e9);
    ClassKeyspaces.drop(cluster.keyspace());
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      System.err.println("SharedCluster: deleting " + dir + ": " + e);
    }
    cluster = null;
  }

  /**
   * Stops the shared cluster before any other test class runs (a JUnit extension registered for
   * every class by {@code META-INF/services} and {@code junit-platform.properties}).
   */
  public static final class StopForOtherTests implements BeforeAllCallback {
    @Override
    public void beforeAll(ExtensionContext context) {
      if (!USERS.contains(context.getRequiredTestClass())) stopShared();
    }
  }
}
