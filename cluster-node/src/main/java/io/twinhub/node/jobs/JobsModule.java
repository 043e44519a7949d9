package io.twinhub.node.jobs;

import akka.actor.typed.ActorSystem;
import akka.http.javadsl.server.Route;
import com.typesafe.config.Config;
import io.twinhub.node.api.ApiServer;
import io.twinhub.node.api.DirectMethods;
import io.twinhub.query.QuerySettings;
import io.twinhub.query.TwinQueries;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.job.JobService;
import io.twinhub.twin.job.JobSettings;
import io.twinhub.twin.service.TwinService;

import java.time.Clock;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Jobs on a node: the job entities, registry and keeper on members with the query role (they
 * select devices from the local index), the slices on members with the twin role; the REST
 * routes; {@code devices.jobs} for the query route.
 */
public final class JobsModule {
  private final JobService service;
  private final AtomicReference<TwinQueries> index = new AtomicReference<>();

  private JobsModule(JobService service) {
    this.service = service;
  }

  public static JobsModule start(ActorSystem<?> system, Config config, TwinService twins, DirectMethods methods,
                                 String jobRole, String sliceRole) {
    JobSettings settings = settings(config);
    JobsModule m = new JobsModule(new JobService(system, settings.askTimeout()));
    Clock clock = Clock.systemUTC();
    JobService.init(system, settings, new IndexDeviceSelector(m.index::get), new TwinJobExecutor(twins, methods, clock, system),
        clock, jobRole, sliceRole);
    return m;
  }

  static JobSettings settings(Config config) {
    Config c = config.getConfig("twinhub.jobs");
    return new JobSettings(c.getInt("slice-size"), c.getInt("running-slices"), c.getInt("parallelism"),
        c.getDuration("wake-interval"), c.getDuration("report-interval"), c.getDuration("ask-timeout"));
  }

  /** The node's query index, once it runs (job entities select devices from it). */
  public void useIndex(TwinQueries queries) {
    index.set(queries);
  }

  public JobService service() {
    return service;
  }

  public Route routes(ApiServer server, TwinLimits limits) {
    return new JobRoutes(service, server, limits, Clock.systemUTC()).route();
  }

  /** Queries with {@code FROM devices.jobs} answered by the jobs, every other by {@code twins}. */
  public TwinQueries withDeviceJobs(TwinQueries twins, QuerySettings settings) {
    return new DeviceJobQueries(twins, service, settings);
  }
}
