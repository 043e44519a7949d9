package io.twinhub.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The persistence plugin's tag writers (akka-persistence-cassandra 1.1.1) retry a failed tag write
 * after {@code events-by-tag.flush-interval} and nothing else: at 0 ms they spin while Cassandra
 * refuses connections ({@code CassandraOutageIT} counts the retries with 10 ms). The same interval
 * is how long a tag writer gathers events before writing, and a persist waits for its tag write:
 * 10 ms made one device's PATCH 3 × slower (p50 14 -> 43 ms, docs/BENCHMARKS.md session 17), so the
 * product keeps 0 and the bound is the operator's choice, one variable away.
 */
class TagWriteConfigTest {
  static final String KEY = "akka.persistence.cassandra.events-by-tag.flush-interval";

  @Test
  void aWriteWaitsForNoTimerByDefaultAndTheOperatorsBoundIsOneVariableAway() {
    assertEquals(Duration.ZERO, ConfigFactory.load().getDuration(KEY));
    Config withVariable = ConfigFactory.parseString("TWINHUB_TAG_FLUSH_INTERVAL = 10ms")
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application"))
        .withFallback(ConfigFactory.defaultReference()).resolve();
    assertEquals(Duration.ofMillis(10), withVariable.getDuration(KEY));
  }
}
