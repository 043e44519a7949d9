package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import io.twinhub.node.security.SharedAccessPolicies;
import io.twinhub.mqtt.tls.TlsMaterial;
import io.twinhub.twin.auth.SasToken;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** A plain java.net.http client of the REST API for tests: tokens minted from the node's policies. */
final class ApiClient {

  static final String API_VERSION = "api-version=2021-04-12";
  static final ObjectMapper JSON = new ObjectMapper();

  /** An answer: status, headers, body (parsed when it is JSON). */
  record Reply(int status, Map<String, String> headers, String text) {
    JsonNode json() {
      try {
        return text.isEmpty() ? MissingNode.getInstance() : JSON.readTree(text);
      } catch (Exception e) {
        throw new AssertionError("not JSON: " + text, e);
      }
    }

    Optional<String> header(String name) {
      return Optional.ofNullable(headers.get(name.toLowerCase()));
    }

    /** The numeric errorCode inside IoT Hub's double-encoded error body. */
    int errorCode() {
      return inner().path("errorCode").asInt(-1);
    }

    String errorMessage() {
      return inner().path("message").asText();
    }

    /** The code and message inside IoT Hub's error body ({@link io.twinhub.twin.error.IotHubError#parseBody}). */
    private JsonNode inner() {
      return io.twinhub.twin.error.IotHubError.parseBody(text)
          .orElseThrow(() -> new AssertionError("not an IoT Hub error body: " + text));
    }

    @Override
    public String toString() {
      return status + " " + text;
    }
  }

  final String base;
  final HttpClient http;
  final SharedAccessPolicies policies;
  final String hostName;
  final Path caPem;

  ApiClient(String base, Path caPem, SharedAccessPolicies policies, String hostName) throws Exception {
    this.base = base;
    this.caPem = caPem;
    this.http = HttpClient.newBuilder()
        .sslContext(TlsMaterial.clientSslContext(caPem))
        .version(HttpClient.Version.HTTP_1_1)
        // A TLS connect on a loaded 2-core box can take seconds; a refused one fails at once anyway.
        .connectTimeout(Duration.ofSeconds(15))
        .build();
    this.policies = policies;
    this.hostName = hostName;
  }

  /** A token of {@code policy} scoped to the hub, valid for an hour. */
  String token(String policy) {
    return SasToken.signForService(hostName, policy, policies.get(policy).keys().primaryKey(),
        Instant.now().getEpochSecond() + 3600);
  }

  String ownerToken() {
    return token(SharedAccessPolicies.IOTHUBOWNER);
  }

  Reply get(String path) throws Exception {
    return send("GET", path + sep(path) + API_VERSION, null, Map.of());
  }

  Reply put(String path, String body) throws Exception {
    return send("PUT", path + sep(path) + API_VERSION, body, Map.of());
  }

  Reply put(String path, String body, String ifMatch) throws Exception {
    return send("PUT", path + sep(path) + API_VERSION, body, Map.of("If-Match", ifMatch));
  }

  Reply patch(String path, String body, String ifMatch) throws Exception {
    return send("PATCH", path + sep(path) + API_VERSION, body, ifMatch == null ? Map.of() : Map.of("If-Match", ifMatch));
  }

  Reply post(String path, String body) throws Exception {
    return send("POST", path + sep(path) + API_VERSION, body, Map.of());
  }

  Reply delete(String path, String ifMatch) throws Exception {
    return send("DELETE", path + sep(path) + API_VERSION, null, ifMatch == null ? Map.of() : Map.of("If-Match", ifMatch));
  }

  /**
   * A request exactly as given: {@code rawPathAndQuery} is sent unchanged, an Authorization
   * header with the owner token is added unless {@code headers} names one ("" = none at all), and
   * a body gets {@code Content-Type: application/json} unless {@code headers} names one.
   */
  Reply send(String method, String rawPathAndQuery, String body, Map<String, String> headers) throws Exception {
    return sendBytes(method, rawPathAndQuery, body == null ? null : body.getBytes(StandardCharsets.UTF_8), headers);
  }

  Reply sendBytes(String method, String rawPathAndQuery, byte[] body, Map<String, String> headers) throws Exception {
    return sendBytes(method, rawPathAndQuery, body, headers, Duration.ofSeconds(30));
  }

  /** {@link #sendBytes} waiting up to {@code timeout} for the answer (a JAR upload on a loaded box). */
  Reply sendBytes(String method, String rawPathAndQuery, byte[] body, Map<String, String> headers, Duration timeout) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + rawPathAndQuery)).timeout(timeout);
    Map<String, String> h = new LinkedHashMap<>();
    h.put("Authorization", ownerToken());
    if (body != null) {
      h.put("Content-Type", "application/json; charset=utf-8");
    }
    h.putAll(headers);
    h.forEach((k, v) -> {
      if (!v.isEmpty()) b.header(k, v);
    });
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    Map<String, String> headersOut = new LinkedHashMap<>();
    r.headers().map().forEach((k, v) -> headersOut.put(k.toLowerCase(), String.join(",", v)));
    return new Reply(r.statusCode(), headersOut, r.body());
  }

  /**
   * Sends {@code requestHead} (request line and headers, without the final empty line; an
   * Authorization header with the owner token and Connection: close are added) byte for byte over
   * a fresh TLS connection: for requests java.net.http refuses to build (malformed URIs).
   */
  Reply raw(String requestHead, byte[] body) throws Exception {
    URI uri = URI.create(base);
    javax.net.ssl.SSLContext ctx = TlsMaterial.clientSslContext(caPem);
    try (javax.net.ssl.SSLSocket socket = (javax.net.ssl.SSLSocket) ctx.getSocketFactory().createSocket(uri.getHost(), uri.getPort())) {
      socket.setSoTimeout(30_000);
      java.io.OutputStream out = socket.getOutputStream();
      String head = requestHead + "\r\nHost: " + uri.getHost() + ":" + uri.getPort()
          + "\r\nAuthorization: " + ownerToken() + "\r\nConnection: close\r\n\r\n";
      out.write(head.getBytes(StandardCharsets.ISO_8859_1));
      if (body != null) out.write(body);
      out.flush();
      String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      int headEnd = response.indexOf("\r\n\r\n");
      String[] lines = response.substring(0, headEnd).split("\r\n");
      Map<String, String> headers = new LinkedHashMap<>();
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        headers.put(lines[i].substring(0, colon).strip().toLowerCase(), lines[i].substring(colon + 1).strip());
      }
      return new Reply(Integer.parseInt(lines[0].split(" ")[1]), headers, response.substring(headEnd + 4));
    }
  }

  private static String sep(String path) {
    return path.contains("?") ? "&" : "?";
  }
}
