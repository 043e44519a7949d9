package io.twinhub.node.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A twin-update job over {@value #DEVICES} twins on three node processes, with the node 3 process
 * killed (-9) while the job runs: the job completes on the survivors, every selected twin has the
 * update exactly once (desired {@code $version} and twin {@code version} 2: created, then one job
 * write; a second write would make them 3), none is missed, and the statistics moved while it ran.
 * A second job, scheduled to start after the kill, starts at its start time on the survivors.
 * Small slices ({@value #SLICE_SIZE} twins) and little parallelism spread the job over many slices on
 * all nodes and keep it running past the kill, which follows at once the poll that saw it a fifth
 * done. In phases ({@link #prepare}, {@link #startJobs} up to the moment of the kill, the kill,
 * {@link #afterKill}), so that {@link ClusterFailoverIT} kills node 3 once for this and
 * {@link C2dFailover}.
 */
final class JobsFailover {
  static final ObjectMapper JSON = new ObjectMapper();
  static final int DEVICES = 240;
  static final int SLICE_SIZE = 10;
  /** The twins the second job selects: the first ten ({@code <prefix>000*}). */
  static final int LATER = 10;
  static final List<String> JVM_OPTIONS = List.of("-Dtwinhub.jobs.slice-size=" + SLICE_SIZE, "-Dtwinhub.jobs.parallelism=2",
      "-Dtwinhub.jobs.running-slices=4", "-Dtwinhub.jobs.wake-interval=2s");

  private final NodeProcesses cluster;
  private final String run = UUID.randomUUID().toString().substring(0, 8);
  private final String prefix = "jc-" + run + "-";
  private final List<String> ids = new ArrayList<>();
  private final Set<Long> progress = new TreeSet<>();
  private String jobId;
  private String laterId;
  private Instant laterStart;

  private JobsFailover(NodeProcesses cluster) {
    this.cluster = cluster;
  }

  /** The {@value #DEVICES} twins, created and counted by every node's index (all three nodes up). */
  static JobsFailover prepare(NodeProcesses cluster) throws Exception {
    JobsFailover jobs = new JobsFailover(cluster);
    long t0 = System.nanoTime();
    NodeProcesses.Node first = cluster.nodes.get(0);
    for (int i = 0; i < DEVICES; i++) jobs.ids.add(jobs.prefix + String.format("%04d", i));
    for (int i = 0; i < DEVICES; i += 100) {
      ArrayNode bulk = JSON.createArrayNode();
      for (String id : jobs.ids.subList(i, Math.min(i + 100, DEVICES))) bulk.addObject().put("id", id).put("importMode", "create");
      HttpResponse<String> r = cluster.setUp(first, "POST", "/devices", bulk.toString());
      assertTrue(r.statusCode() == 200 || retriedCreate(r), r.body());
    }
    for (NodeProcesses.Node n : cluster.nodes) awaitCount(cluster, n, jobs.all(), DEVICES);
    System.out.printf("JobsFailover: %d twins created, in every node's index after %.1f s%n", DEVICES, (System.nanoTime() - t0) / 1e9);
    return jobs;
  }

  private String all() {
    return "STARTSWITH(deviceId, '" + prefix + "')";
  }

  /**
   * The job over every twin, and a second one scheduled to start in 20 s (after the kill); returns
   * once the first is a fifth done and still running: the moment for the kill, which follows at once.
   */
  void startJobs() throws Exception {
    NodeProcesses.Node first = cluster.nodes.get(0);
    jobId = "jc-job-" + run;
    HttpResponse<String> created = cluster.setUp(first, "PUT", "/jobs/v2/" + jobId, JSON.createObjectNode()
        .put("jobId", jobId).put("type", "scheduleUpdateTwin").put("queryCondition", all())
        .put("startTime", Instant.now().toString()).put("maxExecutionTimeInSeconds", 0)
        .set("updateTwin", JSON.readTree("{\"etag\":\"*\",\"properties\":{\"desired\":{\"jobrun\":\"" + run + "\"}}}"))
        .toString());
    assertEquals(200, created.statusCode(), created.body());
    // Starts after the kill, on whichever survivor its entity lives then.
    laterStart = Instant.now().plusSeconds(20);
    laterId = "jc-later-" + run;
    HttpResponse<String> later = cluster.setUp(first, "PUT", "/jobs/v2/" + laterId, JSON.createObjectNode()
        .put("type", "scheduleUpdateTwin").put("queryCondition", "STARTSWITH(deviceId, '" + prefix + "000')")
        .put("startTime", laterStart.toString())
        .set("updateTwin", JSON.readTree("{\"properties\":{\"desired\":{\"later\":true}}}")).toString());
    assertEquals(200, later.statusCode(), later.body());
    assertEquals("scheduled", JSON.readTree(later.body()).path("status").asText());
    awaitMidJob();
  }

  /** Until the job is a fifth done; asserts it is still running (the kill must land mid-job). */
  private void awaitMidJob() throws Exception {
    JsonNode job = awaitJob(cluster, cluster.nodes.get(0), jobId, progress,
        j -> j.at("/deviceJobStatistics/succeededCount").asLong() >= DEVICES / 5);
    assertEquals("running", job.path("status").asText(), "the kill must land mid-job: " + job);
    System.out.printf("JobsFailover: node 3 to be killed at %s%n", job.path("deviceJobStatistics"));
  }

  /** After node 3's kill -9: both jobs complete on the survivors, every twin updated exactly once. */
  void afterKill() throws Exception {
    NodeProcesses.Node second = cluster.nodes.get(1);
    JsonNode job = awaitJob(cluster, second, jobId, progress, j -> !j.path("status").asText().equals("running"));
    assertEquals("completed", job.path("status").asText(), job.toString());
    JsonNode stats = job.path("deviceJobStatistics");
    assertEquals(DEVICES, stats.path("deviceCount").asLong(), stats.toString());
    assertEquals(DEVICES, stats.path("succeededCount").asLong(), stats.toString());
    assertEquals(0, stats.path("failedCount").asLong(), stats.toString());
    assertTrue(progress.stream().filter(p -> p > 0 && p < DEVICES).count() >= 3,
        "the statistics moved while the job ran: " + progress);

    JsonNode laterJob = awaitJob(cluster, second, laterId, new TreeSet<>(), j -> j.path("status").asText().equals("completed"));
    assertEquals(LATER, laterJob.at("/deviceJobStatistics/succeededCount").asLong(), laterJob.toString());
    System.out.println("JobsFailover: both jobs completed; reading every twin");

    int twice = 0, missed = 0;
    for (int i = 0; i < DEVICES; i++) {
      JsonNode twin = JSON.readTree(cluster.setUp(second, "GET", "/twins/" + ids.get(i), null).body());
      JsonNode desired = twin.path("properties").path("desired");
      boolean laterToo = i < LATER;
      if (!run.equals(desired.path("jobrun").asText())) missed++;
      long expected = laterToo ? 3 : 2;
      if (desired.path("$version").asLong() > expected || twin.path("version").asLong() > expected) twice++;
      assertEquals(expected, twin.path("version").asLong(), ids.get(i) + ": " + twin);
      if (laterToo) {
        assertTrue(desired.path("later").asBoolean(), ids.get(i) + ": " + twin);
        Instant written = Instant.parse(desired.at("/$metadata/later/$lastUpdated").asText());
        assertFalse(written.isBefore(laterStart.truncatedTo(java.time.temporal.ChronoUnit.MILLIS)),
            "the scheduled job wrote at " + written + ", before its start time " + laterStart);
      }
    }
    assertEquals(0, missed, "twins the job missed");
    assertEquals(0, twice, "twins updated twice");
    System.out.printf("JobsFailover: %d twins updated exactly once across a kill -9; progress seen %s%n", DEVICES, progress);
  }

  /**
   * A bulk create answered only with DeviceAlreadyExists: {@link NodeProcesses#setUp} sent it again
   * after an attempt whose answer timed out on a loaded box, though it had created the devices.
   */
  static boolean retriedCreate(HttpResponse<String> r) throws java.io.IOException {
    if (r.statusCode() >= 500) return false;
    JsonNode errors = JSON.readTree(r.body()).path("errors");
    if (errors.isEmpty()) return false;
    for (JsonNode e : errors) if (!"DeviceAlreadyExists".equals(e.path("errorCode").asText())) return false;
    return true;
  }

  static void awaitCount(NodeProcesses cluster, NodeProcesses.Node n, String condition, long count) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      HttpResponse<String> r = cluster.setUp(n, "POST", "/devices/query",
          JSON.createObjectNode().put("query", "SELECT COUNT() AS n FROM devices WHERE " + condition).toString());
      last = r.body();
      if (r.statusCode() == 200 && JSON.readTree(r.body()).path(0).path("n").asLong() == count) return;
      Thread.sleep(300);
    }
    fail("node " + n.index() + "'s index does not show " + count + " twins: " + last);
  }

  /** Polls the job (through {@code via}) until {@code done}, noting every succeeded count seen. */
  static JsonNode awaitJob(NodeProcesses cluster, NodeProcesses.Node via, String jobId, Set<Long> progress,
                           java.util.function.Predicate<JsonNode> done) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(240).toNanos();
    JsonNode last = null;
    while (System.nanoTime() < deadline) {
      try {
        HttpResponse<String> r = cluster.send(via, "GET", "/jobs/v2/" + jobId, null);
        if (r.statusCode() == 200) {
          last = JSON.readTree(r.body());
          progress.add(last.at("/deviceJobStatistics/succeededCount").asLong());
          if (done.test(last)) return last;
        }
      } catch (java.io.IOException e) {
        // a node is being killed or the shards are moving: ask again
      }
      Thread.sleep(100);
    }
    return fail("job " + jobId + " did not get there in time: " + last);
  }
}
