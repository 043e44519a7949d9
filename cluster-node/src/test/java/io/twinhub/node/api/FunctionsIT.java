package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.mqtt.tls.TlsMaterial;
import io.twinhub.twin.auth.SasToken;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.jar.JarOutputStream;
import java.util.zip.ZipEntry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Functions end to end on a real node (issue #18): the sample app (built by the reactor against
 * the official Azure Functions Java library only) published over REST, its HTTP triggers with
 * auth levels and keys, a device's MQTT telemetry reaching the Event Hubs-triggered function that
 * sets a twin tag, that twin change reaching a function through a named route, a poison message
 * retried and skipped, the timer firing, enable/disable, a throwing function's failed invocation in
 * the log while the node keeps serving, and a JAR without functions refused at publish.
 */
class FunctionsIT {
  static final String KEY1 = "aGVsbG8taGVsbG8taGVsbG8taGVsbG8taGVsbG8taGU=";
  static final String KEY2 = "d29ybGQtd29ybGQtd29ybGQtd29ybGQtd29ybGQtd28=";
  static final Map<String, String> NO_AUTH = Map.of("Authorization", "");
  static final Map<String, String> JAR = Map.of("Content-Type", "application/java-archive");

  static Path sampleJar() {
    Path p = Path.of(System.getProperty("functions.sample.jar", "../functions-sample/target/twinhub-functions-sample-0.1.0-SNAPSHOT.jar"));
    assertTrue(Files.isRegularFile(p), "the sample app JAR is built by the reactor first: " + p);
    return p;
  }

  @Test
  void publishedAppServesHttpRunsOnTelemetryAndTimer(@TempDir Path dir) throws Exception {
    // A route functions can name as their eventHubName (twin changes of this test's devices).
    // A timeout short enough for the hanging function to be failed while the test waits.
    Map<String, Object> routes = Map.of("twinhub.routes", List.of(Map.of("name", "twin-changes", "source", "twinChangeEvents",
        "condition", "STARTSWITH(deviceId, 'fn-')")), "twinhub.functions.timeout", "5s");
    try (ApiTestNode hub = ApiTestNode.start(dir, routes)) {
      ApiClient api = hub.client;

      // A JAR without functions: a clear 400 at publish, nothing stored.
      Path empty = dir.resolve("empty.jar");
      try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(empty))) {
        out.putNextEntry(new ZipEntry("readme.txt"));
        out.write("no functions here".getBytes(StandardCharsets.UTF_8));
      }
      ApiClient.Reply refused = api.sendBytes("PUT", "/functions/apps/empty?" + ApiClient.API_VERSION, Files.readAllBytes(empty), JAR);
      assertEquals(400, refused.status(), refused::toString);
      assertEquals(400004, refused.errorCode(), refused::toString);
      assertTrue(refused.errorMessage().contains("holds no function"), refused::toString);
      // An unknown binding, and an @EventHubOutput to no route: clear 400s at publish too.
      ApiClient.Reply blob = api.sendBytes("PUT", "/functions/apps/blobby?" + ApiClient.API_VERSION, compiled(dir.resolve("blob"), """
          public void onBlob(@BlobTrigger(name = "b", path = "c/{name}", connection = "Storage") String b) {}"""), JAR);
      assertEquals(400, blob.status(), blob::toString);
      assertTrue(blob.errorMessage().contains("@BlobTrigger on trigger is not supported by twinhub"), blob::toString);
      ApiClient.Reply nowhere = api.sendBytes("PUT", "/functions/apps/nowhere?" + ApiClient.API_VERSION, compiled(dir.resolve("out"), """
          @EventHubOutput(name = "$return", eventHubName = "nowhere", connection = "c")
          public String relay(@EventHubTrigger(name = "m", eventHubName = "messages/events", connection = "c",
              cardinality = Cardinality.ONE) String m) { return m; }"""), JAR);
      assertEquals(400, nowhere.status(), nowhere::toString);
      assertTrue(nowhere.errorMessage().contains("names eventHubName 'nowhere', which is not a route"), nowhere::toString);
      // Management needs a service token like the rest of the API.
      assertEquals(401, api.sendBytes("GET", "/functions/apps?" + ApiClient.API_VERSION, null, NO_AUTH).status());

