package io.twinhub.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.node.security.SharedAccessPolicies;
import io.twinhub.node.security.TlsMaterial;
import io.twinhub.twin.auth.SasToken;
import io.twinhub.twin.auth.SharedAccessPolicy;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * {@code ./twinhub export}: copies the journal (all message sources, device telemetry
 * included) from a running node
 * into an NDJSON file for offline analytics, with a progress bar. Resumable: run it again
 * on the same file and it continues after the last complete line's offset. It reads the
 * node's credentials and CA from the data directory, so nothing secret is typed.
 */
public final class ExportCommand {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ExportCommand() {}

  public static void main(String[] args) {
    try {
      System.exit(run(args, System.err));
    } catch (IllegalArgumentException e) {
      System.err.println("twinhub export: " + e.getMessage());
      System.exit(64);
    } catch (Exception e) {
      System.err.println("twinhub export: " + e.getMessage());
      System.exit(1);
    }
  }

  /** The command without the exit: 0 when the export completed. */
  public static int run(String[] args, PrintStream err) throws Exception {
    Map<String, String> o = options(args);
    Path to = Path.of(require(o, "--to"));
    Path dataDir = Path.of(o.getOrDefault("--data-dir", "data"));
    String url = o.getOrDefault("--url", "https://127.0.0.1:" + o.getOrDefault("--http-port", "8443"));
    String until = o.getOrDefault("--until", "now");
    String from = o.get("--from");
    Optional<String> resumeAt = lastOffset(to);
    if (from == null) from = resumeAt.orElse("earliest");
    else if (resumeAt.isPresent()) {
      throw new IllegalArgumentException(to + " already holds an export; drop --from to resume it, or choose a new file");
    }

    if (!Files.exists(SharedAccessPolicies.fileIn(dataDir))) {
      throw new IllegalArgumentException("no node credentials under " + dataDir.toAbsolutePath()
          + " (give the running node's --data-dir)");
    }
    SharedAccessPolicy policy = SharedAccessPolicies.loadOrCreate(dataDir).get(SharedAccessPolicies.SERVICE);
    String host = URI.create(url).getHost() + ":" + URI.create(url).getPort();
    String token = SasToken.signForService(host, policy.keyName(), policy.keys().primaryKey(),
        Instant.now().plus(Duration.ofHours(12)).getEpochSecond());
    HttpClient http = HttpClient.newBuilder()
        .sslContext(TlsMaterial.clientSslContext(dataDir.resolve("tls").resolve("ca.pem")))
        .connectTimeout(Duration.ofSeconds(10)).build();
    URI streamUri = URI.create(url + "/streams/all?from=" + enc(from) + "&to=" + enc(until));
    HttpResponse<Stream<String>> response = http.send(HttpRequest.newBuilder(streamUri)
        .header("Authorization", token).header("Accept", "application/x-ndjson").GET().build(),
        HttpResponse.BodyHandlers.ofLines());
    if (response.statusCode() != 200) {
      String body = String.join("\n", response.body().toList());
      throw new IllegalStateException("node answered " + response.statusCode() + ": " + body);
    }

    Progress progress = new Progress(err, until.equalsIgnoreCase("now") ? Instant.now() : Instant.parse(until));
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
        progress.update(written, JSON.readTree(line));
      }
    }
    progress.done(written, to, resumeAt.isPresent());
    return 0;
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

  private static Map<String, String> options(String[] args) {
    Map<String, String> o = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("usage: ./twinhub export --to FILE.ndjson [--from earliest|OFFSET|ISO-INSTANT]"
            + " [--until now|ISO-INSTANT] [--data-dir DIR] [--http-port N | --url https://HOST:PORT]");
      }
      o.put(args[i], args[++i]);
    }
    return o;
  }

  private static String require(Map<String, String> o, String key) {
    String v = o.get(key);
    if (v == null) throw new IllegalArgumentException(key + " is required");
    return v;
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  /** A one-line progress bar on stderr, by event time towards the export's end time. */
  static final class Progress {
    private final PrintStream err;
    private final Instant until;
    private final long startNanos = System.nanoTime();
    private Instant first;
    private long lastPrint;

    Progress(PrintStream err, Instant until) {
      this.err = err;
      this.until = until;
    }

    void update(long count, JsonNode message) {
      long now = System.nanoTime();
      if (now - lastPrint < 200_000_000L) return;
      lastPrint = now;
      Instant at = Instant.parse(message.path("systemProperties").path("$iothub-enqueuedtime").asText(until.toString()));
      if (first == null) first = at;
      double span = Math.max(1, Duration.between(first, until).toMillis());
      double done = Math.min(1, Math.max(0, Duration.between(first, at).toMillis() / span));
      int bars = (int) (done * 30);
      double rate = count / Math.max(0.001, (now - startNanos) / 1e9);
      err.printf("\r[%s%s] %3.0f%%  %,d events  at %s  %,.0f/s   ", "#".repeat(bars), "-".repeat(30 - bars),
          done * 100, count, at, rate);
    }

    void done(long count, Path to, boolean resumed) {
      double seconds = (System.nanoTime() - startNanos) / 1e9;
      err.printf("\r[%s] 100%%  %,d events %s %s in %.1f s%n", "#".repeat(30), count,
          resumed ? "appended to" : "written to", to, seconds);
    }
  }
}
