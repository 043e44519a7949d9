package io.twinhub.projections.streams;

import akka.actor.typed.ActorSystem;
import akka.stream.javadsl.Sink;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.twin.service.TwinService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A consumer of the real journal (embedded Cassandra) that disconnects at random points and
 * resumes by offset sees every (twin, version) exactly once, in per-twin order.
 */
class ChangeFeedIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static JournalTestSystem journal;
  static ActorSystem<Void> system;
  static TwinService twins;

  @BeforeAll
  static void start() {
    journal = JournalTestSystem.start("streams-it");
    system = journal.system;
    twins = journal.twins;
  }

  @AfterAll
  static void stop() throws Exception {
    journal.close();
  }

  @Test
  void resumingByOffsetLosesAndRepeatsNothing() throws Exception {
    String run = UUID.randomUUID().toString().substring(0, 8);
    ChangeFeed feed = new ChangeFeed(system, "it.twinhub");
    JournalPosition start = feed.latest();
    int devices = 100;
    int patchesPerDevice = 100;

    // 100 devices, 10,000 desired patches, written 32 at a time.
    List<String> ids = new ArrayList<>();
    for (int d = 0; d < devices; d++) ids.add("feed-" + run + "-" + d);
    journal.createDevices(ids, 16);
    long accepted = journal.patchDesired(ids, 0, patchesPerDevice, 32, Duration.ofSeconds(600));
    assertEquals(devices * patchesPerDevice, accepted);

    // Read them back in random-sized slices, each resuming at the last offset seen.
    Random random = new Random(7);
    Map<String, Long> lastVersion = new HashMap<>();
    Set<String> seen = new HashSet<>();
    JournalPosition position = start;
    int slices = 0;
    while (seen.size() < devices * patchesPerDevice) {
      int n = 1 + random.nextInt(1500);
      List<HubMessage> slice = feed.messages(position, m -> m.source() == MessageSource.TWIN_CHANGE_EVENTS
              && m.deviceId().startsWith("feed-" + run))
          .take(Math.min(n, devices * patchesPerDevice - seen.size()))
          .completionTimeout(Duration.ofSeconds(60))
          .runWith(Sink.seq(), system).toCompletableFuture().get(90, TimeUnit.SECONDS);
      for (HubMessage m : slice) {
        assertTrue(seen.add(m.twinId() + "@" + m.version()), "repeated " + m.twinId() + "@" + m.version());
        Long before = lastVersion.put(m.twinId(), m.version());
        assertTrue(before == null || before < m.version(), "per-twin order: " + before + " then " + m.version());
      }
      position = JournalPosition.parse(slice.get(slice.size() - 1).offset()).orElseThrow();
      slices++;
    }
    assertEquals(devices * patchesPerDevice, seen.size());
    assertTrue(slices > 5, "the consumer really disconnected and resumed: " + slices);
    for (String id : ids) assertEquals(patchesPerDevice + 1, lastVersion.get(id), "every version of " + id);

    // One consumer reading all of it in one go: reported, not asserted (timings are for benchmarks).
    long t0 = System.nanoTime();
    int all = feed.messages(start, m -> m.deviceId().startsWith("feed-" + run))
        .take(devices * (patchesPerDevice + 1))
        .runWith(Sink.fold(0, (n, m) -> n + 1), system).toCompletableFuture().get(120, TimeUnit.SECONDS);
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf("ChangeFeedIT: one consumer read %d messages in %.2f s (%.0f/s)%n", all, seconds, all / seconds);
  }
}
