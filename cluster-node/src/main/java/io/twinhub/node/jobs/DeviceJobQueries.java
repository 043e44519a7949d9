package io.twinhub.node.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinhub.query.QueryResult;
import io.twinhub.query.QuerySettings;
import io.twinhub.query.ReadYourWrites;
import io.twinhub.query.TwinQueries;
import io.twinhub.query.eval.InMemoryQuery;
import io.twinhub.query.lang.Query;
import io.twinhub.query.lang.QueryException;
import io.twinhub.query.lang.QueryParser;
import io.twinhub.twin.domain.TwinJson;
import io.twinhub.twin.job.JobEntity;
import io.twinhub.twin.job.JobService;
import io.twinhub.twin.job.JobSliceEntity;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * {@code POST /devices/query} with {@code FROM devices.jobs} answered from the jobs' own journals
 * (every device of every job with its journaled outcome), with the query language's evaluator
 * ({@link InMemoryQuery}: WHERE, ORDER BY, projections, GROUP BY) and offset paging. Every other
 * query goes to the twin index.
 *
 * <p>Each page reads every job's records: fine for the jobs a hub keeps at a time (IoT Hub keeps
 * job history for 30 days and limits concurrent jobs), not an index. Devices of slices not yet
 * handed out are left out until they are.
 */
public final class DeviceJobQueries implements TwinQueries {
  private final TwinQueries twins;
  private final JobService jobs;
  private final QuerySettings settings;

  public DeviceJobQueries(TwinQueries twins, JobService jobs, QuerySettings settings) {
    this.twins = twins;
    this.jobs = jobs;
    this.settings = settings;
  }

  @Override
  public CompletionStage<QueryResult> query(String sql, int maxItems, String continuation, Optional<ReadYourWrites> ryw) {
    // Most queries are of twins: they go to the index without a second parse.
    if (sql == null || !sql.toLowerCase(java.util.Locale.ROOT).contains("devices.jobs")) {
      return twins.query(sql, maxItems, continuation, ryw);
    }
    Query q;
    try {
      q = QueryParser.parse(sql);
    } catch (QueryException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (q.from() != Query.Collection.JOBS) return twins.query(sql, maxItems, continuation, ryw);
    int offset;
    try {
      offset = decode(continuation);
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedFuture(new QueryException(0, 0, "the continuation token is not valid"));
    }
    int size = settings.pageSize(maxItems);
    return rows().thenApply(rows -> {
      List<ObjectNode> result = InMemoryQuery.run(q, rows);
      List<byte[]> items = new ArrayList<>();
      for (int i = offset; i < Math.min(result.size(), offset + size); i++) items.add(TwinJson.toBytes(result.get(i)));
      String next = offset + size < result.size() ? encode(offset + size) : null;
      return new QueryResult(items, next, "deviceJob");
    });
  }

  /** Every device of every job, as IoT Hub's device job records. */
  private CompletionStage<List<ObjectNode>> rows() {
    return jobs.jobIds().thenCompose(ids -> {
      List<CompletableFuture<List<ObjectNode>>> perJob = new ArrayList<>();
      for (String id : ids) perJob.add(jobRows(id).toCompletableFuture());
      return CompletableFuture.allOf(perJob.toArray(CompletableFuture[]::new)).thenApply(v -> {
        List<ObjectNode> all = new ArrayList<>();
        for (var f : perJob) all.addAll(f.join());
        return all;
      });
    });
  }

  private CompletionStage<List<ObjectNode>> jobRows(String jobId) {
    return jobs.get(jobId).thenCompose(reply -> {
      if (!(reply instanceof JobEntity.Accepted a)) return CompletableFuture.completedFuture(List.<ObjectNode>of());
      JobEntity.JobView s = a.job();
      List<CompletableFuture<List<ObjectNode>>> perSlice = new ArrayList<>();
      for (int sliceNo : s.assignedSlices()) {
        perSlice.add(jobs.records(jobId, sliceNo).thenApply(pages -> sliceRows(s, pages)).toCompletableFuture());
      }
      return CompletableFuture.allOf(perSlice.toArray(CompletableFuture[]::new)).thenApply(v -> {
        List<ObjectNode> all = new ArrayList<>();
        for (var f : perSlice) all.addAll(f.join());
        return all;
      });
    });
  }

  private static List<ObjectNode> sliceRows(JobEntity.JobView job, List<JobSliceEntity.Records> pages) {
    List<ObjectNode> rows = new ArrayList<>();
    for (JobSliceEntity.Records r : pages) {
      for (String d : r.deviceIds()) {
        rows.add(JobJson.deviceJob(job.spec(), job.createdTime(), d, r.outcomes().get(d), r.running().contains(d),
            r.cancelled() || job.status().terminal(), r.assignedAt()));
      }
    }
    return rows;
  }

  private static String encode(int offset) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(("jobs:" + offset).getBytes(StandardCharsets.UTF_8));
  }

  private static int decode(String token) {
    if (token == null || token.isBlank()) return 0;
    String s = new String(Base64.getUrlDecoder().decode(token.strip()), StandardCharsets.UTF_8);
    if (!s.startsWith("jobs:")) throw new IllegalArgumentException("not a job query token");
    int n = Integer.parseInt(s.substring(5));
    if (n < 0) throw new IllegalArgumentException("negative offset");
    return n;
  }
}
