package io.twinhub.twin.service;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.EntityRef;
import akka.japi.function.Function;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Timer;
import io.twinhub.twin.domain.Authentication;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.Identity;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.TwinUpdate;
import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.twin.entity.ConnectLookup;
import io.twinhub.twin.entity.DeviceEntity;
import io.twinhub.twin.entity.DirectMethodReply;
import io.twinhub.twin.entity.SessionMessage;
import io.twinhub.twin.entity.KeptSession;
import io.twinhub.twin.entity.ModuleEntity;
import io.twinhub.twin.entity.TwinCommand;
import io.twinhub.twin.entity.TwinReply;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;
import io.twinhub.twin.error.RejectionErrors;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.Optional;

/**
 * The Java API the gateways (REST, MQTT) call: one method per IoT Hub operation, answered
 * with a {@link TwinReply}. Routes to the sharded entity wherever it lives; an entity that
 * does not answer in time becomes a typed ServiceUnavailable (clients retry), never an
 * exception. Module operations that touch both the device and the module are sequenced here.
 */
public final class TwinService {
  /**
   * Runs a callback on the thread that completes the ask. Akka's Java API hands out Scala-converted
   * stages whose plain {@code exceptionally}/{@code whenComplete} hop to the common pool (on 2
   * cores: a new thread per callback); these callbacks are a few field reads.
   */
  private static final java.util.concurrent.Executor INLINE = Runnable::run;

  private final ClusterSharding sharding;
  private final Duration askTimeout;
  /** Gateway twin writes in flight on this node; null: unbounded (tests, tools). */
  private final AdmissionLimit admission;
  /** An admitted write not started by its entity within this is refused there, never applied later. */
  private final Duration admissionDeadline;
  /** Holds requests to twins whose home member is unreachable; null: never held (tests, tools). */
  private final UnreachableHomes homes;
  private final SecureRandom random = new SecureRandom();
  /**
   * Timers by operation and outcome, registered once: building the meter id and finding the meter
   * on every call cost more than recording. Global-registry meters follow registries added later.
   */
  private final ConcurrentHashMap<String, Timer> timers = new ConcurrentHashMap<>();

  public TwinService(ActorSystem<?> system, Duration askTimeout) {
    this(system, askTimeout, null, Duration.ZERO);
  }

  /**
   * With admission control of the gateways' twin writes ({@link #updateTwin}): beyond
   * {@code admission}'s limit a write is refused at once with ThrottlingException (429), and an
   * admitted one carries a deadline ({@code now + deadline}, below the ask timeout) after which its
   * entity refuses it instead of applying it late.
   */
  public TwinService(ActorSystem<?> system, Duration askTimeout, AdmissionLimit admission, Duration deadline) {
    this(system, askTimeout, admission, deadline, null);
  }

  /**
   * With {@code homes}: a request to a twin whose home member is unreachable waits there (not sent,
   * not admitted, no deadline running) until the member is removed or reachable again, then goes
   * its normal way; one that waited {@link UnreachableHomes#hold()} is refused with 503, not applied.
   */
  public TwinService(ActorSystem<?> system, Duration askTimeout, AdmissionLimit admission, Duration deadline,
                     UnreachableHomes homes) {
    this.sharding = ClusterSharding.get(system);
    this.askTimeout = askTimeout;
    this.admission = admission;
    this.admissionDeadline = deadline;
    this.homes = homes;
    if (admission != null && (deadline.isZero() || deadline.isNegative() || deadline.compareTo(askTimeout) >= 0)) {
      throw new IllegalArgumentException("the admission deadline must be > 0 and below the ask timeout " + askTimeout);
    }
  }

  /** The node's admission limit of twin writes, if any. */
  public Optional<AdmissionLimit> admission() {
    return Optional.ofNullable(admission);
  }

  public CompletionStage<TwinReply> getTwin(String deviceId, String moduleId) {
    return ask("getTwin", deviceId, moduleId, TwinCommand.GetTwin::new);
  }

  public CompletionStage<TwinReply> updateTwin(String deviceId, String moduleId, TwinUpdate update, String ifMatch) {
    return updateTwin(deviceId, moduleId, update, ifMatch, null);
  }

