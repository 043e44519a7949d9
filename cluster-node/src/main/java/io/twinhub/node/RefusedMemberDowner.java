package io.twinhub.node;

import akka.actor.Address;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.ClusterEvent.CurrentClusterState;
import akka.cluster.Member;
import akka.cluster.MemberStatus;
import com.typesafe.config.Config;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Downs a crashed member as soon as its death is certain instead of after the Split Brain
 * Resolver's {@code stable-after} ({@code twinhub.cluster.down-refused-members}, README "Failover").
 * While this member is the leader of its reachable side and some member is unreachable, it probes
 * each unreachable member's canonical Artery address with a plain TCP connect every
 * {@link #PROBE_INTERVAL} (on threads of its own, {@link #CONNECT_TIMEOUT} each); the decisions
 * (what counts as confirmed dead, majority) are {@link RefusedDowning}'s. A member confirmed dead is
 * downed with {@code Cluster.down}; everything else is left to the resolver.
 */
final class RefusedMemberDowner {
  private static final Logger log = LoggerFactory.getLogger(RefusedMemberDowner.class);
  static final Duration PROBE_INTERVAL = Duration.ofMillis(250);
  static final Duration CONNECT_TIMEOUT = Duration.ofMillis(500);

  private RefusedMemberDowner() {}

  sealed interface Msg {}
  record Tick() implements Msg {}
  record Probed(Address member, RefusedDowning.Probe outcome, String detail) implements Msg {}

  /** Starts it if {@code twinhub.cluster.down-refused-members} is on and the remoting settings allow it. */
  static void start(ActorSystem<?> system, Config config) {
    String off = disabledBecause(config);
    if (off != null) {
      log.info("downing of members confirmed dead by a refused connection is off: {}", off);
      return;
    }
    Duration confirmFor = config.getDuration("twinhub.cluster.down-refused-after");
    log.info("downing of members confirmed dead by a refused connection is on (every connect refused for {} ms)",
        confirmFor.toMillis());
    system.systemActorOf(behavior(confirmFor), "twinhub-refused-member-downer", Props.empty());
  }

  /**
   * Why the probe cannot be trusted with these settings, null if it can: only Artery's TCP
   * transports listen on a TCP port (aeron-udp would always be "refused"), and a refused connect
   * says something about the member only if its canonical address is the address it binds (no NAT
   * or port mapping in between: bind port and host unset, equal to the canonical ones, or a
   * wildcard host). This member's settings stand for the others' (one deployment).
   */
  static String disabledBecause(Config config) {
    if (!config.getBoolean("twinhub.cluster.down-refused-members")) return "twinhub.cluster.down-refused-members = off";
    String transport = config.getString("akka.remote.artery.transport");
    if (!transport.equals("tcp") && !transport.equals("tls-tcp")) return "akka.remote.artery.transport = " + transport + " (not TCP)";
    String canonicalHost = config.getString("akka.remote.artery.canonical.hostname");
    String bindHost = config.getString("akka.remote.artery.bind.hostname");
    if (!bindHost.isEmpty() && !bindHost.equals(canonicalHost) && !Set.of("0.0.0.0", "::", "::0", "[::]").contains(bindHost)) {
      return "the canonical host " + canonicalHost + " is not the bind host " + bindHost + " (NAT?)";
    }
    String canonicalPort = config.getString("akka.remote.artery.canonical.port");
    String bindPort = config.getString("akka.remote.artery.bind.port");
    if (!bindPort.isEmpty() && !bindPort.equals(canonicalPort)) {
      return "the canonical port " + canonicalPort + " is not the bind port " + bindPort + " (port mapping?)";
    }
    return null;
  }

  static Behavior<Msg> behavior(Duration confirmFor) {
    return Behaviors.<Msg>setup(ctx -> Behaviors.withTimers(timers -> {
      akka.cluster.Cluster cluster = akka.cluster.Cluster.get(ctx.getSystem());
      ExecutorService probes = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "twinhub-refused-probe");
        t.setDaemon(true);
        return t;
      });
      RefusedDowning decisions = new RefusedDowning(confirmFor);
      Set<Address> inFlight = new HashSet<>();
      Set<Address> reported = new HashSet<>(); // inconclusive outcome logged once per unreachable episode
      Set<Address> downed = new HashSet<>();
      timers.startTimerWithFixedDelay(new Tick(), PROBE_INTERVAL);
      return Behaviors.receive(Msg.class)
          .onMessage(Tick.class, t -> {
            CurrentClusterState state = cluster.state();
            Address self = cluster.selfAddress();
            List<Address> unreachable = new ArrayList<>();
            if (self.equals(state.getLeader())) {
              for (Member m : state.getUnreachable()) {
                if (m.status() != MemberStatus.down() && !m.address().equals(self)) unreachable.add(m.address());
              }
            }
            decisions.retainOnly(unreachable);
            reported.retainAll(unreachable);
            downed.retainAll(unreachable);
            for (Address member : unreachable) {
              if (!inFlight.add(member)) continue;
              CompletableFuture<Probed> probe = CompletableFuture.supplyAsync(() -> probe(member), probes);
              ctx.pipeToSelf(probe, (p, e) -> p != null ? p
                  : new Probed(member, RefusedDowning.Probe.INCONCLUSIVE, String.valueOf(e)));
            }
            return Behaviors.same();
          })
          .onMessage(Probed.class, p -> {
            inFlight.remove(p.member());
            CurrentClusterState state = cluster.state();
            List<RefusedDowning.MemberView> members = new ArrayList<>();
            Set<Member> unreachable = state.getUnreachable();
            boolean stillUnreachable = false;
            for (Member m : state.getMembers()) {
              boolean reachable = !unreachable.contains(m);
              if (!reachable && m.address().equals(p.member())) stillUnreachable = true;
              members.add(new RefusedDowning.MemberView(m.address(), m.status(), reachable));
            }
            if (!stillUnreachable) return Behaviors.same();
            long now = System.nanoTime();
            decisions.probed(p.member(), p.outcome(), now);
            if (p.outcome() != RefusedDowning.Probe.REFUSED && reported.add(p.member())) {
              log.info("cluster: member {} not confirmed dead: {} (left to the Split Brain Resolver)", p.member(), p.detail());
            }
            Address self = cluster.selfAddress();
            for (Address member : decisions.toDown(self, state.getLeader(), members, now)) {
              if (!downed.add(member)) continue;
              long reachable = members.stream().filter(RefusedDowning.MemberView::reachable).count();
              log.info("cluster: member {} confirmed dead by refused connection ({}), downing it now ({} of {} members reachable)",
                  member, decisions.evidence(member, now), reachable, members.size());
              cluster.down(member);
            }
            return Behaviors.same();
          })
          .onSignal(PostStop.class, s -> {
            probes.shutdownNow();
            return Behaviors.same();
          })
          .build();
    }));
  }

  /** One plain TCP connect to the member's canonical Artery address, closed at once. */
  static Probed probe(Address member) {
    if (member.host().isEmpty() || member.port().isEmpty()) {
      return new Probed(member, RefusedDowning.Probe.INCONCLUSIVE, "no host:port in the address");
    }
    String host = member.host().get();
    int port = (Integer) member.port().get();
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(host, port), (int) CONNECT_TIMEOUT.toMillis());
      return new Probed(member, RefusedDowning.Probe.LISTENING, "a connect to " + host + ":" + port + " succeeded (something listens there)");
    } catch (ConnectException e) {
      String message = String.valueOf(e.getMessage());
      return message.startsWith("Connection refused")
          ? new Probed(member, RefusedDowning.Probe.REFUSED, message)
          : new Probed(member, RefusedDowning.Probe.INCONCLUSIVE, "a connect to " + host + ":" + port + ": " + e);
    } catch (IOException | RuntimeException e) {
      return new Probed(member, RefusedDowning.Probe.INCONCLUSIVE, "a connect to " + host + ":" + port + ": " + e);
    }
  }
}
