package io.twinhub.ops.net;

import io.twinhub.ops.cassandra.SharedEmbeddedCassandra;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class FreePortsTest {
  @TempDir
  Path dir;

  @Test
  void picksBelowTheEphemeralRangeOrAboveItWhenThereIsMoreRoom() {
    assertArrayEquals(new int[] {10_000, 32_767}, FreePorts.range(new int[] {32_768, 60_999}));
    assertArrayEquals(new int[] {20_001, 65_535}, FreePorts.range(new int[] {10_000, 20_000}));
    assertArrayEquals(new int[] {10_000, 65_535}, FreePorts.range(new int[] {1_024, 65_535}));
  }

  /**
   * What the tests and the bench call: the ports of one run are all different and none is one the
   * kernel hands to a bind(0) or a connect() (bind port 0 and close, as before, repeats ports within
   * a few hundred calls: session 18's bench gave Cassandra's storage port to the node's HTTPS too).
   */
  @Test
  void neverTheSamePortTwiceAndNeverAnEphemeralOne() throws Exception {
    java.util.List<Integer> ports = new java.util.ArrayList<>();
    for (int i = 0; i < 2_000; i++) ports.add(SharedEmbeddedCassandra.freePort());
    Set<Integer> twice = new java.util.TreeSet<>();
    Set<Integer> seen = new HashSet<>();
    for (int p : ports) if (!seen.add(p)) twice.add(p);
    assertEquals(Set.of(), twice, "handed out twice");
    int[] ephemeral = FreePorts.ephemeralRange();
    for (int port : ports) {
      assertTrue(port < ephemeral[0] || port > ephemeral[1], "port " + port + " is in the ephemeral range "
          + ephemeral[0] + ".." + ephemeral[1]);
    }
  }

  @Test
  void aPortClaimedByOnePickerIsNotHandedOutByAnother() {
    Path lock = dir.resolve("ports.lock");
    int[] range = {FreePorts.sharedRange()[0], FreePorts.sharedRange()[0] + 19};
    FreePorts first = new FreePorts(range, Optional.of(lock));
    Set<Integer> taken = new HashSet<>();
    try {
      while (true) assertTrue(taken.add(first.pick()));
    } catch (IllegalStateException exhausted) {
      // every port of the range that could be bound is claimed by the first picker now
    }
    FreePorts second = new FreePorts(range, Optional.of(lock));
    assertThrows(IllegalStateException.class, second::pick);
  }
}
