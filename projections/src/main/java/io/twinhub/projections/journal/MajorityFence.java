package io.twinhub.projections.journal;

import akka.actor.AbstractActor;
import akka.actor.Address;
import akka.actor.Props;
import akka.cluster.Cluster;
import akka.cluster.ClusterEvent;
import akka.cluster.Member;
import akka.cluster.MemberStatus;

import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The journal's write fence: a member that is on the losing side of the Split Brain Resolver's
 * keep-majority rule (it reaches at most half of the cluster's members, or exactly half without
 * the member with the lowest address), or that was downed, journals nothing, so it acknowledges
 * no write from the moment it sees the others unreachable.
 *
 * <p>Why: after a partition the surviving side starts the losing side's twins once it has downed
 * and removed it plus {@code akka.cluster.down-removal-margin}. Without a fence the losing side
 * kept acknowledging writes until its own Split Brain Resolver decision (stable-after after its
 * detection) and its shutdown had stopped its shards, which is what Akka's default margin
 * (= stable-after) waits for. With the fence the losing side stops at its own failure detection,
 * about when the surviving side detects it, and the surviving side still waits stable-after
 * before downing: stable-after covers the skew between the two detections (a journal write under
 * way at the fence is failed when it completes, {@code TwinJournal}), so the margin can be short
 * (application.conf, README "Failover"). A kill -9 (the usual failure) needs neither.
 * {@code ClusterFailoverIT} ({@code PartitionFailover}) tests it against a real partition.
 *
 * <p>Mirrors keep-majority with no role: members Up, Leaving or preparing for shutdown count;
 * Joining and WeaklyUp ones do not (they host no shards yet); this member counts as reachable.
 */
final class MajorityFence {
  private MajorityFence() {}

  /** True when a member with this view must not journal. */
  static boolean fenced(Collection<Member> members, Set<Address> unreachable, Address self) {
    Member me = null;
    for (Member m : members) if (m.address().equals(self)) me = m;
    if (me == null) return false; // not a member yet: hosts nothing
    if (me.status() == MemberStatus.down()) return true;
    int counted = 0;
    int reachable = 0;
    Member lowest = null;
    for (Member m : members) {
      if (!counts(m)) continue;
      counted++;
      if (m.address().equals(self) || !unreachable.contains(m.address())) reachable++;
      if (lowest == null || Member.addressOrdering().compare(m.address(), lowest.address()) < 0) lowest = m;
    }
    if (!counts(me)) return false; // joining, weakly up, exiting: no shards to protect
    if (2 * reachable > counted) return false;
    if (2 * reachable < counted) return true;
    return !lowest.address().equals(self) && unreachable.contains(lowest.address());
  }

  private static boolean counts(Member m) {
    MemberStatus s = m.status();
    // shuttingDown/shutDown: PreparingForShutdown/ReadyForShutdown (a cluster-wide shutdown under way).
    return s == MemberStatus.up() || s == MemberStatus.leaving() || s == MemberStatus.shuttingDown()
        || s == MemberStatus.shutDown();
  }

  /**
   * Keeps {@code fenced} current from this member's cluster events (nothing on a non-cluster
   * actor system, where the flag stays false).
   */
  static Props watcher(AtomicBoolean fenced) {
    return Props.create(Watcher.class, () -> new Watcher(fenced));
  }

  static final class Watcher extends AbstractActor {
    private final AtomicBoolean fenced;
    private final Cluster cluster = Cluster.get(getContext().getSystem());
    private final Map<Address, Member> members = new HashMap<>();
    private final Set<Address> unreachable = new HashSet<>();
    private boolean selfDowned;

    Watcher(AtomicBoolean fenced) {
      this.fenced = fenced;
    }

    @Override
    public void preStart() {
      cluster.subscribe(getSelf(), ClusterEvent.initialStateAsEvents(), ClusterEvent.MemberEvent.class,
          ClusterEvent.ReachabilityEvent.class);
    }

    @Override
    public void postStop() {
      cluster.unsubscribe(getSelf());
    }

    @Override
    public Receive createReceive() {
      return receiveBuilder()
          .match(ClusterEvent.MemberRemoved.class, e -> {
            members.remove(e.member().address());
            unreachable.remove(e.member().address());
            update();
          })
          .match(ClusterEvent.MemberEvent.class, e -> {
            members.put(e.member().address(), e.member());
            update();
          })
          .match(ClusterEvent.UnreachableMember.class, e -> {
            unreachable.add(e.member().address());
            update();
          })
          .match(ClusterEvent.ReachableMember.class, e -> {
            unreachable.remove(e.member().address());
            update();
          })
          .build();
    }

    private void update() {
      Member self = members.get(cluster.selfAddress());
      if (self != null && self.status() == MemberStatus.down()) selfDowned = true; // stays fenced once removed
      boolean now = selfDowned || fenced(members.values(), unreachable, cluster.selfAddress());
      if (fenced.getAndSet(now) != now) {
        if (now) {
          getContext().getSystem().log().warning("journal fenced: this member reaches no majority of the cluster "
              + "(members {}, unreachable {}); writes fail until it does", members.keySet(), unreachable);
        } else {
          getContext().getSystem().log().warning("journal fence lifted: this member reaches a majority again");
        }
      }
    }
  }
}
