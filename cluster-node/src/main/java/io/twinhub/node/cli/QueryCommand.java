package io.twinhub.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.twinhub.node.cli.OutputOptions.Format;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code ./twinhub query "SELECT ..."}: IoT Hub's query language through {@code POST /devices/query},
 * page after page ({@code x-ms-max-item-count}, {@code x-ms-continuation}) until the result or
 * {@code --max-items} ends; the token to go on with is printed when it stops early.
 */
@Command(name = "query", description = "Query twins with IoT Hub's query language (POST /devices/query), with paging.")
public final class QueryCommand implements Callable<Integer> {
  @Mixin
  ApiOptions api;

  @Mixin
  OutputOptions output;

  @Parameters(paramLabel = "QUERY", description = "e.g. \"SELECT deviceId, properties.reported.fw FROM devices WHERE tags.site = 'plant-7'\"")
  String query;

  @Option(names = "--page-size", paramLabel = "N", defaultValue = "100",
      description = "items per page, x-ms-max-item-count (default ${DEFAULT-VALUE})")
  int pageSize;

  @Option(names = "--max-items", paramLabel = "N", defaultValue = "1000",
      description = "stop after this many items and print the continuation token (default ${DEFAULT-VALUE}; 0 = all)")
  long maxItems;

  @Option(names = "--continuation", paramLabel = "TOKEN", description = "resume after the page that gave this token")
  String continuation;

  @Override
  public Integer call() {
    if (pageSize < 1) throw new IllegalArgumentException("--page-size must be at least 1");
    HubClient hub = api.connect();
    String body = HubClient.JSON.createObjectNode().put("query", query).toString();
    ArrayNode items = HubClient.JSON.createArrayNode();
    Optional<String> next = Optional.ofNullable(continuation);
    do {
      Map<String, String> headers = new HashMap<>();
      headers.put("x-ms-max-item-count", Integer.toString(pageSize));
      next.ifPresent(t -> headers.put("x-ms-continuation", t));
      HttpResponse<String> r = hub.send("POST", "/devices/query", body, headers);
      JsonNode page = hub.expectJson(r);
      if (page.isArray()) page.forEach(items::add);
      else items.add(page);
      next = r.headers().firstValue("x-ms-continuation").filter(t -> !t.isBlank());
    } while (next.isPresent() && (maxItems == 0 || items.size() < maxItems));
    output.print(items, Format.table);
    next.ifPresent(t -> {
      mixeeErr().printf("more results: go on with --continuation '%s'%n", t);
      mixeeErr().flush();
    });
    return 0;
  }

  private java.io.PrintWriter mixeeErr() {
    return output.mixee.commandLine().getErr();
  }
}
