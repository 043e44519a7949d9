package io.twinhub.node.edge;

import com.microsoft.azure.sdk.iot.device.IotHubClientProtocol;
import com.microsoft.azure.sdk.iot.device.IotHubMessageResult;
import com.microsoft.azure.sdk.iot.device.ModuleClient;

import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * EdgeOfflineIT's receiver: an unmodified Java device SDK module that writes the {@code n} of each
 * message on input {@code in1} to {@code $OUT_DIR/received.txt} (flushed) before completing it.
 */
public final class CollectorModule {
  public static void main(String[] args) throws Exception {
    String out = System.getenv("OUT_DIR");
    PrintStream received = new PrintStream(new FileOutputStream(out + "/received.txt", true), true, StandardCharsets.UTF_8);
    ModuleClient client = ModuleClient.createFromEnvironment(null, IotHubClientProtocol.MQTT);
    client.setMessageCallback("in1", (message, context) -> {
      synchronized (received) {
        received.println(message.getProperty("n"));
      }
      return IotHubMessageResult.COMPLETE;
    }, null);
    client.open(true);
    System.out.println("CollectorModule connected as " + System.getenv("IOTEDGE_MODULEID"));
    Thread.currentThread().join();
  }
}
