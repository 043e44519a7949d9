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
 */
public final class TwinEventFeed implements Extension {
  public static final ServiceKey<Journaled> SUBSCRIBERS = ServiceKey.create(Journaled.class, "twinhub-twin-events");

  /**
   * One journaled event of a device or module twin.
   *
   * @param persistenceId "Device|id" or "Module|id/mid"
   * @param sequenceNr    its journal sequence number (per persistence id, gapless)
   * @param tag           its journal tag ({@link TwinTags})
   * @param event         as journaled
   * @param writtenAt     epoch millis when the journal acknowledged it (for lag figures only)
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
      long writtenAt) implements TwinhubSerializable {}

  private final LiveSubscribers<Journaled> subscribers;

  private TwinEventFeed(ActorSystem<?> system) {
    subscribers = new LiveSubscribers<>(system, "twinhub-twin-event-subscribers", List.of(SUBSCRIBERS));
  }

  public static TwinEventFeed get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** Tells every known subscriber (no-op when there is none). */
  public void publish(Journaled journaled) {
    subscribers.tell(SUBSCRIBERS, journaled);
  }

  /** Adds {@code subscriber} (anywhere in the cluster) once the receptionist has spread it; removed when it stops. */
  public static void subscribe(ActorSystem<?> system, ActorRef<Journaled> subscriber) {
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
