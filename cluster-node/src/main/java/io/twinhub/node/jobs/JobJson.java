package io.twinhub.node.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.job.DeviceJobRecord;
import io.twinhub.twin.job.DeviceJobStatistics;
import io.twinhub.twin.job.JobEntity;
import io.twinhub.twin.job.JobSpec;
import io.twinhub.twin.job.JobType;

import java.time.Instant;

/**
 * The JSON shapes of jobs, as IoT Hub and the service SDKs have them: a job ({@code /jobs/v2}:
 * {@code type}, {@code createdTime}, {@code startTime}, {@code endTime}, {@code status},
 * {@code deviceJobStatistics}) and a device job record ({@code devices.jobs}: {@code jobType},
 * {@code status}, {@code startTimeUtc}, {@code endTimeUtc}, {@code createdDateTimeUtc},
 * {@code lastUpdatedDateTimeUtc}, {@code outcome.deviceMethodResponse}, {@code error}).
 */
final class JobJson {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private JobJson() {}

  static ObjectNode job(JobEntity.JobView s) {
    JobSpec spec = s.spec();
    DeviceJobStatistics stats = s.statistics();
    ObjectNode o = NODES.objectNode();
    o.put("jobId", spec.jobId());
    o.put("queryCondition", spec.queryCondition());
    o.put("createdTime", TwinJson.timestamp(s.createdTime()));
    o.put("startTime", TwinJson.timestamp(spec.startTime()));
    if (s.endTime() != null) o.put("endTime", TwinJson.timestamp(s.endTime()));
    o.put("maxExecutionTimeInSeconds", spec.maxExecutionTimeInSeconds());
    o.put("type", spec.type().name());
    o.put("status", s.status().name());
    if (spec.type() == JobType.scheduleUpdateTwin) o.set("updateTwin", updateTwin(spec));
    else o.set("cloudToDeviceMethod", method(spec.method()));
    if (s.failureReason() != null) o.put("failureReason", s.failureReason());
    o.set("deviceJobStatistics", statistics(stats));
    return o;
  }

  static ObjectNode statistics(DeviceJobStatistics stats) {
    ObjectNode st = NODES.objectNode();
    st.put("deviceCount", stats.deviceCount());
    st.put("failedCount", stats.failedCount());
    st.put("succeededCount", stats.succeededCount());
    st.put("runningCount", stats.runningCount());
    st.put("pendingCount", stats.pendingCount());
    return st;
  }

  private static ObjectNode updateTwin(JobSpec spec) {
    ObjectNode t = NODES.objectNode();
    t.put("etag", "*");
    if (spec.tagsPatch() != null) t.set("tags", spec.tagsPatch().toObjectNode());
    if (spec.desiredPatch() != null) t.set("properties", NODES.objectNode().set("desired", spec.desiredPatch().toObjectNode()));
    return t;
  }

  private static ObjectNode method(JobSpec.MethodCall m) {
    ObjectNode o = NODES.objectNode();
    o.put("methodName", m.methodName());
    o.set("payload", m.payload());
    o.put("responseTimeoutInSeconds", m.responseTimeoutInSeconds());
    o.put("connectTimeoutInSeconds", m.connectTimeoutInSeconds());
    return o;
  }

  /**
   * One device's record of a job. {@code status}: completed/failed from its journaled outcome,
   * running while in flight, cancelled when the job stopped before it, else pending. Method jobs
   * also carry {@code cloudToDeviceMethod}: the Java service SDK (2.1.9) reads a method job's
   * record through it and throws a NullPointerException without it.
   */
  static ObjectNode deviceJob(JobSpec spec, Instant created, String deviceId, DeviceJobRecord r, boolean running,
                              boolean cancelled, Instant assignedAt) {
    ObjectNode o = NODES.objectNode();
    o.put("deviceId", deviceId);
    o.put("jobId", spec.jobId());
    o.put("jobType", spec.type().name());
    String status = r != null ? (r.succeeded() ? "completed" : "failed") : running ? "running" : cancelled ? "cancelled" : "pending";
    o.put("status", status);
    if (r != null && r.startTime() != null) o.put("startTimeUtc", TwinJson.timestamp(r.startTime()));
    if (r != null && r.endTime() != null) o.put("endTimeUtc", TwinJson.timestamp(r.endTime()));
    o.put("createdDateTimeUtc", TwinJson.timestamp(created));
    Instant updated = r != null && r.endTime() != null ? r.endTime() : assignedAt != null ? assignedAt : created;
    o.put("lastUpdatedDateTimeUtc", TwinJson.timestamp(updated));
    ObjectNode outcome = NODES.objectNode();
    if (r != null && r.methodStatus() != null) {
      ObjectNode response = NODES.objectNode();
      response.put("status", r.methodStatus());
      response.set("payload", r.methodPayload() == null ? NODES.nullNode() : r.methodPayload());
      outcome.set("deviceMethodResponse", response);
    } else {
      outcome.set("deviceMethodResponse", NODES.nullNode());
    }
    o.set("outcome", outcome);
    if (r != null && !r.succeeded()) {
      ObjectNode error = NODES.objectNode();
      error.put("code", r.errorCode());
      error.put("description", r.errorDescription() + (r.errorNumber() != null ? " (errorCode " + r.errorNumber() + ")" : ""));
      o.set("error", error);
    }
    if (spec.type() == JobType.scheduleDeviceMethod) o.set("cloudToDeviceMethod", method(spec.method()));
    return o;
  }

  static JsonNode array(java.util.List<? extends JsonNode> items) {
    var a = NODES.arrayNode();
    items.forEach(a::add);
    return a;
  }
}
