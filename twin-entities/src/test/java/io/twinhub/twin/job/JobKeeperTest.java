package io.twinhub.twin.job;

import akka.actor.testkit.typed.javadsl.BehaviorTestKit;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The jobs keeper (a sharded daemon) stops on the stop message its shard sends at a hand-off or a
 * node's shutdown; one it ignored held each of those until sharding's timeouts.
 */
class JobKeeperTest {

  @Test
  void theKeeperStopsOnItsStopMessage() {
    BehaviorTestKit<JobRegistry.KeeperMessage> keeper = BehaviorTestKit.create(JobRegistry.keeper(Duration.ofSeconds(30)));
    assertTrue(keeper.isAlive());
    keeper.run(new JobRegistry.StopKeeper());
    assertFalse(keeper.isAlive(), "stopped by the stop message ShardedDaemonProcess was given");
  }
}
