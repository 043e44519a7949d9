package io.twinhub.mqtt.session;

import io.twinhub.mqtt.MqttSettings;
import io.twinhub.mqtt.telemetry.TelemetryService;
import io.twinhub.twin.auth.PolicyLookup;
import io.twinhub.twin.auth.SasVerifier;
import io.twinhub.twin.c2d.CloudToDeviceService;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.service.TwinService;

import java.time.Clock;

/** What every session of a gateway shares. */
public record SessionDeps(TwinService twins, CloudToDeviceService c2d, TelemetryService telemetry, SessionStore.Client sessions, SasVerifier verifier,
                          PolicyLookup policies, TwinLimits limits, MqttSettings settings, Clock clock) {}
