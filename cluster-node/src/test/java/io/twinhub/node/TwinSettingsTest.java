package io.twinhub.node;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class TwinSettingsTest {
  @Test
  void theAdmissionAdaptsToTheWholeAnswerTimeByDefaultAndToTheJournalsWhenSet() {
    var defaults = TwinSettings.from(ConfigFactory.load());
    assertFalse(defaults.admission().orElseThrow().adaptToJournal(), "adapt-to = answer, as before session 16");
    var journal = TwinSettings.from(ConfigFactory.parseString("twinhub.twin.admission.adapt-to = journal").withFallback(ConfigFactory.load()));
    assertTrue(journal.admission().orElseThrow().adaptToJournal());
    assertThrows(IllegalArgumentException.class, () -> TwinSettings.from(
        ConfigFactory.parseString("twinhub.twin.admission.adapt-to = jornal").withFallback(ConfigFactory.load())));
  }

  @Test
  void theNodeLagRefusalIsOffByDefaultAndBoundWhenSet() {
    assertTrue(TwinSettings.from(ConfigFactory.load()).maxNodeLag().isZero());
    var set = TwinSettings.from(ConfigFactory.parseString("twinhub.twin.admission.max-node-lag = 250ms").withFallback(ConfigFactory.load()));
    assertEquals(java.time.Duration.ofMillis(250), set.maxNodeLag());
  }

  @Test
  void theJournalTargetIsOffByDefaultAndBoundWhenSet() {
    var defaults = TwinSettings.from(ConfigFactory.load());
    assertTrue(defaults.admission().orElseThrow().journalTarget().isZero(), "0 = off until measured on a quiet box");
    var set = TwinSettings.from(ConfigFactory.parseString("twinhub.twin.admission.journal-target = 100ms").withFallback(ConfigFactory.load()));
    assertEquals(java.time.Duration.ofMillis(100), set.admission().orElseThrow().journalTarget());
  }

  @Test
  void offMeansNoProbe() {
    var settings = TwinSettings.from(ConfigFactory.load());
    var admission = new io.twinhub.twin.service.AdmissionLimit(settings.admission().orElseThrow());
    // off returns before it needs the actor system (NodeLagTest and SessionStageBehindTest cover the probe and the refusal)
    assertTrue(settings.refuseWhileBehind(null, admission).isEmpty());
  }
}
