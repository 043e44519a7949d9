package io.twinhub.node.cli;

import io.twinhub.edge.EdgeRuntime;
import io.twinhub.edge.EdgeSettings;
import io.twinhub.twin.auth.ConnectionString;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;

/**
 * {@code ./twinhub edge run}: the IoT Edge runtime of one edge device (edgeAgent and edgeHub in
 * this process) until SIGTERM. See the README's "IoT Edge" section.
 */
@Command(name = "edge", description = "The IoT Edge runtime on an edge device: edgeAgent and edgeHub.",
    subcommands = picocli.CommandLine.HelpCommand.class)
public final class EdgeCommand {

  @Command(name = "run", description = {
      "Run edgeAgent (deployments from the $edgeAgent twin, process modules, reported status) and edgeHub",
      "(local MQTT/TLS for modules, routes, store and forward) for the IoT Edge device of --connection-string."})
  int run(@Option(names = "--connection-string", required = true, paramLabel = "CS",
              defaultValue = "${env:TWINHUB_EDGE_CONNECTION_STRING}",
              description = "the edge device's: HostName=...;DeviceId=...;SharedAccessKey=... (TWINHUB_EDGE_CONNECTION_STRING)")
          String connectionString,
          @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "data/edge",
              description = "edge CA, store and module logs (default ${DEFAULT-VALUE})") Path dataDir,
          @Option(names = "--ca", paramLabel = "PEM",
              description = "the CA of the hub's certificate, e.g. the hub's <data-dir>/tls/ca.pem (default: the JVM's trust store)")
          Path ca,
          @Option(names = "--hub-mqtt-port", defaultValue = "8883", description = "the hub's MQTT port (default ${DEFAULT-VALUE})")
          int mqttPort,
          @Option(names = "--hub-https-port", defaultValue = "8443", description = "the hub's REST API port (default ${DEFAULT-VALUE})")
          int httpsPort,
          @Option(names = "--gateway-host-name", defaultValue = "127.0.0.1", paramLabel = "HOST",
              description = "the name modules dial for edgeHub (IOTEDGE_GATEWAYHOSTNAME; in edgeHub's certificate; default ${DEFAULT-VALUE})")
          String gateway,
          @Option(names = "--edgehub-bind", paramLabel = "ADDRESS",
              description = "the address edgeHub listens on (default: the gateway host name)") String bind,
          @Option(names = "--edgehub-port", defaultValue = "8883",
              description = "edgeHub's MQTT/TLS port; the device SDKs dial 8883 (default ${DEFAULT-VALUE})") int edgeHubPort,
          @Option(names = "--restart-cool-off", defaultValue = "10", paramLabel = "SECONDS",
              description = "back-off unit: the n-th restart waits unit * 2^n, at most 5 minutes (IoT Edge: 10)") long coolOff,
          @Option(names = "--max-restart-count", defaultValue = "20",
              description = "restarts before a module stays failed (IoT Edge: 20)") int maxRestarts) {
    EdgeSettings settings;
    try {
      settings = new EdgeSettings(ConnectionString.parse(connectionString), mqttPort, httpsPort, ca, dataDir, gateway,
          bind == null ? gateway : bind, edgeHubPort, Duration.ofSeconds(coolOff), maxRestarts);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--connection-string: " + e.getMessage());
    }
    EdgeRuntime runtime;
    try {
      runtime = EdgeRuntime.start(settings);
    } catch (IOException | GeneralSecurityException e) {
      throw new TwinhubCli.CommandFailure("the edge runtime did not start: " + e.getMessage());
    }
    Runtime.getRuntime().addShutdownHook(new Thread(runtime::close, "twinhub-edge-shutdown"));
    System.out.printf("%ntwinhub edge runtime of %s running%n", settings.deviceId());
    System.out.printf("  hub        %s (MQTT %d, REST %d)%n", settings.hostName(), mqttPort, httpsPort);
    System.out.printf("  edgeHub    %s (modules trust %s)%n", runtime.edgeHub().localAddress(), runtime.edgeCaPem());
    System.out.printf("  data dir   %s%n", dataDir.toAbsolutePath());
    // Every thread of the runtime is a daemon: without this the JVM would end as soon as main returns.
    try {
      new java.util.concurrent.CountDownLatch(1).await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return RunCommand.KEEP_RUNNING;
  }
}
