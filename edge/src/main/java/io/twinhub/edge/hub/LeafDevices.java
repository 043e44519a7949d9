package io.twinhub.edge.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.twin.auth.SasToken;
import io.twinhub.twin.auth.SymmetricKeyPair;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The devices behind this gateway (leaf devices): identities whose {@code parentScopes} hold the
 * edge device's scope, read from the hub's device-scope API
 * ({@code GET /devices/{edge}/modules/$edgeHub/deviceAndModuleInDeviceScope?targetDeviceId=}) as
 * IoT Edge's edgeHub reads them when a device it does not know connects. The keys are what edgeHub
 * verifies the leaf's token with and signs the leaf's own connection to the hub with. The last
 * answer is kept, so a known leaf device still connects while the hub is unreachable (as in IoT
 * Edge); a leaf the hub says is not in scope (any more) is forgotten.
 */
public final class LeafDevices {
  static final String API_VERSION = "2021-04-12";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient http;
  private final String hostName;
  private final String baseUrl;
  private final String deviceId;
  private final String deviceKey;
  private final Map<String, SymmetricKeyPair> known = new ConcurrentHashMap<>();

  public LeafDevices(String hostName, int httpsPort, SSLContext tls, String deviceId, String deviceKey) {
    this.http = HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(10)).build();
    this.hostName = hostName;
    this.baseUrl = "https://" + hostName + ":" + httpsPort;
    this.deviceId = deviceId;
    this.deviceKey = deviceKey;
  }

  /**
   * The keys of {@code leafId} when it is a device behind this gateway: asks the hub, or while
   * the hub does not answer, the last answer it gave.
   */
  public Optional<SymmetricKeyPair> keys(String leafId) {
    try {
      Optional<SymmetricKeyPair> fresh = lookUp(leafId);
      if (fresh.isPresent()) known.put(leafId, fresh.get());
      else known.remove(leafId);
      return fresh;
    } catch (IOException unreachable) {
      return Optional.ofNullable(known.get(leafId));
    }
  }

  /** The keys last learned (no hub round trip): what edgeHub signs the leaf's upstream connection with. */
  public Optional<SymmetricKeyPair> known(String leafId) {
    return Optional.ofNullable(known.get(leafId));
  }

  private Optional<SymmetricKeyPair> lookUp(String leafId) throws IOException {
    String token = SasToken.signForDevice(hostName, deviceId, null, deviceKey, System.currentTimeMillis() / 1000 + 600);
    HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + "/devices/" + encode(deviceId)
            + "/modules/" + encode(EdgeHub.MODULE_ID) + "/deviceAndModuleInDeviceScope?targetDeviceId=" + encode(leafId)
            + "&targetModuleId=&api-version=" + API_VERSION))
        .timeout(Duration.ofSeconds(30)).header("Authorization", token).GET().build();
    HttpResponse<String> r;
    try {
      r = http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted");
    }
    if (r.statusCode() >= 500) throw new IOException("device scope lookup answered " + r.statusCode());
    if (r.statusCode() != 200) return Optional.empty();
    for (JsonNode d : JSON.readTree(r.body()).path("devices")) {
      if (!leafId.equals(d.path("deviceId").asText()) || !"enabled".equals(d.path("status").asText())) continue;
      JsonNode keys = d.path("authentication").path("symmetricKey");
      if (!keys.path("primaryKey").isTextual()) continue;
      return Optional.of(new SymmetricKeyPair(keys.path("primaryKey").asText(), keys.path("secondaryKey").asText(null)));
    }
    return Optional.empty();
  }

  private static String encode(String id) {
    return URLEncoder.encode(id, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
