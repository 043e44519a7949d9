package io.twinhub.twin.entity;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.typesafe.config.ConfigFactory;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinUpdate;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * Heap per hot device entity holding a 1 KB twin (issue: goal ≤ 4 KB beyond the document).
 * Run by hand, not a test: spawns N entities on the in-memory journal, gives each a 1 KB
 * desired section, forces GC and reports (heap after − heap before) / N minus the document.
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
    // The in-memory journal keeps every event too: measure it separately and take it out.
    long after = usedAfterGc();
    double perEntity = (after - before) / (double) n;
    System.out.printf("%d entities, desired document %d bytes (JSON text): heap %.0f bytes per entity"
        + " incl. the in-memory journal's copy of its 2 events%n", n, docBytes, perEntity);
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
