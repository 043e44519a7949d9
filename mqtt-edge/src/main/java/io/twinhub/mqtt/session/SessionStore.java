package io.twinhub.mqtt.session;

import io.twinhub.twin.PersistFailures;
import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.cluster.sharding.typed.ClusterShardingSettings;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.RetentionCriteria;
import io.twinhub.twin.TwinhubSerializable;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * MQTT persistent sessions (CONNECT with CleanSession=0, which the Azure device SDKs always
 * send): the subscriptions of a client id survive its connections, node restarts and moves, as
 * IoT Hub keeps them. The device SDK relies on it: after a reconnect it does not subscribe again.
 * One sharded persistent entity per client id ({@code deviceId} or {@code deviceId/moduleId}).
 */
public final class SessionStore
    extends EventSourcedBehaviorWithEnforcedReplies<SessionStore.Command, SessionStore.Event, SessionStore.State> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "MqttSession");

  public sealed interface Command extends TwinhubSerializable {}

  public record Load(ActorRef<Stored> replyTo) implements Command {}

  /** Replaces the stored subscriptions (topic filter → granted QoS). */
  public record Save(Map<String, Integer> subscriptions, ActorRef<Done> replyTo) implements Command {}

  /** CleanSession=1: forget the session. */
  public record Clear(ActorRef<Stored> replyTo) implements Command {}

  /** {@code present}: a session was stored (CONNACK session-present flag). */
  public record Stored(boolean present, Map<String, Integer> subscriptions) implements TwinhubSerializable {
    public Stored {
      subscriptions = Map.copyOf(subscriptions);
    }
  }

  public sealed interface Event extends TwinhubSerializable {}

  public record SubscriptionsSaved(Map<String, Integer> subscriptions) implements Event {
    public SubscriptionsSaved {
      subscriptions = Map.copyOf(subscriptions);
    }
  }

  public record SessionCleared() implements Event {}

  public record State(boolean present, Map<String, Integer> subscriptions) implements TwinhubSerializable {
    public State {
      subscriptions = Map.copyOf(subscriptions);
    }
  }

  private SessionStore(String clientId, akka.actor.typed.BackoffSupervisorStrategy onPersistFailure) {
    super(PersistenceId.of(TYPE_KEY.name(), clientId), onPersistFailure);
  }

  public static void init(ActorSystem<?> system) {
    init(system, null);
  }

  /**
   * Hosted on members with {@code role} (null: every member). A cluster whose members do not all
   * run the gateway must init this on every member with the gateway's role: the region's
   * coordinator runs on the oldest member that has one. The first init of a system wins.
   */
  public static void init(ActorSystem<?> system, String role) {
    // A session's store is read at CONNECT and written at SUBSCRIBE, then not again while the device
    // stays connected (for hours): it passivates much sooner than the twins (twinhub.mqtt.session-store-idle).
    ClusterShardingSettings sharding = ClusterShardingSettings.create(system);
    Duration idle = system.settings().config().getDuration("twinhub.mqtt.session-store-idle");
    var entity = Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId()))
        .withSettings(sharding.withPassivationStrategy(sharding.passivationStrategySettings().withIdleEntityPassivation(idle)));
    ClusterSharding.get(system).init(role == null ? entity : entity.withRole(role));
  }

  public static Behavior<Command> create(String clientId) {
    return akka.actor.typed.javadsl.Behaviors.setup(ctx -> new SessionStore(clientId, PersistFailures.backoff(ctx.getSystem())));
  }

  @Override
  public State emptyState() {
    return new State(false, Map.of());
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(Load.class, (s, c) -> Effect().reply(c.replyTo(), new Stored(s.present(), s.subscriptions())))
        .onCommand(Save.class, (s, c) -> s.present() && s.subscriptions().equals(c.subscriptions())
            ? Effect().reply(c.replyTo(), Done.getInstance())
            : Effect().persist(new SubscriptionsSaved(c.subscriptions())).thenReply(c.replyTo(), after -> Done.getInstance()))
        .onCommand(Clear.class, (s, c) -> !s.present()
            ? Effect().reply(c.replyTo(), new Stored(false, Map.of()))
            : Effect().persist(new SessionCleared()).thenReply(c.replyTo(), after -> new Stored(true, Map.of())))
        .build();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    var b = newEventHandlerBuilder();
    b.forAnyState()
        .onEvent(SubscriptionsSaved.class, (s, e) -> new State(true, e.subscriptions()))
        .onEvent(SessionCleared.class, (s, e) -> new State(false, Map.of()));
    return b.build();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(50, 1).withDeleteEventsOnSnapshot();
  }

  /** The client side, used by sessions. */
  public static final class Client {
    private final ClusterSharding sharding;
    private final Duration timeout;

    public Client(ActorSystem<?> system, Duration timeout) {
      init(system);
      this.sharding = ClusterSharding.get(system);
      this.timeout = timeout;
    }

    public CompletionStage<Stored> load(String clientId) {
      return sharding.entityRefFor(TYPE_KEY, clientId).ask(Load::new, timeout);
    }

    public CompletionStage<Stored> clear(String clientId) {
      return sharding.entityRefFor(TYPE_KEY, clientId).ask(Clear::new, timeout);
    }

    public CompletionStage<Done> save(String clientId, Map<String, Integer> subscriptions) {
      return sharding.entityRefFor(TYPE_KEY, clientId).ask(r -> new Save(subscriptions, r), timeout);
    }
  }
}