  /** A twin write by {@code by}, who is journaled with the change (audit, twin history). */
  public CompletionStage<TwinReply> updateTwin(String deviceId, String moduleId, TwinUpdate update, String ifMatch,
                                               io.twinhub.twin.domain.Author by) {
    return ask(operation(update), deviceId, moduleId, r -> new TwinCommand.UpdateTwin(update, ifMatch, by, r));
  }

  private static String operation(TwinUpdate update) {
    return update instanceof TwinUpdate.PatchReported ? "patchReported" : "updateTwin";
  }

  /**
   * A twin write of a device or back end (the gateways' REST PATCH/PUT twin and MQTT reported
   * patch), through the node's admission control when it has one: beyond the limit of writes in
   * flight it is refused at once with ThrottlingException (429) and never reaches the entity; an
   * admitted one carries a deadline after which the entity refuses it (503, not applied) rather
   * than applying it after the gateway stopped waiting. The hub's own writes (configurations,
   * jobs, functions) bound their concurrency themselves and use {@link #updateTwin}.
   */
  public CompletionStage<TwinReply> admitUpdateTwin(String deviceId, String moduleId, TwinUpdate update, String ifMatch,
                                                    io.twinhub.twin.domain.Author by) {
    if (admission == null) return updateTwin(deviceId, moduleId, update, ifMatch, by);
    IotHubError invalid = checkIds(deviceId, moduleId);
    if (invalid != null) return done(new TwinReply.Rejected(invalid));
    // Held before admission: a write waiting for its twin's home holds no slot and runs no deadline.
    return whenHomeReachable(operation(update), deviceId, moduleId, () -> admitted(deviceId, moduleId, update, ifMatch, by));
  }

  /**
   * A gateway that can hold a twin write without cost (an MQTT session that stops reading its
   * socket meanwhile) asks for an admission slot: true when it has one now (or the node has no
   * admission control), else {@code onAdmitted} runs once a slot is granted to it and
   * {@code waiter[0]} is what to {@link #stopWaiting} when the gateway gives up. With a slot, the
   * write goes through {@link #updateTwinAdmitted}; a slot not used goes back by {@link #returnSlot}.
   */
  public boolean admitOrWait(Runnable onAdmitted, AdmissionLimit.Waiter[] waiter) {
    return admission == null || admission.acquireOrWait(onAdmitted, waiter);
  }

  /**
   * The gateway gives up waiting for a slot: the refusal (ThrottlingException, never applied) if
   * the waiter was still waiting, else empty: a slot was granted first and is the caller's.
   */
  public Optional<TwinReply> stopWaiting(AdmissionLimit.Waiter waiter, Class<? extends TwinUpdate> kind) {
    if (!admission.cancel(waiter)) return Optional.empty();
    TwinReply refused = THROTTLED;
    record(kind == TwinUpdate.PatchReported.class ? "patchReported" : "updateTwin", refused, 0);
    return Optional.of(refused);
  }

  /** A gateway holding a request unread is woken when the node has room (see {@link AdmissionLimit#wakeWhenFree}): true if there is room now. */
  public boolean wakeWhenFree(Runnable onFree, AdmissionLimit.Waiter[] waiter) {
    return admission == null || admission.wakeWhenFree(onFree, waiter);
  }

  /**
   * The gateway stops waiting without refusing anything (see {@link AdmissionLimit#withdraw}): true
   * if the waiter was still waiting, false if it was woken or granted first.
   */
  public boolean withdraw(AdmissionLimit.Waiter waiter) {
    return admission == null || admission.withdraw(waiter);
  }

  /** A slot from {@link #admitOrWait} that will not be used (an invalid write, a closed connection). */
  public void returnSlot() {
    if (admission != null) admission.releaseUnused();
  }

  /** A twin write holding a slot from {@link #admitOrWait}: as {@link #admitUpdateTwin} after admission; the slot is released with its answer. */
  public CompletionStage<TwinReply> updateTwinAdmitted(String deviceId, String moduleId, TwinUpdate update, String ifMatch,
                                                       io.twinhub.twin.domain.Author by) {
    if (admission == null) return updateTwin(deviceId, moduleId, update, ifMatch, by);
    IotHubError invalid = checkIds(deviceId, moduleId);
    if (invalid != null) {
      admission.releaseUnused();
      return done(new TwinReply.Rejected(invalid));
    }
    boolean[] sent = {false};
    return whenHomeReachable(operation(update), deviceId, moduleId, () -> {
      sent[0] = true;
      return sendAdmitted(deviceId, moduleId, update, ifMatch, by);
    }).whenComplete((reply, failure) -> {
      if (!sent[0]) admission.releaseUnused(); // held for an unreachable home and never sent
    });
  }

