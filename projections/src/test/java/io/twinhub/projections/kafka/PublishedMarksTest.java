package io.twinhub.projections.kafka;

import io.twinhub.projections.streams.JournalPosition;
import org.junit.jupiter.api.Test;

import java.util.AbstractMap.SimpleEntry;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.*;

/** What a (re)started Kafka publisher does with each event it reads, and what it resumes from. */
class PublishedMarksTest {
  @Test
  void aReReadEventAtOrBelowItsTwinsMarkIsSkippedTheNextIsPublishedALaterOneFillsTheGap() {
    PublishedMarks marks = new PublishedMarks(Map.of("Device|a", 5L));
    assertInstanceOf(PublishedMarks.Skip.class, marks.decide("Device|a", 3));
    assertInstanceOf(PublishedMarks.Skip.class, marks.decide("Device|a", 5));
    assertInstanceOf(PublishedMarks.Publish.class, marks.decide("Device|a", 6));
    assertEquals(new PublishedMarks.Fill(6, 8), marks.decide("Device|a", 9), "6..8 never reached Kafka: read them first");
    assertInstanceOf(PublishedMarks.Publish.class, marks.decide("Device|new", 4), "no mark: nothing of it was published");
  }

  @Test
  void aLiveEventIsPublishedAheadOfItsTagRowWhichIsThenSkippedAndALiveGapIsFilledFromTheJournal() {
    PublishedMarks marks = new PublishedMarks(Map.of("Device|a", 5L));
    assertInstanceOf(PublishedMarks.Publish.class, marks.decideLive("Device|a", 6, false));
    marks.passed("Device|a", 6);
    assertInstanceOf(PublishedMarks.Skip.class, marks.decide("Device|a", 6), "its tag row, read later: not twice");
    assertEquals(new PublishedMarks.Fill(7, 8), marks.decideLive("Device|a", 9, false), "7 and 8 were lost on the live path");
    marks.passed("Device|a", 9);
    assertInstanceOf(PublishedMarks.Skip.class, marks.decideLive("Device|a", 8, false), "a late live message of a filled event");
    assertInstanceOf(PublishedMarks.Skip.class, marks.decide("Device|a", 7));
    // No mark: a twin's first event is new either way; a later one is filled from 1 only when the
    // marks cover the whole journal, else the tag read (which starts where the publisher started) decides.
    assertInstanceOf(PublishedMarks.Publish.class, marks.decideLive("Device|new", 1, false));
    assertEquals(new PublishedMarks.Fill(1, 3), marks.decideLive("Device|new", 4, true));
    assertInstanceOf(PublishedMarks.Leave.class, marks.decideLive("Device|new", 4, false));
  }

  @Test
  void aLateTagRowBehindTheCommittedPositionIsPublishedOnceAcrossARestart() {
    // Incarnation 1 published a:1..3 and b:1; b:2's tag row was not visible yet when it passed its time.
    PublishedMarks first = new PublishedMarks(Map.of());
    for (long n = 1; n <= 3; n++) {
      assertInstanceOf(PublishedMarks.Publish.class, first.decide("Device|a", n));
      first.passed("Device|a", n);
    }
    first.passed("Device|b", 1);
    // Incarnation 2 starts from the committed marks and re-reads the rewind window, now with b:2 in it.
    PublishedMarks second = new PublishedMarks(Map.of("Device|a", first.mark("Device|a"), "Device|b", first.mark("Device|b")));
    assertInstanceOf(PublishedMarks.Skip.class, second.decide("Device|b", 1));
    assertInstanceOf(PublishedMarks.Skip.class, second.decide("Device|a", 2));
    assertInstanceOf(PublishedMarks.Publish.class, second.decide("Device|b", 2), "the late row");
    second.passed("Device|b", 2);
    assertInstanceOf(PublishedMarks.Skip.class, second.decide("Device|b", 2), "found again by a back-track: not twice");
  }

  @Test
  void resumeTakesTheLastPositionAndEachTwinsLastMarkOfThisPublisherOnly() {
    JournalPosition p1 = JournalPosition.uniform(UUID.fromString("6fa459ea-ee8a-11ca-8a14-0800200c9a66"));
    JournalPosition p2 = p1.with(3, UUID.fromString("7fa459ea-ee8a-11ca-8a14-0800200c9a66"));
    JournalPosition floor = JournalPosition.start();
    var resume = KafkaFeedPublisher.resume("feed", List.of(
        new SimpleEntry<>("feed\nDevice|a", "3"),
        new SimpleEntry<>("feed", KafkaFeedPublisher.positionValue(p1, floor)),
        new SimpleEntry<>("other\nDevice|a", "9"),
        new SimpleEntry<>("feed\nDevice|a", "7"),
        new SimpleEntry<>("feed\nDevice|b", "1"),
        new SimpleEntry<>("feed", KafkaFeedPublisher.positionValue(p2, floor)))).orElseThrow();
    assertEquals(p2, resume.position());
    assertEquals(floor, resume.floor());
    assertEquals(Map.of("Device|a", 7L, "Device|b", 1L), resume.marks());
    assertTrue(resume.rewind());
    assertTrue(KafkaFeedPublisher.resume("feed", List.of(new SimpleEntry<>("other", p1.token()))).isEmpty());
  }

  @Test
  void aPositionOfTheFormatBeforeMarksResumesWithoutRewindAndIsTheFloor() {
    JournalPosition legacy = JournalPosition.uniform(UUID.fromString("6fa459ea-ee8a-11ca-8a14-0800200c9a66"));
    var resume = KafkaFeedPublisher.resume("feed", List.of(new SimpleEntry<>("feed", legacy.token()))).orElseThrow();
    assertFalse(resume.rewind(), "no marks cover what came before: a rewind would publish it again");
    assertEquals(legacy, resume.position());
    assertEquals(legacy, resume.floor());
  }
}
