package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.node.cli.TwinhubCli;
import io.twinhub.twin.auth.SasToken;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The change streams over HTTPS on a real node: NDJSON and Server-Sent Events, resuming by
 * offset and Last-Event-ID, filters, named routes, device telemetry as {@code deviceMessages},
 * and clear 4xx for mistakes.
 */
class ChangeStreamsIT {
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  static Path dir;
  static ApiTestNode node;
  static ApiClient api;

  @BeforeAll
  static void start() throws Exception {
    // A 2 s keep-alive (15 s by default): quietNdjsonStreamsKeepAlive waits for one.
    node = ApiTestNode.start(dir, Map.of("twinhub.routes", List.of(Map.of(
        "name", "eco", "source", "twinChangeEvents", "condition", "properties.desired.mode = 'eco'")),
        "twinhub.streams.keep-alive", "2s"));
    api = node.client;
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  static List<JsonNode> ndjson(String pathAndQuery) throws Exception {
    ApiClient.Reply r = api.send("GET", pathAndQuery, null, Map.of("Accept", "application/x-ndjson"));
    assertEquals(200, r.status(), r.text());
    List<JsonNode> out = new ArrayList<>();
    for (String line : r.text().split("\n")) if (!line.isBlank()) out.add(JSON.readTree(line));
    return out;
  }

  static void patchDesired(String id, String desired) throws Exception {
    ApiClient.Reply r = api.patch("/twins/" + id, "{\"properties\":{\"desired\":" + desired + "}}", null);
    assertEquals(200, r.status(), r.text());
  }

  @Test
  void ndjsonHistoryResumesExactlyAfterAnOffset() throws Exception {
    assertEquals(200, api.put("/devices/s1", "{\"deviceId\":\"s1\"}").status());
    patchDesired("s1", "{\"a\":1}");
    patchDesired("s1", "{\"mode\":\"eco\"}");
    patchDesired("s1", "{\"a\":null}");
    // Tag reads trail writes by the read journal's eventual-consistency delay.
    List<JsonNode> all = awaitNdjson("/streams/twinChangeEvents?from=earliest&to=now&deviceId=s1", 3);
    assertEquals(List.of(2L, 3L, 4L), all.stream().map(m -> m.get("version").asLong()).toList());
    JsonNode first = all.get(0);
    assertEquals("updateTwin", first.at("/properties/opType").asText());
    assertEquals("s1", first.at("/properties/deviceId").asText());
    assertEquals("twinChangeNotification", first.at("/properties/iothub-message-schema").asText());
    assertEquals(1, first.at("/body/properties/desired/a").asInt());
    assertEquals(2, first.at("/body/properties/desired/$version").asInt());

    List<JsonNode> rest = ndjson("/streams/twinChangeEvents?to=now&deviceId=s1&from=" + first.get("offset").asText());
    assertEquals(List.of(3L, 4L), rest.stream().map(m -> m.get("version").asLong()).toList());

    List<JsonNode> lifecycle = ndjson("/streams/deviceLifecycleEvents?from=earliest&to=now&deviceId=s1");
    assertEquals("createDeviceIdentity", lifecycle.get(0).at("/properties/opType").asText());

    List<JsonNode> eco = ndjson("/routes/eco/stream?from=earliest&to=now");
    assertEquals(1, eco.size());
    assertEquals("eco", eco.get(0).at("/body/properties/desired/mode").asText());
    List<JsonNode> adHoc = ndjson("/streams/all?from=earliest&to=now&condition="
        + java.net.URLEncoder.encode("IS_DEFINED(properties.desired.a)", StandardCharsets.UTF_8));
    assertEquals(2, adHoc.size(), "the change setting a and the one deleting it (null)");

    ApiClient.Reply routes = api.get("/routes");
    assertEquals("eco", routes.json().get(0).get("name").asText());
  }

  @Test
  void serverSentEventsAreLiveAndResumeWithLastEventId() throws Exception {
    assertEquals(200, api.put("/devices/s2", "{\"deviceId\":\"s2\"}").status());
    BlockingQueue<String[]> events = new LinkedBlockingQueue<>();
    InputStream body = openSse("/streams/twinChangeEvents?deviceId=s2&from=latest", null, events);
    Thread.sleep(1000);
    long t0 = System.nanoTime();
    patchDesired("s2", "{\"live\":1}");
    String[] first = events.poll(60, TimeUnit.SECONDS);
    assertNotNull(first, "a live change arrives");
    System.out.printf("ChangeStreamsIT: write ack to SSE delivery %.0f ms%n", (System.nanoTime() - t0) / 1e6);
    assertEquals("twinChangeEvents", first[1]);
    assertEquals(2, JSON.readTree(first[2]).get("version").asInt());
    body.close(); // the consumer goes away

    patchDesired("s2", "{\"live\":2}");
    patchDesired("s2", "{\"live\":3}");
    BlockingQueue<String[]> resumed = new LinkedBlockingQueue<>();
    InputStream again = openSse("/streams/twinChangeEvents?deviceId=s2", first[0], resumed);
    String[] a = resumed.poll(60, TimeUnit.SECONDS);
    String[] b = resumed.poll(60, TimeUnit.SECONDS);
    assertNotNull(b, "both missed changes arrive");
    assertEquals(3, JSON.readTree(a[2]).get("version").asInt());
    assertEquals(4, JSON.readTree(b[2]).get("version").asInt());
    assertNull(resumed.poll(1500, TimeUnit.MILLISECONDS), "nothing repeated");
    again.close();
  }

  /**
   * Device telemetry sent over MQTT (Paho, the client inside the device SDK, publishing the
   * property bag the SDK builds) is the {@code deviceMessages} source: per-device order,
   * application and system properties, body encodings, resume by offset, device filter,
   * routing conditions and live SSE.
   */
  @Test
  void deviceTelemetryIsAStreamSource() throws Exception {
    MqttClient t1 = device("tm-1");
    MqttClient t2 = device("tm-2");
    try {
      for (int i = 0; i < 12; i++) {
        // What iot-device-client 2.5.0 puts in the topic for a Message with id, correlation id,
        // content type/encoding and an application property.
        String bag = "%24.mid=m-" + i + "&%24.cid=c-1&%24.ct=application%2Fjson&%24.ce=utf-8&seq=" + i + "&alert=high%20temp";
        telemetry(t1, "tm-1", bag, "{\"n\":" + i + "}");
        if (i % 4 == 0) telemetry(t2, "tm-2", "seq=" + i, "{\"n\":" + i + "}");
      }
      t1.publish("devices/tm-1/messages/events/%24.ct=application%2Foctet-stream", new byte[] {(byte) 0xff, 0, 1}, 1, false);
      t1.publish("devices/tm-1/messages/events/", "plain text 21°C".getBytes(StandardCharsets.UTF_8), 1, false);

      List<JsonNode> all = awaitNdjson("/streams/deviceMessages?from=earliest&to=now&deviceId=tm-1", 14);
      assertEquals(14, all.size());
      for (int i = 0; i < 12; i++) {
        JsonNode m = all.get(i);
        assertEquals("deviceMessages", m.get("source").asText());
        assertEquals("tm-1", m.get("twinId").asText());
        assertEquals(i + 1, m.get("sequenceNr").asLong(), "per-device order");
        assertEquals(String.valueOf(i), m.at("/properties/seq").asText());
        assertEquals("high temp", m.at("/properties/alert").asText());
        assertEquals("m-" + i, m.at("/systemProperties/$message-id").asText());
        assertEquals("c-1", m.at("/systemProperties/$correlation-id").asText());
        assertEquals("application/json", m.at("/systemProperties/$content-type").asText());
        assertEquals("utf-8", m.at("/systemProperties/$content-encoding").asText());
        assertEquals("tm-1", m.at("/systemProperties/$iothub-connection-device-id").asText());
        assertEquals("Telemetry", m.at("/systemProperties/$iothub-message-source").asText());
        assertFalse(m.at("/systemProperties/$iothub-enqueuedtime").asText().isEmpty());
        assertEquals("json", m.get("bodyEncoding").asText());
        assertEquals(i, m.at("/body/n").asInt());
      }
      assertEquals("base64", all.get(12).get("bodyEncoding").asText());
      assertArrayEquals(new byte[] {(byte) 0xff, 0, 1}, java.util.Base64.getDecoder().decode(all.get(12).get("body").asText()));
      assertEquals("utf-8", all.get(13).get("bodyEncoding").asText());
      assertEquals("plain text 21°C", all.get(13).get("body").asText());

      // Resume right after the 8th message: the rest, nothing repeated.
      List<JsonNode> rest = ndjson("/streams/deviceMessages?to=now&deviceId=tm-1&from=" + all.get(7).get("offset").asText());
      assertEquals(List.of(9L, 10L, 11L, 12L, 13L, 14L), rest.stream().map(m -> m.get("sequenceNr").asLong()).toList());

      // The device filter, and both sources of one device in one stream.
      List<JsonNode> other = awaitNdjson("/streams/deviceMessages?from=earliest&to=now&deviceId=tm-2", 3);
      assertEquals(List.of(0, 4, 8), other.stream().map(m -> m.at("/body/n").asInt()).toList());
      List<JsonNode> both = ndjson("/streams/all?from=earliest&to=now&deviceId=tm-1");
      assertTrue(both.stream().anyMatch(m -> m.at("/properties/opType").asText().equals("createDeviceIdentity")));
      assertEquals(14, both.stream().filter(m -> m.get("source").asText().equals("deviceMessages")).count());
      // IoT Hub routing-query style conditions over device messages.
      List<JsonNode> routed = ndjson("/streams/deviceMessages?from=earliest&to=now&condition="
          + java.net.URLEncoder.encode("$body.n >= 9 AND alert = 'high temp' AND STARTSWITH($connectionDeviceId, 'tm-')",
              StandardCharsets.UTF_8));
      assertEquals(List.of(9, 10, 11), routed.stream().map(m -> m.at("/body/n").asInt()).toList());

      // Live over SSE, then resumed with Last-Event-ID.
      BlockingQueue<String[]> live = new LinkedBlockingQueue<>();
      InputStream body = openSse("/streams/deviceMessages?deviceId=tm-2&from=latest", null, live);
      Thread.sleep(1000);
      telemetry(t2, "tm-2", "seq=100", "{\"n\":100}");
      String[] first = live.poll(60, TimeUnit.SECONDS);
      assertNotNull(first, "live telemetry arrives");
      assertEquals("deviceMessages", first[1]);
      assertEquals(100, JSON.readTree(first[2]).at("/body/n").asInt());
      body.close();
      telemetry(t2, "tm-2", "seq=101", "{\"n\":101}");
      telemetry(t2, "tm-2", "seq=102", "{\"n\":102}");
      BlockingQueue<String[]> resumed = new LinkedBlockingQueue<>();
      InputStream again = openSse("/streams/deviceMessages?deviceId=tm-2", first[0], resumed);
      String[] a = resumed.poll(60, TimeUnit.SECONDS);
      String[] b = resumed.poll(60, TimeUnit.SECONDS);
      assertNotNull(b, "both missed messages arrive");
      assertEquals(101, JSON.readTree(a[2]).at("/body/n").asInt());
      assertEquals(102, JSON.readTree(b[2]).at("/body/n").asInt());
      assertNull(resumed.poll(1500, TimeUnit.MILLISECONDS), "nothing repeated");
      again.close();

      // ./twinhub export copies telemetry too, and a second run appends only what is new.
      Path file = dir.resolve("export.ndjson");
      String[] export = {"export", "--to", file.toString(), "--data-dir", dir.toString(), "--url", api.base};
      assertEquals(0, TwinhubCli.commandLine().execute(export));
      telemetry(t2, "tm-2", "seq=103", "{\"n\":103}");
      awaitNdjson("/streams/deviceMessages?from=earliest&to=now&deviceId=tm-2", 7);
      assertEquals(0, TwinhubCli.commandLine().execute(export));
      List<JsonNode> exported = new ArrayList<>();
      for (String line : java.nio.file.Files.readAllLines(file)) exported.add(JSON.readTree(line));
      Set<String> keys = new HashSet<>();
      for (JsonNode m : exported) {
        assertTrue(keys.add(m.get("source").asText() + " " + m.get("twinId").asText() + " " + m.get("sequenceNr").asLong()),
            "exported once: " + m);
      }
      assertEquals(List.of(0, 4, 8, 100, 101, 102, 103), exported.stream()
          .filter(m -> m.get("source").asText().equals("deviceMessages") && m.get("twinId").asText().equals("tm-2"))
          .map(m -> m.at("/body/n").asInt()).toList());
      assertEquals(14, exported.stream().filter(m -> m.get("source").asText().equals("deviceMessages")
          && m.get("twinId").asText().equals("tm-1")).count());
    } finally {
      t1.disconnect();
      t2.disconnect();
    }
  }

  /** A device identity and a Paho client connected as it over TLS with its SAS key. */
  static MqttClient device(String id) throws Exception {
    ApiClient.Reply created = api.put("/devices/" + id, "{\"deviceId\":\"" + id + "\"}");
    assertEquals(200, created.status(), created.text());
    String key = created.json().at("/authentication/symmetricKey/primaryKey").asText();
    String host = node.node.settings().hostName();
    MqttClient c = new MqttClient("ssl://127.0.0.1:" + node.node.settings().mqttPort(), id, new MemoryPersistence());
    MqttConnectOptions o = new MqttConnectOptions();
    o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
    o.setCleanSession(true);
    o.setUserName(host + "/" + id + "/?api-version=2021-04-12");
    o.setPassword(SasToken.signForDevice(host, id, null, key, System.currentTimeMillis() / 1000 + 3600).toCharArray());
    o.setSocketFactory(node.node.api().tls().clientSslContext().getSocketFactory());
    o.setAutomaticReconnect(false);
    c.connect(o);
    return c;
  }

  /** QoS 1: returns once the hub acknowledged, i.e. once the message is in the journal. */
  static void telemetry(MqttClient c, String deviceId, String propertyBag, String json) throws Exception {
    c.publish("devices/" + deviceId + "/messages/events/" + propertyBag, json.getBytes(StandardCharsets.UTF_8), 1, false);
  }

  /** The finite stream, re-read until it holds {@code count} messages (tag reads trail writes). */
  static List<JsonNode> awaitNdjson(String pathAndQuery, int count) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    List<JsonNode> got = ndjson(pathAndQuery);
    while (got.size() < count && System.nanoTime() < deadline) {
      Thread.sleep(300);
      got = ndjson(pathAndQuery);
    }
    return got;
  }

