package io.twinhub.node.jobs;

import com.azure.core.credential.AzureSasCredential;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.microsoft.azure.sdk.iot.device.ClientOptions;
import com.microsoft.azure.sdk.iot.device.DeviceClient;
import com.microsoft.azure.sdk.iot.device.IotHubClientProtocol;
import com.microsoft.azure.sdk.iot.device.twin.DirectMethodResponse;
import com.microsoft.azure.sdk.iot.service.exceptions.IotHubBadFormatException;
import com.microsoft.azure.sdk.iot.service.exceptions.IotHubConflictException;
import com.microsoft.azure.sdk.iot.service.exceptions.IotHubNotFoundException;
import com.microsoft.azure.sdk.iot.service.jobs.DirectMethodsJobOptions;
import com.microsoft.azure.sdk.iot.service.jobs.ScheduledJob;
import com.microsoft.azure.sdk.iot.service.jobs.ScheduledJobStatus;
import com.microsoft.azure.sdk.iot.service.jobs.ScheduledJobType;
import com.microsoft.azure.sdk.iot.service.jobs.ScheduledJobsClient;
import com.microsoft.azure.sdk.iot.service.query.JobQueryResponse;
import com.microsoft.azure.sdk.iot.service.query.QueryPageOptions;
import com.microsoft.azure.sdk.iot.service.twin.Twin;
import io.twinhub.node.TwinhubNode;
import io.twinhub.mqtt.tls.TlsMaterial;
import io.twinhub.node.cli.CliRun;
import io.twinhub.twin.auth.SasToken;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.TwinState;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.service.TwinService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLSocketFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Predicate;

import static io.twinhub.node.mqtt.MqttTestNodes.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Jobs v2 through the official Java service SDK's {@link ScheduledJobsClient} (iot-service-client
 * 2.1.9; {@code JobClient} in the 1.x SDKs) against one real node: a twin-update job, a method job
 * on a device connected with the Java device SDK and on an offline one, cancel, a scheduled start,
 * queries of jobs and of {@code devices.jobs}, and bad input.
 */
class JobsIT {
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  static Path dataDir;

  static TwinhubNode node;
  static String host;
  static ScheduledJobsClient jobs;
  static SSLSocketFactory previousFactory;

  @BeforeAll
  static void start() throws Exception {
    node = io.twinhub.node.mqtt.MqttTestNodes.start(dataDir, requireSdkPortFree());
    previousFactory = HttpsURLConnection.getDefaultSSLSocketFactory();
    HttpsURLConnection.setDefaultSSLSocketFactory(
        TlsMaterial.clientSslContext(node.api().tls().caPemPath()).getSocketFactory());
    host = HOST + ":" + node.api().httpsPort();
    var owner = node.policies().get("iothubowner");
    jobs = new ScheduledJobsClient(host, new AzureSasCredential(
        SasToken.signForService(host, owner.keyName(), owner.keys().primaryKey(), Instant.now().getEpochSecond() + 3600)));
  }

  @AfterAll
  static void stop() throws Exception {
    if (previousFactory != null) HttpsURLConnection.setDefaultSSLSocketFactory(previousFactory);
    if (node != null) node.stop().toCompletableFuture().get(90, java.util.concurrent.TimeUnit.SECONDS);
  }

  static String id(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  /** Devices tagged {@code run} (and {@code group}), visible to the query index before the job selects. */
  static List<String> devices(String run, int n, String group) throws Exception {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String d = run + "-" + group + "-" + String.format("%03d", i);
      createDevice(node.twins(), d);
      TwinReply r = await(node.twins().updateTwin(d, null, new TwinUpdate.PatchTags(
          JsonDoc.of((com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(
              "{\"run\":\"" + run + "\",\"group\":\"" + group + "\"}"))), null));
      assertInstanceOf(TwinReply.Accepted.class, r);
      ids.add(d);
    }
    return ids;
  }

  static void awaitIndexed(String condition, long count) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    long seen = -1;
    while (System.nanoTime() < deadline) {
      var r = node.queryIndex().orElseThrow().query("SELECT COUNT() AS n FROM devices WHERE " + condition, 0, null,
          Optional.empty()).toCompletableFuture().get();
      seen = r.json().get(0).path("n").asLong();
      if (seen == count) return;
      Thread.sleep(200);
    }
    fail("index shows " + seen + " of " + count + " twins for " + condition);
  }

