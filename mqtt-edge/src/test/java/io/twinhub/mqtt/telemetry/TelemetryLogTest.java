package io.twinhub.mqtt.telemetry;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import akka.persistence.testkit.javadsl.PersistenceTestKit;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.twinhub.twin.telemetry.TelemetryFeed;
import io.twinhub.twin.telemetry.TelemetryTags;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The telemetry log's live path (issue #18, function latency): each journaled message told to its tag's subscribers. */
class TelemetryLogTest {
  static final Config CONFIG = ConfigFactory.parseString("""
      akka.actor.serialization-bindings { "io.twinhub.twin.TwinhubSerializable" = jackson-json }
      akka.actor.serialize-messages = on
      akka.loglevel = WARNING
      twinhub.persist-failure { min-backoff = 100ms, max-backoff = 1s, random-factor = 0 }
      """).withFallback(EventSourcedBehaviorTestKit.config());
  static final ActorTestKit testKit = ActorTestKit.create(CONFIG);

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void everyJournaledMessageIsToldToTheSubscribersOfItsTagWithItsSequenceNumber() {
    String device = "thermostat-7";
    String tag = TelemetryTags.forDevice(device);
    var probe = testKit.<TelemetryFeed.Journaled>createTestProbe();
    var other = testKit.<TelemetryFeed.Journaled>createTestProbe();
    TelemetryFeed.subscribe(testKit.system(), tag, probe.getRef());
    String otherTag = TelemetryTags.ALL.stream().filter(t -> !t.equals(tag)).findFirst().orElseThrow();
    TelemetryFeed.subscribe(testKit.system(), otherTag, other.getRef());
    TelemetryFeed feed = TelemetryFeed.get(testKit.system());
    probe.awaitAssert(Duration.ofSeconds(10), () -> {
      assertTrue(feed.subscriberCount(tag) >= 1 && feed.subscriberCount(otherTag) >= 1);
      return null;
    });
    EventSourcedBehaviorTestKit<TelemetryLog.Command, TelemetryLog.TelemetryReceived, TelemetryLog.State> kit =
        EventSourcedBehaviorTestKit.create(testKit.system(), TelemetryLog.create(TelemetryLog.entityId(device, "m1")));
    Instant at = Instant.parse("2026-12-06T14:00:00Z");
    for (int i = 1; i <= 2; i++) {
      byte[] body = ("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8);
      int n = i;
      var appended = kit.<TelemetryLog.AppendResult>runCommand(r -> new TelemetryLog.Append(new TelemetryLog.TelemetryReceived(device, "m1",
          Map.of("alert", "yes"), Map.of("message-id", "id-" + n), body, at), r));
      assertEquals(new TelemetryLog.Appended(i), appended.reply());
    }
    // Through Jackson (serialize-messages = on), as to a partition on another node.
    for (int i = 1; i <= 2; i++) {
      TelemetryFeed.Journaled j = probe.receiveMessage();
      assertEquals("Telemetry|" + device + "/m1", j.persistenceId());
      assertEquals(i, j.sequenceNr());
      assertEquals(tag, j.tag());
      assertEquals(device, j.message().deviceId());
      assertEquals("m1", j.message().moduleId());
      assertEquals(Map.of("alert", "yes"), j.message().properties());
      assertEquals(Map.of("message-id", "id-" + i), j.message().systemProperties());
      assertArrayEquals(("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8), j.message().body());
      assertEquals(at, j.message().enqueuedTime());
    }
    other.expectNoMessage(Duration.ofMillis(300)); // another tag's subscriber hears nothing
  }

  /**
   * A message the journal did not confirm is answered NotAppended at once (the device gets no
   * PUBACK and sends it again) and never told to subscribers; the log restarts after the backoff
   * and appends the next one after the last stored.
   */
  @Test
  void aMessageWhoseWriteFailedIsAnsweredNotAppendedAtOnceAndTheLogAppendsAgain() {
    String device = "thermostat-9";
    String pid = "Telemetry|" + device;
    var probe = testKit.<TelemetryFeed.Journaled>createTestProbe();
    TelemetryFeed.subscribe(testKit.system(), TelemetryTags.forDevice(device), probe.getRef());
    PersistenceTestKit journal = PersistenceTestKit.create(testKit.system());
    var log = testKit.spawn(TelemetryLog.create(device));
    var reply = testKit.<TelemetryLog.AppendResult>createTestProbe();
    Instant at = Instant.parse("2026-12-07T13:00:00Z");
    java.util.function.Function<String, TelemetryLog.Append> append = id -> new TelemetryLog.Append(new TelemetryLog.TelemetryReceived(
        device, null, Map.of(), Map.of("message-id", id), id.getBytes(StandardCharsets.UTF_8), at), reply.getRef());

    log.tell(append.apply("a"));
    assertEquals(new TelemetryLog.Appended(1), reply.receiveMessage(Duration.ofSeconds(15)));
    journal.failNextPersisted(pid, new RuntimeException("journal down"));
    log.tell(append.apply("b"));
    log.tell(append.apply("c")); // waits behind the failing write, then for the restart
    var refused = assertInstanceOf(TelemetryLog.NotAppended.class, reply.receiveMessage(Duration.ofSeconds(15)));
    assertTrue(refused.reason().startsWith("the journal write of a message from " + pid + " failed"), refused.reason());
    assertEquals(new TelemetryLog.Appended(2), reply.receiveMessage(Duration.ofSeconds(15)));
    assertEquals(List.of("a", "c"), journal.persistedInStorage(pid).stream()
        .map(e -> new String(((TelemetryLog.TelemetryReceived) e).body(), StandardCharsets.UTF_8)).toList());
    assertEquals(List.of(1L, 2L), probe.receiveSeveralMessages(2).stream().map(TelemetryFeed.Journaled::sequenceNr).toList());
    probe.expectNoMessage(Duration.ofMillis(300));
  }
}
