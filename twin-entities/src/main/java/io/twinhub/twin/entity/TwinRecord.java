package io.twinhub.twin.entity;

import io.twinhub.twin.TwinhubSerializable;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.Twin;
import io.twinhub.twin.domain.TwinState;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * State of a device or module entity. {@code twin} is the live twin, or after a deletion the
 * last one (kept so that a re-created identity continues its versions and never repeats
 * one); {@code null} only if the identity never existed.
 *
 * @param modules                module ids registered under a device (always empty for a module)
 * @param pendingModuleDeletions modules of a deleted device whose deletion is not yet confirmed
 */
public record TwinRecord(Twin twin, boolean deleted, List<String> modules, List<String> pendingModuleDeletions,
                         List<String> jobIds)
    implements TwinhubSerializable {

  public static final TwinRecord EMPTY = new TwinRecord(null, false, List.of(), List.of());
  /** Job ids a twin remembers (newest last): far more than jobs that can be re-running a device at once. */
  static final int MAX_JOB_IDS = 64;

  /**
   * @param jobIds the latest jobs that wrote this twin: a job's repeated update is answered from
   *               state (see {@link TwinCommand.UpdateTwinForJob}); absent in snapshots of before jobs
   */
  @com.fasterxml.jackson.annotation.JsonCreator
  public TwinRecord {
    modules = List.copyOf(modules);
    pendingModuleDeletions = List.copyOf(pendingModuleDeletions);
    jobIds = jobIds == null ? List.of() : List.copyOf(jobIds);
  }

  public TwinRecord(Twin twin, boolean deleted, List<String> modules, List<String> pendingModuleDeletions) {
    this(twin, deleted, modules, pendingModuleDeletions, List.of());
  }

  /** Whether the job {@code jobId} has already written this twin. */
  public boolean appliedJob(String jobId) {
    return jobIds.contains(jobId);
  }

  public boolean exists() {
    return twin != null && !deleted;
  }

  /**
   * Versions a newly created identity starts at: 1 the first time, and one past the last
   * ones after a deletion, so (twin id, version) stays unique for every consumer.
   */
  public TwinEvent.Versions versionsOnCreate() {
    if (twin == null) return new TwinEvent.Versions(1, 1, 1);
    TwinState s = twin.state();
    return new TwinEvent.Versions(s.version() + 1, s.desired().version() + 1, s.reported().version() + 1);
  }

  /** The event handler: total and deterministic (everything comes from the event). */
  public TwinRecord apply(TwinEvent event) {
    if (event instanceof TwinEvent.IdentityCreated e) {
      return new TwinRecord(new Twin(e.identity(), createdState(e.versions(), e.at())), false, List.of(),
          pendingModuleDeletions, jobIds);
    } else if (event instanceof TwinEvent.IdentityUpdated e) {
      return withTwin(twin.withIdentity(e.identity()));
    } else if (event instanceof TwinEvent.DeviceDeleted e) {
      List<String> pending = new ArrayList<>(pendingModuleDeletions);
      e.modules().stream().filter(m -> !pending.contains(m)).forEach(pending::add);
      return new TwinRecord(twin, true, List.of(), pending, jobIds);
    } else if (event instanceof TwinEvent.ModuleDeleted) {
      return new TwinRecord(twin, true, List.of(), List.of(), jobIds);
    } else if (event instanceof TwinEvent.ModuleAdded e) {
      List<String> ms = new ArrayList<>(modules);
      if (!ms.contains(e.moduleId())) ms.add(e.moduleId());
      return new TwinRecord(twin, deleted, ms, pendingModuleDeletions, jobIds);
    } else if (event instanceof TwinEvent.ModuleRemoved e) {
      List<String> ms = new ArrayList<>(modules);
      ms.remove(e.moduleId());
      List<String> pending = new ArrayList<>(pendingModuleDeletions);
      pending.remove(e.moduleId());
      return new TwinRecord(twin, deleted, ms, pending, jobIds);
    } else if (event instanceof TwinEvent.ConnectionStateChanged e) {
      return withTwin(twin.withIdentity(twin.identity().withConnectionState(e.state(), e.at())));
    } else if (event instanceof TwinEvent.TwinChanged e) {
      Twin t = twin.withState(twin.state().apply(e.update(), e.at()));
      // A reported patch is the device's own write, so it is device activity; taking it from the
      // event keeps lastActivityTime the same after a replay and in the query index.
      if (e instanceof TwinEvent.ReportedPatched && isLater(e.at(), t.identity().lastActivityTime())) {
        t = t.withIdentity(t.identity().withActivity(e.at()));
      }
      if (e instanceof TwinEvent.TwinPatched p && p.jobId() != null) return withTwin(t).withJob(p.jobId());
      return withTwin(t);
    }
    throw new IllegalArgumentException("unknown event " + event);
  }

  private static boolean isLater(Instant at, Instant than) {
    return than == null || at.isAfter(than);
  }

  private TwinRecord withTwin(Twin t) {
    return new TwinRecord(t, deleted, modules, pendingModuleDeletions, jobIds);
  }

  private TwinRecord withJob(String jobId) {
    List<String> ids = new ArrayList<>(jobIds);
    ids.remove(jobId);
    ids.add(jobId);
    if (ids.size() > MAX_JOB_IDS) ids.remove(0);
    return new TwinRecord(twin, deleted, modules, pendingModuleDeletions, ids);
  }

  private static TwinState createdState(TwinEvent.Versions v, Instant at) {
    return TwinState.created(at, v.version(), v.desiredVersion(), v.reportedVersion());
  }

  /** The identity to persist on creation, with its version continuing any earlier life. */
  public Identity continuing(Identity created) {
    return twin == null ? created : created.continuing(twin.identity());
  }
}
