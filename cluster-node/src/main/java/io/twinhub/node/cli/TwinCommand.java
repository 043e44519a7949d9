package io.twinhub.node.cli;

import io.twinhub.node.cli.OutputOptions.Format;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.HashMap;
import java.util.Map;

/** {@code ./twinhub twin get|patch|replace}: device and module twins through the REST API. */
@Command(name = "twin", description = "Device and module twins, through the node's REST API (GET/PATCH/PUT /twins/{id}).",
    subcommands = picocli.CommandLine.HelpCommand.class)
public final class TwinCommand {

  /** Which twin, and how to reach and print it: every twin subcommand's options. */
  static final class Target {
    @Mixin
    ApiOptions api;
    @Mixin
    OutputOptions output;
    @Parameters(index = "0", paramLabel = "ID", description = "device id")
    String id;
    @Option(names = "--module", paramLabel = "MODULE", description = "a module twin of the device")
    String module;
  }

  @Command(name = "get", description = "Show a twin.")
  int get(@Mixin Target twin) {
    return send(twin, "GET", null, null);
  }

  @Command(name = "patch", description = "Merge a patch into a twin: tags and desired properties; null deletes a key.")
  int patch(@Mixin Target twin,
            @Parameters(index = "1", paramLabel = "JSON", description = "e.g. '{\"properties\":{\"desired\":{\"targetTemp\":21.5}}}'") String json,
            @Option(names = "--etag", paramLabel = "ETAG", description = "only if the twin's etag is this (412 otherwise)") String etag) {
    return send(twin, "PATCH", json, etag);
  }

  @Command(name = "replace", description = "Replace a twin's tags and desired properties.")
  int replace(@Mixin Target twin,
              @Parameters(index = "1", paramLabel = "JSON", description = "e.g. '{\"tags\":{},\"properties\":{\"desired\":{}}}'") String json,
              @Option(names = "--etag", paramLabel = "ETAG", description = "only if the twin's etag is this (412 otherwise)") String etag) {
    return send(twin, "PUT", json, etag);
  }

  private static int send(Target twin, String method, String body, String etag) {
    String path = "/twins/" + HubClient.enc(twin.id) + (twin.module == null ? "" : "/modules/" + HubClient.enc(twin.module));
    Map<String, String> headers = new HashMap<>();
    if (etag != null) headers.put("If-Match", etag);
    HubClient hub = twin.api.connect();
    twin.output.print(hub.expectJson(hub.send(method, path, body, headers)), Format.json);
    return 0;
  }
}
