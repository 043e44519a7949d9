package io.twinhub.node.api;

import io.twinhub.twin.auth.SasToken;
import io.twinhub.twin.auth.SymmetricKeyPair;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static io.twinhub.node.api.ApiClient.API_VERSION;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input, case by case: every request below gets a 4xx with an IoT Hub error body naming the
 * expected {@code errorCode} (and the {@code iothub-errorcode} header), and changes nothing: the
 * victim device, its module and both twins read back exactly as before, and at the end the
 * registry holds no device but the victim.
 */
class BadInputIT {

  static final String V = "victim";
  static final String TWIN = "/twins/" + V;

  @TempDir
  static Path dataDir;

  static ApiTestNode hub;
  static ApiClient api;

  /** One bad request and what it must get. */
  record Case(String name, int status, int errorCode, Function<ApiClient, ApiClient.Reply> send) {
    @Override
    public String toString() {
      return name;
    }
  }

  @BeforeAll
  static void start() throws Exception {
    hub = ApiTestNode.start(dataDir);
    api = hub.client;
    assertEquals(200, api.put("/devices/" + V, "{}").status());
    assertEquals(200, api.put("/devices/" + V + "/modules/m1", "{}").status());
    assertEquals(200, api.patch(TWIN, "{\"tags\":{\"site\":\"a\",\"n\":1},\"properties\":{\"desired\":{\"cfg\":{\"on\":true}}}}", null).status());
    assertEquals(200, api.patch(TWIN + "/modules/m1", "{\"properties\":{\"desired\":{\"rate\":5}}}", null).status());
  }

  @AfterAll
  static void stop() throws Exception {
    if (hub != null) hub.close();
  }

