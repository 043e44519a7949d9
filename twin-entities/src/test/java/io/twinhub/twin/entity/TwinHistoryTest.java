package io.twinhub.twin.entity;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializers;
import io.twinhub.twin.domain.Author;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.Twin;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinUpdate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static io.twinhub.twin.entity.EntityTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The journal folded back into past twins: every version the entity answered is exactly what
 * {@link TwinHistory} rebuilds from its events, including across a deletion and re-creation.
 */
class TwinHistoryTest {
  static final ActorTestKit testKit = ActorTestKit.create(CONFIG);

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void foldsEveryVersionTheEntityHadAndNothingElse() {
    var kit = EventSourcedBehaviorTestKit.<TwinCommand, TwinEvent, TwinRecord>create(testKit.system(),
        DeviceEntity.create("hist1", EntitySettings.DEFAULT.withClock(steppingClock())));
    List<TwinEvent> events = new ArrayList<>();
    Map<Long, String> seen = new TreeMap<>(); // version -> the twin's service view, as the entity answered it
    Map<Long, Instant> when = new TreeMap<>();
    java.util.function.Consumer<EventSourcedBehaviorTestKit.CommandResultWithReply<TwinCommand, TwinEvent, TwinRecord, TwinReply>> keep = r -> {
      events.addAll(r.events());
      Twin t = ((TwinReply.Accepted) r.reply()).twin();
      seen.put(t.state().version(), TwinJson.toText(TwinJson.serviceView(t)));
      when.put(t.state().version(), r.events().get(r.events().size() - 1).at());
    };
    keep.accept(kit.runCommand(r -> new TwinCommand.CreateIdentity(sasSpec(), "g1", r)));
    keep.accept(kit.runCommand(r -> new TwinCommand.UpdateTwin(new TwinUpdate.UpdateTwin(doc("{\"site\":\"a\"}"),
        doc("{\"temp\":20}")), null, Author.service("iothubowner"), r)));
    keep.accept(kit.runCommand(r -> new TwinCommand.UpdateTwin(new TwinUpdate.PatchReported(doc("{\"temp\":19}")), null,
        Author.device("hist1", null), r)));
    // A connection-state change leaves the version as it is: the twin at version 3 is the one right after the patch.
    events.addAll(kit.<TwinReply>runCommand(r -> new TwinCommand.SetConnectionState(ConnectionState.CONNECTED, r)).events());
    keep.accept(kit.runCommand(r -> new TwinCommand.UpdateTwinForJob("job-7",
        new TwinUpdate.UpdateTwin(null, doc("{\"temp\":21}")), r)));
    Instant beforeDelete = events.get(events.size() - 1).at();
    events.addAll(kit.<TwinReply>runCommand(r -> new TwinCommand.DeleteIdentity("*", false, r)).events());
    Instant deleted = events.get(events.size() - 1).at();
    keep.accept(kit.runCommand(r -> new TwinCommand.CreateIdentity(sasSpec(), "g2", r)));
    keep.accept(kit.runCommand(r -> new TwinCommand.UpdateTwin(new TwinUpdate.PatchDesired(doc("{\"temp\":22}")), null,
        Author.configuration("cfg-1"), r)));

    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), List.copyOf(seen.keySet()));
    seen.forEach((version, json) -> {
      TwinRecord past = TwinHistory.asOfVersion(events, version).orElseThrow(() -> new AssertionError("no version " + version));
      String folded = TwinJson.toText(TwinJson.serviceView(past.twin()));
      // Version 3: the entity answered before it became Connected; the fold stops right after version 3 as well.
      assertEquals(json, folded, "version " + version);
    });
    assertTrue(TwinHistory.asOfVersion(events, 7).isEmpty(), "a version not yet written");
    assertTrue(TwinHistory.asOfVersion(events, 0).isEmpty());

    assertEquals(seen.get(4L), TwinJson.toText(TwinJson.serviceView(TwinHistory.asOfTime(events, beforeDelete).orElseThrow().twin())));
    assertTrue(TwinHistory.asOfTime(events, deleted).isEmpty(), "deleted at that instant");
    assertTrue(TwinHistory.asOfTime(events, Instant.parse("2000-01-01T00:00:00Z")).isEmpty(), "not yet created");
    assertEquals(seen.get(6L), TwinJson.toText(TwinJson.serviceView(TwinHistory.asOfTime(events, Instant.MAX).orElseThrow().twin())));

    List<TwinEvent.TwinChanged> changes = events.stream()
        .filter(e -> e instanceof TwinEvent.TwinChanged).map(e -> (TwinEvent.TwinChanged) e).toList();
    assertEquals(List.of("service", "device", "job", "configuration"),
        changes.stream().map(c -> TwinHistory.source(c).wire()).toList());
    assertEquals(java.util.Arrays.asList("iothubowner", "hist1", "job-7", "cfg-1"),
        changes.stream().map(TwinHistory::authorName).toList());
  }

  @Test
  void eventsJournaledBeforeAuthorsStillReplayAndSayWhatTheyCan() throws Exception {
    Serialization serialization = SerializationExtension.get(testKit.system().classicSystem());
    var written = new TwinEvent.DesiredPatched(doc("{\"a\":1}"), new TwinEvent.Versions(2, 2, 1),
        Instant.parse("2026-11-24T10:00:00Z"), Author.service("service"));
    var serializer = serialization.findSerializerFor(written);
    String manifest = Serializers.manifestFor(serializer, written);
    String json = new String(serialization.serialize(written).get(), StandardCharsets.UTF_8);
    assertTrue(json.contains("\"by\":{\"kind\":\"service\",\"name\":\"service\"}"), json);

    // The same event as journaled before authors existed: no "by" member.
    String old = json.replace(",\"by\":{\"kind\":\"service\",\"name\":\"service\"}", "");
    assertFalse(old.contains("by"), old);
    var replayed = (TwinEvent.DesiredPatched) serialization.deserialize(old.getBytes(StandardCharsets.UTF_8),
        serializer.identifier(), manifest).get();
    assertNull(replayed.by());
    assertEquals(written.versions(), replayed.versions());
    assertEquals(Author.Kind.SERVICE, TwinHistory.source(replayed));
    assertNull(TwinHistory.authorName(replayed));

    // An author-less event also leaves "by" out of the journal, as before.
    var unattributed = new TwinEvent.ReportedPatched(doc("{\"b\":2}"), new TwinEvent.Versions(3, 2, 2), Instant.EPOCH);
    assertFalse(new String(serialization.serialize(unattributed).get(), StandardCharsets.UTF_8).contains("\"by\""));
    assertEquals(Author.Kind.DEVICE, TwinHistory.source(unattributed));
  }
}
