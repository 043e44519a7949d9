package io.twinhub.ops.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NodeProbeTest {

  @Test
  void cpuPercentOfOneCore() {
    assertEquals(150.0, NodeProbe.cpuPercent(300, 2_000_000_000L), 1e-9);   // 3 CPU-seconds in 2 s
    assertTrue(Double.isNaN(NodeProbe.cpuPercent(1, 0)));
  }

  @Test
  void heapUsedFromGcHeapInfo() {
    String g1 = """
        4242:
         garbage-first heap   total 262144K, used 93214K [0x0000000080000000, 0x0000000100000000)
          region size 1024K, 12 young (12288K), 0 survivors (0K)
         Metaspace       used 61234K, committed 61952K, reserved 1105920K
        """;
    assertEquals(93214L * 1024, NodeProbe.parseHeapUsed(g1));
    assertEquals(-1, NodeProbe.parseHeapUsed("4242:\nno such thing"));
  }

  @Test
  void readsThisJvmsCpuAndHeap() throws Exception {
    NodeProbe probe = new NodeProbe(List.of(ProcessHandle.current().pid()));
    NodeProbe.Mark m = probe.mark();
    long spin = System.nanoTime() + 300_000_000L;
    long x = 0;
    while (System.nanoTime() < spin) x += System.nanoTime() % 7;
    double cpu = probe.cpuPercentSince(m);
    assertTrue(cpu > 0 && cpu < 1000, "cpu " + cpu + " " + x);
    assertTrue(probe.heapAfterGc() > 0);
    assertTrue(Double.isNaN(new NodeProbe(List.of()).cpuPercentSince(m)));
    assertEquals(-1, new NodeProbe(List.of()).heapAfterGc());
  }
}
