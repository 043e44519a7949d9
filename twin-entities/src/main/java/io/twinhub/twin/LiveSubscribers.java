package io.twinhub.twin;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.receptionist.Receptionist;
import akka.actor.typed.receptionist.ServiceKey;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The receptionist side of a live path ({@code TwinEventFeed}, {@code TelemetryFeed}): this node's
 * current listing of the subscribers registered under some service keys anywhere in the cluster,
 * so that a journaled event is told to each of them directly (one hop, nothing when nobody
 * listens). Best effort by design: a subscriber that registers late or is unreachable misses
 * messages, and every subscriber keeps a durable catch-up path of its own.
 */
public final class LiveSubscribers<T> {
  private final Map<ServiceKey<T>, Set<ActorRef<T>>> listings = new ConcurrentHashMap<>();

  /** Follows the listings of {@code keys} with a system actor named {@code name} (one per node and feed). */
  public LiveSubscribers(ActorSystem<?> system, String name, Collection<ServiceKey<T>> keys) {
    this(system, name, keys, (key, subscriber) -> {});
  }

  /**
   * As above; {@code listed} is called for each subscriber when this node first lists it, while
   * holding this object's monitor (with the new listing in place). A feed that numbers its messages
   * ({@code TwinEventFeed}) tells them under the same monitor, so what {@code listed} tells a new
   * subscriber comes before any other message to it, and carries the number the next one follows.
   */
  public LiveSubscribers(ActorSystem<?> system, String name, Collection<ServiceKey<T>> keys,
                         java.util.function.BiConsumer<ServiceKey<T>, ActorRef<T>> listed) {
    List<ServiceKey<T>> watched = List.copyOf(keys);
    system.systemActorOf(Behaviors.<Receptionist.Listing>setup(ctx -> {
      for (ServiceKey<T> key : watched) system.receptionist().tell(Receptionist.subscribe(key, ctx.getSelf()));
      return Behaviors.receiveMessage(listing -> {
        for (ServiceKey<T> key : watched) {
          if (!listing.isForKey(key)) continue;
          Set<ActorRef<T>> now = Set.copyOf(listing.getServiceInstances(key));
          synchronized (this) {
            Set<ActorRef<T>> before = listings.put(key, now);
            for (ActorRef<T> s : now) {
              if (before == null || !before.contains(s)) listed.accept(key, s);
            }
          }
        }
        return Behaviors.same();
      });
    }), name, Props.empty());
  }

  /** Tells every subscriber of {@code key} this node knows of (no-op when there is none). */
  public void tell(ServiceKey<T> key, T message) {
    for (ActorRef<T> s : listings.getOrDefault(key, Set.of())) s.tell(message);
  }

  /** Whether anybody listens under {@code key} (to skip building a message nobody gets). */
  public boolean any(ServiceKey<T> key) {
    return !listings.getOrDefault(key, Set.of()).isEmpty();
  }

  /** Subscribers of {@code key} this node currently knows of. */
  public int count(ServiceKey<T> key) {
    return listings.getOrDefault(key, Set.of()).size();
  }

  /** Registers {@code subscriber} under {@code key}: it is listed everywhere once the receptionist spread it, unlisted when it stops. */
  public static <T> void register(ActorSystem<?> system, ServiceKey<T> key, ActorRef<T> subscriber) {
    system.receptionist().tell(Receptionist.register(key, subscriber));
  }
}
