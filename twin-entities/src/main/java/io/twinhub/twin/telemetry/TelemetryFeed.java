package io.twinhub.twin.telemetry;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import akka.actor.typed.receptionist.ServiceKey;
import io.twinhub.twin.LiveSubscribers;
import io.twinhub.twin.TwinhubSerializable;

import java.time.Instant;
import java.util.Map;

/**
 * The live path of device telemetry: each message a device's telemetry log journaled, told right
 * after the journal acknowledged it to the subscribers of its journal tag ({@code telemetry-<n>}:
 * the function trigger partition that owns the tag, wherever it runs), so they need not wait for
 * the tag read-back (its eventual-consistency delay and poll).
 *
 * <p>Best effort, like {@code TwinEventFeed}: a subscriber that registers late, moves, or is
 * unreachable misses messages. Subscribers therefore order by {@link Journaled#sequenceNr} per
 * persistence id, hold back a message whose predecessor they have not seen, and keep their
 * durable tag read as the catch-up path that skips what the live path already handled.
 *
 * <p>One receptionist key per tag: a log tells only the subscribers of its own tag (one hop,
 * nothing when nobody listens).
 */
public final class TelemetryFeed implements Extension {
  private static final Map<String, ServiceKey<Journaled>> KEYS = Map.copyOf(TelemetryTags.ALL.stream()
      .collect(java.util.stream.Collectors.toMap(t -> t, t -> ServiceKey.create(Journaled.class, "twinhub-telemetry-" + t))));

  /** The receptionist key of the subscribers of {@code tag} (one of {@link TelemetryTags#ALL}). */
  public static ServiceKey<Journaled> subscribers(String tag) {
    ServiceKey<Journaled> key = KEYS.get(tag);
    if (key == null) throw new IllegalArgumentException("not a telemetry tag: " + tag);
    return key;
  }

  /**
   * One journaled device message.
   *
   * @param persistenceId the journal's persistence id of the device's (or module's) log
   * @param sequenceNr    its sequence number there (per persistence id, gapless)
   * @param tag           its journal tag ({@link TelemetryTags})
   */
  public record Journaled(String persistenceId, long sequenceNr, String tag, Message message) implements TwinhubSerializable {}

  /** A device message as journaled (its fields; the journal's event class belongs to the gateway). */
  public record Message(String deviceId, String moduleId, Map<String, String> properties, Map<String, String> systemProperties,
                        byte[] body, Instant enqueuedTime) implements TelemetryMessage, TwinhubSerializable {
    public static Message of(TelemetryMessage m) {
      return m instanceof Message x ? x
          : new Message(m.deviceId(), m.moduleId(), m.properties(), m.systemProperties(), m.body(), m.enqueuedTime());
    }
  }

  private final LiveSubscribers<Journaled> listing;

  private TelemetryFeed(ActorSystem<?> system) {
    listing = new LiveSubscribers<>(system, "twinhub-telemetry-subscribers", KEYS.values());
  }

  public static TelemetryFeed get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** Tells the subscribers of the message's tag (no-op when there is none). */
  public void publish(String persistenceId, long sequenceNr, String tag, TelemetryMessage message) {
    ServiceKey<Journaled> key = KEYS.get(tag);
    if (key == null || !listing.any(key)) return;
    listing.tell(key, new Journaled(persistenceId, sequenceNr, tag, Message.of(message)));
  }

  /** Adds {@code subscriber} of {@code tag} (anywhere in the cluster) once the receptionist spread it; removed when it stops. */
  public static void subscribe(ActorSystem<?> system, String tag, ActorRef<Journaled> subscriber) {
    LiveSubscribers.register(system, subscribers(tag), subscriber);
  }

  /** Subscribers of {@code tag} this node currently knows of. */
  public int subscriberCount(String tag) {
    return listing.count(subscribers(tag));
  }

  static final class Id extends ExtensionId<TelemetryFeed> {
    static final Id INSTANCE = new Id();

    @Override
    public TelemetryFeed createExtension(ActorSystem<?> system) {
      return new TelemetryFeed(system);
    }
  }
}