  /** A quiet live NDJSON stream sends blank lines, so idle timeouts on the way do not cut it. */
  @Test
  void quietNdjsonStreamsKeepAlive() throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create(api.base + "/streams/deviceLifecycleEvents?from=latest&deviceId=nobody"))
        .header("Authorization", api.ownerToken()).header("Accept", "application/x-ndjson").build();
    HttpResponse<InputStream> r = api.http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, r.statusCode());
    try (InputStream in = r.body()) {
      long t0 = System.nanoTime();
      int first = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
        try {
          return in.read();
        } catch (java.io.IOException e) {
          return -2;
        }
      }).get(40, TimeUnit.SECONDS);
      assertEquals('\n', first, "a blank line while nothing happens");
      System.out.printf("ChangeStreamsIT: NDJSON keep-alive after %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }
  }

  @Test
  void mistakesAreClearClientErrors() throws Exception {
    ApiClient.Reply unknown = api.send("GET", "/streams/twinChanges", null, Map.of());
    assertEquals(400, unknown.status());
    assertTrue(unknown.errorMessage().contains("unknown message source"), unknown.text());
    assertEquals(400, api.send("GET", "/streams/all?from=yesterday", null, Map.of()).status());
    assertEquals(400, api.send("GET", "/streams/deviceMessages?from=AgAB", null, Map.of()).status(), "truncated offset");
    ApiClient.Reply badCondition = api.send("GET", "/streams/all?condition="
        + java.net.URLEncoder.encode("properties.desired.x = ", StandardCharsets.UTF_8), null, Map.of());
    assertEquals(400, badCondition.status());
    assertTrue(badCondition.errorMessage().contains("line 1"), badCondition.text());
    assertEquals(400, api.send("GET", "/streams/all", null, Map.of("Last-Event-ID", "tampered")).status());
    assertEquals(401, api.send("GET", "/streams/all", null, Map.of("Authorization", "")).status());
    assertEquals(404, api.send("GET", "/routes/none/stream", null, Map.of()).status());
  }

  /** Opens an SSE stream and feeds {id, event, data} triples to {@code sink} from a reader thread. */
  static InputStream openSse(String pathAndQuery, String lastEventId, BlockingQueue<String[]> sink) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(api.base + pathAndQuery))
        .header("Authorization", api.ownerToken()).header("Accept", "text/event-stream");
    if (lastEventId != null) b.header("Last-Event-ID", lastEventId);
    HttpResponse<InputStream> r = api.http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, r.statusCode());
    InputStream in = r.body();
    Thread reader = new Thread(() -> {
      try (BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String id = null, event = null, data = null, line;
        while ((line = lines.readLine()) != null) {
          if (line.startsWith("id:")) id = line.substring(3).trim();
          else if (line.startsWith("event:")) event = line.substring(6).trim();
          else if (line.startsWith("data:")) data = line.substring(5).trim();
          else if (line.isEmpty() && data != null) {
            // Akka's SSE heartbeat ("data:" and nothing else, every keep-alive of an idle stream: 2 s
            // here) is not a change; on a loaded box it can come before the first one.
            boolean heartbeat = id == null && event == null && data.isEmpty();
            if (!heartbeat) sink.add(new String[] {id, event, data});
            id = event = data = null;
          }
        }
      } catch (java.io.IOException ignored) {
        // closed by the test
      }
    });
    reader.setDaemon(true);
    reader.start();
    return in;
  }
}
