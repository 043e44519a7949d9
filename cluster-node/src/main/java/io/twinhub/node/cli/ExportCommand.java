package io.twinhub.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code ./twinhub export}: copies the journal (all message sources, device telemetry
 * included) from a running node into an NDJSON file for offline analytics, with a progress bar.
 * Resumable: run it again on the same file and it continues after the last complete line's
 * offset. It reads the node's credentials and CA from the data directory, so nothing secret is typed.
 */
@Command(name = "export", description = {
    "Copy the journal of a running node (every message source, telemetry included) into an NDJSON file for analytics.",
    "Run it again on the same file and it resumes after the last complete line (a torn last line is cut off)."})
public final class ExportCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Mixin
  ApiOptions api;

  @Option(names = "--to", required = true, paramLabel = "FILE.ndjson", description = "the file to write or resume")
  Path to;

  @Option(names = "--from", paramLabel = "earliest|OFFSET|ISO-INSTANT",
      description = "where to start (default: earliest, or where the file ends)")
  String from;

  @Option(names = "--until", paramLabel = "now|ISO-INSTANT", defaultValue = "now", description = "where to stop (default ${DEFAULT-VALUE})")
  String until;

  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Optional<String> resumeAt = lastOffset(to);
    String start = from;
    if (start == null) start = resumeAt.orElse("earliest");
    else if (resumeAt.isPresent()) {
      throw new IllegalArgumentException(to + " already holds an export; drop --from to resume it, or choose a new file");
    }
    Instant end = until.equalsIgnoreCase("now") ? Instant.now() : parseInstant(until);
    HubClient hub = api.connect(12 * 3600);
    URI streamUri = hub.uri("/streams/all?from=" + enc(start) + "&to=" + enc(until));
    HttpResponse<Stream<String>> response = hub.http().send(HttpRequest.newBuilder(streamUri)
        .header("Authorization", hub.authorization()).header("Accept", "application/x-ndjson").GET().build(),
        HttpResponse.BodyHandlers.ofLines());
    if (response.statusCode() != 200) {
      String body = String.join("\n", response.body().toList());
      throw new TwinhubCli.CommandFailure("the node answered " + response.statusCode() + ": " + body);
    }
    PrintWriter err = spec.commandLine().getErr();
    ProgressBar progress = new ProgressBar(err, "events");
    Instant first = null;
    long written = 0;
    try (BufferedWriter out = Files.newBufferedWriter(to, StandardCharsets.UTF_8,
        StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
      Iterator<String> lines = response.body().iterator();
      while (lines.hasNext()) {
        String line = lines.next();
        if (line.isBlank()) continue;
        out.write(line);
        out.write('\n');
        written++;
        if (written % 1000 == 0) out.flush();
        Instant at = enqueuedTime(JSON.readTree(line), end);
        if (first == null) first = at;
        progress.update(written, fraction(first, at, end), "at " + at);
      }
    }
    progress.done(written, (resumeAt.isPresent() ? "appended to " : "written to ") + to);
    return 0;
  }

  /** How far {@code at} is from the first event to the export's end. */
  static double fraction(Instant first, Instant at, Instant end) {
    double span = Math.max(1, Duration.between(first, end).toMillis());
    return Math.min(1, Math.max(0, Duration.between(first, at).toMillis() / span));
  }

  private static Instant enqueuedTime(JsonNode message, Instant dflt) {
    String t = message.path("systemProperties").path("$iothub-enqueuedtime").asText(null);
    try {
      return t == null ? dflt : Instant.parse(t);
    } catch (RuntimeException e) {
      return dflt;
    }
  }

  private static Instant parseInstant(String s) {
    try {
      return Instant.parse(s);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("--until must be now or an ISO instant (2026-12-01T00:00:00Z), got '" + s + "'");
    }
  }

  /** The offset of the last complete line; a torn last line (crash mid-write) is cut off. */
  static Optional<String> lastOffset(Path file) throws IOException {
    if (!Files.exists(file) || Files.size(file) == 0) return Optional.empty();
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      long end = f.length();
      long pos = end - 1;
      f.seek(pos);
      if (f.read() != '\n') {
        // Torn line: cut back to the previous newline.
        while (pos > 0) {
          f.seek(--pos);
          if (f.read() == '\n') break;
        }
        f.setLength(pos == 0 ? 0 : pos + 1);
        end = f.length();
        if (end == 0) return Optional.empty();
      }
      long start = end - 2;
      while (start > 0) {
        f.seek(start - 1);
        if (f.read() == '\n') break;
        start--;
      }
      byte[] last = new byte[(int) (end - Math.max(start, 0))];
      f.seek(Math.max(start, 0));
      f.readFully(last);
      JsonNode offset = JSON.readTree(new String(last, StandardCharsets.UTF_8)).get("offset");
      return Optional.ofNullable(offset).map(JsonNode::asText);
    }
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

}