  static ScheduledJob awaitJob(String jobId, Predicate<ScheduledJob> done, String what) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    ScheduledJob j = jobs.get(jobId);
    while (!done.test(j) && System.nanoTime() < deadline) {
      Thread.sleep(250);
      j = jobs.get(jobId);
    }
    assertTrue(done.test(j), what + ": " + j.getJobStatus() + " " + stats(j));
    return j;
  }

  static String stats(ScheduledJob j) {
    var s = j.getJobStatistics();
    return s == null ? "no statistics" : "devices " + s.getDeviceCount() + " succeeded " + s.getSucceededCount()
        + " failed " + s.getFailedCount() + " running " + s.getRunningCount() + " pending " + s.getPendingCount();
  }

  static TwinState twin(String deviceId) {
    return ((TwinReply.Accepted) await(node.twins().getTwin(deviceId, null))).twin().state();
  }

  @Test
  void twinUpdateJobUpdatesEverySelectedTwinOnceAndIsQueryable() throws Exception {
    String run = id("tj");
    List<String> targeted = devices(run, 25, "a");
    List<String> others = devices(run, 5, "b");
    awaitIndexed("tags.run = '" + run + "'", 30);

    String jobId = id("job-twin");
    Twin patch = new Twin();
    patch.getTags().put("firmware", "2.0");
    patch.getDesiredProperties().put("fwVersion", "2.0");
    ScheduledJob created = jobs.scheduleUpdateTwin(jobId, "tags.run = '" + run + "' AND tags.group = 'a'", patch,
        new Date(), 600);
    assertEquals(jobId, created.getJobId());
    assertEquals(ScheduledJobType.scheduleUpdateTwin, created.getJobType());

    ScheduledJob done = awaitJob(jobId, j -> j.getJobStatus() == ScheduledJobStatus.completed, "twin job completes");
    assertEquals(25, done.getJobStatistics().getDeviceCount());
    assertEquals(25, done.getJobStatistics().getSucceededCount());
    assertEquals(0, done.getJobStatistics().getFailedCount());
    assertEquals(0, done.getJobStatistics().getPendingCount());
    assertNotNull(done.getEndTime());
    assertEquals("2.0", done.getUpdateTwin().getDesiredProperties().get("fwVersion"));
    for (String d : targeted) {
      TwinState t = twin(d);
      assertEquals(3, t.version(), d + ": created, tagged, then the job's one write");
      assertEquals("2.0", t.desired().values().get("fwVersion").asText());
      assertEquals("2.0", t.tags().get("firmware").asText());
    }
    for (String d : others) {
      assertEquals(2, twin(d).version(), d + " was not selected");
      assertNull(twin(d).tags().get("firmware"));
    }

    IotHubConflictException dup = assertThrows(IotHubConflictException.class,
        () -> jobs.scheduleUpdateTwin(jobId, "", patch, new Date(), 0));
    assertEquals(409104, dup.getErrorCode());

    // devices.jobs through the SDK's query, paged two records at a time.
    JobQueryResponse records = jobs.query("SELECT * FROM devices.jobs WHERE devices.jobs.jobId = '" + jobId + "'",
        QueryPageOptions.builder().pageSize(2).build());
    List<String> seen = new ArrayList<>();
    while (records.hasNext()) {
      ScheduledJob r = records.next(QueryPageOptions.builder().pageSize(2).build());
      assertEquals(jobId, r.getJobId());
      assertEquals(ScheduledJobStatus.completed, r.getJobStatus());
      assertEquals(ScheduledJobType.scheduleUpdateTwin, r.getJobType());
      seen.add(r.getDeviceId());
    }
    assertEquals(targeted, seen);

    // The list of jobs by type and status finds it.
    JobQueryResponse list = jobs.query(ScheduledJobType.scheduleUpdateTwin, ScheduledJobStatus.completed);
    boolean found = false;
    while (list.hasNext()) {
      ScheduledJob j = list.next();
      assertEquals(ScheduledJobStatus.completed, j.getJobStatus());
      found |= j.getJobId().equals(jobId);
    }
    assertTrue(found, "GET /jobs/v2/query lists the job");
    assertFalse(jobs.query(ScheduledJobType.scheduleDeviceMethod, null).hasNext() && containsJob(
        jobs.query(ScheduledJobType.scheduleDeviceMethod, null), jobId), "not listed as a method job");
  }

  static boolean containsJob(JobQueryResponse r, String jobId) throws Exception {
    while (r.hasNext()) if (r.next().getJobId().equals(jobId)) return true;
    return false;
  }

  @Test
  void methodJobRecordsAnswersAndOfflineDevices() throws Exception {
    String run = id("mj");
    List<String> ids = devices(run, 2, "m");
    String online = ids.get(0);
    String offline = ids.get(1);
    awaitIndexed("tags.run = '" + run + "'", 2);
    DeviceClient client = new DeviceClient(deviceConnectionString(online), IotHubClientProtocol.MQTT,
        ClientOptions.builder().sslContext(clientTls(dataDir)).build());
    try {
      client.open(false);
      client.subscribeToMethods((name, payload, ctx) -> new DirectMethodResponse(201,
          Map.of("method", name, "got", payload.getPayloadAsJsonString())), null);

      String jobId = id("job-method");
      jobs.scheduleDirectMethod(jobId, "deviceId IN ['" + online + "', '" + offline + "']", "reboot", new Date(),
          DirectMethodsJobOptions.builder().payload(Map.of("delay", 5)).methodResponseTimeoutSeconds(10)
              .methodConnectTimeoutSeconds(3).maxExecutionTimeSeconds(300).build());
      ScheduledJob done = awaitJob(jobId, j -> j.getJobStatus() == ScheduledJobStatus.completed, "method job completes");
      assertEquals(2, done.getJobStatistics().getDeviceCount());
      assertEquals(1, done.getJobStatistics().getSucceededCount());
      assertEquals(1, done.getJobStatistics().getFailedCount());

      // Each device's record: the answer of the online device, DeviceNotOnline for the other.
      JsonNode rows = query("SELECT * FROM devices.jobs WHERE devices.jobs.jobId = '" + jobId + "'");
      assertEquals(2, rows.size(), rows.toString());
      Map<String, JsonNode> byDevice = new HashMap<>();
      rows.forEach(r -> byDevice.put(r.get("deviceId").asText(), r));
      JsonNode ok = byDevice.get(online);
      assertEquals("completed", ok.get("status").asText());
      assertEquals("scheduleDeviceMethod", ok.get("jobType").asText());
      assertEquals(201, ok.at("/outcome/deviceMethodResponse/status").asInt());
      assertEquals("reboot", ok.at("/outcome/deviceMethodResponse/payload/method").asText());
      assertEquals(5, JSON.readTree(ok.at("/outcome/deviceMethodResponse/payload/got").asText()).get("delay").asInt());
      JsonNode failed = byDevice.get(offline);
      assertEquals("failed", failed.get("status").asText());
      assertEquals("DeviceNotOnline", failed.at("/error/code").asText());
      assertTrue(failed.at("/error/description").asText().contains("404103"), failed.toString());

      // The SDK reads the same records (status, error) and finds the failed one by status.
      JobQueryResponse sdkRows = jobs.query("SELECT * FROM devices.jobs WHERE devices.jobs.jobId = '" + jobId
          + "' AND devices.jobs.status = 'failed'");
      assertTrue(sdkRows.hasNext());
      ScheduledJob r = sdkRows.next();
      assertEquals(offline, r.getDeviceId());
      assertEquals(ScheduledJobStatus.failed, r.getJobStatus());
      assertTrue(r.getError().contains("DeviceNotOnline"), r.getError());
      assertFalse(sdkRows.hasNext());
    } finally {
      client.close();
    }
  }

  @Test
  void scheduledJobWaitsForItsStartTimeAndCancelStopsIt() throws Exception {
    String run = id("sj");
    List<String> ids = devices(run, 3, "s");
    awaitIndexed("tags.run = '" + run + "'", 3);
    Twin patch = new Twin();
    patch.getDesiredProperties().put("mode", "night");

    // Far in the future: scheduled until cancelled, and nothing is written.
    String later = id("job-later");
    ScheduledJob scheduled = jobs.scheduleUpdateTwin(later, "tags.run = '" + run + "'", patch,
        Date.from(Instant.now().plusSeconds(3600)), 0);
    assertEquals(ScheduledJobStatus.scheduled, scheduled.getJobStatus());
    assertEquals(ScheduledJobStatus.scheduled, jobs.get(later).getJobStatus());
    ScheduledJob cancelled = jobs.cancel(later);
    assertEquals(ScheduledJobStatus.cancelled, cancelled.getJobStatus());
    assertEquals(ScheduledJobStatus.cancelled, jobs.get(later).getJobStatus());
    assertEquals(ScheduledJobStatus.cancelled, jobs.cancel(later).getJobStatus(), "cancelling again changes nothing");

    // A few seconds ahead: it starts then, not before.
    Instant start = Instant.now().plusSeconds(6);
    String soon = id("job-soon");
    jobs.scheduleUpdateTwin(soon, "tags.run = '" + run + "'", patch, Date.from(start), 0);
    ScheduledJob done = awaitJob(soon, j -> j.getJobStatus() == ScheduledJobStatus.completed, "scheduled job completes");
    assertEquals(3, done.getJobStatistics().getSucceededCount());
    for (String d : ids) {
      TwinState t = twin(d);
      assertEquals("night", t.desired().values().get("mode").asText());
      assertEquals(3, t.version(), d + ": only the started job wrote");
      assertFalse(t.desired().metadata().lastUpdated().isBefore(start.truncatedTo(java.time.temporal.ChronoUnit.MILLIS)),
          "written at " + t.desired().metadata().lastUpdated() + ", start time " + start);
    }
  }

  @Test
  void cancelStopsARunningJobFromStartingMoreDevices() throws Exception {
    // 40 offline devices, a method job waiting 5 s for each to connect: the node's slice has 32 in
    // flight (twinhub.jobs.parallelism), the other 8 wait for a free place when it is cancelled.
    String run = id("cx");
    devices(run, 40, "x");
    awaitIndexed("tags.run = '" + run + "'", 40);
    String jobId = id("job-cancel");
    jobs.scheduleDirectMethod(jobId, "tags.run = '" + run + "'", "reboot", new Date(),
        DirectMethodsJobOptions.builder().methodConnectTimeoutSeconds(5).methodResponseTimeoutSeconds(5).build());
    awaitJob(jobId, j -> j.getJobStatistics() != null && j.getJobStatistics().getRunningCount() > 0, "devices in flight");
    assertEquals(ScheduledJobStatus.cancelled, jobs.cancel(jobId).getJobStatus());
    ScheduledJob stopped = awaitJob(jobId, j -> j.getJobStatistics().getRunningCount() == 0, "in-flight devices finish");
    var s = stopped.getJobStatistics();
    assertEquals(40, s.getDeviceCount());
    assertEquals(0, s.getSucceededCount());
    assertTrue(s.getFailedCount() <= 32 && s.getPendingCount() >= 8, stats(stopped));
    Thread.sleep(6000); // longer than a device's connect timeout: nothing new was started meanwhile
    ScheduledJob later = jobs.get(jobId);
    assertEquals(ScheduledJobStatus.cancelled, later.getJobStatus());
    assertEquals(s.getFailedCount(), later.getJobStatistics().getFailedCount(), stats(later));
    assertEquals(s.getPendingCount(), later.getJobStatistics().getPendingCount(), stats(later));
    JsonNode rows = query("SELECT deviceId FROM devices.jobs WHERE devices.jobs.jobId = '" + jobId
        + "' AND devices.jobs.status = 'cancelled'");
    assertEquals(s.getPendingCount(), rows.size(), rows.toString());
  }

  @Test
  void theCliSchedulesWatchesListsAndCancelsJobs() throws Exception {
    String run = id("cj");
    devices(run, 4, "c");
    awaitIndexed("tags.run = '" + run + "'", 4);
    String[] target = {"--data-dir", dataDir.toString(), "--url", "https://" + host};
    String jobId = id("job-cli");
    CliRun scheduled = cli(target, "job", "schedule", jobId, "--twin-patch", "{\"properties\":{\"desired\":{\"cli\":1}}}",
        "--query", "tags.run = '" + run + "'", "--wait");
    assertEquals(0, scheduled.exit(), scheduled.toString());
    assertTrue(scheduled.out().contains("done in") && scheduled.out().contains("completed, 4 of 4 devices"), scheduled.out());
    CliRun shown = cli(target, "job", "show", jobId);
    assertEquals("completed", JSON.readTree(shown.out()).path("status").asText(), shown.out());
    CliRun listed = cli(target, "job", "list", "--status", "completed");
    assertEquals(0, listed.exit(), listed.toString());
    assertTrue(listed.out().contains(jobId), listed.out());

    Path file = dataDir.resolve(jobId + "-later.json");
    java.nio.file.Files.writeString(file, "{\"type\":\"scheduleUpdateTwin\",\"queryCondition\":\"tags.run = '" + run
        + "'\",\"startTime\":\"" + Instant.now().plusSeconds(3600) + "\",\"updateTwin\":{\"tags\":{\"x\":1}}}");
    CliRun later = cli(target, "job", "schedule", jobId + "-later", "--file", file.toString());
    assertEquals("scheduled", JSON.readTree(later.out()).path("status").asText(), later.toString());
    CliRun cancelled = cli(target, "job", "cancel", jobId + "-later");
    assertEquals("cancelled", JSON.readTree(cancelled.out()).path("status").asText(), cancelled.toString());

    CliRun usage = cli(target, "job", "schedule", id("x"));
    assertEquals(2, usage.exit(), "neither --file, --twin-patch nor --method: " + usage);
    CliRun missing = cli(target, "job", "show", id("nope"));
    assertEquals(1, missing.exit(), missing.toString());
    assertTrue(missing.err().contains("JobNotFound"), missing.err());
  }

  static CliRun cli(String[] target, String... args) {
    String[] all = java.util.Arrays.copyOf(args, args.length + target.length);
    System.arraycopy(target, 0, all, args.length, target.length);
    return CliRun.of(all);
  }

  @Test
  void badJobsAreRefusedWithIotHubErrors() throws Exception {
    Twin patch = new Twin();
    patch.getDesiredProperties().put("x", 1);
    IotHubBadFormatException badCondition = assertThrows(IotHubBadFormatException.class,
        () -> jobs.scheduleUpdateTwin(id("bad"), "tags.x = = 1", patch, new Date(), 0));
    assertEquals(400004, badCondition.getErrorCode());
    IotHubNotFoundException missing = assertThrows(IotHubNotFoundException.class, () -> jobs.get(id("nope")));
    assertEquals(404002, missing.getErrorCode());
    assertThrows(IotHubNotFoundException.class, () -> jobs.cancel(id("nope")));

    assertBad(put(id("bad"), "{\"type\":\"rebootEverything\",\"queryCondition\":\"\"}"), "'type'");
    assertBad(put(id("bad"), "{\"type\":\"scheduleUpdateTwin\"}"), "'updateTwin'");
    assertBad(put(id("bad"), "{\"type\":\"scheduleUpdateTwin\",\"updateTwin\":{\"properties\":{\"reported\":{\"a\":1}}}}"),
        "reported");
    assertBad(put(id("bad"), "{\"type\":\"scheduleDeviceMethod\",\"cloudToDeviceMethod\":{\"methodName\":\"m\","
        + "\"responseTimeoutInSeconds\":1}}"), "responseTimeoutInSeconds");
    assertBad(put(id("bad"), "{\"type\":\"scheduleUpdateTwin\",\"startTime\":\"tomorrow\",\"updateTwin\":{\"tags\":{\"a\":1}}}"),
        "startTime");
    assertBad(put("bad#id", "{\"type\":\"scheduleUpdateTwin\",\"updateTwin\":{\"tags\":{\"a\":1}}}"), "job id");
    HttpResponse<String> notJson = put(id("bad"), "{not json");
    assertEquals(400, notJson.statusCode(), notJson.body());
    HttpResponse<String> badStatus = request("GET", "/jobs/v2/query", "&jobStatus=sleeping", null);
    assertEquals(400, badStatus.statusCode(), badStatus.body());
  }

  static void assertBad(HttpResponse<String> r, String mentions) {
    assertEquals(400, r.statusCode(), r.body());
    assertEquals("ArgumentInvalid", r.headers().firstValue("iothub-errorcode").orElse(""), r.body());
    assertTrue(r.body().contains(mentions.replace("'", "\\u0027")) || r.body().contains(mentions), r.body());
  }

  static HttpResponse<String> put(String jobId, String body) throws Exception {
    return request("PUT", "/jobs/v2/" + java.net.URLEncoder.encode(jobId, java.nio.charset.StandardCharsets.UTF_8)
        .replace("+", "%20"), "", body);
  }

  static JsonNode query(String sql) throws Exception {
    HttpResponse<String> r = request("POST", "/devices/query", "", JSON.createObjectNode().put("query", sql).toString());
    assertEquals(200, r.statusCode(), r.body());
    return JSON.readTree(r.body());
  }

  static HttpResponse<String> request(String method, String path, String query, String body) throws Exception {
    HttpClient http = HttpClient.newBuilder().sslContext(clientTls(dataDir)).connectTimeout(Duration.ofSeconds(15)).build();
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://" + host + path + "?api-version=2021-04-12" + query))
        .header("Authorization", ownerToken(dataDir))
        .timeout(Duration.ofSeconds(60));
    if (body != null) b.header("Content-Type", "application/json");
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
