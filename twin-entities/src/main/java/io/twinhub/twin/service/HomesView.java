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
 * current value and does the cluster I/O (events, reading the regions' shards, timers).
 *
 * @param unreachable members unreachable and not yet removed (a removed one leaves once settled)
 * @param known       the shards each member hosted at its last answer, by entity type name: a member
 *                    that does not answer a look in time (a starved box) keeps its last known shards
 */
public record HomesView(Set<Address> unreachable, Map<Address, Map<String, Set<String>>> known) {

  /** Every member reachable, nothing known yet. */
  public static final HomesView EMPTY = new HomesView(Set.of(), Map.of());

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
  }

  /** Normal operation: no request is held. */
  public boolean allReachable() {
    return unreachable.isEmpty();
  }

  public HomesView withUnreachable(Address member) {
    if (unreachable.contains(member)) return this;
    Set<Address> u = new HashSet<>(unreachable);
    u.add(member);
    return new HomesView(u, known);
  }

  public HomesView withReachable(Address member) {
    if (!unreachable.contains(member)) return this;
    Set<Address> u = new HashSet<>(unreachable);
    u.remove(member);
    return new HomesView(u, known);
  }

  /**
   * A member was removed. One that was reachable (it left) is forgotten at once; one that was
   * unreachable stays unreachable until {@link #withSettled}, after this node's shard regions have
   * dropped its regions: a request released earlier would be forwarded to it and lost.
   */
  public HomesView withRemoved(Address member) {
    return unreachable.contains(member) ? this : forget(member);
  }

  /** Whether a removal of {@code member} must wait to settle (see {@link #withRemoved}). */
  public boolean settlesLater(Address member) {
    return unreachable.contains(member);
  }

  /** A removed member's requests may go now: it is neither unreachable nor a home any more. */
  public HomesView withSettled(Address member) {
    HomesView v = forget(member);
    return v.unreachable.contains(member) ? new HomesView(without(v.unreachable, member), v.known) : v;
  }

  /** A member's answer to a look: the shards of {@code typeName} it hosts now (started or failed). */
  public HomesView withShards(Address member, String typeName, Set<String> shards) {
    Map<Address, Map<String, Set<String>>> k = new HashMap<>(known);
    Map<String, Set<String>> byType = new HashMap<>(k.getOrDefault(member, Map.of()));
    byType.put(typeName, Set.copyOf(shards));
    k.put(member, Map.copyOf(byType));
    return new HomesView(unreachable, k);
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
    return new HomesView(unreachable, k);
  }

  private static Set<Address> without(Set<Address> set, Address member) {
    Set<Address> s = new HashSet<>(set);
    s.remove(member);
    return s;
  }
}
