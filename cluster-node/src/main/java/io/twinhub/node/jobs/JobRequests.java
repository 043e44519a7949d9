package io.twinhub.node.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.node.api.DirectMethodRequests;
import io.twinhub.node.api.DirectMethods;
import io.twinhub.query.lang.QueryException;
import io.twinhub.query.lang.QueryParser;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.Outcome;
import io.twinhub.twin.domain.Section;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.domain.TwinValidator;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;
import io.twinhub.twin.error.RejectionErrors;
import io.twinhub.twin.job.JobSpec;
import io.twinhub.twin.job.JobType;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.regex.Pattern;

/**
 * Parses the body of {@code PUT /jobs/v2/{id}} (what the service SDKs send): {@code jobId},
 * {@code type} ({@code scheduleUpdateTwin} with {@code updateTwin}: tags and
 * {@code properties.desired}; {@code scheduleDeviceMethod} with {@code cloudToDeviceMethod}:
 * checked as a single direct method's body: {@link DirectMethodRequests}),
 * {@code queryCondition} (a WHERE of the query language; empty = every device), {@code startTime}
 * (ISO-8601; absent = now), {@code maxExecutionTimeInSeconds} (0 = no limit). Anything invalid is
 * 400 ArgumentInvalid, and nothing is created.
 */
final class JobRequests {
  /** IoT Hub's job ids: up to 128 of these characters (and never our slice separator '#'). */
  static final Pattern JOB_ID = Pattern.compile("[A-Za-z0-9\\-:.+%_*?!(),=@;$']{1,128}");

  sealed interface Parsed {}

  record Valid(JobSpec spec) implements Parsed {}

  record Invalid(IotHubError error) implements Parsed {}

  private JobRequests() {}

  static IotHubError checkJobId(String jobId) {
    return JOB_ID.matcher(jobId).matches() ? null : IotHubErrorCode.ArgumentInvalid.error(
        "job id '" + clip(jobId) + "' is invalid: 1 to 128 letters, digits or -:.+%_*?!(),=@;$'");
  }

  static Parsed parse(String pathJobId, JsonDoc doc, Instant now, TwinLimits limits) {
    IotHubError badId = checkJobId(pathJobId);
    if (badId != null) return new Invalid(badId);
    ObjectNode body = doc.toObjectNode();
    JsonNode id = body.get("jobId");
    if (id != null && !id.isNull() && !(id.isTextual() && id.textValue().equals(pathJobId))) {
      return invalid("'jobId' in the body must be the job id of the path ('" + clip(pathJobId) + "')");
    }
    JsonNode typeNode = body.get("type");
    JobType type;
    try {
      type = typeNode != null && typeNode.isTextual() ? JobType.valueOf(typeNode.textValue()) : null;
    } catch (IllegalArgumentException e) {
      type = null;
    }
    if (type == null) return invalid("'type' must be scheduleUpdateTwin or scheduleDeviceMethod");

    JsonNode condition = body.get("queryCondition");
    String queryCondition = "";
    if (condition != null && !condition.isNull()) {
      if (!condition.isTextual()) return invalid("'queryCondition' must be a string");
      queryCondition = condition.textValue().strip();
      if (!queryCondition.isEmpty()) {
        try {
          QueryParser.parseCondition(queryCondition);
        } catch (QueryException e) {
          return invalid("'queryCondition' is not a valid condition: " + e.getMessage());
        }
      }
    }
    Instant start = now;
    JsonNode startNode = body.get("startTime");
    if (startNode != null && !startNode.isNull()) {
      try {
        start = Instant.parse(startNode.asText());
      } catch (DateTimeParseException e) {
        return invalid("'startTime' must be an ISO-8601 UTC time such as 2026-12-06T10:00:00Z");
      }
    }
    JsonNode max = body.get("maxExecutionTimeInSeconds");
    long maxSeconds = 0;
    if (max != null && !max.isNull()) {
      if (!max.isIntegralNumber() || !max.canConvertToLong() || max.longValue() < 0) {
        return invalid("'maxExecutionTimeInSeconds' must be a whole number of at least 0");
      }
      maxSeconds = max.longValue();
    }

    if (type == JobType.scheduleUpdateTwin) {
      if (hasValue(body, "cloudToDeviceMethod")) return invalid("a scheduleUpdateTwin job has no 'cloudToDeviceMethod'");
      JsonNode twin = body.get("updateTwin");
      if (twin == null || !twin.isObject()) return invalid("'updateTwin' (an object with tags and/or properties.desired) is required");
      ObjectNode patch = (ObjectNode) twin.deepCopy();
      // The SDK sends the whole twin shape: an empty reported section is not a write to it.
      JsonNode props = patch.get("properties");
      if (props instanceof ObjectNode p && p.get("reported") != null && p.get("reported").isObject() && p.get("reported").isEmpty()) {
        p.remove("reported");
      }
      Outcome<TwinUpdate> update = TwinJson.parseTwinPatch(TwinJson.toBytes(patch), limits);
      if (update instanceof Outcome.Rejected<TwinUpdate> r) return new Invalid(prefixed(RejectionErrors.toError(r.rejection())));
      TwinUpdate.UpdateTwin u = (TwinUpdate.UpdateTwin) ((Outcome.Accepted<TwinUpdate>) update).value();
      if (u.tagsPatch() == null && u.desiredPatch() == null) {
        return invalid("'updateTwin' must name tags and/or properties.desired");
      }
      var problem = (u.tagsPatch() == null ? java.util.Optional.<io.twinhub.twin.domain.Rejection>empty()
          : TwinValidator.checkContent(u.tagsPatch(), Section.TAGS, limits))
          .or(() -> u.desiredPatch() == null ? java.util.Optional.empty()
              : TwinValidator.checkContent(u.desiredPatch(), Section.DESIRED, limits));
      if (problem.isPresent()) return new Invalid(prefixed(RejectionErrors.toError(problem.get())));
      return new Valid(new JobSpec(pathJobId, type, queryCondition, start, maxSeconds, u.tagsPatch(), u.desiredPatch(), null));
    }

    if (hasValue(body, "updateTwin")) return invalid("a scheduleDeviceMethod job has no 'updateTwin'");
    JsonNode m = body.get("cloudToDeviceMethod");
    if (m == null || !m.isObject()) return invalid("'cloudToDeviceMethod' (methodName, payload, timeouts) is required");
    // The same rules as a single direct method (POST /twins/{id}/methods).
    DirectMethodRequests.Parsed call = DirectMethodRequests.parse((ObjectNode) m, null, null);
    if (call instanceof DirectMethodRequests.Invalid bad) {
      return new Invalid(IotHubError.of(bad.error().code(), "cloudToDeviceMethod: " + bad.error().message()));
    }
    DirectMethods.Request r = ((DirectMethodRequests.Valid) call).request();
    return new Valid(new JobSpec(pathJobId, type, queryCondition, start, maxSeconds, null, null, new JobSpec.MethodCall(
        r.methodName(), r.payload(), (int) r.responseTimeout().toSeconds(), (int) r.connectTimeout().toSeconds())));
  }

  private static IotHubError prefixed(IotHubError e) {
    return IotHubError.of(e.code(), "updateTwin: " + e.message());
  }

  private static boolean hasValue(ObjectNode body, String field) {
    return body.get(field) != null && !body.get(field).isNull();
  }

  private static Parsed invalid(String message) {
    return new Invalid(IotHubErrorCode.ArgumentInvalid.error(message));
  }

  static String clip(String s) {
    return s.length() > 64 ? s.substring(0, 64) + "..." : s;
  }
}
