package io.twinhub.node.api.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.node.NodeSettings;
import io.twinhub.node.TwinhubNode;
import io.twinhub.node.security.SharedAccessPolicies;
import io.twinhub.node.security.TlsMaterial;
import io.twinhub.twin.auth.ConnectionString;
import io.twinhub.twin.auth.SasToken;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code ./twinhub device create|get|delete <id>} and {@code ./twinhub twin get|patch <id>}: a small
 * client of the node's REST API, the same HTTPS + SAS path every back end uses. By default it finds
 * the node as {@code ./twinhub run} configured it (data dir, host name, port from application.conf,
 * TWINHUB_* variables and flags), signs with the {@code iothubowner} key from
 * {@code <data-dir>/security/policies.json} and trusts {@code <data-dir>/tls/ca.pem}.
 */
public final class ApiCli {

  static final String API_VERSION = "2021-04-12";
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  static final String USAGE = """
      usage: ./twinhub device create <id> [--disabled] [--edge]
             ./twinhub device get <id>
             ./twinhub device delete <id> [--etag ETAG]
             ./twinhub twin get <id> [--module MODULE]
             ./twinhub twin patch <id> '<json>' [--module MODULE] [--etag ETAG]
      options: --data-dir DIR            the node's data dir (TWINHUB_DATA_DIR, default ./data): key and CA
               --url https://HOST:PORT   the REST API (default https://<host-name>:<http-port> of the config)
               --connection-string CS    sign with this service connection string instead
                                         (TWINHUB_CONNECTION_STRING)
               --ca PEM                  the CA to trust (default <data-dir>/tls/ca.pem)""";

  private ApiCli() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs one command; 0 = done, 1 = the hub refused it, 2 = usage or connection problem. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    List<String> positional = new ArrayList<>();
    Map<String, String> options = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--disabled") || a.equals("--edge")) {
        options.put(a, "true");
      } else if (a.startsWith("--")) {
        if (i + 1 >= args.length) {
          return usage(err, "option " + a + " needs a value");
        }
        options.put(a, args[++i]);
      } else {
        positional.add(a);
      }
    }
    if (positional.size() < 3) {
      return usage(err, null);
    }
    String resource = positional.get(0);
    String verb = positional.get(1);
    String id = positional.get(2);
    String module = options.get("--module");
    String twinPath = "/twins/" + enc(id) + (module == null ? "" : "/modules/" + enc(module));
    Request request = switch (resource + " " + verb) {
      case "device create" -> new Request("PUT", "/devices/" + enc(id), deviceBody(id, options), null);
      case "device get" -> new Request("GET", "/devices/" + enc(id), null, null);
      case "device delete" -> new Request("DELETE", "/devices/" + enc(id), null, options.getOrDefault("--etag", "*"));
      case "twin get" -> new Request("GET", twinPath, null, null);
      case "twin patch" -> positional.size() < 4 ? null : new Request("PATCH", twinPath, positional.get(3), options.get("--etag"));
      default -> null;
    };
    if (request == null) {
      return usage(err, "unknown command '" + String.join(" ", positional) + "'");
    }
    NodeTarget target;
    try {
      target = NodeTarget.resolve(options);
    } catch (IllegalArgumentException | IOException | java.security.GeneralSecurityException e) {
      err.println("twinhub: " + e.getMessage());
      return 2;
    }
    return send(target, request, out, err);
  }

  private record Request(String method, String path, String body, String ifMatch) {}

  private static int send(NodeTarget target, Request request, PrintStream out, PrintStream err) {
    HttpClient.Builder http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
    if (target.ssl() != null) {
      http.sslContext(target.ssl());
    }
    URI uri = URI.create(target.base().toString().replaceAll("/+$", "") + request.path() + "?api-version=" + API_VERSION);
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
        .header("Authorization", target.authorization());
    if (request.ifMatch() != null) {
      b.header("If-Match", request.ifMatch());
    }
    if (request.body() != null) {
      b.header("Content-Type", "application/json; charset=utf-8");
      b.method(request.method(), HttpRequest.BodyPublishers.ofString(request.body(), StandardCharsets.UTF_8));
    } else {
      b.method(request.method(), HttpRequest.BodyPublishers.noBody());
    }
    HttpResponse<String> response;
    try {
      response = http.build().send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (ConnectException e) {
      err.println("twinhub: cannot reach " + target.base() + " (is the node running? ./twinhub run)");
      return 2;
    } catch (IOException e) {
      err.println("twinhub: " + target.base() + ": " + e);
      return 2;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 2;
    }
    int status = response.statusCode();
    if (status >= 200 && status < 300) {
      if (!response.body().isEmpty()) {
        out.println(pretty(response.body()));
      } else {
        out.println(request.method() + " " + request.path() + ": " + status);
      }
      return 0;
    }
    err.println("twinhub: " + status + " " + errorText(response));
    return 1;
  }

  /** "DeviceNotFound (404001): Device x not found" from IoT Hub's error body. */
  private static String errorText(HttpResponse<String> response) {
    String name = response.headers().firstValue("iothub-errorcode").orElse("");
    return io.twinhub.twin.error.IotHubError.parseBody(response.body())
        .map(inner -> name + " (" + inner.path("errorCode").asInt() + "): " + inner.path("message").asText())
        .orElse(name + " " + response.body());
  }

  private static String deviceBody(String id, Map<String, String> options) {
    ObjectNode body = JSON.createObjectNode();
    body.put("deviceId", id);
    body.put("status", options.containsKey("--disabled") ? "disabled" : "enabled");
    if (options.containsKey("--edge")) {
      body.putObject("capabilities").put("iotEdge", true);
    }
    return body.toString();
  }

  private static String pretty(String body) {
    try {
      return JSON.writeValueAsString(JSON.readTree(body));
    } catch (IOException e) {
      return body;
    }
  }

  /** Ids go into the path percent-encoded, so any id reaches the API as typed (and is judged there). */
  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static int usage(PrintStream err, String problem) {
    if (problem != null) {
      err.println("twinhub: " + problem);
    }
    err.println(USAGE);
    return 2;
  }
}
