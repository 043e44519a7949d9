package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The change streams over HTTPS on a real node: NDJSON and Server-Sent Events, resuming by
 * offset and Last-Event-ID, filters, named routes, and clear 4xx for mistakes.
 */
class ChangeStreamsIT {
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  static Path dir;
  static ApiTestNode node;
  static ApiClient api;

  @BeforeAll
  static void start() throws Exception {
    node = ApiTestNode.start(dir, Map.of("twinhub.routes", List.of(Map.of(
        "name", "eco", "source", "twinChangeEvents", "condition", "properties.desired.mode = 'eco'"))));
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
    Thread.sleep(1500); // past the read journal's eventual-consistency delay

    List<JsonNode> all = ndjson("/streams/twinChangeEvents?from=earliest&to=now&deviceId=s1");
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
    String[] first = events.poll(20, TimeUnit.SECONDS);
    assertNotNull(first, "a live change arrives");
    System.out.printf("ChangeStreamsIT: write ack to SSE delivery %.0f ms%n", (System.nanoTime() - t0) / 1e6);
    assertEquals("twinChangeEvents", first[1]);
    assertEquals(2, JSON.readTree(first[2]).get("version").asInt());
    body.close(); // the consumer goes away

    patchDesired("s2", "{\"live\":2}");
    patchDesired("s2", "{\"live\":3}");
    BlockingQueue<String[]> resumed = new LinkedBlockingQueue<>();
    InputStream again = openSse("/streams/twinChangeEvents?deviceId=s2", first[0], resumed);
    String[] a = resumed.poll(20, TimeUnit.SECONDS);
    String[] b = resumed.poll(20, TimeUnit.SECONDS);
    assertNotNull(b, "both missed changes arrive");
    assertEquals(3, JSON.readTree(a[2]).get("version").asInt());
    assertEquals(4, JSON.readTree(b[2]).get("version").asInt());
    assertNull(resumed.poll(1500, TimeUnit.MILLISECONDS), "nothing repeated");
    again.close();
  }

  @Test
  void mistakesAreClearClientErrors() throws Exception {
    ApiClient.Reply unknown = api.send("GET", "/streams/twinChanges", null, Map.of());
    assertEquals(400, unknown.status());
    assertTrue(unknown.errorMessage().contains("unknown message source"), unknown.text());
    assertEquals(400, api.send("GET", "/streams/all?from=yesterday", null, Map.of()).status());
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
            sink.add(new String[] {id, event, data});
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
