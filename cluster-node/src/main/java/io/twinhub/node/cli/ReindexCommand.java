package io.twinhub.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.node.NodeSettings;
import io.twinhub.node.OfflineReindex;
import io.twinhub.node.api.cli.NodeTarget;
import io.twinhub.projections.index.QueryIndex;
import io.twinhub.projections.index.Reindexer;

import java.io.PrintStream;
import java.net.ConnectException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * {@code ./twinhub reindex}: rebuilds a node's query index from the journal, with a progress bar.
 * On a stopped node it works on the data dir directly (starting its embedded Cassandra); on a
 * running node it asks the node ({@code POST /query-index/reindex}), which keeps answering
 * queries from the old index until the new one is swapped in, and follows its progress.
 */
public final class ReindexCommand {
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String USAGE = "usage: ./twinhub reindex [--data-dir DIR] [--http-port N] [--cassandra-port N]"
      + " [--cassandra-contact-points H:P,...]";

  private ReindexCommand() {}

  public static void main(String[] args) {
    int code;
    try {
      code = run(args, System.err);
    } catch (IllegalArgumentException e) {
      System.err.println("twinhub reindex: " + e.getMessage());
      code = 64;
    } catch (Exception e) {
      System.err.println("twinhub reindex: " + e.getMessage());
      code = 1;
    }
    System.exit(code);
  }

  static int run(String[] args, PrintStream out) throws Exception {
    return run(NodeSettings.fromArgs(args), out);
  }

  static int run(NodeSettings settings, PrintStream out) throws Exception {
    Optional<Reindexer.Progress> offline = OfflineReindex.runIfStopped(settings, out);
    if (offline.isPresent()) {
      out.printf("query index rebuilt: %,d events, %,d twins, %.1f s%n", offline.get().events(), offline.get().twins(),
          offline.get().elapsed().toMillis() / 1000.0);
      return 0;
    }
    out.println("a node is running on " + settings.dataDir() + ": asking it to reindex (it keeps serving queries)");
    return online(settings, out);
  }

  /** Starts (or joins) the running node's live reindex and draws its progress until it is swapped in. */
  static int online(NodeSettings settings, PrintStream out) throws Exception {
    Map<String, String> options = new LinkedHashMap<>();
    options.put("--data-dir", settings.dataDir().toString());
    options.put("--http-port", String.valueOf(settings.httpPort()));
    NodeTarget node = NodeTarget.resolve(options);
    var http = node.http();
    HttpResponse<String> started;
    try {
      started = http.send(HttpRequest.newBuilder(node.uri("/query-index/reindex")).timeout(Duration.ofSeconds(30))
          .header("Authorization", node.authorization()).POST(HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (ConnectException e) {
      throw new IllegalStateException("the node holding " + settings.dataDir() + " does not answer on " + node.base()
          + " (give its --http-port)");
    }
    switch (started.statusCode()) {
      case 202 -> { }
      case 409 -> out.println("a reindex is already running on the node; following it");
      case 404 -> throw new IllegalStateException("the node at " + node.base() + " has no query index (query role off)");
      default -> throw new IllegalStateException("the node answered " + started.statusCode() + ": " + started.body());
    }
    while (true) {
      Thread.sleep(500);
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(node.uri("/query-index/status"))
          .timeout(Duration.ofSeconds(30)).header("Authorization", node.authorization()).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) throw new IllegalStateException("status: " + r.statusCode() + " " + r.body());
      JsonNode status = JSON.readTree(r.body());
      JsonNode rebuild = status.path("rebuild");
      if (rebuild.isMissingNode()) continue;
      Reindexer.Progress p = QueryIndex.progressFromJson(rebuild);
      out.print("\r" + Reindexer.bar(p));
      out.flush();
      if (rebuild.hasNonNull("error")) {
        out.println();
        throw new IllegalStateException("the reindex failed: " + rebuild.get("error").asText());
      }
      if (p.done() && "live".equals(status.path("state").asText())) {
        out.println();
        out.printf("query index rebuilt and swapped in: %,d twins%n", status.path("twins").asLong());
        return 0;
      }
    }
  }
}
