package io.twinhub.twin.configuration;

import io.twinhub.twin.PersistFailures;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.ReplyEffect;
import akka.persistence.typed.javadsl.RetentionCriteria;
import io.twinhub.twin.TwinhubSerializable;
import io.twinhub.twin.error.IotHubError;

import java.time.Clock;
import java.util.List;
import java.util.Set;

/**
 * The hub's configurations as one event-sourced entity (there are at most a few hundred, IoT
 * Hub allows 100 of each kind): sharded, so every node reaches the same store and it survives
 * restarts. Rules are {@link ConfigurationStore}'s; this class only sequences.
 */
public final class ConfigurationStoreEntity
    extends EventSourcedBehaviorWithEnforcedReplies<ConfigurationStoreEntity.Command, ConfigurationStore.Event, ConfigurationStore> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "Configurations");
  /** The one store of the hub. */
  public static final String ENTITY_ID = "hub";
  public static final String TAG = "configurations";

  public sealed interface Command extends TwinhubSerializable {}

  public record Create(ConfigurationJson.Spec spec, ActorRef<Reply> replyTo) implements Command {}

  public record Update(ConfigurationJson.Spec spec, String ifMatch, ActorRef<Reply> replyTo) implements Command {}

  public record Delete(String id, String ifMatch, ActorRef<Reply> replyTo) implements Command {}

  public record Get(String id, ActorRef<Reply> replyTo) implements Command {}

  public record ListAll(ActorRef<Reply> replyTo) implements Command {}

  public sealed interface Reply extends TwinhubSerializable {}

  /** The configuration after the command (null after a delete). */
  public record Done(Configuration configuration) implements Reply {}

  public record Listed(List<Configuration> configurations) implements Reply {}

  public record Rejected(IotHubError error) implements Reply {}

  private final Clock clock;
  private final int maxConfigurations;

  private ConfigurationStoreEntity(Clock clock, int maxConfigurations, akka.actor.typed.BackoffSupervisorStrategy onPersistFailure) {
    super(PersistenceId.of(TYPE_KEY.name(), ENTITY_ID), onPersistFailure);
    this.clock = clock;
    this.maxConfigurations = maxConfigurations;
  }

  /** Hosted on members with {@code role} (null: any member). */
  public static void init(ActorSystem<?> system, Clock clock, int maxConfigurations, String role) {
    var entity = Entity.of(TYPE_KEY, ctx -> create(clock, maxConfigurations));
    ClusterSharding.get(system).init(role == null ? entity : entity.withRole(role));
  }

  public static Behavior<Command> create(Clock clock, int maxConfigurations) {
    return akka.actor.typed.javadsl.Behaviors.setup(ctx ->
        new ConfigurationStoreEntity(clock, maxConfigurations, PersistFailures.backoff(ctx.getSystem())));
  }

  @Override
  public ConfigurationStore emptyState() {
    return ConfigurationStore.EMPTY;
  }

  @Override
  public CommandHandlerWithReply<Command, ConfigurationStore.Event, ConfigurationStore> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(Create.class, (s, c) -> decide(s.create(c.spec(), clock.instant(), maxConfigurations), c.replyTo()))
        .onCommand(Update.class, (s, c) -> decide(s.update(c.spec(), c.ifMatch(), clock.instant()), c.replyTo()))
        .onCommand(Delete.class, (s, c) -> decide(s.delete(c.id(), c.ifMatch(), clock.instant()), c.replyTo()))
        .onCommand(Get.class, (s, c) -> Effect().reply(c.replyTo(), s.byId().containsKey(c.id())
            ? new Done(s.byId().get(c.id())) : new Rejected(ConfigurationStore.notFoundError(c.id()))))
        .onCommand(ListAll.class, (s, c) -> Effect().reply(c.replyTo(), new Listed(s.list())))
        .build();
  }

  private ReplyEffect<ConfigurationStore.Event, ConfigurationStore> decide(ConfigurationStore.Result result, ActorRef<Reply> replyTo) {
    if (result instanceof ConfigurationStore.Result.Refused r) return Effect().reply(replyTo, new Rejected(r.error()));
    ConfigurationStore.Event event = ((ConfigurationStore.Result.Changed) result).event();
    return Effect().persist(event).thenReply(replyTo, after -> new Done(event instanceof ConfigurationStore.Deleted
        ? null : after.byId().get(configurationId(event))));
  }

  private static String configurationId(ConfigurationStore.Event e) {
    if (e instanceof ConfigurationStore.Created c) return c.configuration().id();
    if (e instanceof ConfigurationStore.Updated u) return u.configuration().id();
    return ((ConfigurationStore.Deleted) e).id();
  }

  @Override
  public EventHandler<ConfigurationStore, ConfigurationStore.Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(ConfigurationStore::apply);
  }

  @Override
  public Set<String> tagsFor(ConfigurationStore.Event event) {
    return Set.of(TAG);
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2);
  }
}