  static Stream<Case> cases() {
    List<Case> c = new ArrayList<>();
    // ---- malformed or mis-shaped JSON (IotHubFormatError 400006)
    c.add(patch("malformed JSON", "{\"tags\":", 400, 400006));
    c.add(patch("trailing content", "{\"tags\":{}} x", 400, 400006));
    c.add(patch("duplicate key", "{\"tags\":{\"a\":1,\"a\":2}}", 400, 400006));
    c.add(patch("empty body", "", 400, 400006));
    c.add(patch("array as body", "[1,2]", 400, 400006));
    c.add(patch("string as body", "\"tags\"", 400, 400006));
    c.add(patch("tags is an array", "{\"tags\":[1]}", 400, 400006));
    c.add(patch("properties is an array", "{\"properties\":[]}", 400, 400006));
    c.add(patch("desired is a string", "{\"properties\":{\"desired\":\"x\"}}", 400, 400006));
    c.add(replace("PUT with tags an array", "{\"tags\":[]}", 400, 400006));
    c.add(replace("PUT malformed", "{\"tags\":{\"a\":}", 400, 400006));
    c.add(patch("invalid UTF-8", null, 400, 400006, new byte[] {'{', '"', 't', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'}));
    // ---- content rules (ArgumentInvalid 400004)
    c.add(patch("array inside tags", "{\"tags\":{\"a\":[1,2]}}", 400, 400004));
    c.add(patch("key starting with $", "{\"tags\":{\"$a\":1}}", 400, 400004));
    c.add(patch("key with a dot", "{\"tags\":{\"a.b\":1}}", 400, 400004));
    c.add(patch("key with a space", "{\"properties\":{\"desired\":{\"a b\":1}}}", 400, 400004));
    c.add(patch("key with a C0 control char", "{\"tags\":{\"a\\u0001\":1}}", 400, 400004));
    c.add(patch("key with a C1 control char", "{\"tags\":{\"a\\u0085\":1}}", 400, 400004));
    c.add(patch("empty key", "{\"tags\":{\"\":1}}", 400, 400004));
    c.add(patch("key of 1025 bytes", "{\"tags\":{\"" + "k".repeat(1025) + "\":1}}", 400, 400004));
    c.add(patch("desired 11 levels below its root", "{\"properties\":{\"desired\":" + nested(12) + "}}", 400, 400004));
    c.add(patch("tags 40 levels deep (parser limit)", "{\"tags\":" + nested(40) + "}", 400, 400004));
    c.add(patch("string of 4097 bytes", "{\"tags\":{\"s\":\"" + "x".repeat(4097) + "\"}}", 400, 400004));
    c.add(patch("integer above 2^52-1", "{\"tags\":{\"n\":4503599627370496}}", 400, 400004));
    c.add(patch("integer below -2^52", "{\"properties\":{\"desired\":{\"n\":-4503599627370497}}}", 400, 400004));
    c.add(patch("integer beyond long", "{\"tags\":{\"n\":100000000000000000000000000000}}", 400, 400004));
    c.add(patch("float overflowing to infinity", "{\"tags\":{\"f\":1e400}}", 400, 400004));
    c.add(patch("client-written $metadata", "{\"properties\":{\"desired\":{\"$metadata\":{}}}}", 400, 400004));
    c.add(patch("client-written nested $version", "{\"properties\":{\"desired\":{\"cfg\":{\"$version\":3}}}}", 400, 400004));
    c.add(patch("client-written $version that is not an integer", "{\"properties\":{\"desired\":{\"$version\":\"x\"}}}", 400, 400004));
    c.add(patch("client-written negative $version", "{\"properties\":{\"desired\":{\"$version\":-1}}}", 400, 400004));
    c.add(patch("client-written $version in tags", "{\"tags\":{\"$version\":1}}", 400, 400004));
    c.add(patch("back end writing reported", "{\"properties\":{\"reported\":{\"a\":1}}}", 400, 400004));
    c.add(patch("module twin with a bad key", "/modules/m1", "{\"properties\":{\"desired\":{\"a.b\":1}}}", 400, 400004));
    // ---- sizes
    c.add(patch("tags over 8 KB", "{\"tags\":" + bigObject(3, 3000) + "}", 413, 413));
    c.add(patch("desired over 32 KB", "{\"properties\":{\"desired\":" + bigObject(9, 4000) + "}}", 413, 413));
    c.add(patch("body over 128 KB", "{\"tags\":{\"s\":\"" + "x".repeat(140_000) + "\"}}", 413, 413));
    c.add(new Case("chunked body over 128 KB", 413, 413, a -> chunked(a, 200_000)));
    // ---- content type
    c.add(patchWith("Content-Type text/plain", Map.of("Content-Type", "text/plain"), 400, 400006));
    c.add(patchWith("Content-Type application/xml", Map.of("Content-Type", "application/xml"), 400, 400006));
    c.add(patchWith("Content-Type form", Map.of("Content-Type", "application/x-www-form-urlencoded"), 400, 400006));
    c.add(new Case("JSON in Latin-1 (JSON is UTF-8 whatever the charset says)", 400, 400006, a -> sendBytes(a, "PATCH", TWIN,
        "{\"tags\":{\"caf\u00e9\":1}}".getBytes(StandardCharsets.ISO_8859_1), Map.of("Content-Type", "application/json; charset=iso-8859-1"))));
    c.add(patchWith("no Content-Type", Map.of("Content-Type", ""), 400, 400006));
    // ---- api-version (InvalidProtocolVersion 400001)
    c.add(raw("missing api-version", "GET", TWIN, null, Map.of(), 400, 400001));
    c.add(raw("unknown api-version", "GET", TWIN + "?api-version=2099-01-01", null, Map.of(), 400, 400001));
    c.add(raw("empty api-version", "GET", TWIN + "?api-version=", null, Map.of(), 400, 400001));
    c.add(raw("api-version twice", "GET", TWIN + "?api-version=2021-04-12&api-version=2020-09-30", null, Map.of(), 400, 400001));
    c.add(raw("api-version on a PATCH missing", "PATCH", TWIN, "{\"tags\":{\"x\":1}}", Map.of(), 400, 400001));
    // ---- SAS (IotHubUnauthorizedAccess 401002)
    c.add(auth("no Authorization", a -> "", 401));
    c.add(auth("expired token", a -> SasToken.signForService(a.hostName, "iothubowner",
        a.policies.get("iothubowner").keys().primaryKey(), Instant.now().getEpochSecond() - 1), 401));
    c.add(auth("token signed with another key", a -> SasToken.signForService(a.hostName, "iothubowner",
        SymmetricKeyPair.generate().primaryKey(), Instant.now().getEpochSecond() + 3600), 401));
    c.add(auth("token for another hub", a -> SasToken.signForService("otherhub.azure-devices.net", "iothubowner",
        a.policies.get("iothubowner").keys().primaryKey(), Instant.now().getEpochSecond() + 3600), 401));
    c.add(auth("device-scoped token of the victim", a -> SasToken.signForDevice(a.hostName, V, null,
        deviceKey(a), Instant.now().getEpochSecond() + 3600), 401));
    c.add(auth("policy token scoped to a device", a -> SasToken.sign(a.hostName + "/devices/" + V,
        a.policies.get("iothubowner").keys().primaryKey(), Instant.now().getEpochSecond() + 3600, "iothubowner"), 401));
    c.add(auth("unknown policy", a -> SasToken.signForService(a.hostName, "nobody",
        SymmetricKeyPair.generate().primaryKey(), Instant.now().getEpochSecond() + 3600), 401));
    c.add(auth("registryRead writing a twin", a -> a.token("registryRead"), 401));
    c.add(auth("registryReadWrite writing a twin", a -> a.token("registryReadWrite"), 401));
    c.add(auth("device policy writing a twin", a -> a.token("device"), 401));
    c.add(auth("Bearer token", a -> "Bearer abc.def.ghi", 401));
    c.add(auth("token with garbage fields", a -> "SharedAccessSignature sr=x&sig=y&se=z&foo=bar", 401));
    c.add(new Case("service policy writing the registry", 401, 401002,
        a -> send(a, "PUT", "/devices/" + V, "{}", Map.of("If-Match", "*", "Authorization", a.token("service")))));
    // ---- If-Match (PreconditionFailed 412001) and create conflicts
    c.add(new Case("PATCH with a stale etag", 412, 412001, a -> send(a, "PATCH", TWIN, "{\"tags\":{\"x\":1}}", Map.of("If-Match", "\"AAAAAAAAAAE=\""))));
    c.add(new Case("PATCH with an unquoted stale etag", 412, 412001, a -> send(a, "PATCH", TWIN, "{\"tags\":{\"x\":1}}", Map.of("If-Match", "AAAAAAAAAAE="))));
    c.add(new Case("PATCH with the current etag as weak", 412, 412001, a -> send(a, "PATCH", TWIN, "{\"tags\":{\"x\":1}}",
        Map.of("If-Match", "W/\"" + currentTwinEtag(a, TWIN) + "\""))));
    c.add(new Case("PUT twin with a stale etag", 412, 412001, a -> send(a, "PUT", TWIN, "{\"tags\":{}}", Map.of("If-Match", "\"AAAAAAAAAAE=\""))));
    c.add(new Case("module twin PATCH with a stale etag", 412, 412001,
        a -> send(a, "PATCH", TWIN + "/modules/m1", "{\"tags\":{\"x\":1}}", Map.of("If-Match", "\"AAAAAAAAAAE=\""))));
    c.add(new Case("device update with a stale etag", 412, 412001, a -> send(a, "PUT", "/devices/" + V, "{\"status\":\"disabled\"}", Map.of("If-Match", "\"OTk=\""))));
    c.add(new Case("device delete with a stale etag", 412, 412001, a -> send(a, "DELETE", "/devices/" + V, null, Map.of("If-Match", "\"OTk=\""))));
    c.add(new Case("module delete with a stale etag", 412, 412001, a -> send(a, "DELETE", "/devices/" + V + "/modules/m1", null, Map.of("If-Match", "\"OTk=\""))));
    c.add(new Case("create of an existing device", 409, 409001, a -> send(a, "PUT", "/devices/" + V, "{}", Map.of())));
    c.add(new Case("create of an existing module", 409, 409301, a -> send(a, "PUT", "/devices/" + V + "/modules/m1", "{}", Map.of())));
    // ---- ids in the path (ArgumentInvalid 400004) and URL tricks
    c.add(path("id with an encoded space", "/twins/vic%20tim", 400, 400004));
    c.add(path("id of 129 characters", "/twins/" + "d".repeat(129), 400, 400004));
    c.add(path("id with a non-ASCII letter", "/twins/vict%C3%ADm", 400, 400004));
    c.add(path("id with an encoded slash", "/twins/" + V + "%2Fmodules%2Fm1", 400, 400004));
    c.add(path("id with an encoded NUL", "/twins/" + V + "%00", 400, 400004));
    c.add(path("id with an encoded CR LF", "/twins/" + V + "%0D%0AX-Injected:%201", 400, 400004));
    c.add(path("traversal with encoded dots and slash", "/twins/..%2F" + V, 400, 400004));
    c.add(path("module id with an encoded space", "/twins/" + V + "/modules/m%201", 400, 400004));
    c.add(path("double-encoded slash is a (missing) literal id", "/twins/" + V + "%252F", 404, 404001));
    c.add(raw("illegal percent escape", "GET", "/twins/%G1?" + API_VERSION, null, Map.of(), 400, 400));
    c.add(raw("raw space in the path", "GET", "/twins/vic tim?" + API_VERSION, null, Map.of(), 400, 400));
    c.add(raw("raw non-ASCII byte in the path", "GET", "/twins/vict\u00edm?" + API_VERSION, null, Map.of(), 400, 400));
    c.add(new Case("device body naming another id", 400, 400004,
        a -> send(a, "PUT", "/devices/" + V, "{\"deviceId\":\"other\"}", Map.of("If-Match", "*"))));
    // ---- registry bodies
    c.add(new Case("unknown device status", 400, 400004,
        a -> send(a, "PUT", "/devices/" + V, "{\"status\":\"sleeping\"}", Map.of("If-Match", "*"))));
    c.add(new Case("authentication is an array", 400, 400004,
        a -> send(a, "PUT", "/devices/" + V, "{\"authentication\":[]}", Map.of("If-Match", "*"))));
    c.add(new Case("SAS key that is not base64", 400, 400004,
        a -> send(a, "PUT", "/devices/" + V, "{\"authentication\":{\"type\":\"sas\",\"symmetricKey\":{\"primaryKey\":\"not base64!\",\"secondaryKey\":\"not base64!\"}}}", Map.of("If-Match", "*"))));
    c.add(new Case("iotEdge that is not a boolean", 400, 400004,
        a -> send(a, "PUT", "/devices/" + V, "{\"capabilities\":{\"iotEdge\":\"yes\"}}", Map.of("If-Match", "*"))));
    c.add(new Case("new device with an invalid status", 400, 400004,
        a -> send(a, "PUT", "/devices/newbie", "{\"status\":5}", Map.of())));
    c.add(new Case("statusReason over 128 characters", 400, 400004,
        a -> send(a, "PUT", "/devices/" + V, "{\"statusReason\":\"" + "r".repeat(129) + "\"}", Map.of("If-Match", "*"))));
    c.add(new Case("new module on a device with a bad body", 400, 400006,
        a -> send(a, "PUT", "/devices/" + V + "/modules/m2", "[]", Map.of())));
    // ---- methods and resources
    c.add(new Case("X-HTTP-Method-Override: DELETE", 400, 400003,
        a -> send(a, "POST", TWIN, "{\"tags\":{}}", Map.of("X-HTTP-Method-Override", "DELETE"))));
    c.add(new Case("PATCH on a device identity", 400, 400003, a -> send(a, "PATCH", "/devices/" + V, "{}", Map.of())));
    c.add(new Case("DELETE on a twin", 400, 400003, a -> send(a, "DELETE", TWIN, null, Map.of())));
    c.add(new Case("unknown resource", 404, 404, a -> send(a, "GET", "/nothing/here", null, Map.of())));
    // ---- bulk (POST /devices): refused as a whole
    c.add(bulk("bulk body is an object", "{\"id\":\"b1\"}", 400, 400006));
    c.add(bulk("bulk list is empty", "[]", 400, 400004));
    c.add(bulk("bulk list of 101", "[" + IntStream.range(0, 101).mapToObj(i -> "{\"id\":\"bulk" + i + "\"}")
        .collect(Collectors.joining(",")) + "]", 400, 400004));
    c.add(bulk("bulk names a device twice", "[{\"id\":\"b1\"},{\"id\":\"b1\"}]", 400, 400011));
    c.add(bulk("bulk entry with a bad id", "[{\"id\":\"b1\"},{\"id\":\"b 2\"}]", 400, 400004));
    c.add(bulk("bulk with an unknown importMode", "[{\"id\":\"b1\",\"importMode\":\"explode\"}]", 400, 400004));
    c.add(bulk("bulk delete of the victim without eTag", "[{\"id\":\"" + V + "\",\"importMode\":\"deleteIfMatchETag\"}]", 400, 400004));
    c.add(bulk("bulk entry setting tags", "[{\"id\":\"b1\",\"tags\":{\"a\":1}}]", 400, 400004));
    // ---- direct method requests, list parameters
    c.add(new Case("method without methodName", 400, 400004, a -> send(a, "POST", TWIN + "/methods", "{\"payload\":1}", Map.of())));
    c.add(new Case("method with a 1000 s timeout", 400, 400004,
        a -> send(a, "POST", TWIN + "/methods", "{\"methodName\":\"reboot\",\"responseTimeoutInSeconds\":1000}", Map.of())));
    c.add(new Case("list with top=abc", 400, 400004, a -> send(a, "GET", "/devices?top=abc", null, Map.of())));
    return c.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void refusedWithAnIotHubErrorAndNothingChanges(Case c) throws Exception {
    List<String> before = snapshot();
    ApiClient.Reply r = c.send().apply(api);
    assertEquals(c.status(), r.status(), () -> c.name() + ": " + r);
    assertEquals(c.errorCode(), r.errorCode(), () -> c.name() + ": " + r);
    assertFalse(r.errorMessage().isBlank(), () -> c.name() + ": message " + r);
    assertTrue(r.header("iothub-errorcode").isPresent(), () -> c.name() + ": iothub-errorcode header, " + r.headers());
    assertFalse(r.text().contains("\tat ") || r.text().contains(".java:") || r.text().contains("akka."),
        () -> c.name() + ": no stack trace or internals " + r);
    assertEquals(before, snapshot(), () -> c.name() + " changed something");
  }

  @Test
  void tableHasAtLeastSixtyCases() {
    assertTrue(cases().count() >= 60, "cases: " + cases().count());
  }

  /** After every case: no device but the victim came into being (the registry view is eventually consistent, so it is watched a while). */
  @Test
  void noBadRequestCreatedADevice() throws Exception {
    cases().forEach(c -> c.send().apply(api));
    long deadline = System.nanoTime() + Duration.ofSeconds(12).toNanos();
    while (System.nanoTime() < deadline) {
      ApiClient.Reply stats = api.get("/statistics/devices");
      assertEquals(200, stats.status());
      assertTrue(stats.json().path("totalDeviceCount").asLong() <= 1, () -> "devices: " + stats);
      ApiClient.Reply list = api.get("/devices?top=1000");
      assertTrue(list.json().size() <= 1, () -> "listed: " + list);
      Thread.sleep(1000);
    }
    assertEquals(1, api.get("/statistics/devices").json().path("totalDeviceCount").asLong());
    assertEquals(V, api.get("/devices").json().get(0).path("deviceId").asText());
  }

  // ---------------------------------------------------------------- helpers

  /** The victim's identities and twins, as JSON text. */
  static List<String> snapshot() throws Exception {
    List<String> s = new ArrayList<>();
    for (String path : List.of("/devices/" + V, "/devices/" + V + "/modules/m1", TWIN, TWIN + "/modules/m1", "/devices/" + V + "/modules")) {
      ApiClient.Reply r = api.get(path);
      assertEquals(200, r.status(), () -> path + ": " + r);
      s.add(r.text());
    }
    return s;
  }

  static Case patch(String name, String body, int status, int code) {
    return patch(name, "", body, status, code);
  }

  static Case patch(String name, String subPath, String body, int status, int code) {
    return new Case(name, status, code, a -> send(a, "PATCH", TWIN + subPath, body, Map.of()));
  }

  static Case patch(String name, String ignored, int status, int code, byte[] body) {
    return new Case(name, status, code, a -> sendBytes(a, "PATCH", TWIN, body, Map.of()));
  }

  static Case replace(String name, String body, int status, int code) {
    return new Case(name, status, code, a -> send(a, "PUT", TWIN, body, Map.of()));
  }

  static Case patchWith(String name, Map<String, String> headers, int status, int code) {
    return new Case(name, status, code, a -> send(a, "PATCH", TWIN, "{\"tags\":{\"x\":1}}", headers));
  }

  static Case auth(String name, Function<ApiClient, String> token, int status) {
    return new Case(name, status, 401002,
        a -> send(a, "PATCH", TWIN, "{\"tags\":{\"x\":1}}", Map.of("Authorization", token.apply(a))));
  }

  static Case path(String name, String rawPath, int status, int code) {
    return new Case(name, status, code, a -> send(a, "PATCH", rawPath, "{\"tags\":{\"x\":1}}", Map.of()));
  }

  static Case bulk(String name, String body, int status, int code) {
    return new Case(name, status, code, a -> send(a, "POST", "/devices", body, Map.of()));
  }

  static Case raw(String name, String method, String pathAndQuery, String body, Map<String, String> headers, int status, int code) {
    return new Case(name, status, code, a -> {
      try {
        byte[] bytes = body == null ? null : body.getBytes(StandardCharsets.UTF_8);
        String head = method + " " + pathAndQuery + " HTTP/1.1"
            + (bytes == null ? "" : "\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length);
        return a.raw(head, bytes);
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
  }

  static ApiClient.Reply send(ApiClient a, String method, String path, String body, Map<String, String> headers) {
    return sendBytes(a, method, path, body == null ? null : body.getBytes(StandardCharsets.UTF_8), headers);
  }

  static ApiClient.Reply sendBytes(ApiClient a, String method, String path, byte[] body, Map<String, String> headers) {
    try {
      return a.sendBytes(method, path + (path.contains("?") ? "&" : "?") + API_VERSION, body, headers);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** A body of {@code bytes} sent chunked (no Content-Length): cut off at the limit while streaming. */
  static ApiClient.Reply chunked(ApiClient a, int bytes) {
    try {
      byte[] body = ("{\"tags\":{\"s\":\"" + "x".repeat(bytes) + "\"}}").getBytes(StandardCharsets.UTF_8);
      HttpRequest request = HttpRequest.newBuilder(URI.create(a.base + TWIN + "?" + API_VERSION))
          .header("Authorization", a.ownerToken())
          .header("Content-Type", "application/json")
          .method("PATCH", HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body)))
          .build();
      HttpResponse<String> r = a.http.send(request, HttpResponse.BodyHandlers.ofString());
      Map<String, String> h = new java.util.LinkedHashMap<>();
      r.headers().map().forEach((k, v) -> h.put(k.toLowerCase(), String.join(",", v)));
      return new ApiClient.Reply(r.statusCode(), h, r.body());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  static String nested(int depth) {
    return "{\"l\":".repeat(depth) + "1" + "}".repeat(depth);
  }

  /** An object of {@code members} strings of {@code size} bytes each. */
  static String bigObject(int members, int size) {
    return IntStream.range(0, members).mapToObj(i -> "\"k" + i + "\":\"" + "v".repeat(size) + "\"")
        .collect(Collectors.joining(",", "{", "}"));
  }

  static String deviceKey(ApiClient a) {
    try {
      return a.get("/devices/" + V).json().path("authentication").path("symmetricKey").path("primaryKey").asText();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  static String currentTwinEtag(ApiClient a, String path) {
    try {
      return a.get(path).json().path("etag").asText();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
