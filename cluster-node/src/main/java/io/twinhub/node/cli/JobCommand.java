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
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@code ./twinhub job schedule|show|list|cancel}: IoT Hub jobs (a twin update or a direct method
 * on every device a query selects) through the node's REST API ({@code /jobs/v2}); {@code show
 * --watch} and {@code schedule --wait} draw the job's progress until it ends.
 */
@Command(name = "job", description = "Jobs: a twin update or a direct method on every device a query selects (/jobs/v2).",
    subcommands = picocli.CommandLine.HelpCommand.class)
public final class JobCommand {
  static final Set<String> ENDED = Set.of("completed", "failed", "cancelled");
  static final Duration POLL = Duration.ofMillis(500);

  @Command(name = "schedule", description = {"Schedule a job: from a JSON file (the body of PUT /jobs/v2/{id}),",
      "or a twin update (--twin-patch) or a direct method (--method) on the devices --query selects."})
  int schedule(@Mixin ApiOptions api, @Mixin OutputOptions output,
               @Parameters(paramLabel = "ID", description = "job id") String id,
               @Option(names = "--file", paramLabel = "JOB.json", description = "the whole job as JSON") Path file,
               @Option(names = "--twin-patch", paramLabel = "JSON",
                   description = "a twin update job: e.g. '{\"tags\":{\"fw\":\"2\"},\"properties\":{\"desired\":{\"rate\":5}}}'") String twinPatch,
               @Option(names = "--method", paramLabel = "NAME", description = "a direct method job") String method,
               @Option(names = "--payload", paramLabel = "JSON", description = "the method's payload") String payload,
               @Option(names = "--response-timeout", paramLabel = "SECONDS", defaultValue = "30",
                   description = "the method's response timeout (default ${DEFAULT-VALUE})") int responseTimeout,
               @Option(names = "--connect-timeout", paramLabel = "SECONDS", defaultValue = "0",
                   description = "how long to wait for an offline device (default ${DEFAULT-VALUE})") int connectTimeout,
               @Option(names = "--query", paramLabel = "CONDITION",
                   description = "which devices: a query condition, e.g. \"tags.site = 'plant-7'\" (default: every device)") String query,
               @Option(names = "--start", paramLabel = "TIME", description = "ISO-8601 UTC start time (default now)") String start,
               @Option(names = "--max-seconds", paramLabel = "N", defaultValue = "0",
                   description = "maxExecutionTimeInSeconds (default ${DEFAULT-VALUE}: no limit)") long maxSeconds,
               @Option(names = "--wait", description = "draw the progress until the job ends") boolean wait) {
    int given = (file != null ? 1 : 0) + (twinPatch != null ? 1 : 0) + (method != null ? 1 : 0);
    if (given != 1) throw new IllegalArgumentException("give exactly one of --file, --twin-patch or --method");
    ObjectNode body;
    if (file != null) {
      body = object(read(file), "--file " + file);
    } else {
      body = HubClient.JSON.createObjectNode().put("jobId", id);
      if (twinPatch != null) {
        body.put("type", "scheduleUpdateTwin").set("updateTwin", object(twinPatch, "--twin-patch"));
      } else {
        ObjectNode call = body.put("type", "scheduleDeviceMethod").putObject("cloudToDeviceMethod");
        call.put("methodName", method).put("responseTimeoutInSeconds", responseTimeout)
            .put("connectTimeoutInSeconds", connectTimeout);
        call.set("payload", payload == null ? HubClient.JSON.nullNode() : json(payload, "--payload"));
      }
      body.put("queryCondition", query == null ? "" : query);
      body.put("startTime", start == null ? Instant.now().toString() : instant(start).toString());
      body.put("maxExecutionTimeInSeconds", maxSeconds);
    }
    HubClient hub = api.connect();
    JsonNode job = hub.expectJson(hub.send("PUT", "/jobs/v2/" + HubClient.enc(id), body.toString(), Map.of()));
    if (!wait) {
      output.print(job, Format.json);
      return 0;
    }
    return watch(hub, output, id, job);
  }

  @Command(name = "show", description = "Show a job with its status and device statistics.")
  int show(@Mixin ApiOptions api, @Mixin OutputOptions output, @Parameters(paramLabel = "ID") String id,
           @Option(names = "--watch", description = "draw the progress until the job ends") boolean watch) {
    HubClient hub = api.connect();
    JsonNode job = get(hub, id);
    if (!watch) {
      output.print(job, Format.json);
      return 0;
    }
    return watch(hub, output, id, job);
  }

