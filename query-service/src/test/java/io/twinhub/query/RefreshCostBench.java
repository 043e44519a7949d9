package io.twinhub.query;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.query.index.TwinKey;
import java.nio.file.*;
import java.util.*;

/**
 * What one near-real-time refresh of the twin index costs (not a test; run by hand, see
 * docs/BENCHMARKS.md "Session 17: index lag"): T twins of the bench's shape in a file index (the
 * node's NRTCachingDirectory), then R rounds of N twin writes and one refresh each; prints the
 * refresh's CPU (this thread) and wall time, the writes' CPU per document, and the process' CPU
 * (Lucene's merge threads included). Profile it with -XX:StartFlightRecording.
 *
 * <pre>
 * java -cp "query-service/target/test-classes:query-service/target/classes:..." io.twinhub.query.RefreshCostBench 2000 20 200
 * </pre>
 */
public final class RefreshCostBench {
  static final ObjectMapper M = new ObjectMapper();
  static ObjectNode view(int i, long n) throws Exception {
    String ts = "2026-11-20T10:00:" + String.format("%02d", n % 60) + "." + String.format("%03d", n % 1000) + "Z";
    return (ObjectNode) M.readTree(("{\"deviceId\":\"bench-" + i + "\",\"etag\":\"AAAAAAAAAAg=\",\"deviceEtag\":\"MQ==\",\"status\":\"enabled\",\"statusReason\":null,"
      + "\"statusUpdateTime\":\"0001-01-01T00:00:00Z\",\"connectionState\":\"Disconnected\",\"lastActivityTime\":\"0001-01-01T00:00:00Z\",\"cloudToDeviceMessageCount\":0,"
      + "\"authenticationType\":\"sas\",\"x509Thumbprint\":{\"primaryThumbprint\":null,\"secondaryThumbprint\":null},\"modelId\":\"\",\"version\":" + n + ",\"tags\":{},"
      + "\"properties\":{\"desired\":{\"bench\":{\"n\":" + n + "},\"lagprobe\":{\"run\":12345,\"n\":" + n + "},\"$metadata\":{\"$lastUpdated\":\"" + ts + "\",\"$lastUpdatedVersion\":" + n
      + ",\"bench\":{\"$lastUpdated\":\"" + ts + "\",\"$lastUpdatedVersion\":" + n + ",\"n\":{\"$lastUpdated\":\"" + ts + "\",\"$lastUpdatedVersion\":" + n + "}},"
      + "\"lagprobe\":{\"$lastUpdated\":\"" + ts + "\",\"$lastUpdatedVersion\":" + n + ",\"run\":{\"$lastUpdated\":\"" + ts + "\",\"$lastUpdatedVersion\":" + n + "},\"n\":{\"$lastUpdated\":\"" + ts + "\",\"$lastUpdatedVersion\":" + n + "}}},\"$version\":" + n + "},"
      + "\"reported\":{\"$metadata\":{\"$lastUpdated\":\"2026-11-20T10:00:00.000Z\"},\"$version\":1}},\"capabilities\":{\"iotEdge\":false}}").replace("\n",""));
  }
  public static void main(String[] a) throws Exception {
    int twins = Integer.parseInt(a[0]), perRefresh = Integer.parseInt(a[1]), rounds = Integer.parseInt(a[2]);
    Path dir = Files.createTempDirectory("refresh-cost");
    TwinIndex idx = TwinIndex.open(dir);
    byte[] state = new byte[600];
    long n = 1;
    for (int i = 0; i < twins; i++) idx.put(TwinKey.device("bench-" + i), view(i, n++), i, state);
    idx.refresh(); idx.commit(Map.of());
    Random r = new Random(1);
    long total = 0; long[] t = new long[rounds]; long cpu = 0; var tmx = java.lang.management.ManagementFactory.getThreadMXBean(); long putCpu = 0;
    for (int k = 0; k < rounds; k++) {
      long p0 = tmx.getCurrentThreadCpuTime(); for (int j = 0; j < perRefresh; j++) { int i = r.nextInt(twins); idx.put(TwinKey.device("bench-" + i), view(i, n++), n, state); }
      long c0 = tmx.getCurrentThreadCpuTime(); putCpu += c0 - p0; long t0 = System.nanoTime(); idx.refresh(); t[k] = System.nanoTime() - t0; total += t[k]; cpu += tmx.getCurrentThreadCpuTime() - c0;
      if (k % 50 == 49) idx.commit(Map.of());
    }
    Arrays.sort(t);
    System.out.printf("refresh cpu %.2f ms, puts cpu %.3f ms/doc; process cpu %.1f s%n", cpu/1e6/rounds, putCpu/1e6/rounds/perRefresh, ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime()/1e9);
    System.out.printf("refresh: mean %.2f ms p50 %.2f p90 %.2f, segments %s%n", total / 1e6 / rounds, t[rounds/2]/1e6, t[rounds*9/10]/1e6, idx.layout());
    idx.close();
  }
}
