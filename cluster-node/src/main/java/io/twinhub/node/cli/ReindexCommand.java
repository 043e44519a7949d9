package io.twinhub.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.node.NodeSettings;
import io.twinhub.node.OfflineReindex;
import io.twinhub.projections.index.QueryIndex;
import io.twinhub.projections.index.Reindexer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code ./twinhub reindex}: rebuilds a node's query index from the journal, with a progress bar.
 * On a stopped node it works on the data dir directly (starting its embedded Cassandra); on a
 * running node it asks the node ({@code POST /query-index/reindex}), which keeps answering
 * queries from the old index until the new one is swapped in, and follows its progress.
 */
@Command(name = "reindex", description = {
    "Rebuild the query index from the journal, with a progress bar.",
    "On a running node it asks the node (queries keep working until the new index is swapped in); on a stopped one it",
    "rebuilds <data-dir>/index itself. Options as for run."})
public final class ReindexCommand implements Callable<Integer> {
  @Mixin
  NodeOptions node;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    return run(node.settings(), spec.commandLine().getOut());
  }

  static int run(NodeSettings settings, PrintWriter out) throws Exception {
    ProgressBar bar = new ProgressBar(out, "events");
    Optional<Reindexer.Progress> offline = OfflineReindex.runIfStopped(settings, out, p -> show(bar, p));
    if (offline.isPresent()) {
      bar.done(offline.get().events(), String.format("%,d twins: query index rebuilt", offline.get().twins()));
      return 0;
    }
    out.println("a node is running on " + settings.dataDir() + ": asking it to reindex (it keeps serving queries)");
    out.flush();
    return online(settings, out, bar);
  }

  private static void show(ProgressBar bar, Reindexer.Progress p) {
    bar.update(p.events(), p.fraction(), String.format("%,d twins", p.twins()));
  }

  /** Starts (or joins) the running node's live reindex and draws its progress until it is swapped in. */
  static int online(NodeSettings settings, PrintWriter out, ProgressBar bar) throws Exception {
    HubClient hub = ApiOptions.connect(settings);
    HttpResponse<String> started = hub.send("POST", "/query-index/reindex", null, Map.of());
    switch (started.statusCode()) {
      case 202 -> { }
      case 409 -> out.println("a reindex is already running on the node; following it");
      case 404 -> throw new TwinhubCli.CommandFailure("the node at " + hub.base() + " has no query index (query role off)");
      default -> HubClient.requireSuccess(started);
    }
    while (true) {
      Thread.sleep(500);
      JsonNode status = hub.expectJson(hub.send("GET", "/query-index/status", null, Map.of()));
      JsonNode rebuild = status.path("rebuild");
      if (rebuild.isMissingNode()) continue;
      Reindexer.Progress p = QueryIndex.progressFromJson(rebuild);
      if (rebuild.hasNonNull("error")) {
        out.println();
        throw new TwinhubCli.CommandFailure("the reindex failed: " + rebuild.get("error").asText());
      }
      if ("live".equals(status.path("state").asText())) {
        // Live again after the POST made it "rebuilding": the reindex is over, swapped in or not.
        if (!p.done()) {
          out.println();
          throw new TwinhubCli.CommandFailure("the reindex ended without completing (" + rebuild + "); see the node's log");
        }
        bar.done(p.events(), String.format("%,d twins: query index rebuilt and swapped in", status.path("twins").asLong()));
        return 0;
      }
      show(bar, p);
    }
  }
}
