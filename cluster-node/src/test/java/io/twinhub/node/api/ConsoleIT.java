package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.twinhub.node.security.SharedAccessPolicies;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.WindowType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The web console and {@code /openapi.json} on one real node (embedded Cassandra): every documented
 * operation answered as documented (status and body checked against the document's schema), and
 * the console driven in headless Chromium through sign-in, devices, the twin editor (with a 412
 * conflict and a diff), the live stream, a GROUP BY query, a job to completion and the other pages,
 * saving a screenshot of each page to {@code target/console-screenshots/} ({@code docs/console/} with
 * {@code -Dconsole.screenshots=docs}). Without Debian's {@code chromium} and
 * {@code chromium-driver} the browser tests are skipped, saying so.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleIT {

  static final ObjectMapper JSON = new ObjectMapper();
  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  static final Duration WAIT = Duration.ofSeconds(90);

  @TempDir
  static Path dir;
  static ApiTestNode node;
  static ApiClient api;
  static WebDriver driver;
  static Path browserProfile;
  static String run = Long.toString(System.nanoTime() % 1_000_000, 36);

  @BeforeAll
  static void start() throws Exception {
    node = ApiTestNode.start(dir.resolve("node"), Map.of("twinhub.routes", List.of(
            Map.of("name", "console-hot", "source", "twinChangeEvents", "condition", "properties.desired.mode = 'hot'"),
            // The sample function app's twinChanges function reads this route (refused at publish without it).
            Map.of("name", "twin-changes", "source", "twinChangeEvents", "condition", "STARTSWITH(deviceId, 'fn-')")),
        // A loaded 2-core box (Cassandra beside the node) can take longer than the product's 15 s for a write (50 s stays under the 60 s idle timeout);
        // each operation is checked for what it answers, not for the retry answer of a slow moment.
        "twinhub.api.request-timeout", "50s"));
    api = node.client;
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (driver != null) driver.quit();
    } finally {
      node.close();
    }
  }

  // ------------------------------------------------------------------ static assets and the document

  @Test
  @Order(1)
  void consoleIsServedAsStaticModulesWithAStrictContentSecurityPolicy() throws Exception {
    ApiClient.Reply page = api.send("GET", "/console/", null, Map.of("Authorization", ""));
    assertEquals(200, page.status(), page.toString());
    assertTrue(page.header("content-type").orElse("").startsWith("text/html"), page.headers().toString());
    assertTrue(page.text().contains("<script type=\"module\" src=\"js/app.js\">"), page.text());
    assertTrue(page.header("content-security-policy").orElse("").contains("script-src 'self'"));
    ApiClient.Reply js = api.send("GET", "/console/js/app.js", null, Map.of("Authorization", ""));
    assertEquals(200, js.status());
    assertTrue(js.header("content-type").orElse("").contains("javascript"), js.headers().toString());
    assertEquals(301, api.send("GET", "/console", null, Map.of("Authorization", "")).status());
    assertEquals(404, api.send("GET", "/console/js/nothing.js", null, Map.of("Authorization", "")).status());
    // The members and metrics the console's cluster page reads are behind the service right.
    assertEquals(401, api.send("GET", "/cluster/members?" + ApiClient.API_VERSION, null, Map.of("Authorization", "")).status());
    assertEquals(401, api.send("GET", "/cluster/metrics?" + ApiClient.API_VERSION, null,
        Map.of("Authorization", api.token(SharedAccessPolicies.DEVICE))).status());
    // Shards per member come from the whole cluster's shard regions: a device's twin lives in one.
    assertEquals(200, api.put("/devices/console-shards", "{\"deviceId\":\"console-shards\"}").status());
    assertEquals(200, api.get("/twins/console-shards").status());
    JsonNode self = null;
    JsonNode members = api.get("/cluster/members").json();
    for (JsonNode m : members.path("members")) if (m.path("address").asText().equals(members.path("self").asText())) self = m;
    assertNotNull(self, members.toString());
    assertTrue(self.path("shards").path("Device").asInt() >= 1, members.toString());
    assertTrue(self.path("entities").path("Device").asInt() >= 1, members.toString());
  }

  /** One request that exercises a documented operation, and the status it must get. */
  record Call(String method, String path, byte[] body, Map<String, String> headers, int expect) {
    static Call of(String method, String path, int expect) {
      return new Call(method, path, null, Map.of(), expect);
    }

    Call body(String b) {
      return new Call(method, path, b.getBytes(java.nio.charset.StandardCharsets.UTF_8), headers, expect);
    }

    Call bytes(byte[] b) {
      return new Call(method, path, b, headers, expect);
    }

    Call header(String name, String value) {
      Map<String, String> h = new LinkedHashMap<>(headers);
      h.put(name, value);
      return new Call(method, path, body, h, expect);
    }
  }

  @Test
  @Order(2)
  void everyDocumentedOperationAnswersAsDocumented() throws Exception {
    ApiClient.Reply docReply = api.send("GET", "/openapi.json", null, Map.of("Authorization", ""));
    assertEquals(200, docReply.status());
    JsonNode doc = docReply.json();
    assertEquals("3.1.0", doc.path("openapi").asText());

    String d = "oa-" + run;
    String v = "?" + ApiClient.API_VERSION;
    assertEquals(200, api.put("/devices/" + d, "{\"deviceId\":\"" + d + "\"}").status());
    assertEquals(200, api.patch("/twins/" + d, "{\"tags\":{\"oa\":\"" + run + "\"},\"properties\":{\"desired\":{\"mode\":\"hot\"}}}", null).status());
    assertEquals(200, api.put("/devices/" + d + "/modules/m1", "{\"deviceId\":\"" + d + "\",\"moduleId\":\"m1\"}").status());
    String gone = "oa-gone-" + run;
    String cfg = "{\"content\":{\"deviceContent\":{\"properties.desired.oa\":1}},\"targetCondition\":\"tags.oa = '" + run
        + "'\",\"priority\":1,\"metrics\":{\"queries\":{\"n\":\"SELECT deviceId FROM devices WHERE tags.oa = '" + run + "'\"}}}";
    String job = "{\"type\":\"scheduleUpdateTwin\",\"queryCondition\":\"tags.oa = '" + run + "'\",\"startTime\":\""
        + java.time.Instant.now() + "\",\"maxExecutionTimeInSeconds\":600,\"updateTwin\":{\"tags\":{\"job\":1},\"etag\":\"*\"}}";

    // In order: later calls rely on what earlier ones created.
    Map<String, Call> calls = new LinkedHashMap<>();
    calls.put("put /devices/{deviceId}", Call.of("PUT", "/devices/" + gone + v, 200).body("{\"deviceId\":\"" + gone + "\"}"));
    calls.put("get /devices/{deviceId}", Call.of("GET", "/devices/" + d + v, 200));
    calls.put("get /devices", Call.of("GET", "/devices" + v + "&top=5", 200));
    calls.put("post /devices", Call.of("POST", "/devices" + v, 200)
        .body("[{\"id\":\"oa-bulk-" + run + "\",\"importMode\":\"create\"}]"));
    calls.put("delete /devices/{deviceId}", Call.of("DELETE", "/devices/" + gone + v, 204).header("If-Match", "*"));
    calls.put("get /devices/{deviceId}/modules", Call.of("GET", "/devices/" + d + "/modules" + v, 200));
    calls.put("put /devices/{deviceId}/modules/{moduleId}", Call.of("PUT", "/devices/" + d + "/modules/m2" + v, 200)
        .body("{\"deviceId\":\"" + d + "\",\"moduleId\":\"m2\"}"));
    calls.put("get /devices/{deviceId}/modules/{moduleId}", Call.of("GET", "/devices/" + d + "/modules/m1" + v, 200));
    calls.put("delete /devices/{deviceId}/modules/{moduleId}", Call.of("DELETE", "/devices/" + d + "/modules/m2" + v, 204).header("If-Match", "*"));
    // The device-scope lookup takes the IoT Edge device's own token; the edge device is not its own child: empty lists.
    String edgeId = "oa-edge-" + run;
    assertEquals(200, api.put("/devices/" + edgeId, "{\"deviceId\":\"" + edgeId + "\",\"capabilities\":{\"iotEdge\":true}}").status());
    String edgeKey = api.get("/devices/" + edgeId).json().path("authentication").path("symmetricKey").path("primaryKey").asText();
    calls.put("get /devices/{deviceId}/modules/{moduleId}/deviceAndModuleInDeviceScope", Call.of("GET",
        "/devices/" + edgeId + "/modules/$edgeHub/deviceAndModuleInDeviceScope" + v + "&targetDeviceId=" + edgeId, 200)
        .header("Authorization", io.twinhub.twin.auth.SasToken.signForDevice(node.node.settings().hostName(), edgeId, null, edgeKey,
            java.time.Instant.now().getEpochSecond() + 3600)));
    calls.put("delete /devices/{deviceId}/commands", Call.of("DELETE", "/devices/" + d + "/commands" + v, 200));
    calls.put("post /devices/{deviceId}/applyConfigurationContent", Call.of("POST", "/devices/" + d + "/applyConfigurationContent" + v, 204)
        .body("{\"deviceContent\":{\"properties.desired.applied\":true}}"));
    calls.put("post /devices/query", Call.of("POST", "/devices/query" + v, 200).body("{\"query\":\"SELECT * FROM devices\"}")
        .header("x-ms-max-item-count", "2"));
    for (String m : List.of("", "/modules/m1")) {
      String t = "/twins/" + d + m;
      String key = "/twins/{deviceId}" + (m.isEmpty() ? "" : "/modules/{moduleId}");
      calls.put("get " + key, Call.of("GET", t + v, 200));
      calls.put("patch " + key, Call.of("PATCH", t + v, 200).body("{\"properties\":{\"desired\":{\"p\":1}}}"));
      calls.put("put " + key, Call.of("PUT", t + v, 200).body("{\"tags\":{\"oa\":\"" + run + "\"},\"properties\":{\"desired\":{\"mode\":\"hot\",\"p\":2}}}"));
      // The device is not connected: 404 DeviceNotOnline, as documented.
      calls.put("post " + key + "/methods", Call.of("POST", t + "/methods" + v, 404)
          .body("{\"methodName\":\"reboot\",\"payload\":{},\"responseTimeoutInSeconds\":5,\"connectTimeoutInSeconds\":0}"));
      calls.put("get " + key + "/history", Call.of("GET", t + "/history" + v + "&top=10", 200));
      calls.put("get " + key + "/delta", Call.of("GET", t + "/delta" + v, 200));
    }
    calls.put("get /statistics/devices", Call.of("GET", "/statistics/devices" + v, 200));
    calls.put("get /statistics/service", Call.of("GET", "/statistics/service" + v, 200));
    calls.put("put /jobs/v2/{jobId}", Call.of("PUT", "/jobs/v2/oa-job-" + run + v, 200).body(job));
    calls.put("get /jobs/v2/{jobId}", Call.of("GET", "/jobs/v2/oa-job-" + run + v, 200));
    calls.put("get /jobs/v2/query", Call.of("GET", "/jobs/v2/query" + v, 200));
    calls.put("post /jobs/v2/{jobId}/cancel", Call.of("POST", "/jobs/v2/oa-job-" + run + "/cancel" + v, 200));
    calls.put("put /configurations/{id}", Call.of("PUT", "/configurations/oa-cfg-" + run + v, 200).body(cfg));
    calls.put("get /configurations/{id}", Call.of("GET", "/configurations/oa-cfg-" + run + v, 200));
    calls.put("get /configurations", Call.of("GET", "/configurations" + v + "&top=10", 200));
    calls.put("post /configurations/testQueries", Call.of("POST", "/configurations/testQueries" + v, 200)
        .body("{\"targetCondition\":\"tags.oa = 'x'\",\"customMetricQueries\":{\"bad\":\"SELECT FROM\"}}"));
    calls.put("delete /configurations/{id}", Call.of("DELETE", "/configurations/oa-cfg-" + run + v, 204).header("If-Match", "*"));
    calls.put("get /streams/{source}", Call.of("GET", "/streams/twinChangeEvents?from=earliest&to=now&deviceId=" + d, 200));
    calls.put("get /routes", Call.of("GET", "/routes", 200));
    calls.put("get /routes/{name}/stream", Call.of("GET", "/routes/console-hot/stream?from=earliest&to=now", 200));
    calls.put("get /query-index/status", Call.of("GET", "/query-index/status", 200));
    calls.put("post /query-index/reindex", Call.of("POST", "/query-index/reindex", 202));
    calls.put("get /cluster/members", Call.of("GET", "/cluster/members" + v, 200));
    calls.put("get /cluster/metrics", Call.of("GET", "/cluster/metrics" + v, 200));
    // Functions: the sample app (built by the reactor), an HTTP trigger, its invocations and logs, then gone.
    String app = "/functions/apps/oa-app-" + run;
    calls.put("put /functions/apps/{app}", Call.of("PUT", app + v, 200).bytes(Files.readAllBytes(FunctionsIT.sampleJar()))
        .header("Content-Type", "application/java-archive"));
    calls.put("get /functions/apps", Call.of("GET", "/functions/apps" + v, 200));
    calls.put("get /api/{route}", Call.of("GET", "/api/hello?name=openapi", 200).header("Authorization", ""));
    calls.put("get /functions/apps/{app}", Call.of("GET", app + v, 200));
    calls.put("get /functions/apps/{app}/keys", Call.of("GET", app + "/keys" + v, 200));
    calls.put("post /functions/apps/{app}/functions/{function}/{action}", Call.of("POST", app + "/functions/hello/disable" + v, 200));
    calls.put("get /functions/apps/{app}/invocations", Call.of("GET", app + "/invocations" + v + "&top=5", 200));
    calls.put("get /functions/apps/{app}/logs", Call.of("GET", app + "/logs" + v + "&top=5", 200));
    calls.put("delete /functions/apps/{app}", Call.of("DELETE", app + v, 204));
    calls.put("get /openapi.json", Call.of("GET", "/openapi.json", 200).header("Authorization", ""));
    calls.put("get /console/", Call.of("GET", "/console/", 200).header("Authorization", ""));

    List<String> documented = new ArrayList<>();
    doc.path("paths").fields().forEachRemaining(p -> p.getValue().fieldNames().forEachRemaining(m -> documented.add(m + " " + p.getKey())));
    List<String> uncovered = documented.stream().filter(op -> !calls.containsKey(op)).toList();
    assertEquals(List.of(), uncovered, "documented operations without a call in this test");
    List<String> undocumented = calls.keySet().stream().filter(op -> !documented.contains(op)).toList();
    assertEquals(List.of(), undocumented, "calls of operations the document does not name");

    List<String> failures = new ArrayList<>();
    for (Map.Entry<String, Call> e : calls.entrySet()) {
      Call c = e.getValue();
      ApiClient.Reply r;
      try {
        // Generous: a loaded 2-core box with Cassandra beside it can take long for a write.
        r = api.sendBytes(c.method(), c.path(), c.body(), c.headers(), Duration.ofSeconds(120));
      } catch (java.net.http.HttpTimeoutException timeout) {
        failures.add(e.getKey() + ": no answer in 120 s");
        continue;
      }
      String[] op = e.getKey().split(" ", 2);
      JsonNode responses = doc.path("paths").path(op[1]).path(op[0]).path("responses");
      if (r.status() != c.expect()) {
        failures.add(e.getKey() + ": expected " + c.expect() + ", got " + r);
        continue;
      }
      JsonNode documentedResponse = responses.path(Integer.toString(r.status()));
      if (documentedResponse.isMissingNode()) {
        failures.add(e.getKey() + ": status " + r.status() + " is not documented");
        continue;
      }
      failures.addAll(checkBody(doc, e.getKey(), documentedResponse, r));
    }
    // Errors are documented with IoT Hub's body: one wrong call per kind checks the Error schema too.
    ApiClient.Reply notFound = api.get("/devices/oa-none-" + run);
    assertEquals(404, notFound.status());
    failures.addAll(checkBody(doc, "get /devices/{deviceId} (404)",
        doc.path("paths").path("/devices/{deviceId}").path("get").path("responses").path("404"), notFound));
    assertEquals(List.of(), failures);
  }

  /** The body against the documented content: JSON by its schema, NDJSON line by line, text non-empty. */
  static List<String> checkBody(JsonNode doc, String op, JsonNode documented, ApiClient.Reply r) {
    JsonNode content = documented.path("content");
    if (content.isMissingNode()) {
      return r.text().isEmpty() ? List.of() : List.of(op + ": documented without a body, got " + r.text());
    }
    String type = r.header("content-type").orElse("").split(";")[0].strip();
    JsonNode media = content.has(type) ? content.path(type) : content.path("*/*");
    if (media.isMissingNode()) return List.of(op + ": content type " + type + " is not documented (" + content.fieldNames().next() + ")");
    if (!media.has("schema")) {
      return r.text().isEmpty() ? List.of(op + ": empty body") : List.of();
    }
    JsonSchema schema = schemaOf(doc, media.path("schema"));
    List<String> out = new ArrayList<>();
    if (type.equals("application/json")) {
      validate(schema, r.json(), op, out);
    } else if (type.equals("application/x-ndjson")) {
      int lines = 0;
      for (String line : r.text().split("\n")) {
        if (line.isBlank()) continue;
        lines++;
        try {
          validate(schema, JSON.readTree(line), op, out);
        } catch (Exception ex) {
          out.add(op + ": not JSON: " + line);
        }
      }
      if (lines == 0) out.add(op + ": the stream had no messages");
    } else if (r.text().isEmpty()) {
      out.add(op + ": empty " + type + " body");
    }
    return out;
  }

  static void validate(JsonSchema schema, JsonNode value, String op, List<String> out) {
    Set<ValidationMessage> errors = schema.validate(value);
    if (!errors.isEmpty()) out.add(op + ": " + errors + " in " + clip(value.toString()));
  }

  /** The response schema with the document's components beside it, so that its $refs resolve. */
  static JsonSchema schemaOf(JsonNode doc, JsonNode schema) {
    ObjectNode root = JSON.createObjectNode();
    root.put("$schema", "https://json-schema.org/draft/2020-12/schema");
    root.setAll((ObjectNode) schema.deepCopy());
    root.set("components", doc.path("components").deepCopy());
    return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(root);
  }

  static String clip(String s) {
    return s.length() > 600 ? s.substring(0, 600) + "…" : s;
  }

  // ------------------------------------------------------------------ the browser

  static WebDriver browser() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
        "console browser tests skipped: headless Chromium not found; install Debian's packages chromium and chromium-driver "
            + "(apt-get install -y chromium chromium-driver)");
    if (driver == null) {
      browserProfile = Files.createTempDirectory(dir, "chromium-profile");
      ChromeOptions options = new ChromeOptions();
      options.setBinary(CHROMIUM.toFile());
      options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
          // The node's certificate is signed by its own generated CA.
          "--ignore-certificate-errors", "--window-size=1366,900", "--user-data-dir=" + browserProfile);
      ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
          .usingAnyFreePort().build();
      driver = new ChromeDriver(service, options);
      driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
    }
    return driver;
  }

  static String consoleUrl() {
    return "https://127.0.0.1:" + node.node.api().httpsPort() + "/console/";
  }

  static String connectionString() {
    return "HostName=" + node.node.settings().hostName() + ";SharedAccessKeyName=" + SharedAccessPolicies.IOTHUBOWNER
        + ";SharedAccessKey=" + node.policies().get(SharedAccessPolicies.IOTHUBOWNER).keys().primaryKey();
  }

  static WebDriverWait waiting() {
    return new WebDriverWait(driver, WAIT);
  }

  static WebElement visible(String css) {
    return waiting().until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector(css)));
  }

  static void textIn(String css, String text) {
    waiting().until(ExpectedConditions.textToBePresentInElementLocated(By.cssSelector(css), text));
  }

  static void type(String css, String text) {
    WebElement e = visible(css);
    e.clear();
    e.sendKeys(text);
  }

  /** Sets a textarea's value at once (typing kilobytes of JSON key by key is slow on a loaded box). */
  static void setValue(String css, String text) {
    WebElement e = visible(css);
    ((JavascriptExecutor) driver).executeScript("arguments[0].value = arguments[1];", e, text);
  }

  static void go(String hash, String headingText) {
    driver.get(consoleUrl() + hash);
    // Same document: a hash change keeps the in-memory session.
    textIn("main h1", headingText);
  }

  /**
   * Where the screenshots go: {@code target/console-screenshots}, or the committed
   * {@code docs/console/} when the run asks for it with {@code -Dconsole.screenshots=docs}
   * (docs/CONSOLE.md), so an ordinary test run leaves the work tree clean.
   */
  static Path screenshotDir() {
    return "docs".equals(System.getProperty("console.screenshots"))
        ? repositoryRoot().resolve("docs").resolve("console")
        : Path.of("target", "console-screenshots").toAbsolutePath();
  }

  static void screenshot(String name) throws Exception {
    Path dir = screenshotDir();
    Files.createDirectories(dir);
    ((JavascriptExecutor) driver).executeScript("window.scrollTo(0, 0);");
    File shot = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
    Files.copy(shot.toPath(), dir.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
  }

  static Path repositoryRoot() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !(Files.isDirectory(p.resolve("cluster-node")) && Files.isDirectory(p.resolve("docs")))) p = p.getParent();
    return p == null ? Path.of("").toAbsolutePath() : p;
  }

  static void signIn() {
    driver.get(consoleUrl());
    textIn("main h1", "Sign in");
    setValue("#connection-string", connectionString());
    visible("#sign-in").click();
    textIn("main h1", "Devices");
    textIn("#who", SharedAccessPolicies.IOTHUBOWNER + "@");
  }

  /** Navigates inside the signed-in page (a full load would sign out: the token lives in memory only). */
  static void navigate(String hash, String headingText) {
    JavascriptExecutor js = (JavascriptExecutor) driver;
    if (hash.equals(js.executeScript("return location.hash;"))) {
      // The same hash fires no hashchange: pass by another page so the page is built afresh.
      js.executeScript("location.hash = arguments[0];", hash.equals("#/devices") ? "#/query" : "#/devices");
      textIn("main h1", hash.equals("#/devices") ? "Query" : "Devices");
    }
    js.executeScript("location.hash = arguments[0];", hash);
    textIn("main h1", headingText);
  }

  static void awaitTrue(String what, Supplier<Boolean> condition) {
    waiting().withMessage(what).until(d -> condition.get());
  }

  @Test
  @Order(10)
  void signInRefusesABadKeyThenSignsInWithTheConnectionString() throws Exception {
    browser();
    driver.get(consoleUrl());
    textIn("main h1", "Sign in");
    screenshot("sign-in");
    setValue("#connection-string", "HostName=" + node.node.settings().hostName()
        + ";SharedAccessKeyName=iothubowner;SharedAccessKey=" + java.util.Base64.getEncoder().encodeToString(new byte[32]));
    visible("#sign-in").click();
    textIn("#status", "Sign-in failed");
    textIn("#status", "IotHubUnauthorizedAccess");
    signIn();
    assertFalse(driver.findElement(By.id("nav")).getAttribute("hidden") != null, "navigation shown after sign-in");
    // Nothing of the credentials reaches storage.
    assertEquals(0L, ((JavascriptExecutor) driver).executeScript("return localStorage.length + sessionStorage.length + document.cookie.length;"));
  }

  @Test
  @Order(11)
  void createsADeviceAndAModuleSearchesDisablesAndShowsKeys() throws Exception {
    browser();
    String id = "console-" + run;
    navigate("#/devices", "Devices");
    type("#new-device-id", id);
    visible("#create-device").click();
    textIn("main h1", "Device " + id);
    textIn("#device-status", "enabled");
    textIn("#device-connection", "Disconnected");
    visible("#show-keys").click();
    String key = visible("#primary-key").getText();
    assertEquals(api.get("/devices/" + id).json().path("authentication").path("symmetricKey").path("primaryKey").asText(), key);
    visible("#toggle-status").click();
    textIn("#device-status", "disabled");
    assertEquals("disabled", api.get("/devices/" + id).json().path("status").asText());
    visible("#toggle-status").click();
    textIn("#device-status", "enabled");
    type("#new-module-id", "sensor");
    visible("#create-module").click();
    textIn("#device-modules", "sensor");
    assertEquals(200, api.get("/devices/" + id + "/modules/sensor").status());
    screenshot("device");

    navigate("#/devices", "Devices");
    awaitTrue("the new device is found by the query language", () -> {
      type("#device-search", "deviceId = '" + id + "'");
      visible("#device-search-go").click();
      try {
        waiting().withTimeout(Duration.ofSeconds(3)).until(ExpectedConditions.textToBePresentInElementLocated(By.id("device-results"), id));
        return true;
      } catch (org.openqa.selenium.TimeoutException e) {
        return false;
      }
    });
    screenshot("devices");
  }

  @Test
  @Order(12)
  void editsTheTwinSeesTheChangeInTheLiveStreamHandlesAConflictAndDiffsVersions() throws Exception {
    browser();
    String id = "console-" + run;
    String consoleTab = driver.getWindowHandle();

    // A second tab signs in on its own (the token never leaves a tab) and follows the device.
    driver.switchTo().newWindow(WindowType.TAB);
    String liveTab = driver.getWindowHandle();
    signIn();
    navigate("#/live/" + id, "Live");
    textIn("#live-state", "open");

    driver.switchTo().window(consoleTab);
    navigate("#/twin/" + id, "Twin " + id);
    textIn("#twin-etag", "etag");
    setValue("#twin-editor", "{\"tags\":{\"site\":\"plant-7\"},\"properties\":{\"desired\":{\"targetTemp\":21.5,\"mode\":\"hot\"}}}");
    visible("#twin-save").click();
    textIn("#status", "Saved");
    JsonNode twin = api.get("/twins/" + id).json();
    assertEquals(21.5, twin.path("properties").path("desired").path("targetTemp").asDouble());
    assertEquals("plant-7", twin.path("tags").path("site").asText());

    driver.switchTo().window(liveTab);
    textIn("#live-log", "targetTemp");
    textIn("#live-log", "21.5");
    assertFalse(visible("#live-offset").getText().isBlank(), "the stream's offset is kept for resuming");
    screenshot("live");
    // Stop, change the twin meanwhile, resume: the change made while stopped arrives.
    visible("#live-stop").click();
    textIn("#live-state", "stopped");
    assertEquals(200, api.patch("/twins/" + id, "{\"properties\":{\"desired\":{\"whileStopped\":42}}}", null).status());
    visible("#live-resume").click();
    textIn("#live-log", "whileStopped");
    visible("#live-stop").click();
    driver.close();

    driver.switchTo().window(consoleTab);
    // Someone else changes the twin behind the editor's back: the save is refused with a clear message.
    navigate("#/twin/" + id, "Twin " + id);
    textIn("#twin-etag", "etag");
    assertEquals(200, api.patch("/twins/" + id, "{\"properties\":{\"desired\":{\"targetTemp\":19}}}", null).status());
    setValue("#twin-editor", "{\"tags\":{\"site\":\"plant-7\"},\"properties\":{\"desired\":{\"targetTemp\":25}}}");
    visible("#twin-save").click();
    textIn("#twin-conflict", "Conflict: the twin changed since you loaded it");
    screenshot("twin-conflict");
    assertEquals(19, api.get("/twins/" + id).json().path("properties").path("desired").path("targetTemp").asInt());
    visible("#twin-reload").click();
    waiting().until(d -> d.findElement(By.id("twin-conflict")).getAttribute("hidden") != null);
    assertTrue(visible("#twin-editor").getAttribute("value").contains("19"));

    // History and a diff of the last two versions (the reload read the history again).
    long version = api.get("/twins/" + id).json().path("version").asLong();
    waiting().until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#diff-to option[value='" + version + "']")));
    textIn("#twin-history", "updateTwin");
    new Select(visible("#diff-from")).selectByValue(Long.toString(version - 1));
    new Select(visible("#diff-to")).selectByValue(Long.toString(version));
    visible("#diff-go").click();
    textIn("#diff-result", "properties.desired.targetTemp");
    textIn("#diff-result", "changed");
    screenshot("twin");
  }

  @Test
  @Order(13)
  void runsAGroupByQueryShownAsABarChartWithPaging() throws Exception {
    browser();
    for (int i = 0; i < 5; i++) {
      String id = "console-q" + i + "-" + run;
      assertEquals(200, api.put("/devices/" + id, "{\"deviceId\":\"" + id + "\"}").status());
      assertEquals(200, api.patch("/twins/" + id, "{\"tags\":{\"run\":\"" + run + "\",\"fw\":\"" + (i < 3 ? "1.0" : "2.0") + "\"}}", null).status());
    }
    navigate("#/query", "Query");
    setValue("#query-text", "SELECT tags.fw AS fw, COUNT() AS devices FROM devices WHERE tags.run = '" + run + "' GROUP BY tags.fw");
    // The index follows the journal: run until both groups are there with their counts.
    awaitTrue("the GROUP BY chart shows 1.0 → 3 and 2.0 → 2", () -> {
      visible("#query-run").click();
      try {
        waiting().withTimeout(Duration.ofSeconds(3)).until(ExpectedConditions.textToBePresentInElementLocated(By.id("query-summary"), "row"));
      } catch (org.openqa.selenium.TimeoutException e) {
        return false;
      }
      List<WebElement> values = driver.findElements(By.cssSelector("#query-chart svg text.chart-value"));
      List<WebElement> labels = driver.findElements(By.cssSelector("#query-chart svg text.chart-label"));
      List<String> bars = new ArrayList<>();
      for (int i = 0; i < Math.min(values.size(), labels.size()); i++) bars.add(labels.get(i).getText() + "=" + values.get(i).getText());
      return bars.contains("1.0=3") && bars.contains("2.0=2");
    });
    assertEquals(2, driver.findElements(By.cssSelector("#query-chart svg rect.chart-bar")).size());
    screenshot("query");

    // Paging: two rows a page over five devices → three pages by continuation, then back.
    setValue("#query-text", "SELECT deviceId FROM devices WHERE tags.run = '" + run + "'");
    type("#query-page-size", "2");
    visible("#query-run").click();
    textIn("#query-summary", "Page 1: 2 row(s), more follow");
    visible("#query-next").click();
    textIn("#query-summary", "Page 2: 2 row(s), more follow");
    visible("#query-next").click();
    textIn("#query-summary", "Page 3: 1 row(s), last page");
    assertFalse(visible("#query-next").isEnabled());
    visible("#query-prev").click();
    textIn("#query-summary", "Page 2");
  }

  @Test
  @Order(14)
  void schedulesAJobAndWatchesItComplete() throws Exception {
    browser();
    String jobId = "console-job-" + run;
    navigate("#/fleet", "Fleet");
    type("#job-id", jobId);
    setValue("#job-body", "{\"type\":\"scheduleUpdateTwin\",\"queryCondition\":\"tags.run = '" + run + "'\",\"startTime\":\""
        + java.time.Instant.now() + "\",\"maxExecutionTimeInSeconds\":600,"
        + "\"updateTwin\":{\"properties\":{\"desired\":{\"fromJob\":true}},\"etag\":\"*\"}}");
    visible("#job-schedule").click();
    textIn("#status", "scheduled");
    // The page refreshes the jobs every 2 s: the badge turns "completed" with 5 of 5 done.
    waiting().withMessage("the job completes on the page").until(ExpectedConditions.textToBePresentInElementLocated(
        By.cssSelector("#jobs [data-job='" + jobId + "']"), "completed"));
    textIn("#jobs", "5/5");
    assertEquals("completed", api.get("/jobs/v2/" + jobId).json().path("status").asText());

    setValue("#config-body", "{\"content\":{\"deviceContent\":{\"properties.desired.console\":1}},\"targetCondition\":\"tags.run = '"
        + run + "'\",\"priority\":5}");
    type("#config-id", "console-cfg-" + run);
    visible("#config-create").click();
    textIn("#configurations", "console-cfg-" + run);
    screenshot("fleet");
  }

  @Test
  @Order(15)
  void showsEdgeFunctionsAndClusterPages() throws Exception {
    browser();
    String edge = "console-edge-" + run;
    assertEquals(200, api.put("/devices/" + edge, "{\"deviceId\":\"" + edge + "\",\"capabilities\":{\"iotEdge\":true}}").status());
    navigate("#/edge", "Edge");
    awaitTrue("the IoT Edge device is listed", () -> {
      visible("#edge-refresh").click();
      try {
        waiting().withTimeout(Duration.ofSeconds(3)).until(ExpectedConditions.textToBePresentInElementLocated(By.id("edge-modules"), edge));
        return true;
      } catch (org.openqa.selenium.TimeoutException e) {
        return false;
      }
    });
    screenshot("edge");

    // Functions: publish the sample app from a file input, see its functions, disable one, see an invocation.
    navigate("#/functions", "Functions");
    String appName = "console-app-" + run;
    type("#app-name", appName);
    visible("#app-jar").sendKeys(FunctionsIT.sampleJar().toRealPath().toString());
    visible("#app-publish").click();
    textIn("#status", "Published " + appName + " version 1");
    textIn("#function-app", "hello");
    assertEquals(200, api.sendBytes("GET", "/api/hello?name=console", null, Map.of("Authorization", "")).status());
    awaitTrue("the page lists the HTTP invocation", () -> {
      visible("#app-refresh").click();
      try {
        waiting().withTimeout(Duration.ofSeconds(3)).until(ExpectedConditions.textToBePresentInElementLocated(By.id("function-app"), "Succeeded"));
        return true;
      } catch (org.openqa.selenium.TimeoutException e) {
        return false;
      }
    });
    driver.findElement(By.cssSelector("button[aria-label='Disable hello']")).click();
    waiting().until(ExpectedConditions.textToBePresentInElementLocated(By.cssSelector("#function-app [data-fn='hello']"), "disabled"));
    assertEquals(false, api.get("/functions/apps/" + appName).json().path("functions").findValues("name").stream()
        .map(JsonNode::asText).toList().isEmpty());
    screenshot("functions");

    navigate("#/cluster", "Cluster");
    textIn("#cluster-members", "(this node)");
    textIn("#cluster-members", "Up");
    textIn("#cluster-members", "Device ");
    textIn("#cluster-index", "Twins");
    waiting().until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#cluster-rates svg polyline")));
    screenshot("cluster");

    // Keyboard only: from the page heading, Tab reaches the create form; Enter submits it.
    navigate("#/devices", "Devices");
    for (WebElement input : driver.findElements(By.cssSelector("main input, main select, main textarea"))) {
      String id = input.getAttribute("id");
      assertFalse(driver.findElements(By.cssSelector("label[for='" + id + "']")).isEmpty(), "a label for #" + id);
    }
    String byKeyboard = "console-kb-" + run;
    for (int i = 0; i < 30 && !"new-device-id".equals(driver.switchTo().activeElement().getAttribute("id")); i++) {
      driver.switchTo().activeElement().sendKeys(Keys.TAB);
    }
    assertEquals("new-device-id", driver.switchTo().activeElement().getAttribute("id"), "Tab reaches the new device id");
    driver.switchTo().activeElement().sendKeys(byKeyboard + Keys.ENTER);
    textIn("main h1", "Device " + byKeyboard);
    assertEquals(200, api.get("/devices/" + byKeyboard).status());
  }
}
