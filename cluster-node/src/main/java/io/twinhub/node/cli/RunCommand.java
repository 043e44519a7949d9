package io.twinhub.node.cli;

import io.twinhub.node.NodeSettings;
import io.twinhub.node.NodeStartException;
import io.twinhub.node.TwinhubNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.PrintStream;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** {@code ./twinhub run}: one node (embedded Cassandra unless contact points are given), until SIGTERM. */
@Command(name = "run", description = {
    "Start a node: embedded Cassandra + hub (REST API, MQTT, health); Ctrl-C or SIGTERM leaves the cluster and stops both.",
    "Every option is also an environment variable and a key of application.conf."})
public final class RunCommand implements Callable<Integer> {
  /** What {@link #call()} returns when the node is up: the JVM keeps running until it is stopped. */
  static final int KEEP_RUNNING = -1;
  /** The exit code of a node whose member was downed by the cluster: restart it and it joins again. */
  static final int DOWNED = 3;

  @Mixin
  NodeOptions node;

  @Override
  public Integer call() {
    NodeSettings settings = node.settings();
    ensureCommonPoolParallelism();
    TwinhubNode started;
    try {
      started = TwinhubNode.start(settings);
    } catch (NodeStartException e) {
      throw new TwinhubCli.CommandFailure(e.getMessage());
    }
    java.util.concurrent.atomic.AtomicBoolean stopping = new java.util.concurrent.atomic.AtomicBoolean();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      stopping.set(true);
      System.out.println("twinhub: stopping (leaving the cluster, then Cassandra)...");
      try {
        started.stop().toCompletableFuture().get(90, TimeUnit.SECONDS);
        System.out.println("twinhub: stopped");
      } catch (Exception e) {
        System.err.println("twinhub: stop did not finish cleanly: " + e);
      }
    }, "twinhub-shutdown"));
    // A member the cluster downed (the Split Brain Resolver's losing side of a partition, or one
    // seen unreachable for too long) cannot come back in the same incarnation: its actor system
    // terminates. Exit then (code 3), so that a supervisor restarts it and it joins again, instead
    // of a process that holds its ports and serves nothing.
    started.system().getWhenTerminated().thenRun(() -> {
      if (stopping.get()) return;
      System.err.println("twinhub: this member was removed from the cluster (downed) without being stopped; exiting with code 3 so it can be restarted");
      new Thread(() -> System.exit(DOWNED), "twinhub-downed-exit").start();
    });
    printBanner(started, System.out);
    return KEEP_RUNNING;
  }

  /**
   * Akka's Java API hands out Scala-converted CompletionStages whose plain callbacks
   * ({@code thenApply}, {@code exceptionally}, ...) run asynchronously on the default executor,
   * {@code ForkJoinPool.commonPool()}. Its default parallelism is cores - 1, so a 2-core machine
   * gets 1, and CompletableFuture then starts a new thread for every such callback: measured on the
   * REST API, ~28,000 threads in 30 s and a tenth of the throughput. Set before anything touches
   * the common pool; an explicit -D setting wins.
   */
  static void ensureCommonPoolParallelism() {
    String key = "java.util.concurrent.ForkJoinPool.common.parallelism";
    if (System.getProperty(key) == null) {
      System.setProperty(key, String.valueOf(Math.max(2, Runtime.getRuntime().availableProcessors())));
    }
  }

  static void printBanner(TwinhubNode node, PrintStream out) {
    NodeSettings s = node.settings();
    out.printf("%ntwinhub node ready in %.1f s%n", node.startedIn().toMillis() / 1000.0);
    out.printf("  data dir     %s%n", s.dataDir());
    if (node.embeddedCassandra() != null) {
      out.printf("  cassandra    embedded, 127.0.0.1:%d (pid %d, up in %.1f s, data %s)%n",
          node.embeddedCassandra().nativePort(), node.embeddedCassandra().pid(),
          node.embeddedCassandra().startedIn().toMillis() / 1000.0, node.embeddedCassandra().dataDir());
    } else {
      out.printf("  cassandra    %s%n", String.join(",", s.cassandraContactPoints()));
    }
    String host = TwinhubNode.hostForUri(s.bindInterface());
    String apiHost = TwinhubNode.hostForUri(s.hostName());
    if (node.api() != null) {
      int httpsPort = node.api().httpsPort();
      out.printf("  REST API     https://%s:%d (clients trust the CA %s)%n", apiHost, httpsPort, node.api().tls().caPemPath());
      node.api().plainPort().ifPresent(p -> out.printf("               http://%s:%d (plain HTTP, local use)%n", host, p));
      // Printed for the operator on the console, never logged.
      out.printf("  owner        %s%n", node.policies().ownerConnectionString(s.hostName()));
      if (httpsPort != 443) {
        out.printf("               (SDKs reach port %d with host name \"%s:%d\" and a SAS token, see README;"
            + " --iothub-ports listens on 443 + 8883 as IoT Hub does)%n", httpsPort, s.hostName(), httpsPort);
      }
    } else {
      out.println("  REST API     off (no api role)");
    }
    if (node.api() != null) {
      out.printf("  AMQPS        amqps://%s:%d (cloud-to-device messages and feedback; the service SDKs need port 5671)%n",
          apiHost, node.listening().amqp());
    }
    if (s.hasRole(NodeSettings.MQTT_ROLE)) {
      out.printf("  MQTT         mqtts://%s:%d (devices, MQTT 3.1.1 over TLS with the same CA; the device SDKs need port 8883)%n", apiHost,
          node.listening().mqtt());
    } else {
      out.println("  MQTT         off (no mqtt role)");
    }
    out.printf("  roles        %s%n", String.join(",", s.roles()));
    // The ports bound: a port given as 0 shows the one the OS picked (the bench starts nodes so).
    int management = node.listening().management();
    out.printf("  health       http://%s:%d/ready  http://%s:%d/alive%n", host, management, host, management);
    out.printf("  cluster      akka://twinhub@%s:%d (management http://%s:%d/cluster/members)%n",
        s.config().getString("akka.remote.artery.canonical.hostname"), node.listening().remoting(), host, management);
    out.println("  stop with Ctrl-C (or SIGTERM)");
    out.flush();
  }
}
