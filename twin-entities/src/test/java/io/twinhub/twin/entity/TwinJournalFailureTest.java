package io.twinhub.twin.entity;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.persistence.testkit.JournalOperation;
import akka.persistence.testkit.ProcessingPolicy;
import akka.persistence.testkit.ProcessingResult;
import akka.persistence.testkit.ProcessingSuccess$;
import akka.persistence.testkit.StorageFailure;
import akka.persistence.testkit.WriteEvents;
import akka.persistence.testkit.javadsl.PersistenceTestKit;
import com.typesafe.config.ConfigFactory;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.error.IotHubErrorCode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

import static io.twinhub.twin.entity.EntityTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A twin whose journal write fails (PersistenceTestKit): the command is answered 503 and not
 * acknowledged, the twin restarts after the backoff and answers again, and a write the journal
 * stored although it reported a failure is recovered, so its version is not handed out twice.
 */
class TwinJournalFailureTest {
  static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.parseString(
      "twinhub.persist-failure { min-backoff = 100ms, max-backoff = 1s, random-factor = 0 }").withFallback(CONFIG));
  static final PersistenceTestKit journal = PersistenceTestKit.create(testKit.system());
  static final Duration WAIT = Duration.ofSeconds(15);

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static ActorRef<TwinCommand> device(String id) {
    ActorRef<TwinCommand> twin = testKit.spawn(DeviceEntity.create(id,
        new EntitySettings(TwinLimits.DEFAULT, Duration.ofSeconds(90), steppingClock())));
    assertInstanceOf(TwinReply.Accepted.class, ask(twin, r -> new TwinCommand.CreateIdentity(sasSpec(), "g", r)));
    return twin;
  }

  private static TwinReply ask(ActorRef<TwinCommand> twin, Function<ActorRef<TwinReply>, TwinCommand> command) {
    TestProbe<TwinReply> probe = testKit.createTestProbe(TwinReply.class);
    twin.tell(command.apply(probe.ref()));
    return probe.expectMessageClass(TwinReply.class, WAIT);
  }

  private static TwinCommand patch(String json, ActorRef<TwinReply> replyTo) {
    return new TwinCommand.UpdateTwin(new TwinUpdate.PatchDesired(doc(json)), null, replyTo);
  }

  private static TwinReply.Accepted accepted(TwinReply reply) {
    return assertInstanceOf(TwinReply.Accepted.class, reply, () -> "accepted: " + reply);
  }

  private static long desiredVersion(TwinReply reply) {
    return accepted(reply).twin().state().desired().version();
  }

  private static void assertNotWritten(TwinReply reply) {
    var rejected = assertInstanceOf(TwinReply.Rejected.class, reply, () -> "refused: " + reply);
    assertEquals(IotHubErrorCode.ServiceUnavailable, rejected.error().code(), rejected.toString());
  }

  @Test
  void aFailedWriteIsRefused503AndTheTwinAnswersAgainAfterTheBackoff() {
    ActorRef<TwinCommand> twin = device("pf-1");
    long v1 = desiredVersion(ask(twin, r -> patch("{\"a\":1}", r)));

    journal.failNextPersisted("Device|pf-1");
    TestProbe<TwinReply> failed = testKit.createTestProbe(TwinReply.class);
    TestProbe<TwinReply> next = testKit.createTestProbe(TwinReply.class);
    twin.tell(patch("{\"a\":2}", failed.ref()));
    twin.tell(patch("{\"a\":3}", next.ref())); // waits behind the failing write, then for the restart
    assertNotWritten(failed.expectMessageClass(TwinReply.class, WAIT));
    failed.expectNoMessage(Duration.ofMillis(300)); // never acknowledged after all

    TwinReply after = next.expectMessageClass(TwinReply.class, WAIT);
    assertEquals(v1 + 1, desiredVersion(after), "the refused write took no version");
    assertEquals(3, accepted(after).twin().state().desired().values().get("a").asInt());
    // Later commands are served as usual.
    assertEquals(v1 + 2, desiredVersion(ask(twin, r -> patch("{\"a\":4}", r))));
    assertEquals(4, accepted(ask(twin, TwinCommand.GetTwin::new)).twin().state().desired().values().get("a").asInt());
    assertEquals(4, journal.persistedInStorage("Device|pf-1").size(), "created, a=1, a=3, a=4: nothing of a=2");
  }

  @Test
  void aWriteStoredDespiteItsReportedFailureIsRecoveredAndItsVersionNotRepeated() {
    ActorRef<TwinCommand> twin = device("pf-2");
    long v1 = desiredVersion(ask(twin, r -> patch("{\"a\":1}", r)));

    // The journal stores the event and still reports a failure (a write that timed out but was applied).
    AtomicBoolean once = new AtomicBoolean();
    journal.withPolicy(new ProcessingPolicy<JournalOperation>() {
      @Override
      public ProcessingResult tryProcess(String persistenceId, JournalOperation op) {
        if (persistenceId.equals("Device|pf-2") && op instanceof WriteEvents w && once.compareAndSet(false, true)) {
          List<Object> events = new ArrayList<>(scala.jdk.javaapi.CollectionConverters.asJava(w.batch()));
          journal.persistForRecovery(persistenceId, events);
          return new StorageFailure(new RuntimeException("write timed out (and was applied)"));
        }
        return ProcessingSuccess$.MODULE$;
      }
    });
    try {
      assertNotWritten(ask(twin, r -> patch("{\"a\":2}", r)));
    } finally {
      journal.resetPolicy();
    }

    TwinReply after = ask(twin, r -> patch("{\"b\":3}", r));
    assertEquals(v1 + 2, desiredVersion(after), "the stored write keeps its version; the next one follows it");
    assertEquals(2, accepted(after).twin().state().desired().values().get("a").asInt(), "recovered, not lost");
    assertEquals(4, journal.persistedInStorage("Device|pf-2").size(), "created, a=1, a=2, b=3: one event per sequence number");
  }
}