  private CompletionStage<TwinReply> admitted(String deviceId, String moduleId, TwinUpdate update, String ifMatch,
                                              io.twinhub.twin.domain.Author by) {
    if (!admission.tryAcquire()) {
      // Refused before anything is queued: the entity never sees it, so it is never applied.
      TwinReply refused = THROTTLED;
      record(operation(update), refused, 0);
      return done(refused);
    }
    return sendAdmitted(deviceId, moduleId, update, ifMatch, by);
  }

  private CompletionStage<TwinReply> sendAdmitted(String deviceId, String moduleId, TwinUpdate update, String ifMatch,
                                                  io.twinhub.twin.domain.Author by) {
    long start = System.nanoTime();
    long notAfter = System.currentTimeMillis() + admissionDeadline.toMillis();
    return send(operation(update), deviceId, moduleId, r -> new TwinCommand.UpdateTwin(update, ifMatch, by, notAfter, r))
        .thenApplyAsync(reply -> {
          admission.release(System.nanoTime() - start,
              reply instanceof TwinReply.Accepted a ? a.journalMicros() * 1000 : 0,
              reply instanceof TwinReply.Rejected rej && overloaded(rej.error()));
          return reply;
        }, INLINE);
  }

  /**
   * The refusal of a gateway twin write when the node is at its admission limit now, else empty:
   * checked before the request's body is parsed, so under overload a refusal costs the node only
   * its answer. (A write that passes may still be refused by {@link #admitUpdateTwin}.)
   */
  public Optional<TwinReply> refusedAtLimit(Class<? extends TwinUpdate> kind) {
    if (admission == null || !admission.refuseIfFull()) return Optional.empty();
    // Under overload most answers are these: nothing is built per refusal (one reply, one timer per kind).
    (kind == TwinUpdate.PatchReported.class ? refusedReported : refusedUpdate).record(0, TimeUnit.NANOSECONDS);
    return REFUSED;
  }

  /**
   * The answer to a twin write refused at the node's admission limit (ThrottlingException, never
   * applied): one value, so that a gateway can encode its answer once (the limit itself is in /metrics).
   */
  public static final TwinReply.Rejected THROTTLED = new TwinReply.Rejected(IotHubError.of(IotHubErrorCode.ThrottlingException,
      "the hub is at its limit of twin writes in flight on this node; not applied, retry later"));
  private static final Optional<TwinReply> REFUSED = Optional.of(THROTTLED);

  /** An answer that shows the node is overloaded: refused by its deadline, or no answer in time (both 503). */
  private static boolean overloaded(IotHubError e) {
    return e.code() == IotHubErrorCode.ServiceUnavailable;
  }

  /** A job's twin update: applied once per job id, a repeat answered from state (see {@link TwinCommand.UpdateTwinForJob}). */
  public CompletionStage<TwinReply> updateTwinForJob(String deviceId, String jobId, TwinUpdate.UpdateTwin update) {
    return ask("updateTwinForJob", deviceId, null, r -> new TwinCommand.UpdateTwinForJob(jobId, update, r));
  }

  /**
   * Creates a device; symmetric keys absent from {@code spec} are generated. An IoT Edge device
   * ({@code capabilities.iotEdge}) gets its system modules, as IoT Hub creates them.
   */
  public CompletionStage<TwinReply> createDevice(String deviceId, IdentitySpec spec) {
    return ask("createDevice", deviceId, null, r -> new TwinCommand.CreateIdentity(withKeys(spec), newGenerationId(), r))
        .thenCompose(this::withEdgeModules);
  }

  public CompletionStage<TwinReply> updateDevice(String deviceId, IdentitySpec spec, String ifMatch) {
    return ask("updateDevice", deviceId, null, r -> new TwinCommand.UpdateIdentity(withKeys(spec), ifMatch, r))
        .thenCompose(this::withEdgeModules);
  }