  @Command(name = "list", description = "List jobs (GET /jobs/v2/query), all pages.")
  int list(@Mixin ApiOptions api, @Mixin OutputOptions output,
           @Option(names = "--type", paramLabel = "TYPE", description = "scheduleUpdateTwin or scheduleDeviceMethod") String type,
           @Option(names = "--status", paramLabel = "STATUS", description = "queued, scheduled, running, completed, failed or cancelled") String status) {
    HubClient hub = api.connect();
    StringBuilder path = new StringBuilder("/jobs/v2/query");
    String sep = "?";
    if (type != null) {
      path.append(sep).append("jobType=").append(HubClient.enc(type));
      sep = "&";
    }
    if (status != null) path.append(sep).append("jobStatus=").append(HubClient.enc(status));
    ArrayNode all = HubClient.JSON.createArrayNode();
    Optional<String> next = Optional.empty();
    do {
      Map<String, String> headers = new HashMap<>();
      next.ifPresent(t -> headers.put("x-ms-continuation", t));
      HttpResponse<String> r = hub.send("GET", path.toString(), null, headers);
      hub.expectJson(r).forEach(all::add);
      next = r.headers().firstValue("x-ms-continuation").filter(t -> !t.isBlank());
    } while (next.isPresent());
    if (output.formatOr(Format.table) == Format.json) {
      output.print(all, Format.json);
      return 0;
    }
    ArrayNode rows = HubClient.JSON.createArrayNode();
    for (JsonNode j : all) {
      JsonNode s = j.path("deviceJobStatistics");
      rows.addObject().put("jobId", j.path("jobId").asText()).put("type", j.path("type").asText())
          .put("status", j.path("status").asText()).put("devices", s.path("deviceCount").asLong())
          .put("succeeded", s.path("succeededCount").asLong()).put("failed", s.path("failedCount").asLong())
          .put("pending", s.path("pendingCount").asLong()).put("created", j.path("createdTime").asText());
    }
    output.print(rows, Format.table);
    return 0;
  }

  @Command(name = "cancel", description = "Cancel a job: no further device is started.")
  int cancel(@Mixin ApiOptions api, @Mixin OutputOptions output, @Parameters(paramLabel = "ID") String id) {
    HubClient hub = api.connect();
    return output.printAnswer(hub, "POST", "/jobs/v2/" + HubClient.enc(id) + "/cancel", "{}", Format.json);
  }

  /** Redraws the progress bar until the job ends; exit 0 when it completed, 1 when it failed or was cancelled. */
  private static int watch(HubClient hub, OutputOptions output, String id, JsonNode job) {
    ProgressBar bar = new ProgressBar(output.out(), "devices");
    while (!ENDED.contains(job.path("status").asText())) {
      JsonNode s = job.path("deviceJobStatistics");
      long devices = s.path("deviceCount").asLong();
      long done = s.path("succeededCount").asLong() + s.path("failedCount").asLong();
      bar.update(done, devices == 0 ? -1 : (double) done / devices, detail(job));
      try {
        Thread.sleep(POLL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new TwinhubCli.CommandFailure("interrupted");
      }
      job = get(hub, id);
    }
    JsonNode s = job.path("deviceJobStatistics");
    bar.done(s.path("succeededCount").asLong() + s.path("failedCount").asLong(), detail(job));
    return job.path("status").asText().equals("completed") ? 0 : 1;
  }

  static String detail(JsonNode job) {
    JsonNode s = job.path("deviceJobStatistics");
    String failure = job.path("failureReason").asText("");
    return String.format("%s, %,d of %,d devices, %,d failed, %,d running%s", job.path("status").asText(),
        s.path("succeededCount").asLong() + s.path("failedCount").asLong(), s.path("deviceCount").asLong(),
        s.path("failedCount").asLong(), s.path("runningCount").asLong(), failure.isEmpty() ? "" : " (" + failure + ")");
  }

  private static JsonNode get(HubClient hub, String id) {
    return hub.expectJson(hub.send("GET", "/jobs/v2/" + HubClient.enc(id), null, Map.of()));
  }

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new TwinhubCli.CommandFailure("cannot read " + file + ": " + e.getMessage());
    }
  }

  private static JsonNode json(String text, String what) {
    try {
      return HubClient.JSON.readTree(text);
    } catch (IOException e) {
      throw new IllegalArgumentException(what + " is not JSON: " + e.getMessage());
    }
  }

  private static ObjectNode object(String text, String what) {
    JsonNode n = json(text, what);
    if (!(n instanceof ObjectNode o)) throw new IllegalArgumentException(what + " must be a JSON object");
    return o;
  }

  private static Instant instant(String text) {
    try {
      return Instant.parse(text);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("--start must be an ISO-8601 UTC time such as 2026-12-06T10:00:00Z, got '" + text + "'");
    }
  }
}
