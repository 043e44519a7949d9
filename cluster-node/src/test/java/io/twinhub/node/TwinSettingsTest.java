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
  void theNodeLagRefusalIsOffByDefault() {
    assertTrue(ConfigFactory.load().getDuration("twinhub.twin.admission.max-node-lag").isZero());
  }
}
