package io.twinhub.node.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** {@code ./twinhub kafka status}: the change-feed publisher's progress, from a node's /metrics (docs/KAFKA.md). */
@Command(name = "kafka", description = "The change feed on Kafka (docs/KAFKA.md).",
    subcommands = picocli.CommandLine.HelpCommand.class)
public final class KafkaCommand {

  @Command(name = "status", description = "Whether the Kafka feed publisher runs on a node, what it published and its lag (from the node's /metrics).")
  int status(@Mixin OutputOptions output,
             @Option(names = "--management-url", paramLabel = "URL", defaultValue = "http://127.0.0.1:8558",
                 description = "the node's management endpoint (default ${DEFAULT-VALUE})") String url) {
    String metrics;
    try {
      HttpResponse<String> r = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
          .send(HttpRequest.newBuilder(URI.create(url.replaceAll("/+$", "") + "/metrics")).timeout(Duration.ofSeconds(30)).build(),
              HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) throw new TwinhubCli.CommandFailure(url + "/metrics answered " + r.statusCode());
      metrics = r.body();
    } catch (IOException e) {
      throw new TwinhubCli.CommandFailure("cannot reach " + url + " (is the node running? ./twinhub run --kafka)");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TwinhubCli.CommandFailure("interrupted");
    }
    Double lag = sample(metrics, "twinhub_kafka_feed_lag_seconds");
    Double published = sample(metrics, "twinhub_kafka_feed_published");
    if (lag == null && published == null) throw new TwinhubCli.CommandFailure("the node at " + url + " does not publish to Kafka (start it with --kafka or --kafka-bootstrap)");
    ObjectNode out = HubClient.JSON.createObjectNode();
    boolean here = published != null && !published.isNaN();
    out.put("publisherOnThisNode", here);
    if (here) out.put("published", published.longValue());
    if (lag != null && !lag.isNaN()) out.put("lagSeconds", lag);
    output.print(out, OutputOptions.Format.table);
    return 0;
  }

  /** The value of a Prometheus sample (its first series), or null when absent. */
  static Double sample(String metrics, String name) {
    for (String line : metrics.split("\n")) {
      if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
        return Double.valueOf(line.substring(line.lastIndexOf(' ') + 1).strip());
      }
    }
    return null;
  }
}
