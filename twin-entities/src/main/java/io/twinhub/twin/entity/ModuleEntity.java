package io.twinhub.twin.entity;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandlerWithReplyBuilderByState;
import io.twinhub.twin.domain.Identity;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.TimerScheduler;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;

import java.time.Instant;

/** A module identity and its twin (entity id = {@code deviceId/moduleId}). */
public final class ModuleEntity extends TwinEntity {
  public static final EntityTypeKey<TwinCommand> TYPE_KEY = EntityTypeKey.create(TwinCommand.class, "Module");

  private ModuleEntity(String deviceId, String moduleId, EntitySettings settings,
                       ActorContext<TwinCommand> context, TimerScheduler<TwinCommand> timers) {
    super(PersistenceId.of(TYPE_KEY.name(), entityId(deviceId, moduleId)), deviceId, moduleId, settings, context, timers);
  }

  /** Device ids cannot contain '/', so the first '/' separates the two. */
  public static String entityId(String deviceId, String moduleId) {
    return deviceId + "/" + moduleId;
  }

  public static void init(ActorSystem<?> system, EntitySettings settings) {
    init(system, settings, null);
  }

  /** Hosted only on cluster members with {@code role} (null: on every member); others proxy. */
  public static void init(ActorSystem<?> system, EntitySettings settings, String role) {
    var entity = Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId(), settings));
    ClusterSharding.get(system).init(role == null ? entity : entity.withRole(role));
  }

  public static Behavior<TwinCommand> create(String entityId, EntitySettings settings) {
    int slash = entityId.indexOf('/');
    if (slash <= 0 || slash == entityId.length() - 1) {
      throw new IllegalArgumentException("module entity id must be deviceId/moduleId, got " + entityId);
    }
    String deviceId = entityId.substring(0, slash);
    String moduleId = entityId.substring(slash + 1);
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new ModuleEntity(deviceId, moduleId, settings, ctx, timers)));
  }

  @Override
  TwinEvent created(Identity identity, TwinEvent.Versions versions, Instant at) {
    return new TwinEvent.ModuleCreated(identity, versions, at);
  }

  @Override
  TwinEvent updated(Identity identity, Instant at) {
    return new TwinEvent.ModuleUpdated(identity, at);
  }

  @Override
  TwinEvent deleted(TwinRecord state, Instant at) {
    return new TwinEvent.ModuleDeleted(at);
  }

  @Override
  IotHubError notFound() {
    return IotHubError.of(IotHubErrorCode.ModuleNotFound, "Module " + moduleId + " on device " + deviceId + " not found");
  }

  @Override
  IotHubError alreadyExists() {
    return IotHubError.of(IotHubErrorCode.ModuleAlreadyExistsOnDevice,
        "Module " + moduleId + " already exists on device " + deviceId);
  }

  @Override
  void addCommands(CommandHandlerWithReplyBuilderByState<TwinCommand, TwinEvent, TwinRecord, TwinRecord> b) {
    // Module registration commands are the device's business; a module has none of its own.
  }
}
