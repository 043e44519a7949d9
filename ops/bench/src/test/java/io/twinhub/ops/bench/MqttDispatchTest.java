package io.twinhub.ops.bench;

import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MqttDispatchTest {

  static final BenchTarget TARGET = new BenchTarget(
      List.of(new BenchTarget.Node(URI.create("https://127.0.0.1:40001"), "127.0.0.1", 40002, 40003, 4242),
          new BenchTarget.Node(URI.create("https://127.0.0.1:40011"), "127.0.0.1", 40012, 40013, 4243)),
      Path.of("/tmp/x/ca.pem"), "HostName=127.0.0.1;SharedAccessKeyName=iothubowner;SharedAccessKey=a2V5",
      Optional.of(new InetSocketAddress("127.0.0.1", 40000)), Path.of("/tmp/x"));

  @Test
  void commandLineOfTheMqttBenchForNodeOne() {
    BenchOptions o = BenchOptions.parse("mqtt-reported", "--duration", "20s", "--warmup", "5s", "--devices", "10000");
    assertEquals(List.of("mqtt-reported", "--url", "https://127.0.0.1:40001", "--mqtt-port", "40002", "--ca", "/tmp/x/ca.pem",
        "--connection-string", "HostName=127.0.0.1;SharedAccessKeyName=iothubowner;SharedAccessKey=a2V5",
        "--duration", "20000ms", "--warmup", "5000ms", "--node-pid", "4242", "--setup", "--devices", "10000"),
        BenchMain.mqttArgs(o, TARGET));
    List<String> noSetup = BenchMain.mqttArgs(BenchOptions.parse("mosquitto", "--no-setup", "yes"), TARGET);
    assertTrue(!noSetup.contains("--setup") && !noSetup.contains("--no-setup"), noSetup.toString());
  }

  @Test
  void figuresArePrintedUnderTheTableAsTheyCame() {
    BenchTable t = new BenchTable();
    t.addFigure("mqtt-idle", "heap per idle session", "5.1 KB");
    t.addFigure("mqtt-idle", "a|b", "1 | 2");
    String md = t.markdown();
    assertTrue(md.contains("| workload | figure | value |\n|---|---|---|\n| mqtt-idle | heap per idle session | 5.1 KB |\n"
        + "| mqtt-idle | a/b | 1 / 2 |\n"), md);
  }
}
