package io.twinhub.twin.entity;

import akka.actor.typed.ActorRef;
import io.twinhub.twin.TwinhubSerializable;
import io.twinhub.twin.domain.ConnectionState;
import io.twinhub.twin.domain.IdentitySpec;
import io.twinhub.twin.domain.TwinUpdate;

/** Commands of the device and module entities; each one is answered with exactly one {@link TwinReply}. */
public sealed interface TwinCommand extends TwinhubSerializable {

  /** Commands that come with a caller waiting for the answer. */
  sealed interface WithReply extends TwinCommand {
    ActorRef<TwinReply> replyTo();
  }

  record GetTwin(ActorRef<TwinReply> replyTo) implements WithReply {}

  /**
   * Creates the identity and its twin. Keys and {@code generationId} are drawn by the caller,
   * so the entity (and replay) never uses randomness.
   */
  record CreateIdentity(IdentitySpec spec, String generationId, ActorRef<TwinReply> replyTo) implements WithReply {}

  record UpdateIdentity(IdentitySpec spec, String ifMatch, ActorRef<TwinReply> replyTo) implements WithReply {}

  /** {@code idempotent}: deleting an absent identity succeeds (used for the device→module cascade). */
  record DeleteIdentity(String ifMatch, boolean idempotent, ActorRef<TwinReply> replyTo) implements WithReply {}

  /**
   * {@code by}: who writes (journaled with the change for audit), null when unknown.
   * {@code notAfter}: epoch milliseconds after which the entity refuses the write (ServiceUnavailable)
   * instead of applying it, 0 = no deadline. A gateway admitted it under a deadline shorter than its
   * ask timeout, so a write it stopped waiting for is never applied behind its back because it
   * queued (only one whose journal write had already started can be).
   */
  record UpdateTwin(TwinUpdate update, String ifMatch, io.twinhub.twin.domain.Author by, long notAfter,
                    ActorRef<TwinReply> replyTo) implements WithReply {
    @com.fasterxml.jackson.annotation.JsonCreator
    public UpdateTwin {}

    public UpdateTwin(TwinUpdate update, String ifMatch, io.twinhub.twin.domain.Author by, ActorRef<TwinReply> replyTo) {
      this(update, ifMatch, by, 0L, replyTo);
    }

    public UpdateTwin(TwinUpdate update, String ifMatch, ActorRef<TwinReply> replyTo) {
      this(update, ifMatch, null, 0L, replyTo);
    }
  }

  /**
   * A job's twin update ({@code PUT /jobs/v2} scheduleUpdateTwin). Idempotent per {@code jobId}: the
   * twin journals the job id with the change, and a repeat (the job's slice re-running a device
   * whose outcome it had not journaled before a crash) is answered from state, without a new version.
   */
  record UpdateTwinForJob(String jobId, TwinUpdate.UpdateTwin update, ActorRef<TwinReply> replyTo) implements WithReply {}

  record SetConnectionState(ConnectionState state, ActorRef<TwinReply> replyTo) implements WithReply {}

  /**
   * A device session (MQTT connection) attaches, or re-attaches as a heartbeat. The entity
   * keeps the one current session in memory (not journaled): it pushes desired changes to
   * it when {@code desired} is subscribed and delivers direct methods when {@code methods}
   * is. A different {@code sessionId} with a {@code generation} at least the current one's
   * takes over: the previous session is told to close. An older generation (a late heartbeat
   * of a connection that was taken over) is refused with 409, so it cannot steal the twin back.
   * Marks the twin Connected. The reply carries the twin, so the session knows the current
   * desired {@code $version}.
   *
   * @param generation       monotonically increasing per connection (newer connections are larger)
   * @param deliveredDesired the last desired {@code $version} the device has, -1 if unknown: the
   *                         entity re-sends what it still holds of newer changes (in order)
   * @param lastActivity     the device's last traffic on this connection (kept in memory as
   *                         {@code lastActivityTime}, journaled only with connection-state events), or null
   */
  record AttachSession(ActorRef<SessionMessage> session, String sessionId, long generation, boolean desired,
                       boolean methods, long deliveredDesired, java.time.Instant lastActivity,
                       ActorRef<TwinReply> replyTo) implements WithReply {
    /** A first attach without generation or delivery state (tests, tools). */
    public AttachSession(ActorRef<SessionMessage> session, String sessionId, boolean desired, boolean methods,
                         ActorRef<TwinReply> replyTo) {
      this(session, sessionId, 0, desired, methods, -1, null, replyTo);
    }
  }