      ApiClient.Reply published = api.sendBytes("PUT", "/functions/apps/sample?" + ApiClient.API_VERSION,
          Files.readAllBytes(sampleJar()), JAR);
      assertEquals(200, published.status(), published::toString);
      assertEquals(1, published.json().path("version").asInt());
      assertEquals(12, published.json().path("functions").size(), published::toString);
      JsonNode apps = api.get("/functions/apps").json();
      assertEquals(1, apps.size(), apps::toString);
      assertEquals("sample", apps.get(0).path("app").asText());

      // HTTP triggers: anonymous, function key, a function that throws.
      ApiClient.Reply hello = api.sendBytes("GET", "/api/hello?name=twinhub", null, NO_AUTH);
      assertEquals(200, hello.status(), hello::toString);
      assertEquals("Hello, twinhub", hello.text());
      assertEquals(401, api.sendBytes("GET", "/api/devices/d1/greeting", null, NO_AUTH).status());
      String key = api.get("/functions/apps/sample/keys").json().path("default").asText();
      ApiClient.Reply greeting = api.sendBytes("GET", "/api/devices/d1/greeting?code=" + key, null, NO_AUTH);
      assertEquals(200, greeting.status(), greeting::toString);
      assertEquals("hi d1", greeting.json().path("greeting").asText());
      ApiClient.Reply viaHeader = api.sendBytes("GET", "/api/devices/d2/greeting", null,
          Map.of("Authorization", "", "x-functions-key", key));
      assertEquals("hi d2", viaHeader.json().path("greeting").asText());
      ApiClient.Reply failed = api.sendBytes("GET", "/api/fail", null, NO_AUTH);
      assertEquals(500, failed.status(), failed::toString);
      assertTrue(failed.json().path("invocationId").asText().length() > 10, failed::toString);
      assertTrue(!failed.text().contains("at com.contoso"), "no stack trace in the answer: " + failed);
      assertEquals(200, api.sendBytes("GET", "/api/hello", null, NO_AUTH).status(), "the node keeps serving");
      ApiClient.Reply hung = api.sendBytes("GET", "/api/sleepy", null, NO_AUTH);
      assertEquals(500, hung.status(), hung::toString);
      assertEquals(200, api.sendBytes("GET", "/api/hello", null, NO_AUTH).status(), "the node keeps serving after a timeout");
      // A function that ignores the interrupt of its timeout: failed at the timeout, its thread stopped a grace period later.
      ApiClient.Reply stubbornApp = api.sendBytes("PUT", "/functions/apps/stubborn?" + ApiClient.API_VERSION, compiled(dir.resolve("stubborn"), """
          public HttpResponseMessage fn(@HttpTrigger(name = "r", methods = {HttpMethod.GET}, authLevel = AuthorizationLevel.ANONYMOUS)
                                        HttpRequestMessage<java.util.Optional<String>> r) {
            if (r.getQueryParameters().containsKey("state")) return r.createResponseBuilder(HttpStatus.OK).body(state.get()).build();
            state.set("hanging");
            try {
              while (true) {
                try {
                  Thread.sleep(50);
                } catch (InterruptedException e) {
                  state.set("interrupt ignored");
                }
              }
            } finally {
              state.set(state.get() + ", ended");
            }
          }
          static final java.util.concurrent.atomic.AtomicReference<String> state = new java.util.concurrent.atomic.AtomicReference<>("idle");"""), JAR);
      assertEquals(200, stubbornApp.status(), stubbornApp::toString);
      ApiClient.Reply stuck = api.sendBytes("GET", "/api/fn", null, NO_AUTH);
      assertEquals(500, stuck.status(), stuck::toString);
      await("the stubborn function's thread stopped after ignoring its interrupt", () -> {
        String state = api.sendBytes("GET", "/api/fn?state", null, NO_AUTH).text();
        return state.equals("interrupt ignored, ended") ? state : null;
      });
      JsonNode stuckLog = api.get("/functions/apps/stubborn/invocations?top=500").json();
      assertTrue(stuckLog.toString().contains("timed out after 5 s"), stuckLog::toString);
      assertEquals(204, api.sendBytes("DELETE", "/functions/apps/stubborn?" + ApiClient.API_VERSION, null, Map.of()).status());
      assertEquals(404, api.sendBytes("GET", "/api/nothing-here", null, NO_AUTH).status());

