package io.twinhub.node.api;

import akka.actor.typed.ActorSystem;
import akka.persistence.query.EventEnvelope;
import akka.persistence.query.NoOffset;
import akka.persistence.query.Offset;
import akka.persistence.query.javadsl.EventsByTagQuery;
import akka.persistence.typed.PersistenceId;
import akka.stream.KillSwitches;
import akka.stream.RestartSettings;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.RestartSource;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.entity.DeviceEntity;
import io.twinhub.twin.entity.TwinEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A registry view kept from the journal: every device's existence, status and connection state,
 * read with Akka Persistence Query {@code eventsByTag} over all twin tags. Each node keeps its own
 * complete copy (every node reads every tag), so the counts are cluster-wide on any node. Used on
 * nodes without the query role; the others answer from their query index ({@link IndexRegistryView}).
 *
 * <p>Eventually consistent: an event shows up after the read journal's polling and
 * eventual-consistency delay (seconds with Cassandra's defaults), like IoT Hub's own statistics.
 * Rebuilt from the start of the journal at every node start; a stream failure restarts with
 * back-off from the last offset per tag, and redelivered events are recognised by sequence
 * number. Deleted devices are kept as tombstones (id + sequence number) so a redelivery cannot
 * resurrect them.
 *
 * <p>One writer (the stream), any number of readers: counts are one immutable snapshot in a
 * volatile field, the id map is concurrent.
 */
public final class JournalRegistryView implements RegistryView {

  private static final Logger log = LoggerFactory.getLogger(JournalRegistryView.class);
  private static final String DEVICE_TYPE = DeviceEntity.TYPE_KEY.name();

  /** The view's state of one device; written by the stream only. */
  private static final class Entry {
    long sequenceNr;
    volatile boolean exists;
    boolean enabled;
    boolean connected;
  }

  private record Counts(long total, long enabled, long connected) {}

  private final ConcurrentSkipListMap<String, Entry> devices = new ConcurrentSkipListMap<>();
  private volatile Counts counts = new Counts(0, 0, 0);
  private volatile UniqueKillSwitch killSwitch;

  JournalRegistryView() {}

  /** Starts reading every twin tag of the node's Cassandra journal (from the beginning) into a new view. */
  public static JournalRegistryView start(ActorSystem<?> system) {
    EventsByTagQuery journal = akka.persistence.query.PersistenceQuery.get(system).getReadJournalFor(
        akka.persistence.cassandra.query.javadsl.CassandraReadJournal.class,
        akka.persistence.cassandra.query.javadsl.CassandraReadJournal.Identifier());
    return start(system, journal, io.twinhub.twin.entity.TwinTags.ALL);
  }

  /**
   * Starts reading {@code tags} from {@code journal} (from the beginning) into a new view.
   */
  public static JournalRegistryView start(ActorSystem<?> system, EventsByTagQuery journal, List<String> tags) {
    JournalRegistryView view = new JournalRegistryView();
    List<Source<EventEnvelope, ?>> sources = new ArrayList<>();
    for (String tag : tags) {
      AtomicReference<Offset> offset = new AtomicReference<>(NoOffset.getInstance());
      RestartSettings restart = RestartSettings.create(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2);
      sources.add(RestartSource.onFailuresWithBackoff(restart, () -> {
        Offset from = offset.get();
        if (from != NoOffset.getInstance()) {
          log.info("registry view resumes tag {} after a failure", tag);
        }
        return journal.eventsByTag(tag, from).map(env -> {
          offset.set(env.offset());
          return env;
        });
      }));
    }
    view.killSwitch = Source.from(sources)
        .flatMapMerge(sources.size(), s -> s)
        .viaMat(KillSwitches.single(), Keep.right())
        .to(Sink.foreach(env -> view.apply(env.persistenceId(), env.sequenceNr(), env.event())))
        .run(system);
    return view;
  }

  @Override
  public void close() {
    UniqueKillSwitch k = killSwitch;
    if (k != null) {
      k.shutdown();
    }
  }

  /**
   * Applies one journal event (single writer). Module events and events the view has already
   * seen (by sequence number) change nothing.
   */
  void apply(String persistenceId, long sequenceNr, Object event) {
    if (!DEVICE_TYPE.equals(PersistenceId.extractEntityType(persistenceId))) {
      return;
    }
    String deviceId = PersistenceId.extractEntityId(persistenceId);
    Entry e = devices.get(deviceId);
    if (e == null) {
      e = new Entry();
    } else if (sequenceNr <= e.sequenceNr) {
      return;
    }
    boolean wasCounted = e.exists;
    boolean wasEnabled = e.exists && e.enabled;
    boolean wasConnected = e.exists && e.connected;
    if (event instanceof TwinEvent.DeviceCreated c) {
      take(e, c.identity());
      e.exists = true;
    } else if (event instanceof TwinEvent.DeviceUpdated u) {
      take(e, u.identity());
    } else if (event instanceof TwinEvent.DeviceDeleted) {
      e.exists = false;
      e.connected = false;
    } else if (event instanceof TwinEvent.ConnectionStateChanged s) {
      e.connected = s.state() == ConnectionState.CONNECTED;
    }
    e.sequenceNr = sequenceNr;
    devices.putIfAbsent(deviceId, e);
    long dTotal = (e.exists ? 1 : 0) - (wasCounted ? 1 : 0);
    long dEnabled = (e.exists && e.enabled ? 1 : 0) - (wasEnabled ? 1 : 0);
    long dConnected = (e.exists && e.connected ? 1 : 0) - (wasConnected ? 1 : 0);
    if (dTotal != 0 || dEnabled != 0 || dConnected != 0) {
      Counts c = counts;
      counts = new Counts(c.total() + dTotal, c.enabled() + dEnabled, c.connected() + dConnected);
    }
  }

  private static void take(Entry e, Identity identity) {
    e.enabled = identity.status() == DeviceStatus.ENABLED;
    e.connected = identity.connectionState() == ConnectionState.CONNECTED;
  }

  @Override
  public DeviceCounts deviceCounts() {
    Counts c = counts;
    return new DeviceCounts(c.total(), c.enabled(), c.total() - c.enabled());
  }

  @Override
  public long connectedDeviceCount() {
    return counts.connected();
  }

  @Override
  public List<String> firstDeviceIds(int max) {
    List<String> ids = new ArrayList<>(Math.min(max, 1024));
    for (Map.Entry<String, Entry> d : devices.entrySet()) {
      if (ids.size() >= max) {
        break;
      }
      if (d.getValue().exists) {
        ids.add(d.getKey());
      }
    }
    return ids;
  }
}
