package io.twinhub.projections.journal;

import akka.NotUsed;
import akka.japi.Pair;
import akka.persistence.query.EventEnvelope;
import akka.stream.javadsl.Flow;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One event per sequence number, as the twin's entity sees its journal.
 *
 * <p>A write the journal gave up on (a frozen Cassandra: the request sits in its socket buffer
 * past the driver's timeout) can still be applied later, after the entity was restarted,
 * recovered without it and wrote the same sequence number again. Cassandra keeps both rows: the
 * {@code messages} key includes the write's time-based UUID. The entity is not misled, because
 * Akka's replay filter ({@code repair-by-discard-old}) drops the old writer's event; every other
 * reader of a twin's events by persistence id must apply the same rule, or it folds an
 * unacknowledged change and repeats a {@code $version}. The old incarnation can leave at most one
 * such event (an entity persists the next event only after the previous one was confirmed), and
 * it was created before the new incarnation recovered, so it is the earlier of the two.
 */
public final class NewestWriter {
  private NewestWriter() {}

  /**
   * {@code events} of one persistence id in journal order (sequence number, then write time):
   * for a sequence number written twice, only the later write.
   */
  public static List<EventEnvelope> resolve(List<EventEnvelope> events) {
    List<EventEnvelope> out = new ArrayList<>(events.size());
    for (EventEnvelope e : events) {
      int last = out.size() - 1;
      if (last >= 0 && out.get(last).sequenceNr() == e.sequenceNr()) {
        if (e.timestamp() >= out.get(last).timestamp()) out.set(last, e);
      } else {
        out.add(e);
      }
    }
    return out;
  }

  /**
   * {@link #resolve} as a stream stage, for reads too long to hold (a twin's whole journal): holds
   * back one event until the next sequence number shows that it was written only once.
   */
  public static Flow<EventEnvelope, EventEnvelope, NotUsed> flow() {
    return Flow.<EventEnvelope>create()
        .statefulMap(Optional::<EventEnvelope>empty,
            (Optional<EventEnvelope> pending, EventEnvelope e) -> {
              if (pending.isEmpty()) return Pair.create(Optional.of(e), Optional.<EventEnvelope>empty());
              EventEnvelope p = pending.get();
              if (p.sequenceNr() == e.sequenceNr()) {
                return Pair.create(Optional.of(e.timestamp() >= p.timestamp() ? e : p), Optional.<EventEnvelope>empty());
              }
              return Pair.create(Optional.of(e), pending);
            },
            pending -> Optional.of(pending))
        .filter(Optional::isPresent)
        .map(Optional::get);
  }
}
