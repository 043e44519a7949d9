package io.twinhub.node;

import akka.Done;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import com.typesafe.config.Config;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.twinhub.mqtt.MqttGateway;
import io.twinhub.mqtt.MqttSettings;
import io.twinhub.node.security.SharedAccessPolicies;
import io.twinhub.mqtt.tls.TlsMaterial;
import io.twinhub.twin.c2d.CloudToDeviceService;
import io.twinhub.twin.domain.TwinLimits;
import io.twinhub.twin.service.TwinService;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Starts the node's MQTT device gateway (mqtt-edge) on {@code twinhub.mqtt.port} with the same
 * TLS identity as the REST API (the generated CA under {@code <data-dir>/tls}, or the operator's
 * {@code twinhub.http.tls.keystore}). It stops with the ActorSystem (CoordinatedShutdown).
 */
final class DeviceGateway {
  private DeviceGateway() {}

  static MqttGateway start(ActorSystem<?> system, TwinService twins, CloudToDeviceService c2d, TwinLimits limits, NodeSettings s) {
    Config c = s.config();
    try {
      String keystore = c.hasPath("twinhub.http.tls.keystore") ? c.getString("twinhub.http.tls.keystore").strip() : "";
      TlsMaterial tls = keystore.isEmpty()
          ? TlsMaterial.loadOrCreate(s.dataDir(), List.of(s.hostName()),
              TlsMaterial.ServerKey.parse(c.getString("twinhub.http.tls.server-key")), Clock.systemUTC())
          : TlsMaterial.fromPkcs12(s.dataDir(), Path.of(keystore),
              c.getString("twinhub.http.tls.keystore-password").toCharArray());
      MqttSettings mqtt = MqttSettings.from(c);
      MqttGateway gateway = MqttGateway.start(system, twins, c2d, tls.serverEngines(mqtt.openSsl()), mqtt, limits,
              SharedAccessPolicies.loadOrCreate(s.dataDir()))
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      MeterRegistry registry = Metrics.globalRegistry;
      List<Meter> meters = List.of(
          Gauge.builder("twinhub.mqtt.sessions", gateway, MqttGateway::sessionCount)
              .description("connected MQTT sessions on this node").register(registry),
          FunctionCounter.builder("twinhub.mqtt.connections.accepted", gateway, MqttGateway::acceptedConnections)
              .description("TCP connections the MQTT gateway accepted").register(registry));
      // The registry is the JVM's and outlives the node: a node started later in the same JVM (tests,
      // a restart in-process) would otherwise find these registered and keep reading this gateway.
      CoordinatedShutdown.get(Adapter.toClassic(system)).addTask(CoordinatedShutdown.PhaseServiceStop(), "mqtt-meters", () -> {
        meters.forEach(registry::remove);
        return CompletableFuture.completedFuture(Done.getInstance());
      });
      return gateway;
    } catch (Exception e) {
      Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
      throw new NodeStartException("MQTT gateway failed to start on " + s.bindInterface() + ":" + s.mqttPort()
          + ": " + cause.getMessage(), cause);
    }
  }
}