  /** The module identities IoT Hub gives every IoT Edge device; their twins start empty (no deployment yet). */
  public static final java.util.List<String> EDGE_SYSTEM_MODULES = java.util.List.of("$edgeAgent", "$edgeHub");

  /**
   * After a device became (or was created as) an IoT Edge device: creates the system modules it
   * lacks (a retry of the device write creates what an earlier attempt left out), then answers
   * with the device's reply.
   */
  private CompletionStage<TwinReply> withEdgeModules(TwinReply reply) {
    if (!(reply instanceof TwinReply.Accepted a) || a.twin() == null || !a.twin().identity().iotEdge()) return done(reply);
    String deviceId = a.twin().identity().deviceId();
    CompletionStage<TwinReply> chain = done(reply);
    for (String module : EDGE_SYSTEM_MODULES) {
      if (a.moduleIds().contains(module)) continue;
      IdentitySpec spec = new IdentitySpec(io.twinhub.twin.domain.DeviceStatus.ENABLED, null,
          Authentication.sas(null, null), false);
      chain = chain.thenCompose(r -> createModule(deviceId, module, spec).thenApply(m -> r));
    }
    return chain;
  }

  /** Deletes the device and, through the device entity, all its modules. */
  public CompletionStage<TwinReply> deleteDevice(String deviceId, String ifMatch) {
    return ask("deleteDevice", deviceId, null, r -> new TwinCommand.DeleteIdentity(ifMatch, false, r));
  }

  /**
   * Registers the module under its device (device must exist, module limit), then creates
   * the module. Registration is idempotent, so a retry after a failure in between succeeds;
   * whether the module already exists is the module entity's answer.
   */
  public CompletionStage<TwinReply> createModule(String deviceId, String moduleId, IdentitySpec spec) {
    return ask("addModule", deviceId, null, r -> new TwinCommand.AddModule(moduleId, r))
        .thenCompose(reply -> reply instanceof TwinReply.Rejected ? done(reply)
            : ask("createModule", deviceId, moduleId, r -> new TwinCommand.CreateIdentity(withKeys(spec), newGenerationId(), r)));
  }

  public CompletionStage<TwinReply> updateModule(String deviceId, String moduleId, IdentitySpec spec, String ifMatch) {
    return ask("updateModule", deviceId, moduleId, r -> new TwinCommand.UpdateIdentity(withKeys(spec), ifMatch, r));
  }

  /** Deletes the module, then unregisters it from its device (idempotent, so safe to retry). */
  public CompletionStage<TwinReply> deleteModule(String deviceId, String moduleId, String ifMatch) {
    return ask("deleteModule", deviceId, moduleId, r -> new TwinCommand.DeleteIdentity(ifMatch, false, r))
        .thenCompose(reply -> reply instanceof TwinReply.Rejected ? done(reply)
            : ask("removeModule", deviceId, null, r -> new TwinCommand.RemoveModule(moduleId, r)).thenApply(ignored -> reply));
  }

  public CompletionStage<TwinReply> setConnectionState(String deviceId, String moduleId, ConnectionState state) {
    return ask("setConnectionState", deviceId, moduleId, r -> new TwinCommand.SetConnectionState(state, r));
  }

  /**
   * Attaches (or, as a heartbeat, re-attaches) a device session to its twin: the twin
   * becomes Connected and pushes desired changes / direct methods to {@code session}. See
   * {@link TwinCommand.AttachSession} for {@code generation}, {@code deliveredDesired} and
   * {@code lastActivity} (null: none to report).
   */
  public CompletionStage<TwinReply> attachSession(String deviceId, String moduleId, ActorRef<SessionMessage> session,
                                                  String sessionId, long generation, boolean desired, boolean methods,
                                                  long deliveredDesired, java.time.Instant lastActivity) {
    return ask("attachSession", deviceId, moduleId, r -> new TwinCommand.AttachSession(session, sessionId, generation,
        desired, methods, deliveredDesired, lastActivity, r));
  }

  public CompletionStage<TwinReply> detachSession(String deviceId, String moduleId, String sessionId) {
    return detachSession(deviceId, moduleId, sessionId, false, null);
  }

