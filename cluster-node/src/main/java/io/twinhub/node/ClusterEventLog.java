package io.twinhub.node;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.ClusterEvent;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Subscribe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One INFO line per membership and reachability change this member sees ("cluster: member ...
 * unreachable / downed / removed"), timestamped by the log: the phases of a failover (failure
 * detection, the Split Brain Resolver's decision, removal) read off any node's log, as
 * ClusterFailoverIT prints them. Akka's own cluster logging is at WARN (README, Operations).
 */
final class ClusterEventLog {
  private static final Logger log = LoggerFactory.getLogger(ClusterEventLog.class);

  private ClusterEventLog() {}

  static void start(ActorSystem<?> system) {
    system.systemActorOf(Behaviors.<Object>setup(ctx -> {
      Cluster cluster = Cluster.get(system);
      cluster.subscriptions().tell(Subscribe.create(ctx.getSelf().narrow(), ClusterEvent.MemberEvent.class));
      cluster.subscriptions().tell(Subscribe.create(ctx.getSelf().narrow(), ClusterEvent.ReachabilityEvent.class));
      return Behaviors.receiveMessage(event -> {
        String line = describe(event);
        if (line != null) log.info("cluster: {}", line);
        return Behaviors.same();
      });
    }), "twinhub-cluster-event-log", Props.empty());
  }

  /** The log line of one event, null for events not worth a line. */
  static String describe(Object event) {
    if (event instanceof ClusterEvent.UnreachableMember e) return "member " + e.member().address() + " unreachable";
    if (event instanceof ClusterEvent.ReachableMember e) return "member " + e.member().address() + " reachable again";
    if (event instanceof ClusterEvent.MemberUp e) return "member " + e.member().address() + " up";
    if (event instanceof ClusterEvent.MemberLeft e) return "member " + e.member().address() + " leaving";
    if (event instanceof ClusterEvent.MemberExited e) return "member " + e.member().address() + " exited";
    if (event instanceof ClusterEvent.MemberDowned e) return "member " + e.member().address() + " downed";
    if (event instanceof ClusterEvent.MemberRemoved e) {
      return "member " + e.member().address() + " removed (was " + e.previousStatus() + ")";
    }
    return null;
  }
}
