package io.twinhub.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The persistence plugin's tag writers (akka-persistence-cassandra 1.1.1) retry a failed tag write
 * after {@code events-by-tag.flush-interval} and nothing else: at 0 ms they spin while Cassandra
 * refuses connections ({@code CassandraOutageIT} counts the retries). The same interval is how long
 * a tag writer gathers events before writing, and a persist waits for its tag write, so the
 * product keeps it at one tick of Akka's scheduler (a shorter non-zero delay fires at the next tick
 * anyway).
 */
class TagWriteConfigTest {
  @Test
  void aFailedTagWriteIsRetriedAfterOneSchedulerTickNotAtOnce() {
    Config product = ConfigFactory.load();
    Duration flush = product.getDuration("akka.persistence.cassandra.events-by-tag.flush-interval");
    Duration tick = product.getDuration("akka.scheduler.tick-duration");
    assertTrue(flush.compareTo(Duration.ZERO) > 0, "a pause between tag-write retries: " + flush);
    assertTrue(flush.compareTo(tick) <= 0, "at most one scheduler tick added to a persist: " + flush + " > " + tick);
  }
}
