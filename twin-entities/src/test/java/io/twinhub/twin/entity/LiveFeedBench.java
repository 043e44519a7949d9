package io.twinhub.twin.entity;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.ConfigFactory;
import io.twinhub.twin.LiveGaps;
import io.twinhub.twin.LiveSubscribers;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What numbering the live feed costs per event (not a test; run by hand, see docs/BENCHMARKS.md,
 * "Live feed numbering"): {@code threads} threads tell {@code events} twin events each to
 * {@code subscribers} local subscribers that check the numbering with {@link LiveGaps}, through
 * {@link TwinEventFeed#publish} (numbered, under its lock), against the same records told through a
 * bare {@link LiveSubscribers} (as before the numbering; the subscribers only count), in alternating
 * rounds; process CPU time per event, median of the rounds.
 */
public final class LiveFeedBench {
  public static void main(String[] args) throws Exception {
    int subscribers = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
    int events = args.length > 2 ? Integer.parseInt(args[2]) : 200_000;
    int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 5;
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "live-feed-bench", ConfigFactory.parseString(
        "akka.loglevel = WARNING\nakka.actor.provider = local").withFallback(ConfigFactory.load()));
    AtomicLong received = new AtomicLong();
    for (int s = 0; s < subscribers; s++) {
      LiveGaps gaps = new LiveGaps(60_000);
      var ref = system.systemActorOf(Behaviors.receiveMessage((TwinEventFeed.Live m) -> {
        if (m instanceof TwinEventFeed.Journaled j) {
          if (j.number() > 0 && gaps.received(j.sender(), j.number(), System.currentTimeMillis()).loss()) received.addAndGet(0);
          received.incrementAndGet();
        }
        return Behaviors.same();
      }), "sub-" + s, akka.actor.typed.Props.empty());
      TwinEventFeed.subscribe(system, ref);
    }
    TwinEventFeed feed = TwinEventFeed.get(system);
    LiveSubscribers<TwinEventFeed.Live> bare = new LiveSubscribers<>(system, "bare", List.of(TwinEventFeed.SUBSCRIBERS));
    while (feed.subscriberCount() < subscribers || bare.count(TwinEventFeed.SUBSCRIBERS) < subscribers) Thread.sleep(10);
    TwinEvent event = new TwinEvent.ConnectionStateChanged(io.twinhub.twin.domain.ConnectionState.CONNECTED,
        java.time.Instant.now());
    var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    double[] numbered = new double[rounds];
    double[] plain = new double[rounds];
    for (int r = -1; r < rounds; r++) { // round -1: warm-up
      for (int variant = 0; variant < 2; variant++) {
        boolean withNumbers = variant == 0;
        long expected = received.get() + (long) threads * events * subscribers;
        long cpu0 = os.getProcessCpuTime();
        CountDownLatch done = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
          String pid = "Device|bench-" + t;
          new Thread(() -> {
            for (int i = 1; i <= events; i++) {
              if (withNumbers) feed.publish(pid, i, "twin-0", event, System.currentTimeMillis());
              else bare.tell(TwinEventFeed.SUBSCRIBERS,
                  new TwinEventFeed.Journaled(pid, i, "twin-0", event, System.currentTimeMillis(), 0, 0));
            }
            done.countDown();
          }).start();
        }
        done.await();
        while (received.get() < expected) Thread.sleep(1);
        double perEvent = (os.getProcessCpuTime() - cpu0) / (double) threads / events;
        if (r >= 0) (withNumbers ? numbered : plain)[r] = perEvent;
      }
      if (r >= 0) System.out.printf("round %d: numbered %.0f ns, plain %.0f ns CPU per event told to %d subscribers%n",
          r, numbered[r], plain[r], subscribers);
    }
    java.util.Arrays.sort(numbered);
    java.util.Arrays.sort(plain);
    System.out.printf("median: numbered %.0f ns, plain %.0f ns CPU per event (ratio %.2f); load %s%n",
        numbered[rounds / 2], plain[rounds / 2], numbered[rounds / 2] / plain[rounds / 2],
        java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim());
    system.terminate();
  }
}
