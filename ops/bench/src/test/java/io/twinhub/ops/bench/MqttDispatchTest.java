package io.twinhub.ops.bench;

import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.time.Duration;
import io.twinhub.ops.bench.mqtt.MqttBench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MqttDispatchTest {

  static final BenchTarget TARGET = new BenchTarget(
      List.of(new BenchTarget.Node(URI.create("https://127.0.0.1:40001"), "127.0.0.1", 40002, 40003, 4242, 40004),
          new BenchTarget.Node(URI.create("https://127.0.0.1:40011"), "127.0.0.1", 40012, 40013, 4243, 40014)),
      Path.of("/tmp/x/ca.pem"), "HostName=127.0.0.1;SharedAccessKeyName=iothubowner;SharedAccessKey=a2V5",
      Optional.of(new InetSocketAddress("127.0.0.1", 40000)), Path.of("/tmp/x"));

  @Test
  void anMqttRunTargetsNodeOneWithTheHarnessPhasesAndItsOwnOptions() {
    BenchOptions o = BenchOptions.parse("mqtt-reported", "--duration", "20s", "--warmup", "5s", "--devices", "3000",
        "--rate", "0", "--jfr", "30");
    MqttBench.Options m = MqttBench.options(o, TARGET);
    assertEquals(URI.create("https://127.0.0.1:40001"), m.url());
    assertEquals(40002, m.mqttPort());
    assertEquals(Path.of("/tmp/x/ca.pem"), m.ca());
    assertEquals("iothubowner", m.keyName());
    assertEquals(Duration.ofSeconds(20), m.duration());
    assertEquals(Duration.ofSeconds(5), m.warmup());
    assertEquals(4242, m.nodePid());
    assertEquals(3000, m.devices());
    assertEquals(0.0, m.rate());
    assertTrue(m.setup(), "devices are created unless --setup false");
    assertEquals(30, m.jfrSeconds());
    assertEquals(Path.of("/tmp/x/mqtt-reported-node1.jfr"), m.jfrFile());

    MqttBench.Options plain = MqttBench.options(BenchOptions.parse("mosquitto", "--setup", "false"), TARGET);
    assertFalse(plain.setup());
    assertEquals(0, plain.jfrSeconds(), "no profile unless asked");
    assertEquals(2000.0, plain.rate());
    assertEquals(200.0, MqttBench.options(BenchOptions.parse("mqtt-notify"), TARGET).rate(), "notify's own default rate");
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("mqtt-idle", "--no-setup", "yes"),
        "an option no workload declares is refused");
  }

  @Test
  void severalLoadsRunInTurnAndNxIsAMultipleOfTheClosedLoopCapacity() {
    MqttBench.Options m = MqttBench.options(BenchOptions.parse("mqtt-reported", "--rate", "0,1x,2x,4x"), TARGET);
    assertEquals(List.of("0", "1x", "2x", "4x"), m.loads());
    assertEquals(0.0, m.rate());
    assertEquals(List.of("2000"), MqttBench.options(BenchOptions.parse("mqtt-reported"), TARGET).loads());
    assertEquals(1250.0, MqttBench.offeredRate("2x", 625));
    assertEquals(500.0, MqttBench.offeredRate("500", Double.NaN));
    assertThrows(IllegalArgumentException.class,
        () -> MqttBench.options(BenchOptions.parse("mqtt-reported", "--rate", "2x,0"), TARGET),
        "a multiple of the capacity needs the closed loop measured before it");
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
