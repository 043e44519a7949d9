package io.twinhub.ops.bench.mqtt;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class AppliedCheckTest {

  @Test
  void consecutiveVersionsBetweenRefusalsShowNothingApplied() {
    AppliedCheck c = new AppliedCheck(1);
    c.accepted(0, 5);
    c.notAccepted(0, "429");
    c.notAccepted(0, "429");
    c.accepted(0, 6);
    assertEquals(0, c.refusedApplied());
    assertEquals(2, c.refusedChecked());
    assertEquals(List.of(), c.toReadBack(), "nothing after the last 204");
  }

  @Test
  void aVersionGapAfterOnlyRefusalsIsARefusalApplied() {
    AppliedCheck c = new AppliedCheck(1);
    c.accepted(0, 5);
    c.notAccepted(0, "429");
    c.accepted(0, 7);
    assertEquals(1, c.refusedApplied());
  }

  @Test
  void aGapIsChargedToTimeoutsAndUnansweredPatchesFirst() {
    AppliedCheck c = new AppliedCheck(2);
    c.accepted(0, 1);
    c.notAccepted(0, "503");
    c.notAccepted(0, "429");
    c.accepted(0, 3);
    assertEquals(0, c.refusedApplied(), "the 503 may have been applied");
    c.accepted(1, 10);
    c.notAccepted(1, "429");
    c.unanswered(1);
    assertEquals(List.of(1), c.toReadBack());
    c.readBack(1, 11);
    assertEquals(0, c.refusedApplied(), "the unanswered one was applied");
    assertEquals(1, c.refusedChecked() - 1, "both devices' refusals were checked");
  }

  @Test
  void theReadBackSettlesRefusalsAfterTheLastAcceptedPatch() {
    AppliedCheck c = new AppliedCheck(1);
    c.notAccepted(0, "429");        // before the first 204: the version before it is unknown, not checked
    c.accepted(0, 4);
    c.notAccepted(0, "429");
    assertEquals(List.of(0), c.toReadBack());
    c.readBack(0, 5);
    assertEquals(1, c.refusedApplied());
    assertEquals(1, c.refusedChecked());
  }
}
