package io.twinhub.node;

import akka.actor.Address;
import akka.cluster.MemberStatus;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The decisions of {@link RefusedMemberDowner}, pure (a clock the caller passes, no I/O): when may
 * this member down unreachable members at once instead of waiting for the Split Brain Resolver's
 * {@code stable-after}?
 *
 * <p>Evidence: a TCP connect to an unreachable member's canonical Artery address that the member's
 * host answers with a reset ("connection refused") means no process listens on that port: the
 * member's JVM is gone (kill -9, crash, exit) and cannot act or write any more. Any other outcome is
 * inconclusive: a successful connect (the member alive but unreachable — a partition, a stall; or a
 * new incarnation on the same port), a timeout (a host powered off, packets dropped), no route.
 * A member is <em>confirmed dead</em> when every probe for at least {@code confirmFor} (and at
 * least {@link #MIN_REFUSALS} probes) was refused; one inconclusive outcome restarts its count.
 *
 * <p>Decision ({@link #toDown}): down the unreachable members now only if (1) this member is the
 * leader of its reachable side (Akka's Split Brain Resolver also acts only on the leader, so at most
 * one member per side decides), (2) this member itself is not unreachable, (3) every unreachable
 * member that is not already Down is confirmed dead, and (4) the reachable side is the one
 * keep-majority keeps, counted conservatively: reachable Up/Leaving members against every member
 * that is not Down/Exiting/Removed (an unreachable Joining/WeaklyUp member counts against this
 * side), a strict majority, or exactly half with the lowest address of the counted members on this
 * side. Otherwise nothing: the resolver decides after {@code stable-after} as before. So the minority
 * side of a partition never downs by this path, whatever its probes see, and the majority side
 * downs only what the resolver would down there (the unreachable members), only sooner.
 */
final class RefusedDowning {
  /** The fewest refused probes that confirm a death, however long {@code confirmFor}. */
  static final int MIN_REFUSALS = 3;

  enum Probe {
    /** The member's host answered the connect with a reset: nothing listens on the port. */
    REFUSED,
    /** The connect succeeded: something listens there (the member, stalled or cut off, or a new incarnation). */
    LISTENING,
    /** Timeout, no route, any other error: nothing is known. */
    INCONCLUSIVE
  }

  /** One member as this member's cluster state shows it. */
  record MemberView(Address address, MemberStatus status, boolean reachable) {}

  /** A run of refused probes of one member: since when, how many. */
  private record Streak(long sinceNanos, int refusals) {}

  private final long confirmForNanos;
  private final Map<Address, Streak> streaks = new HashMap<>();

  RefusedDowning(Duration confirmFor) {
    this.confirmForNanos = confirmFor.toNanos();
  }

  /** Records one probe's outcome for {@code member}, taken at {@code nowNanos}. */
  void probed(Address member, Probe outcome, long nowNanos) {
    if (outcome != Probe.REFUSED) {
      streaks.remove(member);
      return;
    }
    Streak s = streaks.get(member);
    streaks.put(member, s == null ? new Streak(nowNanos, 1) : new Streak(s.sinceNanos(), s.refusals() + 1));
  }

  /** Forgets the evidence of every member not in {@code unreachable} (reachable again, removed). */
  void retainOnly(Collection<Address> unreachable) {
    streaks.keySet().retainAll(Set.copyOf(unreachable));
  }

  /** Every probe of {@code member} refused, for at least confirmFor and {@link #MIN_REFUSALS} probes. */
  boolean confirmed(Address member, long nowNanos) {
    Streak s = streaks.get(member);
    return s != null && s.refusals() >= MIN_REFUSALS && nowNanos - s.sinceNanos() >= confirmForNanos;
  }

  /** How many refused probes, over how long, confirm {@code member} (for the log line). */
  String evidence(Address member, long nowNanos) {
    Streak s = streaks.get(member);
    return s == null ? "no refusal" : s.refusals() + " refused connects over " + (nowNanos - s.sinceNanos()) / 1_000_000 + " ms";
  }

  /**
   * The members to down now, empty unless the rules of the class comment all hold.
   *
   * @param self this member
   * @param leader the leader of this member's view (Akka's: lowest address among its reachable members), null if none
   */
  List<Address> toDown(Address self, Address leader, List<MemberView> members, long nowNanos) {
    if (!self.equals(leader)) return List.of();
    List<Address> unreachable = new ArrayList<>();
    for (MemberView m : members) {
      if (m.reachable() || m.status() == MemberStatus.down() || m.status() == MemberStatus.removed()) continue;
      if (m.address().equals(self)) return List.of();
      if (!confirmed(m.address(), nowNanos)) return List.of();
      unreachable.add(m.address());
    }
    if (unreachable.isEmpty()) return List.of();
    return keptByMajority(self, members) ? List.copyOf(unreachable) : List.of();
  }

  /**
   * Whether keep-majority keeps the reachable side of this view: reachable Up/Leaving members are
   * more than half of the members not Down/Exiting/Removed, or exactly half with the lowest of those
   * addresses reachable (and Up/Leaving).
   */
  static boolean keptByMajority(Address self, List<MemberView> members) {
    List<MemberView> counted = members.stream().filter(m -> m.status() != MemberStatus.down()
        && m.status() != MemberStatus.exiting() && m.status() != MemberStatus.removed()).toList();
    if (counted.isEmpty()) return false;
    long reachable = counted.stream().filter(RefusedDowning::countsForReachableSide).count();
    if (2 * reachable > counted.size()) return true;
    if (2 * reachable < counted.size()) return false;
    MemberView lowest = counted.stream().min(Comparator.comparing(MemberView::address, Address.addressOrdering())).orElseThrow();
    return countsForReachableSide(lowest);
  }

  private static boolean countsForReachableSide(MemberView m) {
    return m.reachable() && (m.status() == MemberStatus.up() || m.status() == MemberStatus.leaving());
  }
}
