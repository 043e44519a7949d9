package io.twinhub.twin.entity;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.typesafe.config.ConfigFactory;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinState;
import io.twinhub.twin.domain.TwinUpdate;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * Heap per hot device entity holding a 1 KB twin (issue: goal ≤ 4 KB beyond the document).
 * Run by hand, not a test: spawns N entities on the in-memory journal, gives each a 1 KB
 * desired section, forces GC and reports heap per entity (the journal's share taken out by
 * stopping the entities), the twin document's own share (N bare {@link TwinState}s built the
 * same way), and the difference.
 * <pre>java -Xmx6g -cp "twin-entities/target/test-classes:twin-entities/target/classes:$(cat cp.txt)" \
 *   io.twinhub.twin.entity.EntityHeapBench 100000</pre>
 */
public final class EntityHeapBench {
  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    ActorTestKit kit = ActorTestKit.create("heap", ConfigFactory.parseString("""
        akka.loglevel = WARNING
        akka.actor.serialization-bindings { "io.twinhub.twin.TwinhubSerializable" = jackson-json }
        """).withFallback(EventSourcedBehaviorTestKit.config()));
    StringBuilder value = new StringBuilder();
    for (int i = 0; i < 16; i++) value.append("\"k").append(i).append("\":\"").append("x".repeat(48)).append("\",");
    String desired = "{" + value.substring(0, value.length() - 1) + "}";
    int docBytes = TwinJson.toBytes(EntityTestSupport.doc(desired).toObjectNode()).length;
    TestProbe<TwinReply> probe = kit.createTestProbe();
    List<ActorRef<TwinCommand>> refs = new ArrayList<>(n);
    long before = usedAfterGc();
    for (int i = 0; i < n; i++) {
      ActorRef<TwinCommand> ref = kit.spawn(DeviceEntity.create("dev-" + i, EntitySettings.DEFAULT));
      ref.tell(new TwinCommand.CreateIdentity(EntityTestSupport.sasSpec(), "g", probe.ref()));
      ref.tell(new TwinCommand.UpdateTwin(new TwinUpdate.PatchDesired(EntityTestSupport.doc(desired)), null, probe.ref()));
      refs.add(ref);
      if (i % 1000 == 999) probe.receiveSeveralMessages(2000, java.time.Duration.ofSeconds(60));
    }
    probe.receiveSeveralMessages(2 * (n % 1000), java.time.Duration.ofSeconds(60));
    long withEntities = usedAfterGc();
    // Stopping the entities leaves the in-memory journal's copy of their events: that part is
    // the test journal's, not the entity's (in production the events live in Cassandra).
    for (ActorRef<TwinCommand> ref : refs) kit.stop(ref, java.time.Duration.ofSeconds(60));
    refs.clear();
    long journalOnly = usedAfterGc();
    // The twin document as the entity holds it (tags/desired/reported trees + $metadata), alone.
    List<TwinState> states = new ArrayList<>(n);
    long beforeStates = usedAfterGc();
    java.time.Instant at = java.time.Instant.now();
    for (int i = 0; i < n; i++) {
      states.add(TwinState.created(at).apply(new TwinUpdate.PatchDesired(EntityTestSupport.doc(desired)), at.plusMillis(1)));
    }
    long withStates = usedAfterGc();
    double entity = (withEntities - journalOnly) / (double) n;
    double journal = (journalOnly - before) / (double) n;
    double document = (withStates - beforeStates) / (double) n;
    System.out.printf("%,d hot device entities, desired document %d bytes as JSON text%n", n, docBytes);
    System.out.printf("  entity (actor + state):            %,8.0f bytes%n", entity);
    System.out.printf("  of which the twin document in heap: %,8.0f bytes (tags/desired/reported trees + $metadata)%n", document);
    System.out.printf("  entity beyond the document:        %,8.0f bytes (goal <= 4,096)%n", entity - document);
    System.out.printf("  (in-memory test journal, excluded:  %,8.0f bytes per entity for its 2 events)%n", journal);
    if (states.size() != n) throw new IllegalStateException("keeps the states reachable until measured");
    kit.shutdownTestKit();
  }

  static long usedAfterGc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(300);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }
}
