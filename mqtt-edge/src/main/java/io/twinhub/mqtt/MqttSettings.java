package io.twinhub.mqtt;

import com.typesafe.config.Config;

import java.time.Duration;
import java.util.List;

/** The {@code twinhub.mqtt} config block (defaults in mqtt-edge's reference.conf), bound once. */
public record MqttSettings(
    String bindInterface,
    int port,
    List<String> hostNames,
    int maxPacketSize,
    int maxTelemetrySize,
    int maxInflight,
    int maxOutboundQueue,
    int maxPendingMethods,
    Duration connectTimeout,
    Duration maxKeepAlive,
    Duration heartbeatInterval,
    Duration gapGrace,
    double twinOpsPerSecond,
    int twinOpsBurst,
    Duration askTimeout,
    int backlog,
    Duration drainTimeout,
    boolean compactTls,
    Duration throttlePause,
    Duration throttlePauseMax,
    boolean openSsl,
    boolean overloadDelays,
    Duration overloadWait,
    Duration refusedHold) {

  public MqttSettings {
    hostNames = List.copyOf(hostNames);
    if (overloadWait.isNegative() || overloadWait.compareTo(askTimeout) >= 0) {
      throw new IllegalArgumentException("twinhub.mqtt.overload-wait must be >= 0 and below ask-timeout");
    }
    if (!throttlePauseMax.isZero() && throttlePauseMax.compareTo(throttlePause) < 0) {
      throw new IllegalArgumentException("twinhub.mqtt.throttle-pause-max must be 0 (off) or not below throttle-pause");
    }
    if (refusedHold.isNegative()) {
      throw new IllegalArgumentException("twinhub.mqtt.refused-hold must be >= 0 (0 = off)");
    }
    if (maxTelemetrySize > maxPacketSize) {
      throw new IllegalArgumentException("twinhub.mqtt.max-telemetry-size must not exceed max-packet-size");
    }
  }

  /** Reads {@code twinhub.mqtt}, {@code twinhub.host-name} and {@code twinhub.bind-interface}. */
  public static MqttSettings from(Config config) {
    Config m = config.getConfig("twinhub.mqtt");
    List<String> hosts = new java.util.ArrayList<>();
    hosts.add(config.getString("twinhub.host-name"));
    for (String h : m.getStringList("extra-host-names")) if (!hosts.contains(h)) hosts.add(h);
    return new MqttSettings(
        config.getString("twinhub.bind-interface"),
        m.getInt("port"),
        hosts,
        (int) m.getBytes("max-packet-size").longValue(),
        (int) m.getBytes("max-telemetry-size").longValue(),
        m.getInt("max-inflight"),
        m.getInt("max-outbound-queue"),
        m.getInt("max-pending-methods"),
        m.getDuration("connect-timeout"),
        m.getDuration("max-keep-alive"),
        m.getDuration("heartbeat-interval"),
        m.getDuration("gap-grace"),
        m.getDouble("twin-ops-per-second"),
        m.getInt("twin-ops-burst"),
        m.getDuration("ask-timeout"),
        m.getInt("backlog"),
        m.getDuration("drain-timeout"),
        switch (m.getString("tls-stage")) {
          case "compact" -> true;
          case "akka" -> false;
          default -> throw new IllegalArgumentException("twinhub.mqtt.tls-stage must be compact or akka");
        },
        m.getDuration("throttle-pause"),
        m.getDuration("throttle-pause-max"),
        switch (m.getString("tls-provider")) {
          case "openssl" -> {
            if (!m.getString("tls-stage").equals("compact")) {
              throw new IllegalArgumentException("twinhub.mqtt.tls-provider = openssl needs tls-stage = compact");
            }
            yield true;
          }
          case "jdk" -> false;
          case "auto" -> m.getString("tls-stage").equals("compact") && openSslLoads();
          default -> throw new IllegalArgumentException("twinhub.mqtt.tls-provider must be auto, jdk or openssl");
        },
        switch (m.getString("overload-mode")) {
          case "delay" -> true;
          case "refuse" -> false;
          default -> throw new IllegalArgumentException("twinhub.mqtt.overload-mode must be delay or refuse");
        },
        m.getDuration("overload-wait"),
        m.getDuration("refused-hold"));
  }

  /**
   * {@code tls-provider = auto}: BoringSSL when its native library loads here (Linux x86_64 with
   * netty-tcnative on the classpath, and no other tcnative shadowing it), else the JDK's TLS. The
   * outcome is logged with the reason, once per process.
   */
  private static boolean openSslLoads() {
    boolean available;
    Throwable cause;
    try {
      available = io.netty.handler.ssl.OpenSsl.isAvailable();
      cause = io.netty.handler.ssl.OpenSsl.unavailabilityCause();
    } catch (LinkageError e) {
      available = false;
      cause = e;
    }
    if (AUTO_LOGGED.compareAndSet(false, true)) {
      org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(MqttSettings.class);
      if (available) log.info("twinhub.mqtt.tls-provider = auto: BoringSSL (netty-tcnative) loaded, MQTT TLS runs on it");
      else log.warn("twinhub.mqtt.tls-provider = auto: BoringSSL (netty-tcnative) does not load ({}), MQTT TLS runs on the JDK's",
          cause == null ? "no cause given" : cause.toString());
    }
    return available;
  }

  private static final java.util.concurrent.atomic.AtomicBoolean AUTO_LOGGED = new java.util.concurrent.atomic.AtomicBoolean();

  /** The TLS stack in force, for logs and the bench's floor: e.g. "compact stage, BoringSSL". */
  public String tlsDescription() {
    return (compactTls ? "compact" : "akka") + " stage, " + (openSsl() ? "BoringSSL" : "JDK");
  }

  public MqttSettings withPort(int p) {
    return new MqttSettings(bindInterface, p, hostNames, maxPacketSize, maxTelemetrySize, maxInflight, maxOutboundQueue,
        maxPendingMethods, connectTimeout, maxKeepAlive, heartbeatInterval, gapGrace, twinOpsPerSecond, twinOpsBurst,
        askTimeout, backlog, drainTimeout, compactTls, throttlePause, throttlePauseMax, openSsl, overloadDelays, overloadWait,
        refusedHold);
  }
}
