package io.twinhub.node.edge;

import com.microsoft.azure.sdk.iot.device.IotHubClientProtocol;
import com.microsoft.azure.sdk.iot.device.IotHubMessageResult;
import com.microsoft.azure.sdk.iot.device.Message;
import com.microsoft.azure.sdk.iot.device.ModuleClient;
import com.microsoft.azure.sdk.iot.device.twin.DirectMethodResponse;

import java.util.Map;

/**
 * The Java module of the gateway tests (official Java device SDK, {@code createFromEnvironment}):
 * sends what arrives on input {@code in1} on, body and properties kept, on output {@code out2}
 * with {@code relayedBy=<its module id>}; answers the direct method {@code echo} with its id and
 * the request's payload.
 */
public final class EchoRelayModule {
  public static void main(String[] args) throws Exception {
    ModuleClient client = ModuleClient.createFromEnvironment(null, IotHubClientProtocol.MQTT);
    String me = System.getenv("IOTEDGE_MODULEID");
    // How the SDK got its credentials: a connection string, or IoT Edge's workload API (no key here).
    String auth = System.getenv("EdgeHubConnectionString") != null ? "connection string" : "workload API";
    client.setMessageCallback("in1", (message, context) -> {
      Message out = new Message(message.getBytes());
      if (message.getContentType() != null) out.setContentType(message.getContentType());
      if (message.getContentEncoding() != null) out.setContentEncoding(message.getContentEncoding());
      for (var p : message.getProperties()) out.setProperty(p.getName(), p.getValue());
      out.setProperty("relayedBy", me);
      client.sendEventAsync(out, (sent, e, ctx) -> {
        if (e != null) System.out.println("relay failed: " + e);
      }, null, "out2");
      return IotHubMessageResult.COMPLETE;
    }, null);
    client.open(true);
    client.subscribeToMethods((name, payload, ctx) -> name.equals("echo")
        ? new DirectMethodResponse(200, Map.of("module", me, "auth", auth, "got", payload.getPayloadAsJsonString()))
        : new DirectMethodResponse(404, Map.of("unknown", name)), null);
    System.out.println("EchoRelayModule connected as " + me);
    Thread.currentThread().join();
  }
}