      // Disable and enable a function.
      assertEquals(200, api.post("/functions/apps/sample/functions/hello/disable", "{}").status());
      assertEquals(404, api.sendBytes("GET", "/api/hello", null, NO_AUTH).status());
      assertEquals(200, api.post("/functions/apps/sample/functions/hello/enable", "{}").status());
      assertEquals(200, api.sendBytes("GET", "/api/hello", null, NO_AUTH).status());
      assertEquals(404, api.post("/functions/apps/sample/functions/nope/disable", "{}").status());

      // App settings: stored, listed, and offered to the code (@BindingName("AppSettings")).
      assertEquals(404, api.sendBytes("GET", "/api/settings/Greeting", null, NO_AUTH).status());
      ApiClient.Reply set = api.put("/functions/apps/sample/settings", "{\"Greeting\":\"hi from settings\",\"IoTHubConnection\":\"HostName=x\"}");
      assertEquals(200, set.status(), set::toString);
      assertEquals("hi from settings", api.get("/functions/apps/sample/settings").json().path("Greeting").asText());
      assertEquals("hi from settings", api.sendBytes("GET", "/api/settings/Greeting", null, NO_AUTH).text());
      ApiClient.Reply badSetting = api.put("/functions/apps/sample/settings", "{\"Greeting\":42}");
      assertEquals(400, badSetting.status(), badSetting::toString);
      assertEquals(404, api.put("/functions/apps/nope/settings", "{}").status());

      // Per-function keys: a key of greeting opens greeting only; the app's key and the master key open every FUNCTION route.
      ApiClient.Reply fkey = api.put("/functions/apps/sample/functions/greeting/keys/mobile", "");
      assertEquals(200, fkey.status(), fkey::toString);
      String mobile = fkey.json().path("value").asText();
      assertEquals("mobile", api.get("/functions/apps/sample/functions/greeting/keys").json().path("keys").get(0).path("name").asText());
      assertEquals(200, api.sendBytes("GET", "/api/devices/d3/greeting?code=" + mobile, null, NO_AUTH).status());
      assertEquals(200, api.sendBytes("GET", "/api/devices/d3/greeting", null, Map.of("Authorization", "", "x-functions-key", mobile)).status());
      assertEquals(401, api.sendBytes("POST", "/api/notify?code=" + mobile, "x".getBytes(StandardCharsets.UTF_8), NO_AUTH).status(),
          "a function's key opens no other function");
      String master = hub.policies().find("iothubowner").orElseThrow().keys().primaryKey();
      assertEquals(200, api.sendBytes("GET", "/api/devices/d3/greeting?code=" + java.net.URLEncoder.encode(master, StandardCharsets.UTF_8),
          null, NO_AUTH).status(), "the master key still works");
      ApiClient.Reply chosen = api.put("/functions/apps/sample/functions/greeting/keys/short", "{\"value\":\"too-short\"}");
      assertEquals(400, chosen.status(), chosen::toString);
      assertEquals(404, api.put("/functions/apps/sample/functions/nope/keys/k", "").status());
      assertEquals(204, api.sendBytes("DELETE", "/functions/apps/sample/functions/greeting/keys/mobile?" + ApiClient.API_VERSION, null, Map.of()).status());
      assertEquals(401, api.sendBytes("GET", "/api/devices/d3/greeting?code=" + mobile, null, NO_AUTH).status(), "a deleted key is refused");

