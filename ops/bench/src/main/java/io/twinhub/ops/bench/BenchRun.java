package io.twinhub.ops.bench;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** One bench run: nodes up (or an existing target), the workload(s), the table, nodes down. */
final class BenchRun {

  private BenchRun() {}

  static BenchTable run(BenchOptions o) throws Exception {
    BenchTable table = new BenchTable();
    Path work = Files.createTempDirectory("twinhub-bench-");
    if (!o.startsNodes()) {
      runAll(o, existing(o, work), null, table);
      return table;
    }
    try (BenchNodes nodes = BenchNodes.start(o.nodes(), o.nodeJavaOpts(), work)) {
      runAll(o, nodes.target(), nodes, table);
    }
    return table;
  }

  static BenchTarget existing(BenchOptions o, Path work) {
    List<BenchTarget.Node> nodes = new ArrayList<>();
    for (int i = 0; i < o.urls().size(); i++) {
      URI url = URI.create(o.urls().get(i).replaceAll("/+$", ""));
      long pid = i < o.pids().size() ? o.pids().get(i) : -1;
      nodes.add(new BenchTarget.Node(url, url.getHost(), Integer.parseInt(o.extra().getOrDefault("mqtt-port", "8883")),
          Integer.parseInt(o.extra().getOrDefault("management-port", "8558")), pid));
    }
    Optional<InetSocketAddress> cassandra = o.cassandra().map(hp -> {
      int colon = hp.lastIndexOf(':');
      return new InetSocketAddress(hp.substring(0, colon), Integer.parseInt(hp.substring(colon + 1)));
    });
    return new BenchTarget(nodes, Path.of(o.ca().orElseThrow()), o.connectionString().orElseThrow(), cassandra, work);
  }

  private static void runAll(BenchOptions o, BenchTarget target, BenchNodes nodes, BenchTable table) throws Exception {
    List<String> workloads = o.workload().equals("all") ? ALL : List.of(o.workload());
    for (String w : workloads) {
      for (BenchResult r : runOne(o.forWorkload(w), target, nodes)) {
        table.add(r);
        System.out.println(BenchTable.HEADER.lines().findFirst().orElseThrow());
        System.out.println(table.row(r));
      }
    }
  }

  /** The order of {@code all}: each baseline right before the workload compared with it. */
  static final List<String> ALL = List.of("cassandra-insert", "twin-patch", "http-bare", "twin-get", "mixed", "query-mix",
      "mosquitto", "mqtt-reported");

  static List<BenchResult> runOne(BenchOptions o, BenchTarget target, BenchNodes nodes) throws Exception {
    if (BenchMain.isMqtt(o.workload())) return BenchMain.runMqtt(o, target);
    throw new UnsupportedOperationException(o.workload() + " is not built yet");
  }
}
