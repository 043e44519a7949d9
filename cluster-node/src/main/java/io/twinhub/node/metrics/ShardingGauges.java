package io.twinhub.node.metrics;

import akka.Done;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.cluster.sharding.typed.GetShardRegionState;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.cluster.sharding.ShardRegion.CurrentShardRegionState;
import akka.actor.typed.javadsl.AskPattern;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.twinhub.twin.entity.DeviceEntity;
import io.twinhub.twin.entity.ModuleEntity;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Active entities and shards hosted by this node, per entity type, polled from the local
 * shard region (shard distribution across nodes is these gauges side by side).
 */
final class ShardingGauges {
  private static final Duration INTERVAL = Duration.ofSeconds(10);

  private ShardingGauges() {}

  static void start(ActorSystem<?> system, MeterRegistry registry) {
    List<Meter> meters = new ArrayList<>();
    for (EntityTypeKey<?> key : List.of(DeviceEntity.TYPE_KEY, ModuleEntity.TYPE_KEY)) {
      AtomicLong entities = new AtomicLong();
      AtomicLong shards = new AtomicLong();
      meters.add(Gauge.builder("twinhub.sharding.entities", entities, AtomicLong::get)
          .description("Active (in-memory) entities on this node").tag("type", key.name()).register(registry));
      meters.add(Gauge.builder("twinhub.sharding.shards", shards, AtomicLong::get)
          .description("Shards hosted by this node").tag("type", key.name()).register(registry));
      system.scheduler().scheduleWithFixedDelay(INTERVAL, INTERVAL, () ->
          AskPattern.<akka.cluster.sharding.typed.ClusterShardingQuery, CurrentShardRegionState>ask(
                  ClusterSharding.get(system).shardState(), replyTo -> new GetShardRegionState(key, replyTo),
                  Duration.ofSeconds(5), system.scheduler())
              .thenAccept(state -> {
                shards.set(state.getShards().size());
                entities.set(state.getShards().stream().mapToLong(s -> s.getEntityIds().size()).sum());
              }), system.executionContext());
    }
    // The registry is the JVM's: a node started later in the same JVM would find these registered
    // (its own ignored) and export this stopped node's figures.
    CoordinatedShutdown.get(Adapter.toClassic(system)).addTask(CoordinatedShutdown.PhaseServiceStop(), "sharding-meters", () -> {
      meters.forEach(registry::remove);
      return CompletableFuture.completedFuture(Done.getInstance());
    });
  }
}
