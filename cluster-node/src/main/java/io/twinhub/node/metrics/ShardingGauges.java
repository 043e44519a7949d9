package io.twinhub.node.metrics;

import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.GetShardRegionState;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.cluster.sharding.ShardRegion.CurrentShardRegionState;
import akka.actor.typed.javadsl.AskPattern;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.twinhub.twin.entity.DeviceEntity;
import io.twinhub.twin.entity.ModuleEntity;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Active entities and shards hosted by this node, per entity type, polled from the local
 * shard region (shard distribution across nodes is these gauges side by side).
 */
final class ShardingGauges {
  private static final Duration INTERVAL = Duration.ofSeconds(10);

  private ShardingGauges() {}

  static void start(ActorSystem<?> system, MeterRegistry registry) {
    for (EntityTypeKey<?> key : List.of(DeviceEntity.TYPE_KEY, ModuleEntity.TYPE_KEY)) {
      AtomicLong entities = new AtomicLong();
      AtomicLong shards = new AtomicLong();
      Gauge.builder("twinhub.sharding.entities", entities, AtomicLong::get)
          .description("Active (in-memory) entities on this node").tag("type", key.name()).register(registry);
      Gauge.builder("twinhub.sharding.shards", shards, AtomicLong::get)
          .description("Shards hosted by this node").tag("type", key.name()).register(registry);
      system.scheduler().scheduleWithFixedDelay(INTERVAL, INTERVAL, () ->
          AskPattern.<akka.cluster.sharding.typed.ClusterShardingQuery, CurrentShardRegionState>ask(
                  ClusterSharding.get(system).shardState(), replyTo -> new GetShardRegionState(key, replyTo),
                  Duration.ofSeconds(5), system.scheduler())
              .thenAccept(state -> {
                shards.set(state.getShards().size());
                entities.set(state.getShards().stream().mapToLong(s -> s.getEntityIds().size()).sum());
              }), system.executionContext());
    }
  }
}
