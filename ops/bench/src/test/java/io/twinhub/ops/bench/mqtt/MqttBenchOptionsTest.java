package io.twinhub.ops.bench.mqtt;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

class MqttBenchOptionsTest {
  private static final String CS = "HostName=127.0.0.1;SharedAccessKeyName=iothubowner;SharedAccessKey=a2V5";

  @Test
  void jfrProfileIsOffUnlessAskedAndGoesWhereTold() {
    MqttBench.Options none = MqttBench.parse(new String[] {"mqtt-reported", "--connection-string", CS});
    assertEquals(0, none.jfrSeconds());
    assertEquals(Path.of("/tmp/mqtt-reported-node.jfr"), none.jfrFile());
    MqttBench.Options asked = MqttBench.parse(new String[] {"mqtt-reported", "--connection-string", CS,
        "--jfr", "30", "--jfr-file", "/tmp/x/profile.jfr", "--devices", "3000", "--rate", "0"});
    assertEquals(30, asked.jfrSeconds());
    assertEquals(Path.of("/tmp/x/profile.jfr"), asked.jfrFile());
    assertEquals(3000, asked.devices());
    assertEquals(0.0, asked.rate());
  }
}
