package io.twinhub.node.configurations;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.AskPattern;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.ClusterSingleton;
import akka.cluster.typed.ClusterSingletonSettings;
import akka.cluster.typed.SingletonActor;
import io.twinhub.twin.TwinhubSerializable;
import io.twinhub.twin.configuration.ConfigurationJson;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * The one {@link ConfigurationApplier} of the cluster, as a cluster singleton on the members that
 * hold a query index (it reads target sets and metrics from it). A new instance (after a
 * hand-over or a crash) starts over: it follows the journal from shortly before its start and
 * reconciles every configuration from the index once. Other members ask it for metrics.
 */
public final class ConfigurationManager {
  private ConfigurationManager() {}

  public sealed interface Command extends TwinhubSerializable {}

  public record GetMetrics(String id, ActorRef<ConfigurationJson.Metrics> replyTo) implements Command {}

  enum Poll implements Command { INSTANCE }

  enum Recount implements Command { INSTANCE }

  /** Starts the singleton (hosted on {@code role} members); {@code applier} makes each incarnation's engine. */
  public static ActorRef<Command> init(ActorSystem<?> system, String role, ConfigurationSettings settings,
                                       Supplier<ConfigurationApplier> applier) {
    return ClusterSingleton.get(system).init(SingletonActor.of(
            Behaviors.supervise(behavior(settings, applier)).onFailure(akka.actor.typed.SupervisorStrategy.restart()),
            "configuration-applier")
        .withSettings(ClusterSingletonSettings.create(system).withRole(role)));
  }

  static Behavior<Command> behavior(ConfigurationSettings settings, Supplier<ConfigurationApplier> factory) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      ConfigurationApplier applier = factory.get();
      applier.poll();
      timers.startTimerWithFixedDelay(Poll.INSTANCE, settings.pollInterval());
      timers.startTimerWithFixedDelay(Recount.INSTANCE, settings.metricsInterval());
      return Behaviors.receive(Command.class)
          .onMessage(Poll.class, p -> {
            applier.poll();
            return Behaviors.same();
          })
          .onMessage(Recount.class, p -> {
            applier.refreshMetrics();
            return Behaviors.same();
          })
          .onMessage(GetMetrics.class, g -> {
            g.replyTo().tell(applier.metrics(g.id()));
            return Behaviors.same();
          })
          .onSignal(PostStop.class, s -> {
            applier.stop();
            return Behaviors.same();
          })
          .build();
    }));
  }

  /** The metrics of {@code id}; none when the singleton does not answer in time. */
  public static CompletionStage<ConfigurationJson.Metrics> metrics(ActorSystem<?> system, ActorRef<Command> manager,
                                                                   String id, Duration timeout) {
    return AskPattern.<Command, ConfigurationJson.Metrics>ask(manager, r -> new GetMetrics(id, r), timeout, system.scheduler())
        .exceptionally(e -> ConfigurationJson.Metrics.NONE);
  }
}
