package io.twinhub.ops.bench.mqtt;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IdleDevicesTest {

  @Test
  void aDeviceHasAtMostOneRequestAwaitingItsAnswer() {
    IdleDevices idle = new IdleDevices(3);
    Set<Integer> taken = new HashSet<>();
    for (int i = 0; i < 3; i++) assertTrue(taken.add(idle.acquire(d -> true)), "each acquire a different device");
    assertEquals(-1, idle.acquire(d -> true), "every device busy: nothing to send");
    assertEquals(3, idle.busyCount());
    idle.release(1);
    assertEquals(1, idle.acquire(d -> true), "the answered device sends again");
  }

  @Test
  void unusableDevicesAreSkipped() {
    IdleDevices idle = new IdleDevices(4);
    for (int i = 0; i < 10; i++) {
      int d = idle.acquire(x -> x == 2);
      assertEquals(i == 0 ? 2 : -1, d);
    }
  }
}
