package io.twinhub.edge.hub;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class MessageStoreTest {
  @TempDir
  Path dir;

  static EdgeMessage m(int n) {
    return new EdgeMessage("gw", "a", "out", Map.of("n", String.valueOf(n)), Map.of("content-type", "text/plain"),
        ("body " + n).getBytes(StandardCharsets.UTF_8), 1000L + n);
  }

  @Test
  void messagesComeBackInOrderAndAcknowledgedOnesStayGoneAfterARestart() throws Exception {
    try (MessageStore s = new MessageStore(dir)) {
      for (int i = 0; i < 5; i++) s.append(m(i));
      MessageStore.Stored first = s.next(0).orElseThrow();
      assertEquals("0", first.message().properties().get("n"));
      assertArrayEquals("body 0".getBytes(StandardCharsets.UTF_8), first.message().body());
      s.acknowledge(first.next());
      MessageStore.Stored second = s.next(0).orElseThrow();
      assertEquals("1", second.message().properties().get("n"));
      s.rewind(); // the send failed: handed out again
      assertEquals("1", s.next(0).orElseThrow().message().properties().get("n"));
      assertEquals(4, s.pending());
    }
    try (MessageStore s = new MessageStore(dir)) {
      assertEquals(4, s.pending(), "what the hub did not acknowledge survives a restart");
      for (int i = 1; i < 5; i++) {
        MessageStore.Stored x = s.next(0).orElseThrow();
        assertEquals(String.valueOf(i), x.message().properties().get("n"));
        assertEquals(1000L + i, x.message().enqueuedMillis());
        s.acknowledge(x.next());
      }
      assertTrue(s.next(10).isEmpty());
      assertEquals(0, s.pending());
    }
  }

  @Test
  void aTornLastRecordIsCutAtRecovery() throws Exception {
    try (MessageStore s = new MessageStore(dir)) {
      s.append(m(0));
      s.append(m(1));
    }
    try (RandomAccessFile f = new RandomAccessFile(dir.resolve("upstream.log").toFile(), "rw")) {
      f.setLength(f.length() - 3); // a crash in the middle of writing the second record
    }
    try (MessageStore s = new MessageStore(dir)) {
      assertEquals(1, s.pending());
      assertEquals("0", s.next(0).orElseThrow().message().properties().get("n"));
      s.append(m(2));
      assertEquals("2", s.next(0).orElseThrow().message().properties().get("n"), "appends continue after the cut");
    }
  }
}
