package io.twinhub.node.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.*;

/** Resuming an export: the offset of the last complete line; a torn line is cut off. */
class ExportCommandTest {
  @TempDir
  Path dir;

  @Test
  void resumesAfterTheLastCompleteLine() throws Exception {
    Path f = dir.resolve("e.ndjson");
    assertEquals(Optional.empty(), ExportCommand.lastOffset(f));
    Files.writeString(f, "{\"offset\":\"A\",\"n\":1}\n{\"offset\":\"B\",\"n\":2}\n");
    assertEquals(Optional.of("B"), ExportCommand.lastOffset(f));
  }

  @Test
  void aTornLastLineIsCutAndTheOneBeforeCounts() throws Exception {
    Path f = dir.resolve("e.ndjson");
    Files.writeString(f, "{\"offset\":\"A\"}\n{\"offset\":\"B\"}\n{\"offs");
    assertEquals(Optional.of("B"), ExportCommand.lastOffset(f));
    assertEquals("{\"offset\":\"A\"}\n{\"offset\":\"B\"}\n", Files.readString(f));
    Path only = dir.resolve("torn.ndjson");
    Files.writeString(only, "{\"offs");
    assertEquals(Optional.empty(), ExportCommand.lastOffset(only));
    assertEquals(0, Files.size(only));
  }
}
