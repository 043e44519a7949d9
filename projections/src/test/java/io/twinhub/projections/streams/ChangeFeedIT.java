package io.twinhub.projections.streams;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.DeviceStatus;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.DeviceEntity;
import io.twinhub.twin.entity.EntitySettings;
import io.twinhub.twin.entity.ModuleEntity;
import io.twinhub.twin.entity.TwinReply;
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
  static ActorSystem<Void> system;
  static TwinService twins;

  @BeforeAll
  static void start() {
    Config config = ConfigFactory.parseResources("streams-it.conf")
        .withValue("datastax-java-driver.basic.contact-points",
            ConfigValueFactory.fromIterable(List.of(SharedEmbeddedCassandra.contactPoint())))
        .withFallback(ConfigFactory.load())
        .resolve();
    system = ActorSystem.create(Behaviors.empty(), "streams-it", config);
    Cluster.get(system).manager().tell(Join.create(Cluster.get(system).selfMember().address()));
    DeviceEntity.init(system, EntitySettings.DEFAULT);
    ModuleEntity.init(system, EntitySettings.DEFAULT);
    twins = new TwinService(system, Duration.ofSeconds(20));
  }

  @AfterAll
  static void stop() throws Exception {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
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
    Source.from(ids).mapAsyncUnordered(16, id -> twins.createDevice(id,
            new IdentitySpec(DeviceStatus.ENABLED, null, Authentication.sas(null, null), false)))
        .runWith(Sink.ignore(), system).toCompletableFuture().get(120, TimeUnit.SECONDS);
    List<String[]> writes = new ArrayList<>();
    for (int i = 0; i < patchesPerDevice; i++) for (String id : ids) writes.add(new String[] {id, String.valueOf(i)});
    long accepted = Source.from(writes).mapAsync(32, w -> twins.updateTwin(w[0], null,
            new TwinUpdate.PatchDesired(JsonDoc.of((ObjectNode) JSON.readTree("{\"n\":" + w[1] + "}"))), null))
        .filter(r -> r instanceof TwinReply.Accepted)
        .runWith(Sink.fold(0L, (n, r) -> n + 1), system).toCompletableFuture().get(600, TimeUnit.SECONDS);
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
