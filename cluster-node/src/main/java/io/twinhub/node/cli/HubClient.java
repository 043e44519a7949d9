package io.twinhub.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import javax.net.ssl.SSLContext;
import io.twinhub.twin.error.IotHubError;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/** A command's client of a node's REST API: one base URL, one SAS token, the node's CA. */
public final class HubClient {
  public static final String API_VERSION = "2021-04-12";
  static final ObjectMapper JSON = new ObjectMapper();

  private final URI base;
  private final String authorization;
  private final HttpClient http;

  HubClient(URI base, String authorization, SSLContext ssl) {
    this.base = base;
    this.authorization = authorization;
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
    if (ssl != null) b.sslContext(ssl);
    this.http = b.build();
  }

  public URI base() {
    return base;
  }

  public String authorization() {
    return authorization;
  }

  public HttpClient http() {
    return http;
  }

  /** {@code path} (from /, may carry a query) on the node, with {@code api-version}. */
  public URI uri(String path) {
    return URI.create(base.toString().replaceAll("/+$", "") + path + (path.contains("?") ? "&" : "?") + "api-version=" + API_VERSION);
  }

  /** One request; {@code body} is JSON or null. Connection problems are a {@link TwinhubCli.CommandFailure}. */
  public HttpResponse<String> send(String method, String path, String body, Map<String, String> headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60))
        .header("Authorization", authorization);
    headers.forEach(b::header);
    if (body != null) {
      b.header("Content-Type", "application/json; charset=utf-8");
      b.method(method, HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    return exchange(b.build());
  }

  /** One request with a binary body (a function app's JAR). */
  public HttpResponse<String> sendBytes(String method, String path, byte[] body, String contentType) {
    HttpRequest request = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(120))
        .header("Authorization", authorization).header("Content-Type", contentType)
        .method(method, HttpRequest.BodyPublishers.ofByteArray(body)).build();
    return exchange(request);
  }

  /** Sends {@code request}; an unreachable node, an I/O error or an interrupt is a {@link TwinhubCli.CommandFailure}. */
  private HttpResponse<String> exchange(HttpRequest request) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (ConnectException e) {
      throw new TwinhubCli.CommandFailure("cannot reach " + base + " (is the node running? ./twinhub run)");
    } catch (IOException e) {
      throw new TwinhubCli.CommandFailure(base + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TwinhubCli.CommandFailure("interrupted");
    }
  }

  /** The body as JSON when the answer is 2xx; otherwise a failure naming IoT Hub's error. */
  public JsonNode expectJson(HttpResponse<String> response) {
    requireSuccess(response);
    try {
      return response.body().isEmpty() ? JSON.nullNode() : JSON.readTree(response.body());
    } catch (IOException e) {
      throw new TwinhubCli.CommandFailure("the node answered " + response.statusCode() + " with a body that is not JSON");
    }
  }

  public static void requireSuccess(HttpResponse<String> response) {
    if (response.statusCode() / 100 != 2) {
      throw new TwinhubCli.CommandFailure(response.statusCode() + " " + errorText(response));
    }
  }

  /**
   * "DeviceNotFound (404001): Device x not found" from IoT Hub's error body: twinhub's
   * ({@link IotHubError#parseBody}: numeric code and message), else IoT Hub's classic
   * "ErrorCode:Name;message" text in {@code Message}.
   */
  static String errorText(HttpResponse<String> response) {
    String name = response.headers().firstValue("iothub-errorcode").orElse("");
    java.util.Optional<JsonNode> coded = IotHubError.parseBody(response.body());
    if (coded.isPresent()) {
      return name + " (" + coded.get().path("errorCode").asInt() + "): " + coded.get().path("message").asText();
    }
    String message;
    try {
      message = JSON.readTree(response.body()).path("Message").asText("");
    } catch (IOException | RuntimeException e) {
      return (name + " " + response.body()).trim();
    }
    String text = message.startsWith("ErrorCode:") && message.contains(";") ? message.substring(message.indexOf(';') + 1) : message;
    return (name.isEmpty() ? "" : name + ": ") + text;
  }

  /** Ids go into the path percent-encoded, so any id reaches the API as typed (and is judged there). */
  public static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
