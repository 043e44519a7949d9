package io.twinhub.ops.bench;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JfrSummaryTest {

  static final String PRINT = """
      jdk.ExecutionSample {
        startTime = 20:31:05.123 (2026-11-29)
        sampledThread = "twinhub-akka.actor.default-dispatcher-5" (javaThreadId = 42)
        state = "STATE_RUNNABLE"
        stackTrace = [
          java.util.HashMap.get(Object) line: 556
          com.datastax.oss.driver.internal.core.Foo.bar(int) line: 12
          akka.persistence.cassandra.journal.Journal.write() line: 3
        ]
      }

      jdk.ExecutionSample {
        stackTrace = [
          sun.security.ssl.SSLCipher.encrypt(byte[]) line: 1
          akka.stream.impl.io.TLSActor.doWrap() line: 2
          ...
        ]
      }

      jdk.ExecutionSample {
        stackTrace = [
          java.util.HashMap.get(Object) line: 556
          com.datastax.oss.driver.internal.core.Baz.qux() line: 9
        ]
      }
      """;

  @Test
  void parsesStacksTopFrameFirst() {
    List<JfrSummary.Sample> s = JfrSummary.parse(PRINT);
    assertEquals(3, s.size());
    assertEquals(List.of("java.util.HashMap.get", "com.datastax.oss.driver.internal.core.Foo.bar",
        "akka.persistence.cassandra.journal.Journal.write"), s.get(0).frames());
    assertEquals(2, s.get(1).frames().size());   // "..." is not a frame
    assertEquals("twinhub-akka.actor.default-dispatcher-N", s.get(0).thread());
    assertEquals("?", s.get(1).thread());
    assertEquals(Map.of("twinhub-akka.actor.default-dispatcher-N", 1, "?", 2), JfrSummary.threads(s));
  }

  @Test
  void countsTopFramesAndOwners() {
    List<JfrSummary.Sample> s = JfrSummary.parse(PRINT);
    assertEquals(Map.of("java.util.HashMap.get", 2, "sun.security.ssl.SSLCipher.encrypt", 1), JfrSummary.topFrames(s));
    Map<String, Integer> owners = JfrSummary.owners(s);
    assertEquals(List.of("com.datastax.oss", "akka.stream.impl"), List.copyOf(owners.keySet()));
    assertEquals(2, owners.get("com.datastax.oss"));
    String text = JfrSummary.render(PRINT, 5);
    assertTrue(text.startsWith("3 execution samples"), text);
    assertTrue(text.contains(" 66.7 %  com.datastax.oss"), text);
  }
}
