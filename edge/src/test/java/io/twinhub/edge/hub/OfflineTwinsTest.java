package io.twinhub.edge.hub;

import akka.util.ByteString;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.*;

class OfflineTwinsTest {
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir
  Path dir;

  static JsonNode json(String s) throws Exception {
    return JSON.readTree(s);
  }

  @Test
  void offlineGetsSeeQueuedReportedPatchesWhichLeaveInOrder() throws Exception {
    OfflineTwins t = new OfflineTwins(dir);
    t.remember("m", json("{\"desired\":{\"a\":1,\"$version\":3},\"reported\":{\"x\":1,\"o\":{\"p\":1},\"$version\":5}}"));
    assertTrue(t.queue("m", ByteString.fromString("{\"x\":2,\"o\":{\"q\":2}}")));
    assertTrue(t.queue("m", ByteString.fromString("{\"x\":3,\"o\":{\"p\":null}}")));
    assertFalse(t.queue("m", ByteString.fromString("[1]")), "a reported patch is a JSON object");
    assertFalse(t.queue("m", ByteString.fromString("{bad")));
    JsonNode copy = t.copy("m").orElseThrow();
    assertEquals(json("{\"x\":3,\"o\":{\"q\":2},\"$version\":5}"), copy.get("reported"));
    assertTrue(t.hasQueued("m"));
    assertEquals(List.of("m"), t.pendingModules());
    assertEquals("{\"x\":2,\"o\":{\"q\":2}}", t.nextQueued("m").orElseThrow().utf8String());
    t.dequeue("m");
    assertEquals("{\"x\":3,\"o\":{\"p\":null}}", t.nextQueued("m").orElseThrow().utf8String());
    t.dequeue("m");
    assertFalse(t.hasQueued("m"));
  }

  @Test
  void aDesiredChangeMadeWhileOfflineComesBackAsOnePatch() throws Exception {
    OfflineTwins t = new OfflineTwins(dir);
    t.remember("m", json("{\"desired\":{\"a\":1,\"gone\":true,\"o\":{\"k\":1,\"same\":2},\"$version\":3},\"reported\":{}}"));
    t.markStale("m");
    Optional<JsonNode> patch = t.resynced("m", json(
        "{\"desired\":{\"a\":2,\"o\":{\"k\":1,\"same\":2,\"new\":3},\"$version\":5},\"reported\":{}}"));
    assertEquals(json("{\"gone\":null,\"a\":2,\"o\":{\"new\":3},\"$version\":5}"), patch.orElseThrow());
    assertEquals(List.of(), t.pendingModules());
    assertTrue(t.resynced("m", json("{\"desired\":{\"$version\":5},\"reported\":{}}")).isEmpty(),
        "no newer desired version: nothing to deliver");
  }

  @Test
  void queuedPatchesSurviveARestartAndExpireAfterTheTimeToLive() throws Exception {
    OfflineTwins t = new OfflineTwins(dir);
    assertTrue(t.queue("m/1", ByteString.fromString("{\"x\":1}")));
    assertTrue(t.queue("m/1", ByteString.fromString("{\"x\":2}")));
    t.dequeue("m/1");
    assertTrue(t.queue("other", ByteString.fromString("{\"y\":1}")));
    // no close: as after kill -9
    OfflineTwins after = new OfflineTwins(dir);
    assertEquals(List.of("m/1", "other"), after.pendingModules().stream().sorted().toList(),
        "modules with queued patches are brought back in sync first");
    assertEquals("{\"x\":2}", after.nextQueued("m/1").orElseThrow().utf8String());
    after.timeToLive(Duration.ZERO);
    Thread.sleep(5);
    assertTrue(after.nextQueued("other").isEmpty(), "older than the time to live: dropped");
    assertFalse(after.hasQueued("other"));
    t.close();
    after.close();
  }

  @Test
  void aGetAnsweredBeforeAnAcceptedPatchDoesNotTakeItOutOfTheCopy() throws Exception {
    OfflineTwins t = new OfflineTwins(dir);
    t.remember("m", json("{\"desired\":{\"$version\":2},\"reported\":{\"progress\":850,\"$version\":17}}"));
    // The resync's GET is on its way; a patch relayed meanwhile is applied (version 18) and answered first.
    t.reportedAccepted("m", ByteString.fromString("{\"progress\":900}"), 18);
    t.markStale("m");
    t.resynced("m", json("{\"desired\":{\"$version\":3},\"reported\":{\"progress\":850,\"$version\":17}}"));
    JsonNode copy = t.copy("m").orElseThrow();
    assertEquals(900, copy.at("/reported/progress").asInt(), "the accepted patch stays: " + copy);
    assertEquals(18, copy.at("/reported/$version").asLong(), "with the version it was accepted as: " + copy);
    assertEquals(3, copy.at("/desired/$version").asInt(), "the GET's desired section is newer: taken");
    assertEquals(900, new OfflineTwins(dir).copy("m").orElseThrow().at("/reported/progress").asInt(), "on disk too");
    t.remember("m", json("{\"desired\":{\"$version\":3},\"reported\":{\"progress\":950,\"$version\":19}}"));
    assertEquals(950, t.copy("m").orElseThrow().at("/reported/progress").asInt(), "a newer twin replaces it");
    t.close();
  }

  @Test
  void theLastKnownTwinSurvivesARestartWithTheQueuedPatchesAndDesiredChanges() throws Exception {
    OfflineTwins t = new OfflineTwins(dir);
    assertTrue(new OfflineTwins(dir).copy("m/1").isEmpty(), "no twin from the hub yet: no copy");
    t.remember("m/1", json("{\"desired\":{\"a\":1,\"$version\":3},\"reported\":{\"x\":1,\"$version\":5}}"));
    t.desiredPatched("m/1", ByteString.fromString("{\"a\":2,\"b\":true,\"$version\":4}"));
    t.reportedAccepted("m/1", ByteString.fromString("{\"y\":1}"), -1);
    assertTrue(t.queue("m/1", ByteString.fromString("{\"x\":2,\"y\":null}")));
    // no close: as after kill -9
    OfflineTwins after = new OfflineTwins(dir);
    assertEquals(json("{\"desired\":{\"a\":2,\"$version\":4,\"b\":true},\"reported\":{\"x\":2,\"$version\":5}}"),
        after.copy("m/1").orElseThrow());
    assertTrue(after.hasQueued("m/1"));
    // the runtime died after queueing a patch and before writing the copy: merged again at load
    java.nio.file.Path copyFile = dir.resolve("twin~m%2F1.json");
    java.nio.file.Files.writeString(copyFile, "{\"desired\":{\"$version\":4},\"reported\":{\"x\":1}}");
    assertEquals(json("{\"x\":2}"), new OfflineTwins(dir).copy("m/1").orElseThrow().get("reported"));
    java.nio.file.Files.writeString(copyFile, "{torn");
    assertTrue(new OfflineTwins(dir).copy("m/1").isEmpty(), "an unreadable copy is none");
    t.close();
    after.close();
  }
}
