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
  void theNodeLagProbeStartsOnlyWhenTheRefusalIsOn() {
    var admission = new io.twinhub.twin.service.AdmissionLimit(TwinSettings.from(ConfigFactory.load()).admission().orElseThrow());
    var config = ConfigFactory.parseString("akka.actor.provider = local").withFallback(ConfigFactory.load());
    var system = akka.actor.typed.ActorSystem.create(akka.actor.typed.javadsl.Behaviors.empty(), "twin-settings", config);
    try {
      assertTrue(TwinSettings.from(ConfigFactory.load()).refuseWhileBehind(system, admission).isEmpty());
      var on = TwinSettings.from(ConfigFactory.parseString("twinhub.twin.admission.max-node-lag = 250ms").withFallback(ConfigFactory.load()));
      assertTrue(on.refuseWhileBehind(system, admission).isPresent());
    } finally {
      system.terminate();
    }
  }
}
