package io.twinhub.twin;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.BackoffSupervisorStrategy;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import akka.actor.typed.SupervisorStrategy;
import com.typesafe.config.Config;
import io.twinhub.twin.error.IotHubError;
import io.twinhub.twin.error.IotHubErrorCode;

/**
 * What every event-sourced entity does when its journal fails (config {@code twinhub.persist-failure}):
 * Akka's restart with backoff ({@code onPersistFailure}), so the entity recovers from the journal
 * and answers again by itself, instead of stopping and leaving whoever holds its reference (a
 * session, a timer, a non-sharded parent) without answers until something re-creates it.
 *
 * <p>The command whose write failed is answered with {@link #notWritten} and never acknowledged.
 * Its event may still have been stored (a timed-out write that Cassandra applied): the restart
 * reads it back, so versions continue after it and are never handed out twice.
 */
public final class PersistFailures implements Extension {
  private final BackoffSupervisorStrategy backoff;

  private PersistFailures(Config c) {
    backoff = SupervisorStrategy.restartWithBackoff(c.getDuration("min-backoff"), c.getDuration("max-backoff"),
        c.getDouble("random-factor"));
  }

  /** The restart-with-backoff strategy for {@code EventSourcedBehavior}'s {@code onPersistFailure}. */
  public static BackoffSupervisorStrategy backoff(ActorSystem<?> system) {
    return ID.apply(system).backoff;
  }

  /** The answer to a command whose event the journal did not confirm: retryable, not applied as far as the caller knows. */
  public static IotHubError notWritten(String what) {
    return IotHubError.of(IotHubErrorCode.ServiceUnavailable,
        "the journal write of " + what + " failed; not acknowledged, retry (a write that was stored after all is"
            + " recovered: the retry sees its version)");
  }

  /**
   * The caller of the command whose events are being written (an entity writes one command's
   * events at a time): answered with the refusal if the write fails, forgotten once it succeeded.
   */
  public static final class Pending {
    private Runnable refusal;

    /** Before persisting: {@code replyTo} (null: nobody waits) gets {@code refused} if the write fails. */
    public <R> void await(akka.actor.typed.ActorRef<R> replyTo, java.util.function.Supplier<R> refused) {
      refusal = replyTo == null ? null : () -> replyTo.tell(refused.get());
    }

    /** After the journal confirmed the write (first side effect). */
    public void written() {
      refusal = null;
    }

    /** On PreRestart or PostStop: a write in flight failed; its caller is told, once. */
    public void failed() {
      Runnable r = refusal;
      refusal = null;
      if (r != null) r.run();
    }
  }

  private static final Id ID = new Id();

  static final class Id extends ExtensionId<PersistFailures> {
    @Override
    public PersistFailures createExtension(ActorSystem<?> system) {
      return new PersistFailures(system.settings().config().getConfig("twinhub.persist-failure"));
    }
  }
}
