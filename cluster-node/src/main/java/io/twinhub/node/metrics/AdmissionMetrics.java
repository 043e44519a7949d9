package io.twinhub.node.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Metrics;
import io.twinhub.twin.service.AdmissionLimit;

/** The admission limit of gateway twin writes on /metrics: its current limit, writes in flight, writes waiting, refusals. */
public final class AdmissionMetrics {
  private AdmissionMetrics() {}

  public static void register(AdmissionLimit admission) {
    Gauge.builder("twinhub.twin.admission.limit", admission, AdmissionLimit::limit)
        .description("twin writes this node admits in flight (adapted to the journal's latency)").register(Metrics.globalRegistry);
    Gauge.builder("twinhub.twin.admission.in.flight", admission, AdmissionLimit::inFlight)
        .description("admitted twin writes not yet answered").register(Metrics.globalRegistry);
    Gauge.builder("twinhub.twin.admission.waiting", admission, AdmissionLimit::waiting)
        .description("MQTT reported patches delayed for a slot (twinhub.mqtt.overload-mode = delay)").register(Metrics.globalRegistry);
    FunctionCounter.builder("twinhub.twin.admission.refused", admission, AdmissionLimit::refused)
        .description("twin writes refused with 429 ThrottlingException since start").register(Metrics.globalRegistry);
  }
}
