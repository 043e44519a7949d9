package io.twinhub.twin.entity;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import io.twinhub.twin.domain.Twin;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.domain.TwinUpdate;
import io.twinhub.twin.error.IotHubErrorCode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static io.twinhub.twin.entity.EntityTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

class ModuleEntityTest {
  static final ActorTestKit testKit = ActorTestKit.create(CONFIG);
  private EventSourcedBehaviorTestKit<TwinCommand, TwinEvent, TwinRecord> kit;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void setUp() {
    kit = EventSourcedBehaviorTestKit.create(testKit.system(),
        ModuleEntity.create("dev1/sensor", EntitySettings.DEFAULT.withClock(steppingClock())));
  }

  @Test
  void moduleTwinLifecycle() {
    var created = kit.<TwinReply>runCommand(r -> new TwinCommand.CreateIdentity(sasSpec(), "g", r));
    Twin t = ((TwinReply.Accepted) created.reply()).twin();
    assertEquals("dev1", t.identity().deviceId());
    assertEquals("sensor", t.identity().moduleId());
    assertInstanceOf(TwinEvent.ModuleCreated.class, created.event());

    var reported = kit.<TwinReply>runCommand(r -> new TwinCommand.UpdateTwin(
        new TwinUpdate.PatchReported(doc("{\"temp\":21.5}")), null, r));
    var event = assertInstanceOf(TwinEvent.ReportedPatched.class, reported.event());
    assertEquals(new TwinEvent.Versions(2, 1, 2), event.versions());

    var dup = kit.<TwinReply>runCommand(r -> new TwinCommand.CreateIdentity(sasSpec(), "g2", r));
    assertEquals(IotHubErrorCode.ModuleAlreadyExistsOnDevice,
        ((TwinReply.Rejected) dup.reply()).error().code());

    var deleted = kit.<TwinReply>runCommand(r -> new TwinCommand.DeleteIdentity("*", false, r));
    assertInstanceOf(TwinEvent.ModuleDeleted.class, deleted.event());
    var strict = kit.<TwinReply>runCommand(r -> new TwinCommand.DeleteIdentity("*", false, r));
    assertEquals(IotHubErrorCode.ModuleNotFound, ((TwinReply.Rejected) strict.reply()).error().code());
    var idempotent = kit.<TwinReply>runCommand(r -> new TwinCommand.DeleteIdentity("*", true, r));
    assertInstanceOf(TwinReply.Accepted.class, idempotent.reply());
    assertTrue(idempotent.hasNoEvents());
  }

  @Test
  void rejectsMalformedEntityId() {
    assertThrows(IllegalArgumentException.class, () -> ModuleEntity.create("no-slash", EntitySettings.DEFAULT));
  }
}
