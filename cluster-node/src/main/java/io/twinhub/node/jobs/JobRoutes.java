package io.twinhub.node.jobs;

import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.headers.RawHeader;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import akka.http.javadsl.unmarshalling.Unmarshaller;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.node.api.ApiServer;
import io.twinhub.twin.auth.AccessRight;
import io.twinhub.twin.domain.JsonDoc;
import io.twinhub.twin.domain.Outcome;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;
import io.twinhub.twin.error.RejectionErrors;
import io.twinhub.twin.job.JobEntity;
import io.twinhub.twin.job.JobService;
import io.twinhub.twin.job.JobStatus;
import io.twinhub.twin.job.JobType;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * IoT Hub's jobs API (v2), behind the REST API's gate (api-version, SAS with ServiceConnect):
 * {@code PUT /jobs/v2/{id}} (schedule), {@code GET /jobs/v2/{id}}, {@code POST /jobs/v2/{id}/cancel},
 * {@code GET /jobs/v2/query?jobType=&jobStatus=} (a JSON array, paged with {@code x-ms-max-item-count}
 * and {@code x-ms-continuation}, as the Java service SDK reads it). Errors: 400 ArgumentInvalid
 * (bad job), 404 JobNotFound (404002), 409 JobAlreadyExists (409104).
 */
public final class JobRoutes extends AllDirectives {
  static final String CONTINUATION = "x-ms-continuation";
  static final String MAX_ITEM_COUNT = "x-ms-max-item-count";
  static final int DEFAULT_PAGE = 100;
  static final int MAX_PAGE = 1000;

  private final JobService jobs;
  private final ApiServer server;
  private final TwinLimits limits;
  private final Clock clock;

  public JobRoutes(JobService jobs, ApiServer server, TwinLimits limits, Clock clock) {
    this.jobs = jobs;
    this.server = server;
    this.limits = limits;
    this.clock = clock;
  }

  public Route route() {
    return pathPrefix("jobs", () -> pathPrefix("v2", () -> concat(
        path("query", () -> get(() -> authorized(this::list))),
        pathPrefix(PathMatchers.segment(), jobId -> concat(
            pathEnd(() -> concat(
                put(() -> authorized(() -> create(jobId))),
                get(() -> authorized(() -> reply(jobId, () -> jobs.get(jobId)))))),
            // The SDK posts "{}": read (and ignore) it before answering.
            path("cancel", () -> post(() -> authorized(() -> withSizeLimit(server.settings().maxBodyBytes(), () ->
                entity(Unmarshaller.entityToByteArray(), ignored -> reply(jobId, () -> jobs.cancel(jobId))))))))))));
  }

  private Route authorized(Supplier<Route> inner) {
    return server.authorized(AccessRight.ServiceConnect, inner);
  }

  private Route create(String jobId) {
    return withSizeLimit(server.settings().maxBodyBytes(), () -> entity(Unmarshaller.entityToByteArray(), body -> {
      Outcome<JsonDoc> doc = TwinJson.parseObject(body, "", limits);
      if (doc instanceof Outcome.Rejected<JsonDoc> r) return complete(error(RejectionErrors.toError(r.rejection())));
      JobRequests.Parsed parsed = JobRequests.parse(jobId, ((Outcome.Accepted<JsonDoc>) doc).value(), clock.instant(), limits);
      if (parsed instanceof JobRequests.Invalid invalid) return complete(error(invalid.error()));
      return completeWithFuture(jobs.create(((JobRequests.Valid) parsed).spec()).thenApply(this::response));
    }));
  }

  private Route reply(String jobId, Supplier<CompletionStage<JobEntity.Reply>> call) {
    IotHubError bad = JobRequests.checkJobId(jobId);
    if (bad != null) return complete(error(bad));
    return completeWithFuture(call.get().thenApply(this::response));
  }