  /**
   * The session's connection closed: Disconnected, unless another session has taken over. The
   * twin journals Disconnected after its disconnect grace ({@link EntitySettings#disconnectGrace})
   * unless a session attaches within it; {@code immediate} (the gateway shuts down, so the twin may
   * move and lose the grace's timer) journals it at once. {@code kept}: what the session knows to be
   * in its persistent session store (null: not sure), held for the next connection.
   */
  record DetachSession(String sessionId, boolean immediate, KeptSession kept, ActorRef<TwinReply> replyTo) implements WithReply {
    public DetachSession(String sessionId, ActorRef<TwinReply> replyTo) {
      this(sessionId, false, null, replyTo);
    }

    public DetachSession(String sessionId, boolean immediate, ActorRef<TwinReply> replyTo) {
      this(sessionId, immediate, null, replyTo);
    }
  }

  /**
   * A device connects: its twin as {@link GetTwin} answers it, with the session state its last
   * connection left at its detach ({@link KeptSession}, null when not known in memory).
   * With {@code attach} (null: lookup only) the twin also attaches the connection in the same
   * round trip, as {@link AttachSession} would, when it can decide that alone: the token is signed
   * with the identity's own key, the identity is enabled, and what it keeps of the last connection
   * says what to attach for ({@link KeptSession#attachAtConnect}). Otherwise it only looks up, and
   * the connection verifies, restores its session and attaches as before.
   */
  record LookupForConnect(ConnectAttach attach, ActorRef<ConnectLookup> replyTo) implements TwinCommand {
    public LookupForConnect(ActorRef<ConnectLookup> replyTo) {
      this(null, replyTo);
    }
  }

  /**
   * A connection's request to be attached at its lookup. {@code sasToken}: the CONNECT password,
   * which the connection has checked for everything but its signature (hub, scope = this identity,
   * no policy, not expired: {@code SasVerifier.needsOnlyOwnKeys}); the twin checks the signature.
   */
  record ConnectAttach(ActorRef<SessionMessage> session, String sessionId, long generation, boolean cleanSession,
                       String sasToken) implements TwinhubSerializable {
    @Override
    public String toString() { // never the token
      return "ConnectAttach[" + sessionId + ", generation " + generation + ", cleanSession " + cleanSession + "]";
    }
  }

  /** Internal timer tick: the disconnect grace of the session detached at {@code detachedAt} is over. */
  record DisconnectDue(java.time.Instant detachedAt) implements TwinCommand {}

  /** A direct method for the attached session; answered by the session, or here if there is none. */
  record InvokeMethod(String methodName, com.fasterxml.jackson.databind.JsonNode payload,
                      java.time.Duration responseTimeout, ActorRef<DirectMethodReply> replyTo) implements TwinCommand {}

  /** Internal timer tick: a session that stopped heart-beating is considered gone. */
  record ExpireSession() implements TwinCommand {}

  /** Device only: register a module under the device (checks the module limit); idempotent. */
  record AddModule(String moduleId, ActorRef<TwinReply> replyTo) implements WithReply {}

  /** Device only: forget a deleted module; idempotent. */
  record RemoveModule(String moduleId, ActorRef<TwinReply> replyTo) implements WithReply {}

  /** Device only, internal: outcome of deleting one module of a deleted device. */
  record ModuleDeletionResult(String moduleId, boolean done) implements TwinCommand {}

  /** Device only, internal: timer tick that re-drives unconfirmed module deletions. */
  record RetryModuleDeletions() implements TwinCommand {}
}
