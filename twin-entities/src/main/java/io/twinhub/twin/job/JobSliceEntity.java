package io.twinhub.twin.job;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.RecoveryCompleted;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.ReplyEffect;
import akka.persistence.typed.javadsl.RetentionCriteria;
import akka.persistence.typed.javadsl.SignalHandler;
import io.twinhub.twin.TwinhubSerializable;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One slice of a job: up to {@code sliceSize} devices (entity id {@code <jobId>#<sliceNo>}). It
 * runs the job on each of its devices, {@code parallelism} at a time, and journals each outcome
 * ({@link DevicesDone}, batched) before it counts; only journaled outcomes are reported to the job.
 *
 * <p>Exactly once: after a crash the slice recovers its outcomes and runs only the devices without
 * one. A twin update whose outcome was lost is sent again with the same job id, and the twin
 * answers it from its state without a new version. A method call cannot be taken back, so method
 * jobs journal {@link MethodsStarted} before calling: a device started but without an outcome after
 * a crash is recorded as failed ("outcome unknown"), never called twice.
 */
public final class JobSliceEntity
    extends EventSourcedBehaviorWithEnforcedReplies<JobSliceEntity.Command, JobSliceEntity.Event, JobSliceEntity.State> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "JobSlice");
  public static final String TAG = "job-slice";

  public static String entityId(String jobId, int sliceNo) {
    return jobId + "#" + sliceNo;
  }

  // ------------------------------------------------------------------ protocol

  public sealed interface Command extends TwinhubSerializable {}

  /** Idempotent: a slice that has its devices answers Done again. */
  public record Assign(JobSpec spec, int sliceNo, List<String> deviceIds, ActorRef<Done> replyTo) implements Command {}

  /** Resume (after a restart elsewhere) and report progress. */
  public record Wake() implements Command {}

  /** Stop starting devices; those in flight still get their outcome. */
  public record Cancel() implements Command {}

  /**
   * Devices {@code from}.. (at most {@code max}) of the slice with their outcomes, for {@code SELECT *
   * FROM devices.jobs}; a page at a time, because replies crossing the cluster are bounded in size.
   */
  public record GetRecords(int from, int max, ActorRef<Records> replyTo) implements Command {}

  record DeviceFinished(DeviceJobRecord record) implements Command {}

  record Flush() implements Command {}

  record Dispatch() implements Command {}

  record ReportTick() implements Command {}

  /**
   * A page of a slice's devices: {@code outcomes} holds those with a journaled outcome,
   * {@code running} those in flight. {@code total} is 0 for a slice never assigned.
   */
  public record Records(List<String> deviceIds, Map<String, DeviceJobRecord> outcomes, Set<String> running,
                        boolean cancelled, Instant assignedAt, int total) implements TwinhubSerializable {
    public Records {
      deviceIds = List.copyOf(deviceIds);
      outcomes = Map.copyOf(outcomes);
      running = Set.copyOf(running);
    }
  }

  public sealed interface Event extends TwinhubSerializable {}

  public record Assigned(JobSpec spec, int sliceNo, List<String> deviceIds, Instant at) implements Event {}

  public record MethodsStarted(List<String> deviceIds, Instant at) implements Event {}

  public record DevicesDone(List<DeviceJobRecord> records) implements Event {}

  public record Cancelled(Instant at) implements Event {}

  // ------------------------------------------------------------------ state (pure)

  /**
   * @param done    journaled outcomes by device id
   * @param started method jobs: devices whose call was started (journaled before calling)
   */
  public record State(JobSpec spec, int sliceNo, List<String> deviceIds, Map<String, DeviceJobRecord> done,
                      Set<String> started, boolean cancelled, Instant assignedAt) implements TwinhubSerializable {

    public static final State EMPTY = new State(null, -1, List.of(), Map.of(), Set.of(), false, null);

    public State {
      deviceIds = deviceIds == null ? List.of() : List.copyOf(deviceIds);
      done = done == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(done));
      started = started == null ? Set.of() : java.util.Collections.unmodifiableSet(new LinkedHashSet<>(started));
    }

    public boolean assigned() {
      return spec != null;
    }

    /** Devices {@code from}.. (at most {@code max}) with what is known of them. */
    public Records records(int from, int max, Set<String> busy) {
      int start = Math.max(0, Math.min(from, deviceIds.size()));
      List<String> ids = deviceIds.subList(start, Math.min(deviceIds.size(), start + Math.max(0, max)));
      Map<String, DeviceJobRecord> outcomes = new LinkedHashMap<>();
      Set<String> running = new LinkedHashSet<>();
      for (String d : ids) {
        DeviceJobRecord r = done.get(d);
        if (r != null) outcomes.put(d, r);
        else if (busy.contains(d)) running.add(d);
      }
      return new Records(ids, outcomes, running, cancelled, assignedAt, deviceIds.size());
    }

    /** Devices still to run, in order, leaving out those in flight (and for method jobs those started). */
    public List<String> pending(Set<String> inFlight, int max) {
      List<String> out = new ArrayList<>();
      if (cancelled) return out;
      for (String d : deviceIds) {
        if (out.size() >= max) break;
        if (!done.containsKey(d) && !inFlight.contains(d) && !started.contains(d)) out.add(d);
      }
      return out;
    }

    /** Method calls started but without a journaled outcome: their result is unknown (after a crash). */
    public List<String> startedWithoutOutcome(Set<String> inFlight) {
      return started.stream().filter(d -> !done.containsKey(d) && !inFlight.contains(d)).toList();
    }

    public long succeeded() {
      return done.values().stream().filter(DeviceJobRecord::succeeded).count();
    }

    public long failed() {
      return done.size() - succeeded();
    }

    /** Nothing more will happen here: every device has its outcome, or cancelled with nothing in flight. */
    public boolean finished(Set<String> inFlight) {
      if (!assigned()) return false;
      if (done.size() >= deviceIds.size()) return true;
      return cancelled && inFlight.isEmpty() && startedWithoutOutcome(inFlight).isEmpty();
    }

    public State apply(Event e) {
      if (e instanceof Assigned a) {
        return new State(a.spec(), a.sliceNo(), a.deviceIds(), Map.of(), Set.of(), false, a.at());
      } else if (e instanceof MethodsStarted m) {
        Set<String> s = new LinkedHashSet<>(started);
        s.addAll(m.deviceIds());
        return new State(spec, sliceNo, deviceIds, done, s, cancelled, assignedAt);
      } else if (e instanceof DevicesDone d) {
        Map<String, DeviceJobRecord> m = new LinkedHashMap<>(done);
        for (DeviceJobRecord r : d.records()) m.putIfAbsent(r.deviceId(), r); // the first outcome counts
        return new State(spec, sliceNo, deviceIds, m, started, cancelled, assignedAt);
      } else if (e instanceof Cancelled) {
        return new State(spec, sliceNo, deviceIds, done, started, true, assignedAt);
      }
      throw new IllegalArgumentException("unknown event " + e);
    }
  }

  // ------------------------------------------------------------------ entity

  public static void init(ActorSystem<?> system, JobSettings settings, DeviceJobExecutor executor, Clock clock, String role) {
    var entity = Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId(), settings, executor, clock));
    ClusterSharding.get(system).init(role == null ? entity : entity.withRole(role));
  }

  public static Behavior<Command> create(String entityId, JobSettings settings, DeviceJobExecutor executor, Clock clock) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new JobSliceEntity(entityId, settings, executor, clock, ctx, timers)));
  }

  private final String jobId;
  private final JobSettings settings;
  private final DeviceJobExecutor executor;
  private final Clock clock;
  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  // In memory only: what a restart loses here is re-run (twins: idempotent) or failed as unknown (methods).
  private final Set<String> inFlight = new HashSet<>();
  private final List<DeviceJobRecord> unjournaled = new ArrayList<>();
  private boolean flushQueued;
  private boolean dispatchQueued;
  private long lastReportNanos;

  private JobSliceEntity(String entityId, JobSettings settings, DeviceJobExecutor executor, Clock clock,
                         ActorContext<Command> context, TimerScheduler<Command> timers) {
    super(PersistenceId.of(TYPE_KEY.name(), entityId));
    this.jobId = entityId.substring(0, entityId.lastIndexOf('#'));
    this.settings = settings;
    this.executor = executor;
    this.clock = clock;
    this.context = context;
    this.timers = timers;
  }

  @Override
  public State emptyState() {
    return State.EMPTY;
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(TAG);
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2);
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), s -> {
      if (s.assigned()) queueDispatch();
    }).build();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(Assign.class, this::onAssign)
        .onCommand(Wake.class, (s, c) -> {
          if (s.assigned()) {
            queueDispatch();
            report(s, true);
          }
          return Effect().noReply();
        })
        .onCommand(Cancel.class, (s, c) -> {
          if (!s.assigned() || s.cancelled()) {
            if (s.assigned()) report(s, true);
            return Effect().noReply();
          }
          return Effect().persist(new Cancelled(clock.instant())).thenRun(after -> report(after, true)).thenNoReply();
        })
        .onCommand(GetRecords.class, (s, c) -> Effect().reply(c.replyTo(), s.records(c.from(), c.max(), busy())))
        .onCommand(DeviceFinished.class, (s, c) -> {
          inFlight.remove(c.record().deviceId());
          unjournaled.add(c.record());
          if (!flushQueued) {
            flushQueued = true;
            // Behind the outcomes already in the mailbox: one journal write takes them all.
            context.getSelf().tell(new Flush());
          }
          return Effect().noReply();
        })
        .onCommand(Flush.class, this::onFlush)
        .onCommand(Dispatch.class, this::onDispatch)
        .onCommand(ReportTick.class, (s, c) -> {
          report(s, true);
          return Effect().noReply();
        })
        .build();
  }

  private ReplyEffect<Event, State> onAssign(State s, Assign c) {
    if (s.assigned()) {
      queueDispatch();
      return Effect().reply(c.replyTo(), Done.getInstance());
    }
    return Effect().persist(new Assigned(c.spec(), c.sliceNo(), c.deviceIds(), clock.instant()))
        .thenRun(after -> queueDispatch())
        .thenReply(c.replyTo(), after -> Done.getInstance());
  }

  private ReplyEffect<Event, State> onFlush(State s, Flush c) {
    flushQueued = false;
    if (unjournaled.isEmpty()) return Effect().noReply();
    List<DeviceJobRecord> batch = List.copyOf(unjournaled);
    unjournaled.clear();
    return Effect().persist(new DevicesDone(batch)).thenRun(after -> {
      report(after, false);
      queueDispatch();
    }).thenNoReply();
  }

  private ReplyEffect<Event, State> onDispatch(State s, Dispatch c) {
    dispatchQueued = false;
    if (!s.assigned()) return Effect().noReply();
    Set<String> busy = busy();
    List<String> unknown = s.startedWithoutOutcome(busy);
    if (!unknown.isEmpty() && busy.isEmpty()) {
      // Calls started by an earlier incarnation of this slice: whether the device ran them is unknown.
      Instant now = clock.instant();
      List<DeviceJobRecord> failed = unknown.stream().map(d -> DeviceJobRecord.failed(d, s.assignedAt(), now,
          IotHubError.of(IotHubErrorCode.ServerError, "the outcome of the method call is unknown: the node running it "
              + "stopped before recording it; not called again"))).toList();
      return Effect().persist(new DevicesDone(failed)).thenRun(after -> queueDispatch()).thenNoReply();
    }
    List<String> next = s.pending(busy, settings.parallelism() - busy.size());
    if (next.isEmpty()) {
      if (s.finished(busy)) {
        timers.cancel(ReportTick.class);
        report(s, true);
      }
      return Effect().noReply();
    }
    if (!timers.isTimerActive(ReportTick.class)) {
      timers.startTimerWithFixedDelay(ReportTick.class, new ReportTick(), settings.reportInterval().multipliedBy(2));
    }
    if (s.spec().type() == JobType.scheduleDeviceMethod) {
      inFlight.addAll(next); // reserved until the marker is journaled
      return Effect().persist(new MethodsStarted(next, clock.instant())).thenRun(after -> launch(after, next)).thenNoReply();
    }
    launch(s, next);
    return Effect().noReply();
  }

  private void launch(State s, List<String> deviceIds) {
    for (String d : deviceIds) {
      inFlight.add(d);
      context.pipeToSelf(executor.run(s.spec(), d), (record, failure) -> new DeviceFinished(record != null ? record
          : DeviceJobRecord.failed(d, clock.instant(), clock.instant(),
              IotHubError.of(IotHubErrorCode.ServerError, "the job could not run on this device: " + failure))));
    }
  }

  /** Devices with an outcome not yet journaled: in flight, or answered and waiting for the next write. */
  private Set<String> busy() {
    if (unjournaled.isEmpty()) return inFlight;
    Set<String> b = new HashSet<>(inFlight);
    for (DeviceJobRecord r : unjournaled) b.add(r.deviceId());
    return b;
  }

  private void queueDispatch() {
    if (!dispatchQueued) {
      dispatchQueued = true;
      context.getSelf().tell(new Dispatch());
    }
  }

  /** Tells the job how far this slice is (throttled unless {@code now}); only journaled outcomes count. */
  private void report(State s, boolean now) {
    if (!s.assigned()) return;
    long t = System.nanoTime();
    Set<String> busy = busy();
    boolean finished = s.finished(busy);
    if (!now && !finished && t - lastReportNanos < settings.reportInterval().toNanos()) return;
    lastReportNanos = t;
    ClusterSharding.get(context.getSystem()).entityRefFor(JobEntity.TYPE_KEY, jobId)
        .tell(new JobEntity.Report(s.sliceNo(), s.succeeded(), s.failed(), busy.size(), finished));
  }
}
