package io.twinhub.query.index;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** Lucene settings of the index ({@link TwinIndex.Tuning}) that change what it writes. */
class TwinIndexTuningTest {
  static final ObjectMapper JSON = new ObjectMapper();

  static long compoundFiles(Path dir, TwinIndex.Tuning tuning) throws Exception {
    TwinIndex index = TwinIndex.open(dir, tuning);
    try {
      for (int i = 0; i < 3; i++) {
        index.put(TwinKey.device("d" + i), JSON.readTree("{\"deviceId\":\"d" + i + "\",\"version\":1,\"tags\":{\"n\":" + i + "}}"), i + 1, null);
        index.refresh(); // a small segment per refresh, as the live path flushes them
      }
      index.commit(Map.of());
      assertEquals(3, index.twinCount());
      assertEquals(2, index.lookup(TwinKey.device("d1")).orElseThrow().seq());
    } finally {
      index.close();
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(f -> f.getFileName().toString().endsWith(".cfs")).count();
    }
  }

  @Test
  void withoutCompoundFilesNoSegmentIsPackedIntoOne(@TempDir Path dir) throws Exception {
    assertTrue(compoundFiles(dir.resolve("default"), TwinIndex.Tuning.DEFAULT) > 0, "the default packs small segments");
    assertEquals(0, compoundFiles(dir.resolve("off"), TwinIndex.Tuning.DEFAULT.withCompoundFiles(false)));
  }
}
