package io.twinhub.projections.journal;

import akka.persistence.query.EventEnvelope;
import akka.persistence.query.NoOffset;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class NewestWriterTest {
  static EventEnvelope event(long seq, String payload, long writtenAt) {
    return EventEnvelope.apply(NoOffset.getInstance(), "Device|d1", seq, payload, writtenAt);
  }

  static List<Object> payloads(List<EventEnvelope> events) {
    return events.stream().map(EventEnvelope::event).toList();
  }

  @Test
  void aJournalWithOneWriterPerSequenceNumberIsUnchanged() {
    List<EventEnvelope> journal = List.of(event(1, "a", 10), event(2, "b", 20), event(3, "c", 30));
    assertEquals(journal, NewestWriter.resolve(journal));
    assertEquals(List.of(), NewestWriter.resolve(List.of()));
  }

  @Test
  void theOldWritersLateEventGivesWayToTheNewWritersAtTheSameSequenceNumber() {
    // 3 was written by the old incarnation at 30 (timed out, applied late), and again at 95 by the new one.
    List<EventEnvelope> journal = List.of(event(1, "a", 10), event(2, "b", 20), event(3, "stale", 30),
        event(3, "c", 95), event(4, "d", 99));
    assertEquals(List.of("a", "b", "c", "d"), payloads(NewestWriter.resolve(journal)));
  }

  @Test
  void theLaterWriteWinsWhateverTheOrderTheyAreReadIn() {
    List<EventEnvelope> journal = List.of(event(1, "a", 10), event(2, "c", 95), event(2, "stale", 30), event(3, "d", 99));
    assertEquals(List.of("a", "c", "d"), payloads(NewestWriter.resolve(journal)));
  }

  @Test
  void aStaleEventWithoutANewerOneIsTheEventAtItsNumber() {
    // The new incarnation wrote nothing yet: the late event is the twin's last change (its next recovery applies it).
    List<EventEnvelope> journal = List.of(event(1, "a", 10), event(2, "late", 20));
    assertEquals(List.of("a", "late"), payloads(NewestWriter.resolve(journal)));
  }

  @Test
  void theStreamStageResolvesLikeTheListOnEveryJournalAbove() throws Exception {
    akka.actor.typed.ActorSystem<Void> system = akka.actor.typed.ActorSystem.create(
        akka.actor.typed.javadsl.Behaviors.empty(), "newest-writer-flow");
    try {
      for (List<EventEnvelope> journal : List.of(
          List.<EventEnvelope>of(),
          List.of(event(1, "a", 10), event(2, "b", 20), event(3, "c", 30)),
          List.of(event(1, "a", 10), event(2, "b", 20), event(3, "stale", 30), event(3, "c", 95), event(4, "d", 99)),
          List.of(event(1, "a", 10), event(2, "c", 95), event(2, "stale", 30), event(3, "d", 99)),
          List.of(event(1, "a", 10), event(2, "late", 20)))) {
        List<EventEnvelope> streamed = akka.stream.javadsl.Source.from(journal).via(NewestWriter.flow())
            .runWith(akka.stream.javadsl.Sink.seq(), system).toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(payloads(NewestWriter.resolve(journal)), payloads(streamed));
      }
    } finally {
      system.terminate();
    }
  }
}
