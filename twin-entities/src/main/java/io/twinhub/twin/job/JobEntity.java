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
import akka.persistence.typed.javadsl.SignalHandler;
import io.twinhub.twin.TwinhubSerializable;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One IoT Hub job (entity id = job id). It only sequences: selects its devices from the query
 * index page by page, journals each page as a slice ({@link SliceSelected}), hands slices to
 * {@link JobSliceEntity}s (sharded, so they run on every node) at most {@code runningSlices} at a
 * time, and journals each slice's final counts when it reports finished. The rules (status,
 * statistics, what to assign next) are {@link State}'s pure functions.
 *
 * <p>Nothing here is remembered only in memory that matters after a crash: selection resumes
 * after the last journaled device id, assigned slices have their devices and outcomes in their own
 * journal, and the keeper ({@link JobRegistry}) wakes every unfinished job every few seconds.
 */
public final class JobEntity
    extends EventSourcedBehaviorWithEnforcedReplies<JobEntity.Command, JobEntity.Event, JobEntity.State> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "Job");
  public static final String TAG = "job";

  // ------------------------------------------------------------------ protocol

  public sealed interface Command extends TwinhubSerializable {}

  public record Create(JobSpec spec, ActorRef<Reply> replyTo) implements Command {}

  public record Get(ActorRef<Reply> replyTo) implements Command {}

  public record Cancel(ActorRef<Reply> replyTo) implements Command {}

  /** From the keeper (and slices): resume whatever should be running. */
  public record Wake() implements Command {}

  /** A slice's progress; {@code finished} once all its devices have a journaled outcome (or it was cancelled). */
  public record Report(int sliceNo, long succeeded, long failed, long running, boolean finished) implements Command {}

  record Start() implements Command {}

  record SelectNext() implements Command {}

  record Selected(List<String> deviceIds, int limit) implements Command {}

  record SelectionFailed(String reason, boolean permanent) implements Command {}

  record SliceAssignedAck(int sliceNo) implements Command {}

  record Deadline() implements Command {}

  record AssignFailed(int sliceNo) implements Command {}

  public sealed interface Reply extends TwinhubSerializable {}

  /** The job as it is, with statistics that include running slices' latest progress. */
  public record Accepted(JobView job) implements Reply {}

  /**
   * What a reader of a job gets: small whatever the job's size (replies may cross the cluster,
   * whose messages are bounded), unlike {@link State}, which holds device ids of slices not yet
   * handed out.
   *
   * @param assignedSlices the slices that have their devices (and their outcomes) in their own journal
   */
  public record JobView(JobSpec spec, JobStatus status, Instant createdTime, Instant startedTime, Instant endTime,
                        String failureReason, DeviceJobStatistics statistics, List<Integer> assignedSlices)
      implements TwinhubSerializable {
    public JobView {
      assignedSlices = List.copyOf(assignedSlices);
    }
  }

  public record Rejected(IotHubError error) implements Reply {}

  public sealed interface Event extends TwinhubSerializable {}

  public record Created(JobSpec spec, Instant at) implements Event {}

  public record Started(Instant at) implements Event {}

  /** One page of selected devices: a slice, numbered from 0. */
  public record SliceSelected(int sliceNo, List<String> deviceIds, Instant at) implements Event {}

  public record SelectionCompleted(Instant at) implements Event {}

  /** The slice journaled its devices: the job no longer needs to keep them. */
  public record SliceAssigned(int sliceNo) implements Event {}

  public record SliceFinished(int sliceNo, long succeeded, long failed) implements Event {}

  public record Completed(Instant at) implements Event {}

  public record Cancelled(Instant at) implements Event {}

  public record Failed(String reason, Instant at) implements Event {}

  // ------------------------------------------------------------------ state (pure)

  /** A slice as the job knows it; {@code deviceIds} only until the slice has journaled them. */
  public record Slice(int sliceNo, int deviceCount, List<String> deviceIds, boolean assigned, boolean finished,
                      long succeeded, long failed) {
    Slice asAssigned() {
      return new Slice(sliceNo, deviceCount, null, true, finished, succeeded, failed);
    }

    Slice asFinished(long s, long f) {
      return new Slice(sliceNo, deviceCount, null, true, true, s, f);
    }

    public boolean running() {
      return assigned && !finished;
    }
  }

  /**
   * @param lastSelected the greatest device id selected so far (selection goes on after it)
   */
  public record State(JobSpec spec, JobStatus status, Instant createdTime, Instant startedTime, Instant endTime,
                      String failureReason, boolean selectionDone, String lastSelected, List<Slice> slices)
      implements TwinhubSerializable {

    public static final State EMPTY = new State(null, null, null, null, null, null, false, null, List.of());

    public State {
      slices = slices == null ? List.of() : List.copyOf(slices);
    }

    public boolean exists() {
      return spec != null;
    }

    public long deviceCount() {
      long n = 0;
      for (Slice s : slices) n += s.deviceCount();
      return n;
    }

    /** Statistics from the journal plus the latest in-memory progress of running slices. */
    public DeviceJobStatistics statistics(Map<Integer, Report> live) {
      long succeeded = 0, failed = 0, running = 0;
      for (Slice s : slices) {
        if (s.finished()) {
          succeeded += s.succeeded();
          failed += s.failed();
        } else {
          Report r = live.get(s.sliceNo());
          if (r != null) {
            succeeded += r.succeeded();
            failed += r.failed();
            running += r.running();
          }
        }
      }
      return DeviceJobStatistics.of(deviceCount(), succeeded, failed, running);
    }

    /** Slices to hand out now: selected, not yet assigned, while fewer than {@code max} run. */
    public List<Slice> toAssign(int max) {
      long running = slices.stream().filter(Slice::running).count();
      List<Slice> out = new ArrayList<>();
      for (Slice s : slices) {
        if (running + out.size() >= max) break;
        if (!s.assigned()) out.add(s);
      }
      return out;
    }

    public List<Slice> runningSlices() {
      return slices.stream().filter(Slice::running).toList();
    }

    /** Every selected device has its outcome: a running job is complete. */
    public boolean allDone() {
      return selectionDone && slices.stream().allMatch(Slice::finished);
    }

    public JobView view(Map<Integer, Report> live) {
      return new JobView(spec, status, createdTime, startedTime, endTime, failureReason, statistics(live),
          slices.stream().filter(Slice::assigned).map(Slice::sliceNo).toList());
    }

    /** Ended and no slice still works: nothing needs waking any more. */
    public boolean quiescent() {
      return status != null && status.terminal() && slices.stream().noneMatch(Slice::running);
    }

    public State apply(Event e) {
      if (e instanceof Created c) {
        JobStatus st = c.spec().startTime().isAfter(c.at()) ? JobStatus.scheduled : JobStatus.queued;
        return new State(c.spec(), st, c.at(), null, null, null, false, null, List.of());
      } else if (e instanceof Started s) {
        return new State(spec, JobStatus.running, createdTime, s.at(), null, null, selectionDone, lastSelected, slices);
      } else if (e instanceof SliceSelected s) {
        List<Slice> next = new ArrayList<>(slices);
        next.add(new Slice(s.sliceNo(), s.deviceIds().size(), List.copyOf(s.deviceIds()), false, false, 0, 0));
        String last = s.deviceIds().isEmpty() ? lastSelected : s.deviceIds().get(s.deviceIds().size() - 1);
        return new State(spec, status, createdTime, startedTime, endTime, failureReason, selectionDone, last, next);
      } else if (e instanceof SelectionCompleted) {
        return new State(spec, status, createdTime, startedTime, endTime, failureReason, true, lastSelected, slices);
      } else if (e instanceof SliceAssigned a) {
        return withSlice(a.sliceNo(), Slice::asAssigned);
      } else if (e instanceof SliceFinished f) {
        return withSlice(f.sliceNo(), s -> s.asFinished(f.succeeded(), f.failed()));
      } else if (e instanceof Completed c) {
        return ended(JobStatus.completed, null, c.at());
      } else if (e instanceof Cancelled c) {
        return ended(JobStatus.cancelled, null, c.at());
      } else if (e instanceof Failed f) {
        return ended(JobStatus.failed, f.reason(), f.at());
      }
      throw new IllegalArgumentException("unknown event " + e);
    }

    private State ended(JobStatus st, String reason, Instant at) {
      return new State(spec, st, createdTime, startedTime, at, reason, selectionDone, lastSelected, slices);
    }

    private State withSlice(int sliceNo, java.util.function.UnaryOperator<Slice> f) {
      List<Slice> next = new ArrayList<>(slices);
      next.set(sliceNo, f.apply(slices.get(sliceNo)));
      return new State(spec, status, createdTime, startedTime, endTime, failureReason, selectionDone, lastSelected, next);
    }
  }

  // ------------------------------------------------------------------ entity

  public static void init(ActorSystem<?> system, JobSettings settings, DeviceSelector selector, Clock clock, String role) {
    var entity = Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId(), settings, selector, clock));
    ClusterSharding.get(system).init(role == null ? entity : entity.withRole(role));
  }

  public static Behavior<Command> create(String jobId, JobSettings settings, DeviceSelector selector, Clock clock) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new JobEntity(jobId, settings, selector, clock, ctx, timers)));
  }

  private final String jobId;
  private final JobSettings settings;
  private final DeviceSelector selector;
  private final Clock clock;
  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  /** Latest progress of running slices (in memory: the slices re-report it after a restart). */
  private final Map<Integer, Report> live = new HashMap<>();
  /** Slices whose Assign is on its way (not re-sent until answered). */
  private final java.util.Set<Integer> assigning = new java.util.HashSet<>();
  private boolean selecting;

  private JobEntity(String jobId, JobSettings settings, DeviceSelector selector, Clock clock,
                    ActorContext<Command> context, TimerScheduler<Command> timers) {
    super(PersistenceId.of(TYPE_KEY.name(), jobId));
    this.jobId = jobId;
    this.settings = settings;
    this.selector = selector;
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
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), this::drive).build();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(Create.class, this::onCreate)
        .onCommand(Get.class, (s, c) -> s.exists() ? Effect().reply(c.replyTo(), view(s)) : notFound(c.replyTo()))
        .onCommand(Cancel.class, this::onCancel)
        .onCommand(Wake.class, (s, c) -> {
          drive(s);
          return Effect().noReply();
        })
        .onCommand(Start.class, this::onStart)
        .onCommand(SelectNext.class, this::onSelectNext)
        .onCommand(Selected.class, this::onSelected)
        .onCommand(SelectionFailed.class, this::onSelectionFailed)
        .onCommand(SliceAssignedAck.class, (s, c) -> {
          assigning.remove(c.sliceNo());
          return s.exists() && !s.slices().get(c.sliceNo()).assigned()
              ? Effect().persist(new SliceAssigned(c.sliceNo())).thenNoReply()
              : Effect().noReply();
        })
        .onCommand(AssignFailed.class, (s, c) -> {
          assigning.remove(c.sliceNo()); // the keeper's next wake hands it out again
          return Effect().noReply();
        })
        .onCommand(Report.class, this::onReport)
        .onCommand(Deadline.class, this::onDeadline)
        .build();
  }

  private ReplyEffect<Event, State> onCreate(State s, Create c) {
    if (s.exists()) {
      return Effect().reply(c.replyTo(), new Rejected(IotHubError.of(IotHubErrorCode.JobAlreadyExists,
          "Job " + jobId + " already exists")));
    }
    return Effect().persist(new Created(c.spec(), clock.instant()))
        .thenRun(this::drive)
        .thenReply(c.replyTo(), this::view);
  }

  private ReplyEffect<Event, State> onCancel(State s, Cancel c) {
    if (!s.exists()) return notFound(c.replyTo());
    if (s.status().terminal()) return Effect().reply(c.replyTo(), view(s));
    return Effect().persist(new Cancelled(clock.instant())).thenRun(this::drive).thenReply(c.replyTo(), this::view);
  }

  private ReplyEffect<Event, State> onStart(State s, Start c) {
    if (!s.exists() || (s.status() != JobStatus.scheduled && s.status() != JobStatus.queued)) return Effect().noReply();
    if (clock.instant().isBefore(s.spec().startTime())) {
      drive(s); // a timer that fired early (clock skew between nodes): wait on
      return Effect().noReply();
    }
    return Effect().persist(new Started(clock.instant())).thenRun(this::drive).thenNoReply();
  }

  private ReplyEffect<Event, State> onSelectNext(State s, SelectNext c) {
    if (!s.exists() || s.status() != JobStatus.running || s.selectionDone() || selecting) return Effect().noReply();
    selecting = true;
    int limit = settings.sliceSize();
    context.pipeToSelf(selector.select(s.spec().queryCondition(), s.lastSelected(), limit), (ids, failure) -> {
      if (failure == null) return new Selected(ids, limit);
      Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
          ? failure.getCause() : failure;
      return new SelectionFailed(String.valueOf(cause.getMessage()), cause instanceof IllegalArgumentException);
    });
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> onSelected(State s, Selected c) {
    selecting = false;
    if (s.status() != JobStatus.running || s.selectionDone()) return Effect().noReply();
    Instant at = clock.instant();
    List<Event> events = new ArrayList<>();
    if (!c.deviceIds().isEmpty()) events.add(new SliceSelected(s.slices().size(), c.deviceIds(), at));
    boolean last = c.deviceIds().size() < c.limit();
    if (last) {
      events.add(new SelectionCompleted(at));
      State after = s;
      for (Event e : events) after = after.apply(e);
      if (after.allDone()) events.add(new Completed(at));
    }
    return Effect().persist(events).thenRun(this::advance).thenNoReply();
  }

  private ReplyEffect<Event, State> onSelectionFailed(State s, SelectionFailed c) {
    selecting = false;
    if (s.status() != JobStatus.running) return Effect().noReply();
    if (c.permanent()) {
      return Effect().persist(new Failed("the devices could not be selected: " + c.reason(), clock.instant()))
          .thenRun(this::drive).thenNoReply();
    }
    context.getLog().warn("job {}: selecting devices failed ({}); retrying", jobId, c.reason());
    timers.startSingleTimer(SelectNext.class, new SelectNext(), Duration.ofSeconds(2));
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> onReport(State s, Report r) {
    if (!s.exists() || r.sliceNo() >= s.slices().size()) return Effect().noReply();
    Slice slice = s.slices().get(r.sliceNo());
    if (slice.finished()) return Effect().noReply();
    if (!r.finished()) {
      live.put(r.sliceNo(), r);
      return Effect().noReply();
    }
    live.remove(r.sliceNo());
    List<Event> events = new ArrayList<>();
    if (!slice.assigned()) events.add(new SliceAssigned(r.sliceNo()));
    events.add(new SliceFinished(r.sliceNo(), r.succeeded(), r.failed()));
    State after = s;
    for (Event e : events) after = after.apply(e);
    if (s.status() == JobStatus.running && after.allDone()) events.add(new Completed(clock.instant()));
    return Effect().persist(events).thenRun(this::advance).thenNoReply();
  }

  private ReplyEffect<Event, State> onDeadline(State s, Deadline c) {
    if (!s.exists() || s.status() != JobStatus.running) return Effect().noReply();
    Instant deadline = s.spec().deadline(s.startedTime());
    if (deadline == null || clock.instant().isBefore(deadline)) {
      drive(s);
      return Effect().noReply();
    }
    return Effect().persist(new Failed("the job did not complete within maxExecutionTimeInSeconds ("
        + s.spec().maxExecutionTimeInSeconds() + " s)", clock.instant())).thenRun(this::drive).thenNoReply();
  }

  /**
   * Makes what the state says happen: start at the start time, select, hand out slices, wake the
   * running ones (or tell them to stop once the job ended), retire the job when nothing runs any
   * more. Safe to repeat: every message it sends is idempotent at its receiver.
   */
  private void drive(State s) {
    drive(s, true);
  }

  /** {@link #drive} without waking the slices: after their own reports (which would otherwise ping-pong). */
  private void advance(State s) {
    drive(s, false);
  }

  private void drive(State s, boolean wakeSlices) {
    if (!s.exists()) return;
    ClusterSharding sharding = ClusterSharding.get(context.getSystem());
    switch (s.status()) {
      case scheduled, queued -> {
        Duration wait = Duration.between(clock.instant(), s.spec().startTime());
        if (wait.isNegative() || wait.isZero()) context.getSelf().tell(new Start());
        else timers.startSingleTimer(Start.class, new Start(), wait);
      }
      case running -> {
        Instant deadline = s.spec().deadline(s.startedTime());
        if (deadline != null && !timers.isTimerActive(Deadline.class)) {
          Duration left = Duration.between(clock.instant(), deadline);
          timers.startSingleTimer(Deadline.class, new Deadline(), left.isNegative() ? Duration.ZERO : left);
        }
        if (!s.selectionDone()) context.getSelf().tell(new SelectNext());
        if (wakeSlices) for (Slice slice : s.runningSlices()) sliceRef(sharding, slice.sliceNo()).tell(new JobSliceEntity.Wake());
        for (Slice slice : s.toAssign(settings.runningSlices())) assign(sharding, s.spec(), slice);
      }
      default -> {
        timers.cancel(Deadline.class);
        timers.cancel(Start.class);
        if (wakeSlices) {
          for (Slice slice : s.runningSlices()) sliceRef(sharding, slice.sliceNo()).tell(new JobSliceEntity.Cancel());
        }
        if (s.quiescent()) sharding.entityRefFor(JobRegistry.TYPE_KEY, JobRegistry.ID).tell(new JobRegistry.Retire(jobId));
      }
    }
  }

  private void assign(ClusterSharding sharding, JobSpec spec, Slice slice) {
    if (slice.deviceIds() == null || !assigning.add(slice.sliceNo())) return;
    context.ask(Done.class, sliceRef(sharding, slice.sliceNo()), settings.askTimeout(),
        r -> new JobSliceEntity.Assign(spec, slice.sliceNo(), slice.deviceIds(), r),
        (done, failure) -> failure == null ? new SliceAssignedAck(slice.sliceNo()) : new AssignFailed(slice.sliceNo()));
  }

  private akka.cluster.sharding.typed.javadsl.EntityRef<JobSliceEntity.Command> sliceRef(ClusterSharding sharding, int sliceNo) {
    return sharding.entityRefFor(JobSliceEntity.TYPE_KEY, JobSliceEntity.entityId(jobId, sliceNo));
  }

  private Reply view(State s) {
    return new Accepted(s.view(live));
  }

  private ReplyEffect<Event, State> notFound(ActorRef<Reply> replyTo) {
    return Effect().reply(replyTo, new Rejected(IotHubError.of(IotHubErrorCode.JobNotFound, "Job " + jobId + " not found")));
  }
}