  /**
   * {@code immediate}: journal Disconnected now, without the twin's disconnect grace (the gateway is
   * stopping); {@code kept}: the session store's state as the closing connection knows it (null: not
   * sure), for the next connection ({@link #lookupForConnect}).
   */
  public CompletionStage<TwinReply> detachSession(String deviceId, String moduleId, String sessionId, boolean immediate,
                                                  KeptSession kept) {
    return ask("detachSession", deviceId, moduleId, r -> new TwinCommand.DetachSession(sessionId, immediate, kept, r));
  }

  /** The twin for a connecting device, with the session state its last connection left (see {@link KeptSession}). */
  public CompletionStage<ConnectLookup> lookupForConnect(String deviceId, String moduleId) {
    return lookupForConnect(deviceId, moduleId, null);
  }

  /**
   * As above, and attached in the same round trip when the twin can decide it ({@code attach}, null:
   * lookup only; see {@link TwinCommand.LookupForConnect}): {@link ConnectLookup#attached()} says.
   */
  public CompletionStage<ConnectLookup> lookupForConnect(String deviceId, String moduleId, TwinCommand.ConnectAttach attach) {
    IotHubError invalid = checkIds(deviceId, moduleId);
    if (invalid != null) return CompletableFuture.completedFuture(new ConnectLookup(new TwinReply.Rejected(invalid), null));
    long start = System.nanoTime();
    return entityRef(deviceId, moduleId).<ConnectLookup>ask(r -> new TwinCommand.LookupForConnect(attach, r), askTimeout)
        .handleAsync((answer, failure) -> {
          ConnectLookup lookup = failure == null ? answer
              : new ConnectLookup(new TwinReply.Rejected(IotHubError.of(IotHubErrorCode.ServiceUnavailable,
                  (moduleId == null ? "device " + deviceId : "module " + deviceId + "/" + moduleId)
                      + " did not answer within " + askTimeout.toMillis() + " ms")), null);
          record("getTwin", lookup.twin(), System.nanoTime() - start);
          return lookup;
        }, INLINE);
  }

  /**
   * Invokes a direct method on the connected device (or module). Not connected and
   * subscribed → DeviceNotOnline (404103); no answer within {@code responseTimeout} →
   * GatewayTimeout (504101).
   */
  public CompletionStage<DirectMethodReply> invokeMethod(String deviceId, String moduleId, String methodName,
                                                         JsonNode payload, Duration responseTimeout) {
    IotHubError invalid = checkIds(deviceId, moduleId);
    if (invalid != null) return CompletableFuture.completedFuture(new DirectMethodReply.Failed(invalid));
    return entityRef(deviceId, moduleId).<DirectMethodReply>ask(
            r -> new TwinCommand.InvokeMethod(methodName, payload, responseTimeout, r), responseTimeout.plus(askTimeout))
        .handleAsync((reply, failure) -> failure == null ? reply
            : new DirectMethodReply.Failed(IotHubError.of(IotHubErrorCode.GatewayTimeout,
                "device did not answer method " + methodName + " within " + responseTimeout.toSeconds() + " s")), INLINE);
  }

  private EntityRef<TwinCommand> entityRef(String deviceId, String moduleId) {
    return moduleId == null
        ? sharding.entityRefFor(DeviceEntity.TYPE_KEY, deviceId)
        : sharding.entityRefFor(ModuleEntity.TYPE_KEY, ModuleEntity.entityId(deviceId, moduleId));
  }

  private CompletionStage<TwinReply> ask(String operation, String deviceId, String moduleId,
                                         Function<ActorRef<TwinReply>, TwinCommand> command) {
    IotHubError invalid = checkIds(deviceId, moduleId);
    if (invalid != null) return done(new TwinReply.Rejected(invalid));
    return whenHomeReachable(operation, deviceId, moduleId, () -> send(operation, deviceId, moduleId, command));
  }

  /** {@code then} now, or once the twin's home is reachable again; refused, never sent, if it is not within the hold. */
  private CompletionStage<TwinReply> whenHomeReachable(String operation, String deviceId, String moduleId,
                                                       java.util.function.Supplier<CompletionStage<TwinReply>> then) {
    CompletionStage<Boolean> held = held(deviceId, moduleId);
    if (held == null) return then.get();
    long start = System.nanoTime();
    return held.thenComposeAsync(sendable -> sendable ? then.get() : done(unreachable(operation, deviceId, moduleId, start)), INLINE);
  }