      // Telemetry from a real MQTT device reaches telemetryToTwin, which sets a tag on the device's twin.
      String device = "fn-thermostat-1";
      assertEquals(200, api.put("/devices/" + device, "{\"authentication\":{\"type\":\"sas\",\"symmetricKey\":{\"primaryKey\":\""
          + KEY1 + "\",\"secondaryKey\":\"" + KEY2 + "\"}}}").status());
      MqttClient mqtt = connect(hub, device);
      try {
        // First a message rejectPoison throws on (retried twice, then skipped), then a good one.
        mqtt.publish("devices/" + device + "/messages/events/", new MqttMessage("poison-1".getBytes(StandardCharsets.UTF_8)) {{
          setQos(1);
        }});
        mqtt.publish("devices/" + device + "/messages/events/alert=yes", new MqttMessage("{\"temperature\":21.5}".getBytes(StandardCharsets.UTF_8)) {{
          setQos(1);
        }});
      } finally {
        mqtt.disconnect();
        mqtt.close();
      }
      JsonNode twin = await("the telemetry function's tag on the twin", () -> {
        JsonNode t = api.get("/twins/" + device).json();
        return t.path("tags").path("lastTelemetry").has("temperature") ? t : null;
      });
      assertEquals(21.5, twin.path("tags").path("lastTelemetry").path("temperature").asDouble());
      assertTrue(twin.path("tags").path("lastTelemetryProperties").asText().contains("alert=yes"), twin::toString);
      // The partition's tag read delivered this device's messages: its next ones take the live path
      // (invoked as soon as journaled), and the tag read skips them when it gets there.
      // (Should the partition have restarted meanwhile, its first message of the device comes from
      // the tag read again: a few messages, one after the other, until one went live.)
      var triggers = hub.node.functions().orElseThrow().telemetry();
      long liveBefore = triggers.live.get();
      MqttClient again = connect(hub, device);
      try {
        for (int i = 1; i <= 5 && triggers.live.get() == liveBefore; i++) {
          double temperature = 22 + i;
          again.publish("devices/" + device + "/messages/events/", new MqttMessage(("{\"temperature\":" + temperature + "}")
              .getBytes(StandardCharsets.UTF_8)) {{
            setQos(1);
          }});
          await("the next message on the twin", () -> api.get("/twins/" + device).json().path("tags").path("lastTelemetry")
              .path("temperature").asDouble() == temperature ? true : null);
        }
      } finally {
        again.disconnect();
        again.close();
      }
      await("the live path invoked one and the tag read skipped it", () ->
          triggers.live.get() > liveBefore && triggers.liveSkipped.get() > 0 ? true : null);

