package io.twinhub.edge.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * IoT Edge's workload API, the part the device SDKs use when a module has no connection string
 * ({@code ModuleClient.createFromEnvironment} / {@code fromEnvironment} with
 * {@code IOTEDGE_WORKLOADURI} and {@code IOTEDGE_AUTHSCHEME=sasToken}):
 * <ul>
 *   <li>{@code POST /modules/{m}/genid/{g}/sign?api-version=} with
 *   {@code {"keyId":"primary","algo":"HMACSHA256","data":"<base64>"}} → {@code {"digest":"<base64>"}},
 *   the HMAC-SHA256 of the data under the module's key (the module never sees its key);</li>
 *   <li>{@code GET /trust-bundle?api-version=} → {@code {"certificate":"<PEM>"}}, the edge CA
 *   edgeHub's certificate chains to.</li>
 * </ul>
 * IoT Edge serves it on a unix socket whose peer it checks against the module's container; here
 * it is plain HTTP on a port of {@code localhost} (the SDKs accept {@code http://} workload URIs), so any
 * local process could ask for a module's signature: the edge device is trusted as a whole.
 * A generation id that is not the module's current one is 404, as in IoT Edge (a module from a
 * deleted and re-created identity must not sign as the new one).
 */
public final class WorkloadApi implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WorkloadApi.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The workload API version the agent hands modules ({@code IOTEDGE_APIVERSION}). */
  public static final String API_VERSION = "2019-01-30";
  private static final Pattern SIGN = Pattern.compile("/modules/([^/]+)/genid/([^/]+)/sign/?");

  private final ModuleIdentities identities;
  private final Path caPem;
  private final List<HttpServer> servers;
  /** The servers' handler threads: HttpServer.stop leaves an executor set by the caller running. */
  private final java.util.concurrent.ExecutorService executor;

  public WorkloadApi(ModuleIdentities identities, Path caPem) throws IOException {
    this.identities = identities;
    this.caPem = caPem;
    this.servers = bindLocalhost();
    this.executor = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "workload-api");
      t.setDaemon(true);
      return t;
    });
    for (HttpServer server : servers) {
      server.createContext("/", this::handle);
      server.setExecutor(executor);
    }
  }

  /**
   * A free port on every address of {@code localhost}: the Java SDK refuses an {@code http://}
   * workload URI whose host is not literally {@code localhost}, and clients may resolve it to
   * 127.0.0.1 or ::1.
   */
  private static List<HttpServer> bindLocalhost() throws IOException {
    InetAddress[] addresses = InetAddress.getAllByName("localhost");
    IOException last = null;
    for (int attempt = 0; attempt < 10; attempt++) {
      List<HttpServer> bound = new ArrayList<>();
      try {
        bound.add(HttpServer.create(new InetSocketAddress(addresses[0], 0), 16));
        int port = bound.get(0).getAddress().getPort();
        for (int i = 1; i < addresses.length; i++) {
          bound.add(HttpServer.create(new InetSocketAddress(addresses[i], port), 16));
        }
        return bound;
      } catch (IOException e) {
        last = e;
        bound.forEach(s -> s.stop(0));
      }
    }
    throw last;
  }

  public void start() {
    servers.forEach(HttpServer::start);
    log.info("workload API on {}", uri());
  }

  /** {@code IOTEDGE_WORKLOADURI}: {@code http://localhost:<port>/}. */
  public URI uri() {
    return URI.create("http://localhost:" + servers.get(0).getAddress().getPort() + "/");
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      Matcher sign = SIGN.matcher(path);
      if (ex.getRequestMethod().equals("GET") && (path.equals("/trust-bundle") || path.equals("/trust-bundle/"))) {
        answer(ex, 200, JSON.createObjectNode().put("certificate", Files.readString(caPem)));
      } else if (ex.getRequestMethod().equals("POST") && sign.matches()) {
        sign(ex, decode(sign.group(1)), decode(sign.group(2)));
      } else {
        answer(ex, 404, error("no such workload API resource: " + ex.getRequestMethod() + " " + path));
      }
    } catch (RuntimeException e) {
      log.warn("workload API request failed: {}", e.toString());
    }
  }

  private void sign(HttpExchange ex, String moduleId, String generationId) throws IOException {
    Optional<ModuleIdentities.ModuleIdentity> id = identities.known(moduleId);
    if (id.isEmpty() || !id.get().generationId().equals(generationId)) {
      answer(ex, 404, error("module " + moduleId + " with generation id " + generationId + " not found"));
      return;
    }
    JsonNode body;
    try (InputStream in = ex.getRequestBody()) {
      body = JSON.readTree(in.readNBytes(64 * 1024));
    } catch (IOException e) {
      answer(ex, 400, error("the body is not JSON"));
      return;
    }
    String keyId = body.path("keyId").asText("");
    String algo = body.path("algo").asText("");
    if (!algo.equals("HMACSHA256") || !(keyId.equals("primary") || keyId.equals("secondary")) || !body.path("data").isTextual()) {
      answer(ex, 400, error("expected {\"keyId\":\"primary\"|\"secondary\",\"algo\":\"HMACSHA256\",\"data\":\"<base64>\"}"));
      return;
    }
    String key = keyId.equals("primary") ? id.get().keys().primaryKey() : id.get().keys().secondaryKey();
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(Base64.getDecoder().decode(key), "HmacSHA256"));
      byte[] digest = mac.doFinal(Base64.getDecoder().decode(body.get("data").asText()));
      answer(ex, 200, JSON.createObjectNode().put("digest", Base64.getEncoder().encodeToString(digest)));
    } catch (IllegalArgumentException e) {
      answer(ex, 400, error("data is not base64"));
    } catch (GeneralSecurityException e) {
      answer(ex, 500, error("signing failed: " + e.getMessage()));
    }
  }

  private static String decode(String s) {
    return URLDecoder.decode(s, StandardCharsets.UTF_8);
  }

  private static ObjectNode error(String message) {
    return JSON.createObjectNode().put("message", message);
  }

  private static void answer(HttpExchange ex, int status, JsonNode body) throws IOException {
    byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    servers.forEach(s -> s.stop(0));
    executor.shutdownNow();
  }
}
