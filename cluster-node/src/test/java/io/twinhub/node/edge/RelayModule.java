package io.twinhub.node.edge;

import com.microsoft.azure.sdk.iot.device.IotHubClientProtocol;
import com.microsoft.azure.sdk.iot.device.Message;
import com.microsoft.azure.sdk.iot.device.MessageCallback;
import com.microsoft.azure.sdk.iot.device.ModuleClient;
import com.microsoft.azure.sdk.iot.device.twin.TwinCollection;
import io.twinhub.node.mqtt.SdkTwinCalls;

import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Module B of the IoT Edge tests: receives on input {@code in1} and sends each message on, body
 * and properties kept, on output {@code out2} with {@code relayedBy=<its module id>}. It follows
 * its desired properties and reports {@code lastRelayed} for every message whose {@code n} is a
 * multiple of 10 (twin traffic through edgeHub, also while the hub is unreachable); with
 * {@code OUT_DIR} set, each report whose success answer reached the SDK (through {@link SdkTwinCalls})
 * is a line of {@code $OUT_DIR/relay-reported.txt}.
 */
public final class RelayModule {
  public static void main(String[] args) throws Exception {
    ModuleClient client = ModuleClient.createFromEnvironment(null, IotHubClientProtocol.MQTT);
    String me = System.getenv("IOTEDGE_MODULEID");
    String outDir = System.getenv("OUT_DIR");
    PrintStream acknowledged = outDir == null ? null
        : new PrintStream(new FileOutputStream(outDir + "/relay-reported.txt", true), true, StandardCharsets.UTF_8);
    MessageCallback relay = (message, context) -> {
      Message out = new Message(message.getBytes());
      if (message.getContentType() != null) out.setContentType(message.getContentType());
      if (message.getContentEncoding() != null) out.setContentEncoding(message.getContentEncoding());
      for (var p : message.getProperties()) out.setProperty(p.getName(), p.getValue());
      out.setProperty("relayedBy", me);
      out.setProperty("input", message.getInputName());
      client.sendEventAsync(out, (sent, e, ctx) -> {
        if (e != null) System.out.println("relay failed: " + e);
      }, null, "out2");
      String n = message.getProperty("n");
      if (n != null && Integer.parseInt(n) % 10 == 0) {
        TwinCollection reported = new TwinCollection();
        reported.put("lastRelayed", Integer.parseInt(n));
        // Through SdkTwinCalls: the SDK's own callback can be skipped for an answer that arrived (#1803).
        SdkTwinCalls.updateReportedAsync(client, reported).whenComplete((response, e) -> {
          if (e != null) {
            System.out.println("report lastRelayed=" + n + " failed: " + e);
          } else if (acknowledged != null) {
            synchronized (acknowledged) {
              acknowledged.println(n);
            }
          }
        });
      }
      return com.microsoft.azure.sdk.iot.device.IotHubMessageResult.COMPLETE;
    };
    client.setMessageCallback("in1", relay, null);
    client.open(true);
    client.subscribeToDesiredProperties((twin, ctx) -> System.out.println("desired: " + twin), null);
    System.out.println("RelayModule connected as " + me);
    Thread.currentThread().join();
  }
}
