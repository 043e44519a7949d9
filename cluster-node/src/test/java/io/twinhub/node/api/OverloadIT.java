package io.twinhub.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinhub.node.mqtt.MqttTestNodes;
import io.twinhub.twin.auth.SasToken;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Admission control under overload, by mechanism (never by timing): the node admits one twin write
 * in flight (a fixed limit of 1), and many clients write at once over REST and MQTT. Writes beyond
 * the limit are refused with IoT Hub's throttling answer (REST 429 ThrottlingException 429001 with
 * Retry-After; MQTT {@code $iothub/twin/res/429}), and a refused write is never applied: each
 * twin's {@code $version} grows by exactly the number of writes answered 200/204.
 */
class OverloadIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final int REST_CLIENTS = 12;
  static final int DEVICES = 8;
  /** Enough rounds that refusals are certain with 12 or 8 writers against a limit of 1; the loops also stop once both kinds were seen. */
  static final int MAX_ROUNDS = 60;

  @TempDir
  static Path dataDir;
  static ApiTestNode hub;
  static ExecutorService pool;

  @BeforeAll
  static void start() throws Exception {
    hub = ApiTestNode.start(dataDir, Map.of(
        "twinhub.twin.admission.initial-limit", 1,
        "twinhub.twin.admission.min-limit", 1,
        "twinhub.twin.admission.max-limit", 1,
        "twinhub.mqtt.throttle-pause", "100ms",
        // overload-mode = delay (the default) with a wait of 1 ms: with 8 devices against a limit
        // of 1 both ends of a wait happen (granted a freed slot, refused at the bound), and their race.
        "twinhub.mqtt.overload-wait", "1ms"));
    pool = Executors.newFixedThreadPool(REST_CLIENTS + DEVICES);
  }

  @AfterAll
  static void stop() throws Exception {
    if (pool != null) pool.shutdownNow();
    if (hub != null) hub.close();
  }

  @Test
  void restWritesBeyondTheLimitGet429WithRetryAfterAndAreNeverApplied() throws Exception {
    String d = "overload-rest";
    assertEquals(200, hub.client.put("/devices/" + d, "{}").status());
    long desired0 = hub.client.get("/twins/" + d).json().path("properties").path("desired").path("$version").asLong();
    AtomicInteger accepted = new AtomicInteger();
    AtomicInteger refused = new AtomicInteger();
    Map<Long, Integer> versions = new ConcurrentHashMap<>();
    ConcurrentLinkedQueue<String> unexpected = new ConcurrentLinkedQueue<>();
    List<Future<?>> clients = new ArrayList<>();
    for (int c = 0; c < REST_CLIENTS; c++) {
      int client = c;
      // Its own connection per client: the requests reach the node at the same time.
      ApiClient api = new ApiClient(hub.client.base, hub.client.caPem, hub.client.policies, hub.client.hostName);
      clients.add(pool.submit(() -> {
        for (int n = 0; n < MAX_ROUNDS && !(refused.get() > 0 && accepted.get() >= REST_CLIENTS); n++) {
          ApiClient.Reply r = api.patch("/twins/" + d, "{\"properties\":{\"desired\":{\"c" + client + "\":" + n + "}}}", null);
          if (r.status() == 200) {
            accepted.incrementAndGet();
            versions.merge(r.json().path("properties").path("desired").path("$version").asLong(), 1, Integer::sum);
          } else if (r.status() == 429) {
            refused.incrementAndGet();
            if (r.errorCode() != 429001 || r.header("retry-after").isEmpty()
                || !"ThrottlingException".equals(r.header("iothub-errorcode").orElse(""))) {
              unexpected.add("429 not in IoT Hub's shape: " + r);
            }
          } else {
            unexpected.add(r.toString());
          }
        }
        return null;
      }));
    }
    for (Future<?> f : clients) f.get(5, TimeUnit.MINUTES);
    assertTrue(unexpected.isEmpty(), () -> "only 200 or 429 ThrottlingException with Retry-After: " + unexpected);
    assertTrue(refused.get() > 0, "writes beyond the limit of 1 were refused");
    assertTrue(accepted.get() > 0, "writes within the limit were applied");
    long desired = hub.client.get("/twins/" + d).json().path("properties").path("desired").path("$version").asLong();
    assertEquals(desired0 + accepted.get(), desired,
        "desired $version grew by the " + accepted.get() + " accepted writes, none of the " + refused.get() + " refused");
    assertTrue(versions.values().stream().allMatch(n -> n == 1), () -> "each accepted write has its own version: " + versions);
  }

  @Test
  void mqttReportedPatchesBeyondTheLimitGet429AndAreNeverApplied() throws Exception {
    int port = hub.node.settings().mqttPort();
    SSLContext tls = MqttTestNodes.clientTls(dataDir);
    List<Future<int[]>> devices = new ArrayList<>();
    AtomicInteger refusedAll = new AtomicInteger();
    AtomicInteger acceptedAll = new AtomicInteger();
    ConcurrentLinkedQueue<String> unexpected = new ConcurrentLinkedQueue<>();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < DEVICES; i++) {
      String d = "overload-mqtt-" + i;
      ids.add(d);
      ApiClient.Reply created = hub.client.put("/devices/" + d, "{\"authentication\":{\"type\":\"sas\",\"symmetricKey\":{\"primaryKey\":\""
          + MqttTestNodes.KEY1 + "\",\"secondaryKey\":\"" + MqttTestNodes.KEY1 + "\"}}}");
      assertEquals(200, created.status(), created::toString);
    }
    for (String d : ids) {
      devices.add(pool.submit(() -> {
        BlockingQueue<String[]> responses = new ArrayBlockingQueue<>(16);
        MqttClient c = new MqttClient("ssl://" + MqttTestNodes.HOST + ":" + port, d, new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        o.setCleanSession(true);
        o.setAutomaticReconnect(false);
        o.setConnectionTimeout(60);
        o.setSocketFactory(tls.getSocketFactory());
        o.setUserName(MqttTestNodes.HOST + "/" + d + "/?api-version=2020-09-30");
        o.setPassword(SasToken.signForDevice(MqttTestNodes.HOST, d, null, MqttTestNodes.KEY1,
            System.currentTimeMillis() / 1000 + 3600).toCharArray());
        c.setTimeToWait(60_000);
        c.connect(o);
        try {
          c.subscribe("$iothub/twin/res/#", 0, (topic, msg) ->
              responses.add(new String[] {topic, new String(msg.getPayload(), StandardCharsets.UTF_8)}));
          int accepted = 0;
          int refused = 0;
          long lastVersion = -1;
          for (int n = 0; n < MAX_ROUNDS && !(refusedAll.get() > 0 && accepted >= 3); n++) {
            // One request at a time per device, as the SDKs do: the next after the answer.
            MqttMessage m = new MqttMessage(("{\"n\":" + n + "}").getBytes(StandardCharsets.UTF_8));
            m.setQos(1);
            c.publish("$iothub/twin/PATCH/properties/reported/?$rid=" + n, m);
            String[] r = responses.poll(60, TimeUnit.SECONDS);
            assertNotNull(r, d + ": no answer to $rid " + n);
            String topic = r[0];
            if (!topic.contains("$rid=" + n)) {
              unexpected.add(d + ": answer to another request: " + topic);
            } else if (topic.startsWith("$iothub/twin/res/204/")) {
              accepted++;
              acceptedAll.incrementAndGet();
              long v = Long.parseLong(topic.substring(topic.indexOf("$version=") + "$version=".length()));
              if (lastVersion >= 0 && v != lastVersion + 1) unexpected.add(d + ": $version " + v + " after " + lastVersion);
              lastVersion = v;
            } else if (topic.startsWith("$iothub/twin/res/429/")) {
              refused++;
              refusedAll.incrementAndGet();
              JsonNode body = JSON.readTree(r[1]);
              if (body.path("errorCode").asInt() != 429001) unexpected.add(d + ": 429 body " + r[1]);
            } else {
              unexpected.add(d + ": " + topic + " " + r[1]);
            }
          }
          return new int[] {accepted, refused};
        } finally {
          c.disconnect();
          c.close();
        }
      }));
    }
    int[][] outcome = new int[DEVICES][];
    for (int i = 0; i < DEVICES; i++) outcome[i] = devices.get(i).get(5, TimeUnit.MINUTES);
    assertTrue(unexpected.isEmpty(), () -> "only 204 or 429 (429001), in order: " + unexpected);
    assertTrue(refusedAll.get() > 0, "reported patches beyond the limit of 1 were refused with 429");
    for (int i = 0; i < DEVICES; i++) {
      JsonNode twin = hub.client.get("/twins/" + ids.get(i)).json();
      long reported = twin.path("properties").path("reported").path("$version").asLong();
      assertEquals(1 + outcome[i][0], reported, ids.get(i) + ": reported $version = 1 + the " + outcome[i][0]
          + " patches answered 204, none of the " + outcome[i][1] + " answered 429");
    }
  }
}
