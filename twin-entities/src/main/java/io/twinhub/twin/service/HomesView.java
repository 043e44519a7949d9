package io.twinhub.twin.service;

import akka.actor.Address;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The pure part of {@link UnreachableHomes}: what a gateway knows of the twins' homes while members
 * are unreachable, and what that means for a request. Immutable; {@link UnreachableHomes} keeps the
 * current value and does the cluster I/O (events, gossip snapshots, reading the regions' shards, timers).
 *
 * @param unreachable members unreachable and not yet removed (a removed one leaves once settled)
 * @param known       the shards each member hosted at its last answer, by entity type name: a member
 *                    that does not answer a look in time (a starved box) keeps its last known shards
 * @param removals    unreachable members this node has seen removed, not settled yet (see {@link #settled})
 */
public record HomesView(Set<Address> unreachable, Map<Address, Map<String, Set<String>>> known,
                        Map<Address, Removal> removals) {

  /**
   * An unreachable member this node has seen removed.
   *
   * @param at         when this node saw the removal (nanos of the caller's clock)
   * @param seenByAll  whether a gossip snapshot showed every reachable member has seen the removal
   */
  public record Removal(long at, boolean seenByAll) {
  }

  /** Every member reachable, nothing known yet. */
  public static final HomesView EMPTY = new HomesView(Set.of(), Map.of(), Map.of());

  /** What to do with a request now. */
  public enum Decision {
    /** Its twin's home is reachable (or nobody is unreachable): send it. */
    SEND,
    /** Its twin's home may be the unreachable member: keep it, decide again when the view changes. */
    HOLD,
    /** Held for the whole hold and still not sendable: answer 503, never send it. */
    REFUSE
  }

  public HomesView {
    unreachable = Set.copyOf(unreachable);
    known = Map.copyOf(known);
    removals = Map.copyOf(removals);
  }

  public HomesView(Set<Address> unreachable, Map<Address, Map<String, Set<String>>> known) {
    this(unreachable, known, Map.of());
  }

  /** Normal operation: no request is held. */
  public boolean allReachable() {
    return unreachable.isEmpty();
  }

  public HomesView withUnreachable(Address member) {
    if (unreachable.contains(member)) return this;
    Set<Address> u = new HashSet<>(unreachable);
    u.add(member);
    return new HomesView(u, known, removals);
  }

  public HomesView withReachable(Address member) {
    if (!unreachable.contains(member)) return this;
    Set<Address> u = new HashSet<>(unreachable);
    u.remove(member);
    return new HomesView(u, known, without(removals, member));
  }

  /**
   * A member was removed. One that was reachable (it left) is forgotten at once. One that was
   * unreachable (downed) stays unreachable until {@link #settled}: a request released before this
   * node's shard regions have dropped its region, or before the shard coordinator's member has seen
   * the removal, is sent to the dead member again (by the region, or by the coordinator's answer with
   * the dead region as the shard's home) and lost, answered only by the ask timeout.
   *
   * @param now when this node saw the removal (nanos of the caller's clock)
   */
  public HomesView withRemoved(Address member, long now) {
    if (!unreachable.contains(member)) return forget(member);
    if (removals.containsKey(member)) return this;
    Map<Address, Removal> r = new HashMap<>(removals);
    r.put(member, new Removal(now, false));
    return new HomesView(unreachable, known, r);
  }

  /** Whether a removal of {@code member} must wait to settle (see {@link #withRemoved}). */
  public boolean settlesLater(Address member) {
    return unreachable.contains(member);
  }

  /**
   * A snapshot of this node's gossip state (members, their reachability and who has seen it): a
   * removal is seen by all once the member is no longer among {@code members} and every member in
   * {@code witnesses} has seen that state. {@code seenBy} is of this node's latest gossip, so a
   * witness that has seen it has merged the removal, published it to its own shard coordinator and
   * regions, and answers no shard-home request with the dead member's region any more.
   *
   * @param members   the addresses of every member in the snapshot (any status)
   * @param witnesses the members that must have seen it: see {@link #mustSee}
   * @param seenBy    the members that have seen the snapshot's gossip
   */
  public HomesView withGossip(Set<Address> members, Set<Address> witnesses, Set<Address> seenBy) {
    if (removals.isEmpty() || !seenBy.containsAll(witnesses)) return this;
    Map<Address, Removal> r = new HashMap<>(removals);
    boolean changed = false;
    for (var e : removals.entrySet()) {
      if (!e.getValue().seenByAll() && !members.contains(e.getKey())) {
        r.put(e.getKey(), new Removal(e.getValue().at(), true));
        changed = true;
      }
    }
    return changed ? new HomesView(unreachable, known, r) : this;
  }

  /**
   * Whether a member must have seen a removal before requests are released: a reachable member that
   * is up (or leaving), i.e. one that may host shards or the shard coordinator. As Akka's gossip
   * convergence, which ignores unreachable, joining, down and exiting members.
   */
  public static boolean mustSee(boolean upOrLeaving, boolean unreachable) {
    return upOrLeaving && !unreachable;
  }

  /**
   * The removed members whose requests may be released now: seen by every reachable member and at
   * least {@code settle} after this node saw it (for this node's regions to drop the dead member's
   * region), or {@code fallback} after this node saw it whoever has seen it (a witness that never
   * answers gossip must not hold requests until their hold is over).
   */
  public Set<Address> settled(long now, Duration settle, Duration fallback) {
    Set<Address> s = new HashSet<>();
    removals.forEach((member, removal) -> {
      long since = now - removal.at();
      if (since >= fallback.toNanos() || (removal.seenByAll() && since >= settle.toNanos())) s.add(member);
    });
    return s;
  }

  /** A removed member's requests may go now: it is neither unreachable nor a home any more. */
  public HomesView withSettled(Address member) {
    HomesView v = forget(member);
    return v.unreachable.contains(member) || v.removals.containsKey(member)
        ? new HomesView(without(v.unreachable, member), v.known, without(v.removals, member))
        : v;
  }

  /** A member's answer to a look: the shards of {@code typeName} it hosts now (started or failed). */
  public HomesView withShards(Address member, String typeName, Set<String> shards) {
    Map<Address, Map<String, Set<String>>> k = new HashMap<>(known);
    Map<String, Set<String>> byType = new HashMap<>(k.getOrDefault(member, Map.of()));
    byType.put(typeName, Set.copyOf(shards));
    k.put(member, Map.copyOf(byType));
    return new HomesView(unreachable, k, removals);
  }

  /** Whether any member's shards are known (a new window can start from them instead of holding everything). */
  public boolean anyKnown() {
    return !known.isEmpty();
  }

  /** The shards hosted by members not in {@code unreachableMembers}, by entity type name. */
  public Map<String, Set<String>> reachableShards(Set<Address> unreachableMembers) {
    Map<String, Set<String>> reachable = new HashMap<>();
    known.forEach((member, byType) -> {
      if (unreachableMembers.contains(member)) return;
      byType.forEach((type, shards) -> reachable.computeIfAbsent(type, t -> new HashSet<>()).addAll(shards));
    });
    return reachable;
  }

  /**
   * Whether a member is asked for its shards: a reachable member of the entities' role that is
   * neither down nor removed (a shard none of them hosts is held).
   */
  public static boolean asked(Set<Address> unreachableMembers, Address member, boolean hasRole, boolean downOrRemoved) {
    return hasRole && !downOrRemoved && !unreachableMembers.contains(member);
  }

  /**
   * Whether a request to {@code shard} of {@code typeName} can be sent: some reachable member hosts it.
   *
   * @param reachable the reachable members' shards by type; null before the first look (all held)
   */
  public static boolean sendable(Map<String, Set<String>> reachable, String typeName, String shard) {
    return reachable != null && reachable.getOrDefault(typeName, Set.of()).contains(shard);
  }

  /**
   * The decision for one request.
   *
   * @param reachable  the reachable members' shards by type (null: not looked yet); ignored when {@code allReachable}
   * @param heldSince  when the request was first held (nanos of the caller's clock)
   * @param now        the same clock now
   * @param hold       longest a request waits for its twin's home
   */
  public static Decision decide(boolean allReachable, Map<String, Set<String>> reachable, String typeName, String shard,
                                long heldSince, long now, Duration hold) {
    if (allReachable || sendable(reachable, typeName, shard)) return Decision.SEND;
    return now - heldSince >= hold.toNanos() ? Decision.REFUSE : Decision.HOLD;
  }

  private HomesView forget(Address member) {
    if (!known.containsKey(member)) return this;
    Map<Address, Map<String, Set<String>>> k = new HashMap<>(known);
    k.remove(member);
    return new HomesView(unreachable, k, removals);
  }

  private static Set<Address> without(Set<Address> set, Address member) {
    Set<Address> s = new HashSet<>(set);
    s.remove(member);
    return s;
  }

  private static <V> Map<Address, V> without(Map<Address, V> map, Address member) {
    if (!map.containsKey(member)) return map;
    Map<Address, V> m = new HashMap<>(map);
    m.remove(member);
    return m;
  }
}
