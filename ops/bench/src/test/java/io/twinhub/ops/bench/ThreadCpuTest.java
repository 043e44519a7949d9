package io.twinhub.ops.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ThreadCpuTest {

  private static void task(Path dir, int tid, String comm, long utime, long stime) throws Exception {
    Path t = Files.createDirectories(dir.resolve(Integer.toString(tid)));
    Files.writeString(t.resolve("comm"), comm + "\n");
    Files.writeString(t.resolve("stat"), tid + " (" + comm + ") S 1 1 1 0 -1 4194560 12 0 0 0 " + utime + " " + stime
        + " 0 0 20 0 1 0 100 0 0");
  }

  @Test
  void groupsThreadsByNameWithoutTheirNumber() {
    assertEquals("s0-io", ThreadCpu.group("s0-io-3"));
    assertEquals("GC Thread", ThreadCpu.group("GC Thread#1"));
    assertEquals("twinhub-akka.ac", ThreadCpu.group("twinhub-akka.ac"));
    assertEquals("C2 CompilerThre", ThreadCpu.group("C2 CompilerThre"));
    assertEquals("Lucene Merge Th", ThreadCpu.group("Lucene Merge Th"));
    assertEquals("42", ThreadCpu.group("42"));
  }

  @Test
  void deltaPerGroupFromAFakeProcTaskDirectory(@TempDir Path start, @TempDir Path end) throws Exception {
    task(start, 10, "s0-io-0", 100, 10);
    task(start, 11, "s0-io-1", 50, 5);
    task(start, 12, "GC Thread#0", 7, 0);
    task(start, 13, "ends-soon", 9, 0);
    task(end, 10, "s0-io-0", 130, 20);    // +40
    task(end, 11, "s0-io-1", 60, 5);      // +10
    task(end, 12, "GC Thread#0", 7, 0);   // idle: not listed
    task(end, 14, "Lucene Merge Th", 20, 5);   // born during the phase: all of it
    Files.createDirectories(end.resolve("15"));  // ended between list and read: skipped
    Map<String, Long> d = ThreadCpu.delta(ThreadCpu.snapshot(start), ThreadCpu.snapshot(end));
    assertEquals(List.of("s0-io", "Lucene Merge Th"), List.copyOf(d.keySet()));
    assertEquals(50L, d.get("s0-io"));
    assertEquals(25L, d.get("Lucene Merge Th"));

    // 50 ticks = 0.5 s over 1,000 operations = 500 µs/op; 25 % of a core in 2 s
    String table = ThreadCpu.render("node", d, 1000, 2.0, 300);
    assertTrue(table.contains("s0-io"), table);
    assertTrue(table.matches("(?s).*s0-io\\s+500\\s+25\\.0.*"), table);
    assertTrue(table.matches("(?s).*other\\s+250\\s+12\\.5.*"), table);
    assertTrue(table.matches("(?s).*total\\s+750\\s+37\\.5.*"), table);
  }

  @Test
  void fullNamesFromAThreadDumpRegroupThreads(@TempDir Path dir) throws Exception {
    String dump = """
        "twinhub-akka.actor.default-dispatcher-5" #23 prio=5 os_prio=0 cpu=1234.50ms elapsed=60.1s tid=0x00007f nid=0x14 waiting on condition  [0x00007f]
           java.lang.Thread.State: WAITING (parking)
        "twinhub-akka.actor.internal-dispatcher-3" #24 prio=5 os_prio=0 cpu=20.00ms elapsed=60.1s tid=0x00007e nid=21 runnable
        "GC Thread#1" os_prio=0 cpu=50.00ms elapsed=60.1s tid=0x00007d nid=0x16 runnable
        """;
    assertEquals(java.util.Map.of("20", "twinhub-akka.actor.default-dispatcher-5", "21",
        "twinhub-akka.actor.internal-dispatcher-3", "22", "GC Thread#1"), ThreadCpu.namesFromThreadDump(dump));
    task(dir, 20, "twinhub-akka.ac", 10, 0);
    task(dir, 21, "twinhub-akka.ac", 10, 0);
    task(dir, 23, "s0-io-0", 10, 0);
    ThreadCpu.Snapshot s = ThreadCpu.withNames(ThreadCpu.snapshot(dir), ThreadCpu.namesFromThreadDump(dump));
    assertEquals("twinhub-akka.actor.default-dispatcher", s.groupByTid().get("20"));
    assertEquals("twinhub-akka.actor.internal-dispatcher", s.groupByTid().get("21"));
    assertEquals("s0-io", s.groupByTid().get("23"));
    assertEquals("CompactionExecutor", ThreadCpu.group("CompactionExecutor:2"));
    assertEquals("Lucene Merge Thread", ThreadCpu.group("Lucene Merge Thread #12"));
  }

  @Test
  void aMissingProcessIsAnEmptySnapshot(@TempDir Path dir) {
    assertTrue(ThreadCpu.snapshot(dir.resolve("no-such")).ticksByTid().isEmpty());
  }

  @Test
  void readsThisJvmsThreads() {
    ThreadCpu.Snapshot s = ThreadCpu.snapshot(ProcessHandle.current().pid());
    assertTrue(s.ticksByTid().size() > 3, s.toString());
    assertTrue(s.groupByTid().containsValue("main") || s.groupByTid().containsValue("java"), s.groupByTid().toString());
    String dump = JdkTools.run(java.time.Duration.ofMinutes(1), JdkTools.tool("jcmd"),
        Long.toString(ProcessHandle.current().pid()), "Thread.print");
    assertTrue(dump != null && ThreadCpu.namesFromThreadDump(dump).containsValue("main"), dump);
    // the dump's thread ids are /proc's (read after the dump: jcmd starts the Attach Listener)
    Map<String, String> names = ThreadCpu.namesFromThreadDump(dump);
    String mainTid = names.entrySet().stream().filter(e -> e.getValue().equals("main")).findFirst().orElseThrow().getKey();
    assertTrue(ThreadCpu.snapshot(ProcessHandle.current().pid()).ticksByTid().containsKey(mainTid), mainTid);
  }

  @Test
  void jitCompilersAreShownAndSubtractedFromTheTotal() {
    assertTrue(ThreadCpu.isJit("C2 CompilerThre"));
    assertTrue(ThreadCpu.isJit("C1 CompilerThread"));
    assertFalse(ThreadCpu.isJit("s0-io"));
    java.util.Map<String, Long> d = new java.util.LinkedHashMap<>();
    d.put("s0-io", 60L);
    d.put("C2 CompilerThread", 40L);
    String table = ThreadCpu.render("node", d, 1000, 2.0, 1);
    assertTrue(table.matches("(?s).*total\\s+1000\\s+50\\.0.*"), table);
    assertTrue(table.matches("(?s).*total net of JIT\\s+600\\s+30\\.0.*"), table);
    // Without operations (the idle phase) groups are kept or folded by their share of a core.
    d.put("tiny", 1L);
    String idle = ThreadCpu.render("node", d, 0, 10.0, 1);
    assertTrue(idle.matches("(?s).*s0-io\\s+NaN\\s+6\\.0.*"), idle);
    assertTrue(idle.matches("(?s).*other\\s+NaN\\s+0\\.1.*"), idle);
  }
}
