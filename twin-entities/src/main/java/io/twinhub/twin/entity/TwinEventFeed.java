package io.twinhub.twin.entity;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import akka.actor.typed.receptionist.ServiceKey;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.twinhub.twin.LiveSubscribers;
import io.twinhub.twin.TwinhubSerializable;

import java.util.List;

/**
 * The live path of twin events: each event a twin entity journaled, told to every subscriber in
 * the cluster (query indexes, the Kafka publisher) right after the journal acknowledged it, so they need
 * not wait for the journal's tag read-back (its eventual-consistency delay and poll).
 *
 * <p>Best effort: a node that is down, a subscriber that registers late or drops a message under
 * load misses events. Subscribers therefore order by {@link Journaled#sequenceNr} per persistence
 * id, fill a gap from the journal by persistence id, skip what they have, and keep their durable
 * tag read as the catch-up path (after a restart or a missed message).
 *
 * <p>Subscribers register with the receptionist under {@link #SUBSCRIBERS}; each node keeps the
 * current listing ({@link LiveSubscribers}) and tells every subscriber directly (one hop, nothing
 * when nobody listens).
 *
 * <p>Numbered, so that a subscriber sees what it missed ({@link io.twinhub.twin.LiveGaps}): each
 * node's feed (a random {@code sender} incarnation id) numbers the messages it tells 1, 2, 3, …
 * and tells each subscriber in number order; a {@link HighWater} mark (the last number told)
 * follows traffic within {@code twinhub.live-feed.mark-interval} and repeats every
 * {@code idle-mark-interval} when idle, and greets each subscriber this node lists for the first
 * time. A gap in the numbers, a mark above the last number received, or the first word of an
 * unknown sender is a loss the subscriber catches up on from the journal.
 */
public final class TwinEventFeed implements Extension {
  public static final ServiceKey<Live> SUBSCRIBERS = ServiceKey.create(Live.class, "twinhub-twin-events");

  /** What a subscriber is told: {@link Journaled} events and {@link HighWater} marks of one sender's numbering. */
  public sealed interface Live extends TwinhubSerializable permits Journaled, HighWater {
    /** The telling node's feed incarnation. */
    long sender();
  }

  /**
   * {@code sender} has told its subscribers the messages numbered up to {@code number} (0: none
   * yet). A subscriber that received less lost the rest.
   */
  public record HighWater(long sender, long number) implements Live {}

  /**
   * One journaled event of a device or module twin.
   *
   * @param persistenceId "Device|id" or "Module|id/mid"
   * @param sequenceNr    its journal sequence number (per persistence id, gapless)
   * @param tag           its journal tag ({@link TwinTags})
   * @param event         as journaled
   * @param writtenAt     epoch millis when the journal acknowledged it (for lag figures only)
   * @param sender        the telling node's feed incarnation
   * @param number        this message's number in the sender's numbering (see {@link HighWater})
   */
  public record Journaled(
      String persistenceId,
      long sequenceNr,
      String tag,
      // The journal binds events by class; inside this envelope Jackson needs the type by name.
      @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
      @JsonSubTypes({
          @JsonSubTypes.Type(TwinEvent.DeviceCreated.class), @JsonSubTypes.Type(TwinEvent.DeviceUpdated.class),
          @JsonSubTypes.Type(TwinEvent.DeviceDeleted.class), @JsonSubTypes.Type(TwinEvent.ModuleCreated.class),
          @JsonSubTypes.Type(TwinEvent.ModuleUpdated.class), @JsonSubTypes.Type(TwinEvent.ModuleDeleted.class),
          @JsonSubTypes.Type(TwinEvent.ModuleAdded.class), @JsonSubTypes.Type(TwinEvent.ModuleRemoved.class),
          @JsonSubTypes.Type(TwinEvent.ConnectionStateChanged.class), @JsonSubTypes.Type(TwinEvent.TagsPatched.class),
          @JsonSubTypes.Type(TwinEvent.TagsReplaced.class), @JsonSubTypes.Type(TwinEvent.DesiredPatched.class),
          @JsonSubTypes.Type(TwinEvent.DesiredReplaced.class), @JsonSubTypes.Type(TwinEvent.ReportedPatched.class),
          @JsonSubTypes.Type(TwinEvent.TwinPatched.class), @JsonSubTypes.Type(TwinEvent.TwinReplaced.class)})
      TwinEvent event,
      long writtenAt,
      long sender,
      long number) implements Live {}

  private final LiveSubscribers<Live> subscribers;
  private final long sender;
  private final long idleMarkMillis;
  // Guarded by the monitor of subscribers (see LiveSubscribers): numbers are told in order.
  private long number;
  private long markedNumber = -1;
  private long markedAt;
  private int toLose;

  private TwinEventFeed(ActorSystem<?> system) {
    long id;
    do {
      id = new java.security.SecureRandom().nextLong();
    } while (id == 0);
    sender = id;
    var config = system.settings().config().getConfig("twinhub.live-feed");
    idleMarkMillis = config.getDuration("idle-mark-interval").toMillis();
    subscribers = new LiveSubscribers<>(system, "twinhub-twin-event-subscribers", List.of(SUBSCRIBERS),
        (key, subscriber) -> subscriber.tell(new HighWater(sender, number)));
    java.time.Duration every = config.getDuration("mark-interval");
    system.scheduler().scheduleWithFixedDelay(every, every, this::mark, system.executionContext());
  }

  public static TwinEventFeed get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /**
   * Tells every known subscriber this journaled event, with the next number (no-op when there is
   * none). The parameters are those of {@link Journaled}.
   */
  public void publish(String persistenceId, long sequenceNr, String tag, TwinEvent event, long writtenAt) {
    if (!subscribers.any(SUBSCRIBERS)) return;
    synchronized (subscribers) {
      Journaled j = new Journaled(persistenceId, sequenceNr, tag, event, writtenAt, sender, ++number);
      if (toLose > 0) {
        toLose--;
        return;
      }
      subscribers.tell(SUBSCRIBERS, j);
    }
  }

  /** The high-water mark after traffic, and now and then when idle (a lost last message shows). */
  private void mark() {
    if (!subscribers.any(SUBSCRIBERS)) return;
    synchronized (subscribers) {
      long now = System.currentTimeMillis();
      if (number == markedNumber && now - markedAt < idleMarkMillis) return;
      subscribers.tell(SUBSCRIBERS, new HighWater(sender, number));
      markedNumber = number;
      markedAt = now;
    }
  }

  /**
   * Fault injection (tests): the next {@code messages} events are numbered but told to nobody, as
   * if lost on the way (an overflowing outbound queue between two healthy nodes).
   */
  public void loseNext(int messages) {
    synchronized (subscribers) {
      toLose += messages;
    }
  }

  /** This node's feed incarnation (the {@code sender} of its messages). */
  public long sender() {
    return sender;
  }

  /** Adds {@code subscriber} (anywhere in the cluster) once the receptionist has spread it; removed when it stops. */
  public static void subscribe(ActorSystem<?> system, ActorRef<Live> subscriber) {
    LiveSubscribers.register(system, SUBSCRIBERS, subscriber);
  }

  /** Subscribers this node currently knows of. */
  public int subscriberCount() {
    return subscribers.count(SUBSCRIBERS);
  }

  static final class Id extends ExtensionId<TwinEventFeed> {
    static final Id INSTANCE = new Id();

    @Override
    public TwinEventFeed createExtension(ActorSystem<?> system) {
      return new TwinEventFeed(system);
    }
  }
}
