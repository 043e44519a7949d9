package io.twinhub.node.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Metrics;
import io.twinhub.twin.service.AdmissionLimit;

/** The admission limit of gateway twin writes on /metrics: its current limit, writes in flight, writes waiting, refusals. */
public final class AdmissionMetrics {
  private AdmissionMetrics() {}

  /** The node-lag probe of twinhub.twin.admission.max-node-lag (TwinSettings#refuseWhileBehind). */
  public static void register(io.twinhub.twin.service.NodeLag lag) {
    Gauge.builder("twinhub.node.dispatcher.lag", lag, io.twinhub.twin.service.NodeLag::lagSeconds)
        .baseUnit("seconds").description("how long a task queued now on the node's dispatchers waits to run (probed every 20 ms)")
        .register(Metrics.globalRegistry);
  }

  public static void register(AdmissionLimit admission) {
    Gauge.builder("twinhub.twin.admission.limit", admission, AdmissionLimit::limit)
        .description("twin writes this node admits in flight (adapted to the journal's latency)").register(Metrics.globalRegistry);
    Gauge.builder("twinhub.twin.admission.in.flight", admission, AdmissionLimit::inFlight)
        .description("admitted twin writes not yet answered").register(Metrics.globalRegistry);
    Gauge.builder("twinhub.twin.admission.waiting", admission, AdmissionLimit::waiting)
        .description("MQTT reported patches delayed for a slot (twinhub.mqtt.overload-mode = delay)").register(Metrics.globalRegistry);
    FunctionCounter.builder("twinhub.twin.admission.refused", admission, AdmissionLimit::refused)
        .description("twin writes refused with 429 ThrottlingException since start").register(Metrics.globalRegistry);
    FunctionCounter.builder("twinhub.twin.admission.answered", admission, AdmissionLimit::answered)
        .description("admitted twin writes answered since start").register(Metrics.globalRegistry);
    FunctionCounter.builder("twinhub.twin.admission.answered.seconds", admission, AdmissionLimit::answeredLatencySeconds)
        .description("sum of the admitted twin writes' admission-to-answer time (over answered: the mean time in the node)")
        .register(Metrics.globalRegistry);
    FunctionCounter.builder("twinhub.twin.admission.answered.slow", admission, AdmissionLimit::answeredSlow)
        .description("admitted twin writes answered later than target-latency after admission").register(Metrics.globalRegistry);
    FunctionCounter.builder("twinhub.twin.admission.refused.behind", admission, AdmissionLimit::refusedBehind)
        .description("twin writes refused with slots free because the node was behind (max-node-lag)").register(Metrics.globalRegistry);
    Gauge.builder("twinhub.twin.admission.journal.capped", admission, a -> a.standingQueue() ? 1 : 0)
        .description("1 while the limit is capped by journal-target (a standing queue in the journal), else 0")
        .register(Metrics.globalRegistry);
    FunctionCounter.builder("twinhub.twin.admission.journal.capped.windows", admission, AdmissionLimit::standingWindows)
        .description("one-second windows that ended with the journal-target cap on").register(Metrics.globalRegistry);
    FunctionCounter.builder("twinhub.twin.admission.journaled", admission, AdmissionLimit::journaled)
        .description("admitted twin writes whose answer carried the journal's time for them").register(Metrics.globalRegistry);
    FunctionCounter.builder("twinhub.twin.admission.journal.seconds", admission, AdmissionLimit::journalSeconds)
        .description("sum of those writes' journal time (entity command to journal acknowledgement; over journaled: the mean)")
        .register(Metrics.globalRegistry);
  }
}
