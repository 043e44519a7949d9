package io.twinhub.node.edge;

import com.microsoft.azure.sdk.iot.device.IotHubClientProtocol;
import com.microsoft.azure.sdk.iot.device.Message;
import com.microsoft.azure.sdk.iot.device.ModuleClient;

import java.nio.charset.StandardCharsets;

/**
 * Module A of the IoT Edge tests: an unmodified Java device SDK module. It connects with
 * {@code ModuleClient.createFromEnvironment} (what the edge agent's environment provides) and sends
 * a JSON message every 300 ms on output {@code out1}, {@code temp} alternating 35 and 20.
 */
public final class SenderModule {
  public static void main(String[] args) throws Exception {
    ModuleClient client = ModuleClient.createFromEnvironment(null, IotHubClientProtocol.MQTT);
    client.open(true);
    System.out.println("SenderModule connected as " + System.getenv("IOTEDGE_MODULEID"));
    for (int n = 0; ; n++) {
      int temp = n % 2 == 0 ? 35 : 20;
      Message m = new Message(("{\"n\":" + n + ",\"temp\":" + temp + "}").getBytes(StandardCharsets.UTF_8));
      m.setContentType("application/json");
      m.setContentEncoding("utf-8");
      m.setProperty("n", String.valueOf(n));
      client.sendEventAsync(m, (sent, e, ctx) -> {
        if (e != null) System.out.println("send failed: " + e);
      }, null, "out1");
      Thread.sleep(300);
    }
  }
}
