package io.twinhub.mqtt.telemetry;

import io.twinhub.twin.PersistFailures;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.RetentionCriteria;
import akka.persistence.typed.javadsl.SignalHandler;
import akka.actor.typed.PostStop;
import akka.actor.typed.PreRestart;
import io.twinhub.twin.TwinhubSerializable;
import io.twinhub.twin.telemetry.TelemetryFeed;
import io.twinhub.twin.telemetry.TelemetryMessage;
import io.twinhub.twin.telemetry.TelemetryTags;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The durable log of one device's (or module's) device-to-cloud messages: a sharded persistent
 * entity, one journaled {@link TelemetryReceived} per message, tagged {@code telemetry-<n>} by
 * device so that analytics read them in order with {@code eventsByTag}. A message is
 * acknowledged (MQTT PUBACK) only after its event is in the journal; then it is also told to the
 * live subscribers of its tag ({@link TelemetryFeed}: function triggers), ahead of the tag read.
 *
 * <p>The state is just a counter; snapshots every {@value #SNAPSHOT_EVERY} events bound recovery,
 * events are never deleted (they are the log).
 */
public final class TelemetryLog
    extends EventSourcedBehaviorWithEnforcedReplies<TelemetryLog.Command, TelemetryLog.TelemetryReceived, TelemetryLog.State> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "Telemetry");
  public static final int TAG_COUNT = TelemetryTags.COUNT;
  public static final List<String> TAGS = TelemetryTags.ALL;
  static final int SNAPSHOT_EVERY = 500;

  public sealed interface Command extends TwinhubSerializable {}

  /**
   * Append one message; answered with its sequence number once journaled, or with
   * {@link NotAppended} at once if the journal write failed (instead of leaving the caller to time out).
   */
  public record Append(TelemetryReceived message, ActorRef<AppendResult> replyTo) implements Command {}

  public sealed interface AppendResult extends TwinhubSerializable permits Appended, NotAppended {}

  public record Appended(long sequenceNr) implements AppendResult {}

  /** The journal did not confirm the message: not acknowledged, the sender retries (IoT Hub's 503). */
  public record NotAppended(String reason) implements AppendResult {}

  /**
   * One device-to-cloud message as IoT Hub routes it: application properties, system
   * properties (message-id, content-type, ..., {@code iothub-connection-device-id},
   * {@code iothub-enqueuedtime}), the body, and when the hub accepted it. Its class name is the
   * journal manifest of every telemetry event written so far: keep it (readers outside the
   * gateway use {@link TelemetryMessage}).
   */
  public record TelemetryReceived(String deviceId, String moduleId, Map<String, String> properties,
                                  Map<String, String> systemProperties, byte[] body, Instant enqueuedTime)
      implements TwinhubSerializable, TelemetryMessage {
    public TelemetryReceived {
      properties = Map.copyOf(properties);
      systemProperties = Map.copyOf(systemProperties);
    }

    @Override
    public String toString() {
      return "TelemetryReceived[" + deviceId + (moduleId == null ? "" : "/" + moduleId) + ", " + body.length
          + " bytes, properties=" + properties + ", system=" + systemProperties + ", at " + enqueuedTime + "]";
    }
  }

  public record State(long count) implements TwinhubSerializable {}

  private final String deviceId;
  private final ActorContext<Command> context;
  private final TelemetryFeed feed;
  private final PersistFailures.Pending pending = new PersistFailures.Pending();

  private TelemetryLog(String entityId, ActorContext<Command> context, akka.actor.typed.BackoffSupervisorStrategy onPersistFailure) {
    super(PersistenceId.of(TYPE_KEY.name(), entityId), onPersistFailure);
    this.context = context;
    this.feed = TelemetryFeed.get(context.getSystem());
    int slash = entityId.indexOf('/');
    this.deviceId = slash < 0 ? entityId : entityId.substring(0, slash);
  }

  /** {@code deviceId} or {@code deviceId/moduleId}. */
  public static String entityId(String deviceId, String moduleId) {
    return moduleId == null ? deviceId : deviceId + "/" + moduleId;
  }

  public static String tagFor(String deviceId) {
    return TelemetryTags.forDevice(deviceId);
  }

  public static void init(ActorSystem<?> system) {
    init(system, null);
  }

  /** Hosted on members with {@code role} (null: every member); see {@code SessionStore.init(system, role)}. */
  public static void init(ActorSystem<?> system, String role) {
    var entity = Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId()));
    ClusterSharding.get(system).init(role == null ? entity : entity.withRole(role));
  }

  public static Behavior<Command> create(String entityId) {
    return Behaviors.setup(ctx -> new TelemetryLog(entityId, ctx, PersistFailures.backoff(ctx.getSystem())));
  }

  @Override
  public State emptyState() {
    return new State(0);
  }

  @Override
  public CommandHandlerWithReply<Command, TelemetryReceived, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        // Once journaled, also told to the tag's live subscribers (function triggers), ahead of the tag read.
        .onCommand(Append.class, (state, c) -> {
          pending.await(c.replyTo(), () -> new NotAppended(PersistFailures.notWritten("a message from " + persistenceId().id()).message()));
          return Effect().persist(c.message())
              .thenRun(after -> pending.written())
              .thenRun(after -> feed.publish(persistenceId().id(), lastSequenceNumber(context), tagFor(deviceId), c.message()))
              .thenReply(c.replyTo(), after -> new Appended(after.count()));
        })
        .build();
  }

  @Override
  public SignalHandler<State> signalHandler() {
    // The write in flight failed (restart with backoff) or the entity stopped under it: say so now.
    return newSignalHandlerBuilder()
        .onSignal(PreRestart.instance(), s -> pending.failed())
        .onSignal(PostStop.instance(), s -> pending.failed())
        .build();
  }

  @Override
  public EventHandler<State, TelemetryReceived> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent((s, e) -> new State(s.count() + 1));
  }

  @Override
  public Set<String> tagsFor(TelemetryReceived event) {
    return Set.of(tagFor(deviceId));
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(SNAPSHOT_EVERY, 1);
  }
}
