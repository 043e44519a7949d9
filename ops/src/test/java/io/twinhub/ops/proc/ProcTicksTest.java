package io.twinhub.ops.proc;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProcTicksTest {

  @Test
  void statTicksAreUtimePlusStimeEvenWithSpacesInTheCommand() {
    String stat = "4242 (java (main) x) S 1 4242 4242 0 -1 4194560 123 0 0 0 1500 250 0 0 20 0 42 0 100 0 0";
    assertEquals(1750, ProcTicks.statTicks(stat));
  }

  @Test
  void aProcessThatIsGoneHasNoThreads() {
    assertTrue(ProcTicks.tasks(Path.of("/proc/no-such-process/task")).isEmpty());
  }
}
