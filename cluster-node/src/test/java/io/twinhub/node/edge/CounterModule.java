package io.twinhub.node.edge;

import com.microsoft.azure.sdk.iot.device.IotHubClientProtocol;
import com.microsoft.azure.sdk.iot.device.Message;
import com.microsoft.azure.sdk.iot.device.ModuleClient;
import com.microsoft.azure.sdk.iot.device.twin.TwinCollection;
import io.twinhub.node.mqtt.SdkTwinCalls;

import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * EdgeOfflineIT's sender: an unmodified Java device SDK module that sends {@code COUNT} messages
 * ({@code n} = 0..COUNT-1) on output {@code out1}, one every {@code INTERVAL_MS}, and reports
 * {@code progress = n} for every 50th message edgeHub acknowledged (through {@link SdkTwinCalls}, so
 * every answer that reaches the SDK counts). What was acknowledged goes to
 * {@code $OUT_DIR/acked.txt} and {@code $OUT_DIR/reported.txt} (one line each, flushed), the
 * record the test checks the hub against; each report is in {@code $OUT_DIR/requested.txt} before
 * it is made.
 */
public final class CounterModule {
  public static void main(String[] args) throws Exception {
    int count = Integer.parseInt(System.getenv("COUNT"));
    long interval = Long.parseLong(System.getenv("INTERVAL_MS"));
    String out = System.getenv("OUT_DIR");
    PrintStream acked = new PrintStream(new FileOutputStream(out + "/acked.txt", true), true, StandardCharsets.UTF_8);
    PrintStream requested = new PrintStream(new FileOutputStream(out + "/requested.txt", true), true, StandardCharsets.UTF_8);
    PrintStream reported = new PrintStream(new FileOutputStream(out + "/reported.txt", true), true, StandardCharsets.UTF_8);
    ModuleClient client = ModuleClient.createFromEnvironment(null, IotHubClientProtocol.MQTT);
    client.open(true);
    client.subscribeToDesiredProperties((twin, ctx) -> System.out.println("desired: " + twin), null);
    System.out.println("CounterModule connected as " + System.getenv("IOTEDGE_MODULEID"));
    for (int n = 0; n < count; n++) {
      int k = n;
      Message m = new Message(("{\"n\":" + n + "}").getBytes(StandardCharsets.UTF_8));
      m.setContentType("application/json");
      m.setContentEncoding("utf-8");
      m.setProperty("n", String.valueOf(n));
      client.sendEventAsync(m, (sent, e, ctx) -> {
        if (e != null) {
          System.out.println("send " + k + " failed: " + e);
          return;
        }
        synchronized (acked) {
          acked.println(k);
        }
        if (k % 50 == 0) {
          TwinCollection patch = new TwinCollection();
          patch.put("progress", k);
          // Not the SDK's own ReportedPropertiesCallback: the SDK can skip it for an answer that
          // arrived (Azure/azure-iot-sdk-java#1803), see SdkTwinCalls.
          synchronized (requested) {
            requested.println(k); // before the request: the test knows what a killed runtime may have taken
          }
          SdkTwinCalls.updateReportedAsync(client, patch).whenComplete((response, re) -> {
            if (re == null) {
              synchronized (reported) {
                reported.println(k);
              }
            } else {
              System.out.println("report " + k + " failed: " + re);
            }
          });
        }
      }, null, "out1");
      Thread.sleep(interval);
    }
    System.out.println("CounterModule: all " + count + " messages handed to the SDK");
    Thread.currentThread().join();
  }
}
