package io.twinhub.functions.host;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.ClusterSingleton;
import akka.cluster.typed.ClusterSingletonSettings;
import akka.cluster.typed.SingletonActor;
import io.twinhub.functions.runtime.InvocationInput;
import io.twinhub.functions.runtime.Trigger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@code @TimerTrigger}: one cluster singleton on the worker role ticks every second and fires
 * each enabled timer function once per occurrence of its schedule, wherever it runs. The last
 * occurrence fired is committed in Cassandra before the invocation, so a singleton that moves to
 * another worker neither repeats it nor forgets a due one (a missed occurrence fires once, with
 * {@code IsPastDue: true}, as Azure Functions does).
 */
public final class TimerTriggers {
  private static final Logger log = LoggerFactory.getLogger(TimerTriggers.class);
  static final String CONSUMER = "timer";

  public interface Command {}

  private enum Tick implements Command { INSTANCE }

  private record Loaded(String key, Instant last) implements Command {}

  private TimerTriggers() {}

  public static void init(ActorSystem<?> system, AppHost host, String role) {
    Behavior<Command> b = Behaviors.supervise(behavior(host)).onFailure(SupervisorStrategy.restart());
    ClusterSingleton.get(system).init(SingletonActor.of(b, "functions-timers")
        .withSettings(ClusterSingletonSettings.create(system).withRole(role)));
  }

  private static Behavior<Command> behavior(AppHost host) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, Duration.ofSeconds(1));
      Map<String, Instant> last = new HashMap<>();
      Set<String> loading = new HashSet<>();
      return Behaviors.receive(Command.class)
          .onMessage(Loaded.class, l -> {
            loading.remove(l.key());
            last.put(l.key(), l.last());
            return Behaviors.same();
          })
          .onMessage(Tick.class, t -> {
            Instant now = Instant.now();
            for (AppHost.Target target : host.targets(Trigger.Timer.class, x -> true)) {
              String key = target.app() + "/" + target.function().name();
              Instant prev = last.get(key);
              if (prev == null) {
                if (loading.add(key)) {
                  ctx.pipeToSelf(host.store().offset(CONSUMER, key), (o, e) ->
                      new Loaded(key, Optional.ofNullable(o).flatMap(x -> x).map(Instant::parse).orElse(now)));
                }
                continue;
              }
              Trigger.Timer timer = (Trigger.Timer) target.function().trigger();
              Instant due = timer.cron().next(prev);
              if (due == null || due.isAfter(now)) continue;
              boolean pastDue = Duration.between(due, now).compareTo(Duration.ofSeconds(30)) > 0;
              Instant next = timer.cron().next(now);
              last.put(key, now);
              String info = "{\"Schedule\":{\"AdjustForDST\":true},\"ScheduleStatus\":{\"Last\":\"" + prev + "\",\"Next\":\""
                  + next + "\",\"LastUpdated\":\"" + now + "\"},\"IsPastDue\":" + pastDue + "}";
              // Commit the occurrence first: a move of the singleton must not fire it twice.
              host.store().saveOffset(CONSUMER, key, now.toString())
                  .thenCompose(d -> host.invoke(target, new InvocationInput.Timer(info)))
                  .whenComplete((r, e) -> {
                    if (e != null) log.warn("Timer function {} not fired: {}", key, e.toString());
                  });
            }
            return Behaviors.same();
          })
          .build();
    }));
  }
}
