package io.twinhub.node.cluster;

import akka.actor.Address;
import akka.actor.ExtendedActorSystem;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import akka.management.javadsl.ManagementRouteProvider;
import akka.management.javadsl.ManagementRouteProviderSettings;
import akka.remote.RemoteActorRefProvider;
import akka.remote.testkit.Direction;
import akka.remote.testkit.SetThrottle;
import akka.remote.testkit.ThrottleMode;

import java.util.concurrent.CompletionStage;

/**
 * Test only: cuts this node off from other members (a network partition) while its process and its
 * Cassandra connection stay up, through Artery's test blackhole (needs
 * {@code akka.remote.artery.advanced.test-mode = on}). Registered on a test cluster's management
 * port with {@code -Dakka.management.http.routes.partition=io.twinhub.node.cluster.PartitionRoutes}:
 * {@code POST /test/blackhole?to=<remoting port>} drops everything this node sends to or receives
 * from that member, {@code POST /test/pass-through?to=<port>} ends it.
 */
public final class PartitionRoutes extends AllDirectives implements ManagementRouteProvider {
  private final ExtendedActorSystem system;

  public PartitionRoutes(ExtendedActorSystem system) {
    this.system = system;
  }

  @Override
  public Route routes(ManagementRouteProviderSettings settings) {
    return pathPrefix("test", () -> post(() -> parameter("to", to -> concat(
        path("blackhole", () -> onSuccess(command(to, ThrottleMode.blackholeThrottleMode()), ok -> complete("blackholed " + to))),
        path("pass-through", () -> onSuccess(command(to, ThrottleMode.unthrottledThrottleMode()), ok -> complete("passing " + to)))))));
  }

  private CompletionStage<Object> command(String port, ThrottleMode mode) {
    Address peer = new Address("akka", system.name(), "127.0.0.1", Integer.parseInt(port));
    var transport = ((RemoteActorRefProvider) system.provider()).transport();
    system.log().warning("test: {} to and from {}", mode, peer);
    return scala.jdk.javaapi.FutureConverters.asJava(transport.managementCommand(new SetThrottle(peer, Direction.bothDirection(), mode)))
        .thenApply(b -> (Object) b);
  }
}