      // The invocation log: the batch function saw the message too; the timer fired; the failure is recorded.
      await("invocations of telemetryBatch, heartbeat, the failed fail, and rejectPoison 3 times failed then succeeded", () -> {
        JsonNode inv = api.get("/functions/apps/sample/invocations?top=500").json();
        boolean batch = false;
        boolean timer = false;
        boolean failure = false;
        int poisonAttempts = 0;
        boolean route = false;
        boolean timedOut = false;
        boolean afterPoison = false;
        for (JsonNode i : inv) {
          String f = i.path("function").asText();
          if (f.equals("rejectPoison") && i.path("status").asText().equals("Failed")
              && i.path("error").asText().equals("java.lang.IllegalArgumentException: poison message: poison-1")) {
            poisonAttempts++;
          }
          afterPoison |= f.equals("rejectPoison") && i.path("status").asText().equals("Succeeded");
          route |= f.equals("twinChanges") && i.path("status").asText().equals("Succeeded");
          timedOut |= f.equals("sleepy") && i.path("status").asText().equals("Failed") && i.path("error").asText().equals("timed out after 5 s");
          batch |= f.equals("telemetryBatch") && i.path("status").asText().equals("Succeeded");
          timer |= f.equals("heartbeat") && i.path("status").asText().equals("Succeeded") && i.path("trigger").asText().equals("timerTrigger");
          failure |= f.equals("fail") && i.path("status").asText().equals("Failed")
              && i.path("error").asText().equals("java.lang.IllegalStateException: boom from the sample app");
        }
        return batch && timer && failure && poisonAttempts >= 3 && afterPoison && route && timedOut ? inv : null;
      });
      JsonNode logs = api.get("/functions/apps/sample/logs?top=200").json();
      assertTrue(logs.toString().contains("telemetry from " + device + ": {\\\"temperature\\\":21.5}"), logs::toString);
      assertTrue(logs.toString().contains("about to fail"), logs::toString);
      // The twin change the telemetry function made came back through the route "twin-changes".
      assertTrue(logs.toString().contains("twin change of " + device + " (updateTwin): "), logs::toString);

      // @EventHubOutput: notify writes two messages to the route twin-changes; they are on its stream
      // (not on the deviceMessages source's), and the route's function (twinChanges) gets them.
      ApiClient.Reply notified = api.sendBytes("POST", "/api/notify?code=" + key,
          "pump overheating\nvalve stuck".getBytes(StandardCharsets.UTF_8), NO_AUTH);
      assertEquals(202, notified.status(), notified::toString);
      List<JsonNode> onRoute = await("the notifications on the route twin-changes", () -> {
        List<JsonNode> found = new java.util.ArrayList<>();
        for (JsonNode m : ndjson(api, "/routes/twin-changes/stream?from=earliest&to=now")) {
          if (m.path("body").has("notification")) found.add(m);
        }
        return found.size() >= 2 ? found : null;
      });
      assertEquals("pump overheating", onRoute.get(0).path("body").path("notification").asText(), onRoute::toString);
      assertEquals("valve stuck", onRoute.get(1).path("body").path("notification").asText(), onRoute::toString);
      assertEquals("sample/notify", onRoute.get(0).path("systemProperties").path("$twinhub-function").asText(), onRoute::toString);
      assertTrue(ndjson(api, "/streams/deviceMessages?from=earliest&to=now").stream().noneMatch(m -> m.path("body").has("notification")),
          "a route output is no device message");
      await("twinChanges got the notifications", () -> api.get("/functions/apps/sample/logs?top=500").json().toString()
          .contains("twin change of [functions] (null): {\\\"notification\\\":\\\"valve stuck\\\"}") ? true : null);

