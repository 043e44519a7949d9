package io.twinhub.twin.entity;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandlerWithReplyBuilderByState;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.entity.TwinCommand.*;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;

import java.time.Duration;
import java.time.Instant;

/**
 * A device identity, its twin and the ids of its modules (entity id = deviceId). Deleting
 * the device deletes its modules: the deletion is journaled with the module list, and the
 * entity keeps asking each module to delete itself (also after a restart) until every one
 * is confirmed by a {@link TwinEvent.ModuleRemoved}.
 */
public final class DeviceEntity extends TwinEntity {
  public static final EntityTypeKey<TwinCommand> TYPE_KEY = EntityTypeKey.create(TwinCommand.class, "Device");
  static final Duration MODULE_DELETION_RETRY = Duration.ofSeconds(5);

  private DeviceEntity(String deviceId, EntitySettings settings,
                       ActorContext<TwinCommand> context, TimerScheduler<TwinCommand> timers) {
    super(PersistenceId.of(TYPE_KEY.name(), deviceId), deviceId, null, settings, context, timers);
  }

  public static void init(ActorSystem<?> system, EntitySettings settings) {
    init(system, settings, null);
  }

  /** Hosted only on cluster members with {@code role} (null: on every member); others proxy. */
  public static void init(ActorSystem<?> system, EntitySettings settings, String role) {
    var entity = Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId(), settings));
    ClusterSharding.get(system).init(role == null ? entity : entity.withRole(role));
  }

  public static Behavior<TwinCommand> create(String deviceId, EntitySettings settings) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new DeviceEntity(deviceId, settings, ctx, timers)));
  }

  @Override
  TwinEvent created(Identity identity, TwinEvent.Versions versions, Instant at) {
    return new TwinEvent.DeviceCreated(identity, versions, at);
  }

  @Override
  TwinEvent updated(Identity identity, Instant at) {
    return new TwinEvent.DeviceUpdated(identity, at);
  }

  @Override
  TwinEvent deleted(TwinRecord state, Instant at) {
    return new TwinEvent.DeviceDeleted(state.modules(), at);
  }

  @Override
  IotHubError notFound() {
    return IotHubError.of(IotHubErrorCode.DeviceNotFound, "Device " + deviceId + " not found");
  }

  @Override
  IotHubError alreadyExists() {
    return IotHubError.of(IotHubErrorCode.DeviceAlreadyExists, "Device " + deviceId + " already exists");
  }

  @Override
  void addCommands(CommandHandlerWithReplyBuilderByState<TwinCommand, TwinEvent, TwinRecord, TwinRecord> b) {
    b.onCommand(AddModule.class, (s, c) -> {
          if (!s.exists()) return reject(c.replyTo(), notFound());
          if (s.modules().contains(c.moduleId())) return Effect().reply(c.replyTo(), accepted(s));
          if (s.pendingModuleDeletions().contains(c.moduleId())) {
            return reject(c.replyTo(), IotHubError.of(IotHubErrorCode.ServiceUnavailable,
                "module " + c.moduleId() + " of a deleted device " + deviceId + " is still being deleted; retry"));
          }
          return Identity.checkModuleQuota(s.modules().size(), limits).fold(
              n -> persistAndReply(new TwinEvent.ModuleAdded(c.moduleId(), clock.instant()), c.replyTo()),
              r -> reject(c.replyTo(), io.twinhub.twin.error.RejectionErrors.toError(r)));
        })
        .onCommand(RemoveModule.class, (s, c) -> s.modules().contains(c.moduleId())
            ? persistAndReply(new TwinEvent.ModuleRemoved(c.moduleId(), clock.instant()), c.replyTo())
            : Effect().reply(c.replyTo(), accepted(s)))
        .onCommand(ModuleDeletionResult.class, (s, c) -> c.done() && s.pendingModuleDeletions().contains(c.moduleId())
            ? persist(new TwinEvent.ModuleRemoved(c.moduleId(), clock.instant()), null).thenNoReply()
            : Effect().noReply())
        .onCommand(RetryModuleDeletions.class, (s, c) -> {
          driveModuleDeletions(s);
          return Effect().noReply();
        });
  }

  @Override
  void recovered(TwinRecord state) {
    super.recovered(state);
    driveModuleDeletions(state);
  }

  @Override
  void afterDelete(TwinRecord state) {
    driveModuleDeletions(state);
  }

  /** Asks every module still pending deletion to delete itself; a timer re-drives what stays unconfirmed. */
  private void driveModuleDeletions(TwinRecord state) {
    if (state.pendingModuleDeletions().isEmpty()) {
      timers.cancel(RetryModuleDeletions.class);
      return;
    }
    ClusterSharding sharding = ClusterSharding.get(context.getSystem());
    for (String m : state.pendingModuleDeletions()) {
      context.ask(TwinReply.class, sharding.entityRefFor(ModuleEntity.TYPE_KEY, ModuleEntity.entityId(deviceId, m)),
          MODULE_DELETION_RETRY, replyTo -> new DeleteIdentity("*", true, replyTo),
          (reply, failure) -> new ModuleDeletionResult(m, reply instanceof TwinReply.Accepted));
    }
    timers.startSingleTimer(RetryModuleDeletions.class, new RetryModuleDeletions(), MODULE_DELETION_RETRY.multipliedBy(2));
  }
}