  private HttpResponse response(JobEntity.Reply reply) {
    if (reply instanceof JobEntity.Accepted a) return server.responses().ok(JobJson.job(a.job()));
    return error(((JobEntity.Rejected) reply).error());
  }

  private HttpResponse error(IotHubError e) {
    return server.responses().error(e);
  }

  /** GET /jobs/v2/query: the jobs of a type and/or status, in creation order, a page at a time. */
  private Route list() {
    return parameterOptional("jobType", type -> parameterOptional("jobStatus", status -> extractRequest(request -> {
      Optional<JobType> t;
      Optional<JobStatus> st;
      int size;
      int offset;
      try {
        t = type.filter(s -> !s.isBlank()).map(JobType::valueOf);
      } catch (IllegalArgumentException e) {
        return complete(error(IotHubErrorCode.ArgumentInvalid.error("jobType must be scheduleUpdateTwin or scheduleDeviceMethod")));
      }
      try {
        st = status.filter(s -> !s.isBlank()).map(JobStatus::valueOf);
      } catch (IllegalArgumentException e) {
        return complete(error(IotHubErrorCode.ArgumentInvalid.error(
            "jobStatus must be one of queued, scheduled, running, completed, failed, cancelled")));
      }
      try {
        size = pageSize(request);
        offset = offset(request);
      } catch (IllegalArgumentException e) {
        return complete(error(IotHubErrorCode.ArgumentInvalid.error(e.getMessage())));
      }
      return completeWithFuture(page(t, st, offset, size));
    })));
  }

  private CompletionStage<HttpResponse> page(Optional<JobType> type, Optional<JobStatus> status, int offset, int size) {
    return jobs.jobIds().thenCompose(ids -> {
      List<CompletableFuture<JobEntity.Reply>> all = ids.stream().map(id -> jobs.get(id).toCompletableFuture()).toList();
      return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).thenApply(v -> {
        List<ObjectNode> matching = new ArrayList<>();
        for (var f : all) {
          if (f.join() instanceof JobEntity.Accepted a
              && type.map(x -> x == a.job().spec().type()).orElse(true)
              && status.map(x -> x == a.job().status()).orElse(true)) {
            matching.add(JobJson.job(a.job()));
          }
        }
        List<ObjectNode> page = matching.subList(Math.min(offset, matching.size()), Math.min(matching.size(), offset + size));
        HttpResponse r = server.responses().ok(JobJson.array(page));
        if (offset + size < matching.size()) r = r.addHeader(RawHeader.create(CONTINUATION, encode(offset + size)));
        return r.addHeader(RawHeader.create("x-ms-item-type", "jobResponse"));
      });
    }).exceptionally(e -> error(IotHubErrorCode.ServiceUnavailable.error("the job list did not answer in time; retry")));
  }

  private static int pageSize(HttpRequest request) {
    Optional<String> v = request.getHeader(MAX_ITEM_COUNT).map(h -> h.value().strip());
    if (v.isEmpty() || v.get().isEmpty()) return DEFAULT_PAGE;
    try {
      int n = Integer.parseInt(v.get());
      return n <= 0 ? DEFAULT_PAGE : Math.min(n, MAX_PAGE);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(MAX_ITEM_COUNT + " must be a number");
    }
  }

  private static int offset(HttpRequest request) {
    Optional<String> v = request.getHeader(CONTINUATION).map(h -> h.value().strip()).filter(s -> !s.isEmpty());
    if (v.isEmpty()) return 0;
    try {
      String s = new String(Base64.getUrlDecoder().decode(v.get()), StandardCharsets.UTF_8);
      if (!s.startsWith("jobs-page:")) throw new IllegalArgumentException();
      int n = Integer.parseInt(s.substring("jobs-page:".length()));
      if (n < 0) throw new IllegalArgumentException();
      return n;
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the continuation token is not valid");
    }
  }

  private static String encode(int offset) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(("jobs-page:" + offset).getBytes(StandardCharsets.UTF_8));
  }
}
