package io.twinhub.ops.kafka;

import org.junit.jupiter.api.Test;

import java.security.SecureRandom;
import java.util.Base64;

import static org.junit.jupiter.api.Assertions.*;

class EmbeddedKafkaTest {
  @Test
  void clusterIdsAreKafkaUuidsThatTheStorageToolCannotMistakeForAnOption() {
    SecureRandom random = new SecureRandom();
    for (int i = 0; i < 5000; i++) {
      String id = EmbeddedKafka.clusterId(random);
      assertEquals(22, id.length(), id);
      assertFalse(id.startsWith("-"), id);
      assertEquals(16, Base64.getUrlDecoder().decode(id).length);
    }
  }

  @Test
  void theClasspathResourceNamesTheBroker() {
    assertTrue(EmbeddedKafka.classpath().stream().anyMatch(e -> e.contains("kafka_2.13-")));
  }
}
