package io.twinhub.node.metrics;

import akka.actor.ExtendedActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import akka.management.javadsl.ManagementRouteProvider;
import akka.management.javadsl.ManagementRouteProviderSettings;

/**
 * {@code GET /metrics} on the management port, in Prometheus text format. Registered in
 * application.conf under {@code akka.management.http.routes}; creating it also starts the
 * sharding gauges.
 */
public final class MetricsRouteProvider extends AllDirectives implements ManagementRouteProvider {

  public MetricsRouteProvider(ExtendedActorSystem system) {
    ShardingGauges.start(Adapter.toTyped(system), NodeMetrics.registry());
  }

  @Override
  public Route routes(ManagementRouteProviderSettings settings) {
    return path("metrics", () -> get(() -> complete(HttpEntities.create(
        ContentTypes.parse("text/plain; version=0.0.4; charset=utf-8"),
        NodeMetrics.registry().scrape().getBytes(java.nio.charset.StandardCharsets.UTF_8)))));
  }
}
