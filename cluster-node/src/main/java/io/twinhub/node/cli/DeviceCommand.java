package io.twinhub.node.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.node.cli.OutputOptions.Format;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.Map;

/** {@code ./twinhub device create|get|delete|list}: device identities through the REST API. */
@Command(name = "device", description = "Device identities, through the node's REST API (PUT/GET/DELETE /devices/{id}).",
    subcommands = picocli.CommandLine.HelpCommand.class)
public final class DeviceCommand {
  @Command(name = "create", description = "Create a device identity (SAS keys are generated).")
  int create(@Mixin ApiOptions api, @Mixin OutputOptions output,
             @Parameters(paramLabel = "ID", description = "device id") String id,
             @Option(names = "--disabled", description = "create it disabled") boolean disabled,
             @Option(names = "--edge", description = "an IoT Edge device (capabilities.iotEdge)") boolean edge,
             @Option(names = "--parent", paramLabel = "EDGE_ID", description = "a device behind this IoT Edge device (a leaf device: its deviceScope/parentScopes name the gateway)") String parent) {
    ObjectNode body = HubClient.JSON.createObjectNode();
    body.put("deviceId", id);
    body.put("status", disabled ? "disabled" : "enabled");
    if (edge) body.putObject("capabilities").put("iotEdge", true);
    HubClient hub = api.connect();
    if (parent != null) {
      var gateway = hub.expectJson(hub.send("GET", "/devices/" + HubClient.enc(parent), null, Map.of()));
      String scope = gateway.path("deviceScope").asText("");
      if (scope.isEmpty()) throw new TwinhubCli.CommandFailure(parent + " is not an IoT Edge device (it has no deviceScope)");
      if (edge) body.putArray("parentScopes").add(scope);
      else body.put("deviceScope", scope);
    }
    return output.printAnswer(hub, "PUT", "/devices/" + HubClient.enc(id), body.toString(), Format.json);
  }

  @Command(name = "get", description = "Show a device identity.")
  int get(@Mixin ApiOptions api, @Mixin OutputOptions output, @Parameters(paramLabel = "ID") String id) {
    HubClient hub = api.connect();
    return output.printAnswer(hub, "GET", "/devices/" + HubClient.enc(id), null, Format.json);
  }

  @Command(name = "delete", description = "Delete a device identity and its twin.")
  int delete(@Mixin ApiOptions api, @Mixin OutputOptions output,
             @Parameters(paramLabel = "ID") String id,
             @Option(names = "--etag", paramLabel = "ETAG", defaultValue = "*", description = "only if the identity's etag is this (default ${DEFAULT-VALUE})") String etag) {
    HubClient hub = api.connect();
    HubClient.requireSuccess(hub.send("DELETE", "/devices/" + HubClient.enc(id), null, Map.of("If-Match", etag)));
    output.out().println("deleted " + id);
    output.out().flush();
    return 0;
  }

  @Command(name = "list", description = "List device identities (GET /devices?top=N).")
  int list(@Mixin ApiOptions api, @Mixin OutputOptions output,
           @Option(names = "--top", paramLabel = "N", defaultValue = "100", description = "at most N (default ${DEFAULT-VALUE}, at most 1000)") int top) {
    HubClient hub = api.connect();
    return output.printAnswer(hub, "GET", "/devices?top=" + top, null, Format.table);
  }
}
