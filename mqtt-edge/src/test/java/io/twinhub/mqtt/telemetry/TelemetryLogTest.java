package io.twinhub.mqtt.telemetry;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.twinhub.twin.telemetry.TelemetryFeed;
import io.twinhub.twin.telemetry.TelemetryTags;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The telemetry log's live path (issue #18, function latency): each journaled message told to its tag's subscribers. */
class TelemetryLogTest {
  static final Config CONFIG = ConfigFactory.parseString("""
      akka.actor.serialization-bindings { "io.twinhub.twin.TwinhubSerializable" = jackson-json }
      akka.actor.serialize-messages = on
      akka.loglevel = WARNING
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
      var appended = kit.<TelemetryLog.Appended>runCommand(r -> new TelemetryLog.Append(new TelemetryLog.TelemetryReceived(device, "m1",
          Map.of("alert", "yes"), Map.of("message-id", "id-" + n), body, at), r));
      assertEquals(i, appended.reply().sequenceNr());
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
}
