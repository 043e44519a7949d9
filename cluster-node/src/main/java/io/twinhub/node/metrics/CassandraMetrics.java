package io.twinhub.node.metrics;

import akka.actor.typed.ActorSystem;
import akka.stream.alpakka.cassandra.javadsl.CassandraSessionRegistry;
import com.codahale.metrics.Counting;
import com.codahale.metrics.Timer;
import com.datastax.oss.driver.api.core.metrics.DefaultSessionMetric;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Journal latency as Cassandra sees it from this node: the Java driver's own session metrics
 * (enabled in {@code datastax-java-driver.advanced.metrics}) of the session the journal,
 * snapshots and read journals share, bridged into the node's registry. Every journal write
 * (and tag write, and read) is a CQL request here.
 */
public final class CassandraMetrics {
  private static final double[] QUANTILES = {0.5, 0.99, 0.999};
  private static final java.util.List<String> METERS = java.util.List.of(
      "twinhub.cassandra.requests", "twinhub.cassandra.request.latency.seconds", "twinhub.cassandra.client.timeouts");

  private CassandraMetrics() {}

  /**
   * Call once the journal is up (the node is ready): the registry hands out the session the
   * journal created with its keyspace initialisation; asking first would create one without it.
   */
  public static void start(ActorSystem<?> system, MeterRegistry registry) {
    CassandraSessionRegistry.get(system).sessionFor("akka.persistence.cassandra").underlying()
        .thenAccept(cql -> cql.getMetrics().ifPresent(metrics -> {
          // A node started again in the same JVM (tests) binds these meters to its own session:
          // registering the same name again returns the old meter, which holds the stopped
          // node's driver metrics weakly and reads NaN once they are collected.
          for (String name : METERS) registry.find(name).meters().forEach(registry::remove);
          metrics.<Timer>getSessionMetric(DefaultSessionMetric.CQL_REQUESTS).ifPresent(t -> {
            FunctionCounter.builder("twinhub.cassandra.requests", t, Counting::getCount)
                .description("CQL requests of the journal's session (journal and tag writes, reads)").register(registry);
            for (double q : QUANTILES) {
              // The driver records nanoseconds over its refresh interval (10 s, application.conf).
              Gauge.builder("twinhub.cassandra.request.latency.seconds", t, x -> x.getSnapshot().getValue(q) / 1e9)
                  .description("CQL request latency of the journal's session, by quantile over the last interval")
                  .tag("quantile", Double.toString(q)).register(registry);
            }
          });
          metrics.<com.codahale.metrics.Counter>getSessionMetric(DefaultSessionMetric.CQL_CLIENT_TIMEOUTS).ifPresent(c ->
              FunctionCounter.builder("twinhub.cassandra.client.timeouts", c, Counting::getCount)
                  .description("CQL requests the driver gave up on (datastax-java-driver.basic.request.timeout)")
                  .register(registry));
        }));
  }
}