      // The worker's meters on /metrics: the poison message was counted.
      String metrics = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
          "http://127.0.0.1:" + hub.node.settings().managementPort() + "/metrics")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).body();
      double poison = metrics.lines().filter(l -> l.startsWith("twinhub_functions_events_poison_total"))
          .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).findFirst().orElse(-1);
      assertTrue(poison >= 1, () -> "poison on /metrics: " + metrics.lines().filter(l -> l.startsWith("twinhub_functions")).toList());
      assertTrue(metrics.contains("twinhub_functions_invocations_failed_total"), "failures on /metrics");

      // A new version replaces the old one.
      ApiClient.Reply v2 = api.sendBytes("PUT", "/functions/apps/sample?" + ApiClient.API_VERSION, Files.readAllBytes(sampleJar()), JAR);
      assertEquals(2, v2.json().path("version").asInt(), v2::toString);
      assertEquals(2, api.get("/functions/apps/sample").json().path("version").asInt());
      assertEquals(200, api.sendBytes("GET", "/api/hello", null, NO_AUTH).status());

      // Deleted and published again: versions go on after the deleted app's, so a node that missed
      // the delete (it refreshes only now) does not take the new version for an older one.
      var store = hub.node.functions().orElseThrow().host().store();
      try (var missed = new io.twinhub.functions.host.AppHost(store, null, new io.twinhub.functions.host.AppHost.Settings(
          dir.resolve("missed-delete"), Duration.ofHours(1), Duration.ofSeconds(5), 2, Duration.ofSeconds(1),
          java.util.Set.of("messages/events", "twin-changes")))) {
        missed.refresh();
        assertEquals(2, missed.apps().get("sample").app().version());
        assertEquals(204, api.sendBytes("DELETE", "/functions/apps/sample?" + ApiClient.API_VERSION, null, Map.of()).status());
        assertEquals(404, api.sendBytes("GET", "/api/hello", null, NO_AUTH).status(), "deleted");
        ApiClient.Reply republished = api.sendBytes("PUT", "/functions/apps/sample?" + ApiClient.API_VERSION, Files.readAllBytes(sampleJar()), JAR);
        assertEquals(3, republished.json().path("version").asInt(), republished::toString);
        missed.refresh();
        assertEquals(3, missed.apps().get("sample").app().version(), "the node that missed the delete loads the republished app");
        assertEquals(200, api.sendBytes("GET", "/api/hello", null, NO_AUTH).status());
      }
    }
  }

  /** A JAR of class app.Fn with {@code method} as its one function ("fn"), compiled against the Azure Functions library. */
  private static byte[] compiled(Path dir, String method) throws Exception {
    Path src = dir.resolve("src/app/Fn.java");
    Files.createDirectories(src.getParent());
    Files.writeString(src, "package app;\nimport com.microsoft.azure.functions.*;\nimport com.microsoft.azure.functions.annotation.*;\n"
        + "public class Fn {\n  @FunctionName(\"fn\")\n" + method + "\n}\n");
    Path classes = Files.createDirectories(dir.resolve("classes"));
    assertEquals(0, io.twinhub.functions.runtime.AppJars.compile(src, classes), "compiles");
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    io.twinhub.functions.runtime.AppJars.jar(classes, out);
    return out.toByteArray();
  }

  private static List<JsonNode> ndjson(ApiClient api, String pathAndQuery) throws Exception {
    ApiClient.Reply r = api.send("GET", pathAndQuery, null, Map.of("Accept", "application/x-ndjson"));
    assertEquals(200, r.status(), r::toString);
    List<JsonNode> out = new java.util.ArrayList<>();
    for (String line : r.text().split("\n")) if (!line.isBlank()) out.add(ApiClient.JSON.readTree(line));
    return out;
  }

  private static MqttClient connect(ApiTestNode hub, String device) throws Exception {
    String host = hub.node.settings().hostName();
    MqttClient c = new MqttClient("ssl://127.0.0.1:" + hub.node.settings().mqttPort(), device, new MemoryPersistence());
    MqttConnectOptions o = new MqttConnectOptions();
    o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
    o.setCleanSession(true);
    o.setAutomaticReconnect(false);
    o.setConnectionTimeout(30);
    o.setSocketFactory(TlsMaterial.loadOrCreate(hub.node.settings().dataDir(), List.of(host), Clock.systemUTC())
        .clientSslContext().getSocketFactory());
    o.setUserName(host + "/" + device + "/?api-version=2020-09-30");
    o.setPassword(SasToken.signForDevice(host, device, null, KEY1, System.currentTimeMillis() / 1000 + 3600).toCharArray());
    c.connect(o);
    return c;
  }

  private static <T> T await(String what, Callable<T> probe) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (System.nanoTime() < deadline) {
      T v = probe.call();
      if (v != null) return v;
      Thread.sleep(300);
    }
    return fail("not seen within 90 s: " + what);
  }
}
