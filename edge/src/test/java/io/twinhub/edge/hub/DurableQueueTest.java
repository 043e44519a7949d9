package io.twinhub.edge.hub;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class DurableQueueTest {
  @TempDir
  Path dir;

  @Test
  void recordsAreHandedOutOnlyOnceForcedAndAcknowledgedOnesStayGone() throws Exception {
    try (DurableQueue<String> q = new DurableQueue<>(dir, "input~m~in1", String.class)) {
      q.appendUnsynced("a");
      q.appendUnsynced("b");
      assertTrue(q.next(0).isEmpty(), "not on disk yet: not handed out");
      q.sync();
      DurableQueue.Entry<String> a = q.next(0).orElseThrow();
      DurableQueue.Entry<String> b = q.next(0).orElseThrow();
      assertEquals("a", a.value());
      assertEquals("b", b.value());
      q.acknowledge(a.next());
      q.rewind(); // b was not acknowledged: a new consumer gets it again
      assertEquals("b", q.next(0).orElseThrow().value());
      assertEquals("b", q.peek().orElseThrow().value());
      q.append("c");
      assertEquals(2, q.pending());
    }
    try (DurableQueue<String> q = new DurableQueue<>(dir, "input~m~in1", String.class)) {
      assertEquals(2, q.pending(), "b and c survive a restart");
      assertEquals("b", q.next(0).orElseThrow().value());
      assertEquals("c", q.next(0).orElseThrow().value());
    }
  }
}
