package io.twinhub.query;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.query.index.TwinIndex;
import io.twinhub.query.index.TwinKey;
import java.lang.management.ManagementFactory;
import java.nio.file.*;
import java.util.*;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What one near-real-time refresh of the twin index costs (not a test; run by hand, see
 * docs/BENCHMARKS.md "Session 17: index lag" and "Session 18: index lag"): T twins of the bench's
 * shape in a file index (the node's NRTCachingDirectory), then R rounds of N twin writes and one
 * refresh each (a commit every 50 rounds); prints the refresh's CPU (this thread) and wall time,
 * the writes' CPU per document, the process CPU per round (Lucene's merge threads included, the
 * merges waited for at the end) and the merges.
 *
 * <p>Variants of the index's settings run in one JVM, one after the other, in the order given and
 * then again (A B A B), each on a fresh index; the first pass warms the JIT, so compare within a
 * pass. A variant is {@code name:key=value,...} with keys {@code cfs} (on/off: compound files),
 * {@code tier} (segments per tier), {@code floor} (floor segment MB); {@code default} is the
 * defaults. Profile it with -XX:StartFlightRecording.
 *
 * <pre>
 * java -cp "query-service/target/test-classes:$(cat cluster-node/target/twinhub.classpath)" \
 *   io.twinhub.query.RefreshCostBench 2000 5 300 default nocfs:cfs=off
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

  record Variant(String name, TwinIndex.Tuning tuning, boolean noSort) {
    static Variant parse(String spec) {
      String[] nv = spec.split(":", 2);
      TwinIndex.Tuning t = TwinIndex.Tuning.DEFAULT;
      boolean noSort = false;
      double tier = -1, floor = -1;
      if (nv.length > 1) {
        for (String kv : nv[1].split(",")) {
          String[] p = kv.split("=", 2);
          switch (p[0]) {
            case "cfs" -> t = t.withCompoundFiles(p[1].equals("on"));
            case "tier" -> tier = Double.parseDouble(p[1]);
            case "floor" -> floor = Double.parseDouble(p[1]);
            // Session 18 measured sort=off with a temporary hook in TwinIndex's constructor
            // (no setIndexSort when the system property below is true); not in the product.
            case "sort" -> noSort = p[1].equals("off");
            default -> throw new IllegalArgumentException(kv);
          }
        }
      }
      return new Variant(nv[0], t.withMergePolicy(tier >= 0 ? tier : t.segmentsPerTier(), floor >= 0 ? floor : t.floorSegmentMB()), noSort);
    }
  }

  public static void main(String[] a) throws Exception {
    int twins = Integer.parseInt(a[0]), perRefresh = Integer.parseInt(a[1]), rounds = Integer.parseInt(a[2]);
    List<Variant> variants = new ArrayList<>();
    for (int i = 3; i < a.length; i++) variants.add(Variant.parse(a[i]));
    if (variants.isEmpty()) variants.add(Variant.parse("default"));
    for (int pass = 1; pass <= 2; pass++) {
      for (Variant v : variants) run(pass, v, twins, perRefresh, rounds);
    }
  }

  static void run(int pass, Variant v, int twins, int perRefresh, int rounds) throws Exception {
    Path dir = Files.createTempDirectory("refresh-cost");
    if (v.noSort()) System.setProperty("twinhub.measure.no-index-sort", "true");
    TwinIndex idx = TwinIndex.open(dir, v.tuning());
    System.clearProperty("twinhub.measure.no-index-sort");
    AtomicLong merges = new AtomicLong(), mergeNanos = new AtomicLong();
    idx.observe(new TwinIndex.Observer() {
      @Override
      public void merged(long nanos) {
        merges.incrementAndGet();
        mergeNanos.addAndGet(nanos);
      }
    });
    byte[] state = new byte[600];
    long n = 1;
    for (int i = 0; i < twins; i++) idx.put(TwinKey.device("bench-" + i), view(i, n++), i, state);
    idx.refresh();
    idx.commit(Map.of());
    while (idx.merging()) Thread.sleep(10);
    merges.set(0);
    mergeNanos.set(0);
    Random r = new Random(1);
    var tmx = ManagementFactory.getThreadMXBean();
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    long[] t = new long[rounds];
    long cpu = 0, putCpu = 0, total = 0;
    long process0 = os.getProcessCpuTime(), wall0 = System.nanoTime();
    for (int k = 0; k < rounds; k++) {
      long p0 = tmx.getCurrentThreadCpuTime();
      for (int j = 0; j < perRefresh; j++) {
        int i = r.nextInt(twins);
        idx.put(TwinKey.device("bench-" + i), view(i, n++), n, state);
      }
      long c0 = tmx.getCurrentThreadCpuTime();
      putCpu += c0 - p0;
      long t0 = System.nanoTime();
      idx.refresh();
      t[k] = System.nanoTime() - t0;
      total += t[k];
      cpu += tmx.getCurrentThreadCpuTime() - c0;
      if (k % 50 == 49) idx.commit(Map.of());
    }
    while (idx.merging()) Thread.sleep(5);
    long process = os.getProcessCpuTime() - process0, wall = System.nanoTime() - wall0;
    Arrays.sort(t);
    System.out.printf(Locale.ROOT, "pass %d %-10s refresh cpu %6.2f ms (wall p50 %6.2f p90 %6.2f mean %6.2f); puts %.3f ms/doc; "
            + "process cpu %6.2f ms/round (wall %5.2f s); merges %d (%.1f s); segments %s; files %d%n",
        pass, v.name(), cpu / 1e6 / rounds, t[rounds / 2] / 1e6, t[rounds * 9 / 10] / 1e6, total / 1e6 / rounds,
        putCpu / 1e6 / rounds / perRefresh, process / 1e6 / rounds, wall / 1e9, merges.get(), mergeNanos.get() / 1e9,
        idx.layout(), dir.toFile().list().length);
    idx.close();
    try (var s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
