package io.twinhub.twin.service;

import akka.actor.Address;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Adapter;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.ClusterEvent;
import akka.cluster.Member;
import akka.cluster.sharding.ShardRegion;
import akka.cluster.sharding.typed.HashCodeMessageExtractor;
import akka.pattern.Patterns;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Holds a request to a twin whose home (the member hosting its shard) is unreachable, instead of
 * sending it there, until the cluster has decided: the member is reachable again, or it is removed
 * (downed by the Split Brain Resolver) and its shards move to the survivors. A message sent to a
 * crashed member is lost with it and answered only by the ask timeout, so a retrying client's
 * attempts come at +0, +5, +10 s of a crash whatever the failover takes; a held request is sent the
 * moment the twin can be served again. A request held longer than {@code hold} is refused (503),
 * never sent, so it is never applied.
 *
 * <p>Nothing is ever sent twice: a held request has not been sent anywhere. While every member is
 * reachable (normal operation) {@link #whenSendable} is one volatile read.
 *
 * <p>Which shards are safe: while a member is unreachable, the reachable members of {@code role} are
 * asked every second for their shards ({@link ShardRegion#getRegionStatsInstance()}); a shard none
 * of them hosts is on the unreachable member, or not allocated yet (the coordinator may allocate it
 * there too), and is held.
 *
 * <p>When a removed member's requests go: a request released before the shard coordinator's member
 * has seen the removal is answered by it with the dead member's region as its shard's home, and is
 * lost there. The leader removes a downed member and gossips it; the other members see it up to a
 * gossip round (~1 s on a loaded box) later. So held requests go once this node's gossip state,
 * without the member, has been seen by every reachable up member (a snapshot of it asked for after
 * each cluster event while a removal settles, {@link akka.cluster.Cluster#sendCurrentClusterState};
 * its seen-by is of the same gossip as its members), and at least {@link #SETTLE} after this node's
 * own removal event; or {@link #SEEN_BY_ALL_MAX} after the removal whoever has seen it.
 *
 * <p>The decisions themselves (which members are unreachable, which shards the others host, whether a
 * request is sent, held or refused) are the pure {@link HomesView}; this class feeds it cluster events
 * and the regions' answers, and wakes held requests when it changes.
 */
public final class UnreachableHomes {
  private static final Logger log = LoggerFactory.getLogger(UnreachableHomes.class);
  /** How often the reachable members' shards are read again while a member is unreachable. */
  private static final Duration LOOK_INTERVAL = Duration.ofSeconds(1);
  /** Above sharding's shard-region-query-timeout (3 s), after which a region answers with what it has. */
  private static final Duration LOOK_TIMEOUT = Duration.ofMillis(3500);
  /**
   * After a removal: time for this node's shard regions to drop the removed member's regions (they
   * learn it from the same cluster event, a moment later) before held requests reach them; sent
   * earlier, a request would be forwarded to the removed member and lost. The coordinator hands the
   * shards out only after down-removal-margin (1 s) anyway, and the regions buffer meanwhile.
   */
  private static final Duration SETTLE = Duration.ofMillis(300);
  /**
   * After a removal: held requests wait until every reachable member has seen it (the shard
   * coordinator's member above all), but no longer than this. Gossip spreads a removal in one or two
   * gossip rounds (1 s); a witness that has not seen it by then is starved or about to be
   * unreachable itself, and the requests would otherwise wait until their hold is over.
   */
  private static final Duration SEEN_BY_ALL_MAX = Duration.ofSeconds(3);
  /** While a removal settles: how often it is checked again without an event. */
  private static final Duration SETTLE_CHECK = Duration.ofMillis(200);

  private final ActorSystem<?> system;
  private final Duration hold;
  private final String role;
  private final List<String> typeNames;
  private final HashCodeMessageExtractor<Object> extractor;
  private final LongSupplier clock = System::nanoTime;
  /** What is known of the members and their shards; replaced under {@code this}. */
  private HomesView view = HomesView.EMPTY;
  /** Null while every member is reachable. */
  private volatile Window window;
  /** The cluster listener, which also receives the gossip snapshots asked for while a removal settles. */
  private akka.actor.ActorRef listener;

  /** One set of unreachable members; replaced when the set changes. */
  private static final class Window {
    final Set<Address> unreachable;
    /** Shards by entity type name that reachable members host; null until the first look. */
    volatile Map<String, Set<String>> reachable;
    /** Completed (and replaced) when a look finished, completed when the window ends. */
    volatile CompletableFuture<Void> changed = new CompletableFuture<>();

    Window(Set<Address> unreachable) {
      this.unreachable = Set.copyOf(unreachable);
    }

    void signal() {
      CompletableFuture<Void> old = changed;
      changed = new CompletableFuture<>();
      old.complete(null);
    }

    void end() {
      changed.complete(null);
    }
  }

  /**
   * @param hold       longest a request waits for its twin's home; 0 or less: never held
   * @param role       the members hosting the entities (null: all)
   * @param typeNames  the entity type names (sharding region names) requests go to
   */
  public static UnreachableHomes start(ActorSystem<?> system, Duration hold, String role, List<String> typeNames) {
    UnreachableHomes homes = new UnreachableHomes(system, hold, role, typeNames);
    var listener = system.systemActorOf(Behaviors.receiveMessage(event -> {
      homes.onEvent(event);
      return Behaviors.same();
    }), "unreachable-homes", Props.empty());
    homes.listener = Adapter.toClassic(listener);
    // Every cluster event (gossip seen by another member included): while a removal settles, each
    // one is a reason to ask for a snapshot of the gossip state again.
    akka.cluster.Cluster.get(Adapter.toClassic(system)).subscribe(homes.listener,
        ClusterEvent.initialStateAsEvents(), ClusterEvent.ClusterDomainEvent.class);
    return homes;
  }

  private UnreachableHomes(ActorSystem<?> system, Duration hold, String role, List<String> typeNames) {
    this.system = system;
    this.hold = hold;
    this.role = role;
    this.typeNames = List.copyOf(typeNames);
    this.extractor = new HashCodeMessageExtractor<>(system.settings().config().getInt("akka.cluster.sharding.number-of-shards"));
  }

  /** How long a request waits at most for its twin's home. */
  public Duration hold() {
    return hold;
  }

  /**
   * Null: send now (every member reachable, or the entity's shard is on a reachable one). Else a
   * stage completed with true once it can be sent, false if its home is still unreachable after
   * {@link #hold()} (then it must not be sent).
   */
  public CompletionStage<Boolean> whenSendable(String typeName, String entityId) {
    Window w = window;
    if (w == null) return null;
    String shard = extractor.shardId(entityId);
    long since = clock.getAsLong();
    if (decide(w, typeName, shard, since) == HomesView.Decision.SEND) return null;
    CompletableFuture<Boolean> result = new CompletableFuture<>();
    // The hold is over: whatever the view says now is final (HOLD is a refusal too).
    var timeout = system.scheduler().scheduleOnce(hold,
        () -> result.complete(decide(window, typeName, shard, since) == HomesView.Decision.SEND), system.executionContext());
    await(w, typeName, shard, since, result);
    result.thenRun(timeout::cancel);
    return result;
  }

  private void await(Window w, String typeName, String shard, long since, CompletableFuture<Boolean> result) {
    w.changed.thenRun(() -> {
      if (result.isDone()) return;
      Window now = window;
      switch (decide(now, typeName, shard, since)) {
        case SEND -> result.complete(true);
        case REFUSE -> result.complete(false);
        case HOLD -> await(now, typeName, shard, since, result);
      }
    });
  }

  private HomesView.Decision decide(Window w, String typeName, String shard, long since) {
    return HomesView.decide(w == null, w == null ? null : w.reachable, typeName, shard, since, clock.getAsLong(), hold);
  }

  private synchronized void onEvent(Object event) {
    if (event instanceof ClusterEvent.CurrentClusterState state) {
      seen(state);
      return;
    }
    HomesView before = view;
    if (event instanceof ClusterEvent.UnreachableMember u) {
      view = view.withUnreachable(u.member().address());
      if (view != before) {
        log.info("members unreachable: {}; requests to their twins are held up to {} ms until they are removed or reachable again",
            view.unreachable(), hold.toMillis());
      }
    } else if (event instanceof ClusterEvent.ReachableMember r) {
      view = view.withReachable(r.member().address());
    } else if (event instanceof ClusterEvent.MemberRemoved m) {
      Address address = m.member().address();
      boolean settlesLater = view.settlesLater(address);
      view = view.withRemoved(address, clock.getAsLong());
      if (settlesLater && view != before) {
        log.info("member {} removed: its held requests wait until every reachable member has seen the removal (at most {} ms)",
            address, SEEN_BY_ALL_MAX.toMillis());
        system.scheduler().scheduleOnce(SETTLE, this::settle, system.executionContext());
      }
    }
    // A snapshot asked now is of this event's gossip or a later one (the cluster daemon forwards the
    // request to the publisher after the changes it published before): a removal's own event and the
    // gossip's seen-by are published separately, and the seen-by of the state before the removal
    // must not count.
    if (!view.removals().isEmpty()) {
      akka.cluster.Cluster.get(Adapter.toClassic(system)).sendCurrentClusterState(listener);
    }
    if (!view.unreachable().equals(before.unreachable())) changed();
  }

  /** A gossip snapshot asked for while a removal settles: who has seen it, then settle what may (under {@code this}). */
  private void seen(ClusterEvent.CurrentClusterState state) {
    if (view.removals().isEmpty()) return;
    Set<Address> members = new HashSet<>();
    Set<Address> witnesses = new HashSet<>();
    Set<Address> unreachable = new HashSet<>();
    for (Member m : state.getUnreachable()) unreachable.add(m.address());
    for (Member m : state.getMembers()) {
      members.add(m.address());
      boolean upOrLeaving = m.status() == akka.cluster.MemberStatus.up() || m.status() == akka.cluster.MemberStatus.leaving();
      if (HomesView.mustSee(upOrLeaving, unreachable.contains(m.address()))) witnesses.add(m.address());
    }
    HomesView before = view;
    view = view.withGossip(members, witnesses, state.getSeenBy());
    if (view != before) {
      long now = clock.getAsLong();
      before.removals().forEach((member, removal) -> {
        if (!removal.seenByAll() && view.removals().get(member).seenByAll()) {
          log.info("removal of {} seen by every reachable member {} ({} ms after its removal here)",
              member, witnesses, Duration.ofNanos(now - removal.at()).toMillis());
        }
      });
      settleNow();
    }
  }

  /**
   * A removal's timer, from {@link #SETTLE} after it until nothing is left to settle (at most
   * {@link #SEEN_BY_ALL_MAX}): settle what may, and ask for a snapshot again in case no event came.
   */
  private synchronized void settle() {
    settleNow();
    if (view.removals().isEmpty()) return;
    akka.cluster.Cluster.get(Adapter.toClassic(system)).sendCurrentClusterState(listener);
    system.scheduler().scheduleOnce(SETTLE_CHECK, this::settle, system.executionContext());
  }

  /** Releases the removals seen by all and settled here, or past {@link #SEEN_BY_ALL_MAX} (under {@code this}). */
  private void settleNow() {
    HomesView before = view;
    for (Address member : view.settled(clock.getAsLong(), SETTLE, SEEN_BY_ALL_MAX)) {
      if (!view.removals().get(member).seenByAll()) {
        log.warn("removal of {} not seen by every reachable member {} ms after it: its held requests are released anyway",
            member, SEEN_BY_ALL_MAX.toMillis());
      }
      view = view.withSettled(member);
    }
    if (!view.unreachable().equals(before.unreachable())) changed();
  }

  private synchronized void answered(Address member, String typeName, Set<String> shards) {
    view = view.withShards(member, typeName, shards);
  }

  private synchronized HomesView view() {
    return view;
  }

  /** The unreachable set changed (called under {@code this}): a new window (and a look), or none. */
  private void changed() {
    Window old = window;
    if (view.allReachable()) {
      window = null;
      log.info("no member unreachable: held requests are sent");
    } else {
      Window w = new Window(view.unreachable());
      if (view.anyKnown()) w.reachable = view.reachableShards(w.unreachable);
      window = w;
      look(w);
    }
    if (old != null) old.end();
  }

  /** Reads the shards of every reachable member while {@code w} is the window, every {@link #LOOK_INTERVAL}. */
  private void look(Window w) {
    if (window != w) return;
    akka.actor.ActorSystem classic = Adapter.toClassic(system);
    List<CompletableFuture<?>> answers = new ArrayList<>();
    for (Member member : akka.cluster.Cluster.get(classic).state().getMembers()) {
      boolean downOrRemoved = member.status() == akka.cluster.MemberStatus.down() || member.status() == akka.cluster.MemberStatus.removed();
      if (!HomesView.asked(w.unreachable, member.address(), role == null || member.hasRole(role), downOrRemoved)) continue;
      for (String type : typeNames) {
        answers.add(Patterns.ask(classic.actorSelection(member.address() + "/system/sharding/" + type),
                ShardRegion.getRegionStatsInstance(), LOOK_TIMEOUT)
            .toCompletableFuture()
            .handle((answer, failure) -> {
              if (answer instanceof ShardRegion.ShardRegionStats stats) {
                Set<String> shards = new HashSet<>(stats.getStats().keySet());
                shards.addAll(stats.getFailed());
                answered(member.address(), type, shards);
              } else {
                log.debug("shards of {} at {} not read (its last known are used): {}", type, member.address(),
                    failure == null ? answer : failure.toString());
              }
              return null;
            }));
      }
    }
    CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).thenRun(() -> {
      Map<String, Set<String>> before = w.reachable;
      w.reachable = view().reachableShards(w.unreachable);
      if (!w.reachable.equals(before)) {
        // Which requests this look released (held ones whose shard is now among these): the failover's timeline.
        Map<String, Integer> counts = new java.util.TreeMap<>();
        w.reachable.forEach((type, shards) -> counts.put(type, shards.size()));
        log.info("shards hosted by reachable members while {} unreachable: {}", w.unreachable, counts);
      }
      w.signal();
      if (window == w) system.scheduler().scheduleOnce(LOOK_INTERVAL, () -> look(w), system.executionContext());
    });
  }
}
