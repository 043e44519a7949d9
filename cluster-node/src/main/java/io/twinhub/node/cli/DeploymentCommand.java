package io.twinhub.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.node.cli.OutputOptions.Format;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code ./twinhub deployment create|list|show|delete}: IoT Edge deployments and automatic device
 * configurations ({@code /configurations}) through the REST API.
 */
@Command(name = "deployment", description = {
    "IoT Edge deployments and automatic device/module configurations, through the node's REST API",
    "(PUT/GET/DELETE /configurations/{id}); show and list include the metrics."},
    subcommands = picocli.CommandLine.HelpCommand.class)
public final class DeploymentCommand {

  @Command(name = "create", description = {"Create a deployment from a JSON file: a configuration body",
      "({\"content\":{\"modulesContent\":{...}}, \"targetCondition\":..., \"priority\":...}) or a bare",
      "deployment manifest ({\"modulesContent\":{...}} or {\"content\":...})."})
  int create(@Mixin ApiOptions api, @Mixin OutputOptions output,
             @Parameters(paramLabel = "ID", description = "deployment id (lower case)") String id,
             @Option(names = {"--file", "-f"}, paramLabel = "FILE", required = true, description = "the JSON file") Path file,
             @Option(names = "--target-condition", paramLabel = "CONDITION", description = "target condition (overrides the file's)") String condition,
             @Option(names = "--priority", paramLabel = "N", description = "priority (overrides the file's)") Integer priority) {
    ObjectNode body = body(file);
    if (condition != null) body.put("targetCondition", condition);
    if (priority != null) body.put("priority", priority);
    HubClient hub = api.connect();
    return output.printAnswer(hub, "PUT", "/configurations/" + HubClient.enc(id), body.toString(), Format.json);
  }

  @Command(name = "show", description = "Show a deployment with its metrics (targeted, applied, reported successful/failed, custom).")
  int show(@Mixin ApiOptions api, @Mixin OutputOptions output, @Parameters(paramLabel = "ID") String id) {
    HubClient hub = api.connect();
    return output.printAnswer(hub, "GET", "/configurations/" + HubClient.enc(id), null, Format.json);
  }

  @Command(name = "list", description = "List deployments and configurations with their system metrics.")
  int list(@Mixin ApiOptions api, @Mixin OutputOptions output,
           @Option(names = "--top", paramLabel = "N", defaultValue = "100", description = "at most N (default ${DEFAULT-VALUE})") int top) {
    HubClient hub = api.connect();
    JsonNode all = hub.expectJson(hub.send("GET", "/configurations?top=" + top, null, Map.of()));
    if (output.formatOr(Format.table) == Format.json) {
      output.print(all, Format.json);
      return 0;
    }
    ArrayNode rows = HubClient.JSON.createArrayNode();
    for (JsonNode c : all) {
      ObjectNode row = rows.addObject();
      row.put("id", c.path("id").asText());
      row.put("kind", !c.at("/content/modulesContent").isEmpty() ? "deployment"
          : !c.at("/content/moduleContent").isEmpty() ? "module configuration" : "device configuration");
      row.put("priority", c.path("priority").asInt());
      row.put("targetCondition", c.path("targetCondition").asText());
      JsonNode results = c.at("/systemMetrics/results");
      for (String metric : new String[] {"targetedCount", "appliedCount", "reportedSuccessfulCount", "reportedFailedCount"}) {
        row.put(metric.replace("Count", ""), results.has(metric) ? results.get(metric).asText() : "");
      }
    }
    output.print(rows, Format.table);
    return 0;
  }

  @Command(name = "delete", description = "Delete a deployment (the content it applied stays, as in IoT Hub).")
  int delete(@Mixin ApiOptions api, @Mixin OutputOptions output,
             @Parameters(paramLabel = "ID") String id,
             @Option(names = "--etag", paramLabel = "ETAG", defaultValue = "*", description = "only if its etag is this (default ${DEFAULT-VALUE})") String etag) {
    HubClient hub = api.connect();
    HubClient.requireSuccess(hub.send("DELETE", "/configurations/" + HubClient.enc(id), null, Map.of("If-Match", etag)));
    output.out().println("deleted " + id);
    output.out().flush();
    return 0;
  }

  /** The file as a configuration body; a bare {@code modulesContent} (a deployment manifest) is wrapped as the content. */
  static ObjectNode body(Path file) {
    JsonNode doc;
    try {
      doc = HubClient.JSON.readTree(Files.readString(file));
    } catch (IOException e) {
      throw new TwinhubCli.CommandFailure("cannot read " + file + ": " + e.getMessage());
    }
    if (!(doc instanceof ObjectNode o)) throw new TwinhubCli.CommandFailure(file + " must hold a JSON object");
    if (o.has("modulesContent") && !o.has("content")) {
      ObjectNode wrapped = HubClient.JSON.createObjectNode();
      wrapped.putObject("content").set("modulesContent", o.get("modulesContent"));
      return wrapped;
    }
    return o;
  }
}
