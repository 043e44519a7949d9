package io.twinhub.twin.job;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.EntityRef;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The Java API of jobs for the REST layer and tools: create, read, cancel, list, and the
 * per-device records of a job. An entity that does not answer in time becomes a typed
 * ServiceUnavailable (503, retry), never an exception.
 */
public final class JobService {
  private final ClusterSharding sharding;
  private final Duration askTimeout;

  public JobService(ActorSystem<?> system, Duration askTimeout) {
    this.sharding = ClusterSharding.get(system);
    this.askTimeout = askTimeout;
  }

  /**
   * Starts the job entities on this node: jobs, the registry and its keeper on members with
   * {@code jobRole}, slices on members with {@code sliceRole} (null: every member).
   */
  public static void init(ActorSystem<?> system, JobSettings settings, DeviceSelector selector, DeviceJobExecutor executor,
                          Clock clock, String jobRole, String sliceRole) {
    JobEntity.init(system, settings, selector, clock, jobRole);
    JobSliceEntity.init(system, settings, executor, clock, sliceRole);
    JobRegistry.init(system, settings, clock, jobRole);
  }

  /** Registers the id first (so the keeper always knows a job that exists), then creates the job. */
  public CompletionStage<JobEntity.Reply> create(JobSpec spec) {
    return registry().<Done>ask(r -> new JobRegistry.Register(spec.jobId(), r), askTimeout)
        .thenCompose(done -> job(spec.jobId()).<JobEntity.Reply>ask(r -> new JobEntity.Create(spec, r), askTimeout))
        .exceptionally(e -> unavailable(spec.jobId()));
  }

  public CompletionStage<JobEntity.Reply> get(String jobId) {
    return job(jobId).<JobEntity.Reply>ask(JobEntity.Get::new, askTimeout).exceptionally(e -> unavailable(jobId));
  }

  public CompletionStage<JobEntity.Reply> cancel(String jobId) {
    return job(jobId).<JobEntity.Reply>ask(JobEntity.Cancel::new, askTimeout).exceptionally(e -> unavailable(jobId));
  }

  /** Every job id, in creation order (fails when the registry does not answer in time). */
  public CompletionStage<List<String>> jobIds() {
    return registry().<JobRegistry.JobIds>ask(JobRegistry.ListJobs::new, askTimeout).thenApply(JobRegistry.JobIds::all);
  }

  /** Records per ask: a page of outcomes stays far below the cluster's message size limit. */
  static final int RECORDS_PAGE = 50;

  /** The devices of one slice with their outcomes, page by page (fails when the slice does not answer in time). */
  public CompletionStage<List<JobSliceEntity.Records>> records(String jobId, int sliceNo) {
    return recordsFrom(jobId, sliceNo, 0, new java.util.ArrayList<>());
  }

  private CompletionStage<List<JobSliceEntity.Records>> recordsFrom(String jobId, int sliceNo, int from,
                                                                     List<JobSliceEntity.Records> pages) {
    return sharding.entityRefFor(JobSliceEntity.TYPE_KEY, JobSliceEntity.entityId(jobId, sliceNo))
        .<JobSliceEntity.Records>ask(r -> new JobSliceEntity.GetRecords(from, RECORDS_PAGE, r), askTimeout)
        .thenCompose(page -> {
          pages.add(page);
          int next = from + page.deviceIds().size();
          return page.deviceIds().isEmpty() || next >= page.total() ? done(pages) : recordsFrom(jobId, sliceNo, next, pages);
        });
  }

  private EntityRef<JobEntity.Command> job(String jobId) {
    return sharding.entityRefFor(JobEntity.TYPE_KEY, jobId);
  }

  private EntityRef<JobRegistry.Command> registry() {
    return sharding.entityRefFor(JobRegistry.TYPE_KEY, JobRegistry.ID);
  }

  private JobEntity.Reply unavailable(String jobId) {
    return new JobEntity.Rejected(IotHubError.of(IotHubErrorCode.ServiceUnavailable,
        "job " + jobId + " did not answer within " + askTimeout.toMillis() + " ms; retry"));
  }

  static <T> CompletionStage<T> done(T value) {
    return CompletableFuture.completedFuture(value);
  }
}