  /** Null: send now; else when the twin's home can be reached again (false: it was not within the hold). */
  private CompletionStage<Boolean> held(String deviceId, String moduleId) {
    if (homes == null) return null;
    return moduleId == null ? homes.whenSendable(DeviceEntity.TYPE_KEY.name(), deviceId)
        : homes.whenSendable(ModuleEntity.TYPE_KEY.name(), ModuleEntity.entityId(deviceId, moduleId));
  }

  /** A request held for {@link UnreachableHomes#hold()} and never sent: not applied, safe to retry. */
  private TwinReply unreachable(String operation, String deviceId, String moduleId, long start) {
    TwinReply reply = new TwinReply.Rejected(IotHubError.of(IotHubErrorCode.ServiceUnavailable,
        (moduleId == null ? "device " + deviceId : "module " + deviceId + "/" + moduleId)
            + " is on a cluster member unreachable for " + homes.hold().toMillis()
            + " ms (failover under way); not sent, not applied; retry"));
    record(operation, reply, System.nanoTime() - start);
    return reply;
  }

  private CompletionStage<TwinReply> send(String operation, String deviceId, String moduleId,
                                          Function<ActorRef<TwinReply>, TwinCommand> command) {
    long start = System.nanoTime();
    return entityRef(deviceId, moduleId).<TwinReply>ask(command::apply, askTimeout)
        .handleAsync((answer, failure) -> {
          TwinReply reply = failure == null ? answer
              : new TwinReply.Rejected(IotHubError.of(IotHubErrorCode.ServiceUnavailable,
                  (moduleId == null ? "device " + deviceId : "module " + deviceId + "/" + moduleId)
                      + " did not answer within " + askTimeout.toMillis() + " ms; a write's outcome is unknown"
                      + " (read the twin's $version before retrying it)"));
          record(operation, reply, System.nanoTime() - start);
          return reply;
        }, INLINE);
  }

  /**
   * Round trip to the entity, journal write included for writes: the latency a gateway adds
   * to every request, by operation and outcome (accepted, or the IoT Hub error name).
   */
  private void record(String operation, TwinReply reply, long nanos) {
    String outcome = reply instanceof TwinReply.Rejected r ? r.error().code().name() : "accepted";
    timer(operation, outcome).record(nanos, TimeUnit.NANOSECONDS);
  }

  private Timer timer(String operation, String outcome) {
    return timers.computeIfAbsent(operation + ' ' + outcome, k -> Timer.builder("twinhub.twin.requests")
        .description("Twin entity round trips (journal write included for writes)")
        .tag("operation", operation).tag("outcome", outcome)
        .publishPercentileHistogram()
        .register(Metrics.globalRegistry));
  }

  /** {@link #refusedAtLimit}'s timers, resolved once. */
  private final Timer refusedReported = timer("patchReported", THROTTLED.error().code().name());
  private final Timer refusedUpdate = timer("updateTwin", THROTTLED.error().code().name());

  /** Checked before anything reaches an entity: a malformed id never creates one. */
  static IotHubError checkIds(String deviceId, String moduleId) {
    return Identity.checkId(deviceId, "deviceId")
        .or(() -> moduleId == null ? Optional.empty() : Identity.checkId(moduleId, "moduleId"))
        .map(RejectionErrors::toError)
        .orElse(null);
  }

  private IdentitySpec withKeys(IdentitySpec spec) {
    Authentication a = spec.authentication().withKeysGeneratedIfAbsent(random);
    return a == spec.authentication() ? spec : spec.withAuthentication(a);
  }

  private static String newGenerationId() {
    // IoT Hub's generation ids are opaque 18-digit strings; uniqueness is what matters.
    return String.valueOf(Math.floorMod(UUID.randomUUID().getMostSignificantBits(), 1_000_000_000_000_000_000L));
  }

  private static CompletionStage<TwinReply> done(TwinReply reply) {
    return CompletableFuture.completedFuture(reply);
  }
}
