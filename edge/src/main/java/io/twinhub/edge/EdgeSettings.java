package io.twinhub.edge;

import io.twinhub.twin.auth.ConnectionString;

import java.nio.file.Path;
import java.time.Duration;

/**
 * What {@code ./twinhub edge run} is given: the edge device's connection string, how to reach and
 * trust the hub, where edgeHub listens for modules and leaf devices, and the agent's restart
 * back-off (IoT Edge's {@code CoolOffTimeUnitInSeconds} and {@code MaxRestartCount}).
 *
 * @param hubCa            PEM of the CA the hub's certificate chains to; null: the JVM's trust store
 * @param gatewayHostName  the name modules and leaf devices dial (IOTEDGE_GATEWAYHOSTNAME); in edgeHub's certificate
 * @param edgeHubBind      the address edgeHub listens on
 * @param edgeHubPort      8883 for the SDKs, which hard-wire it
 */
public record EdgeSettings(ConnectionString device, int hubMqttPort, int hubHttpsPort, Path hubCa, Path dataDir,
                           String gatewayHostName, String edgeHubBind, int edgeHubPort, Duration coolOffUnit,
                           int maxRestartCount) {

  public EdgeSettings {
    if (device.deviceId() == null || device.moduleId() != null || device.sharedAccessKey() == null) {
      throw new IllegalArgumentException("the connection string must be an IoT Edge device's: HostName, DeviceId and SharedAccessKey");
    }
  }

  /** IoT Edge's defaults: 10 s back-off unit, 20 restarts. */
  public static final Duration DEFAULT_COOL_OFF_UNIT = Duration.ofSeconds(10);
  public static final int DEFAULT_MAX_RESTART_COUNT = 20;

  public String hostName() {
    return device.hostName();
  }

  public String deviceId() {
    return device.deviceId();
  }

  public String deviceKey() {
    return device.sharedAccessKey();
  }
}
