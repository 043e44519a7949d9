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

  record UpdateTwin(TwinUpdate update, String ifMatch, ActorRef<TwinReply> replyTo) implements WithReply {}

  record SetConnectionState(ConnectionState state, ActorRef<TwinReply> replyTo) implements WithReply {}

  /** Device only: register a module under the device (checks the module limit); idempotent. */
  record AddModule(String moduleId, ActorRef<TwinReply> replyTo) implements WithReply {}

  /** Device only: forget a deleted module; idempotent. */
  record RemoveModule(String moduleId, ActorRef<TwinReply> replyTo) implements WithReply {}

  /** Device only, internal: outcome of deleting one module of a deleted device. */
  record ModuleDeletionResult(String moduleId, boolean done) implements TwinCommand {}

  /** Device only, internal: timer tick that re-drives unconfirmed module deletions. */
  record RetryModuleDeletions() implements TwinCommand {}
}
