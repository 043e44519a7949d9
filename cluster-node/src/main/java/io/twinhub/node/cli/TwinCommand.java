package io.twinhub.node.cli;

import io.twinhub.node.cli.OutputOptions.Format;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.HashMap;
import java.util.Map;

/** {@code ./twinhub twin get|patch|replace|history|delta}: device and module twins through the REST API. */
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

  @Command(name = "get", description = "Show a twin, or (from the journal) the twin as it was at a version or a time.")
  int get(@Mixin Target twin,
          @Option(names = "--as-of-version", paramLabel = "N", description = "the twin right after the change that made it $version N") Long version,
          @Option(names = "--as-of-time", paramLabel = "ISO", description = "the twin as it was at that instant, e.g. 2026-12-06T04:00:00Z") String time) {
    if (version != null && time != null) throw new IllegalArgumentException("give --as-of-version or --as-of-time, not both");
    String query = version != null ? "?asOfVersion=" + version : time != null ? "?asOfTime=" + HubClient.enc(time) : "";
    return send(twin, "GET", query, null, null);
  }

  @Command(name = "delta", description = "The desired properties the device has not reported (yet): both values and their $lastUpdated.")
  int delta(@Mixin Target twin) {
    return send(twin, "GET", "/delta", null, null);
  }

  @Command(name = "history", description = "A twin's changes from the journal, oldest first: $version, time, source, author, patch.")
  int history(@Mixin Target twin,
              @Option(names = "--from", paramLabel = "VERSION|ISO", description = "from this $version or time (inclusive)") String from,
              @Option(names = "--to", paramLabel = "VERSION|ISO", description = "up to this $version or time (inclusive)") String to,
              @Option(names = "--top", paramLabel = "N", description = "at most N changes (1 to 1000; default 100)") Integer top) {
    StringBuilder q = new StringBuilder();
    if (from != null) q.append(q.length() == 0 ? '?' : '&').append("from=").append(HubClient.enc(from));
    if (to != null) q.append(q.length() == 0 ? '?' : '&').append("to=").append(HubClient.enc(to));
    if (top != null) q.append(q.length() == 0 ? '?' : '&').append("top=").append(top);
    return send(twin, "GET", "/history" + q, null, null);
  }

  @Command(name = "patch", description = "Merge a patch into a twin: tags and desired properties; null deletes a key.")
  int patch(@Mixin Target twin,
            @Parameters(index = "1", paramLabel = "JSON", description = "e.g. '{\"properties\":{\"desired\":{\"targetTemp\":21.5}}}'") String json,
            @Option(names = "--etag", paramLabel = "ETAG", description = "only if the twin's etag is this (412 otherwise)") String etag) {
    return send(twin, "PATCH", "", json, etag);
  }

  @Command(name = "replace", description = "Replace a twin's tags and desired properties.")
  int replace(@Mixin Target twin,
              @Parameters(index = "1", paramLabel = "JSON", description = "e.g. '{\"tags\":{},\"properties\":{\"desired\":{}}}'") String json,
              @Option(names = "--etag", paramLabel = "ETAG", description = "only if the twin's etag is this (412 otherwise)") String etag) {
    return send(twin, "PUT", "", json, etag);
  }

  /** {@code suffix}: what follows the twin's path (a sub-resource and/or a query). */
  private static int send(Target twin, String method, String suffix, String body, String etag) {
    String path = "/twins/" + HubClient.enc(twin.id) + (twin.module == null ? "" : "/modules/" + HubClient.enc(twin.module)) + suffix;
    Map<String, String> headers = new HashMap<>();
    if (etag != null) headers.put("If-Match", etag);
    HubClient hub = twin.api.connect();
    return twin.output.printAnswer(hub, method, path, body, headers, Format.json);
  }
}
