package io.twinhub.twin.c2d;

import com.typesafe.config.Config;

import java.time.Duration;

/**
 * IoT Hub's cloud-to-device limits, the {@code twinhub.c2d} config block.
 *
 * @param maxQueueDepth      messages queued per device before a send is refused (403004)
 * @param defaultTtl         expiry of a message sent without one
 * @param maxTtl             the latest expiry a sender may ask for
 * @param maxDeliveryCount   deliveries without completion before a message is dead-lettered
 * @param lockTimeout        how long a delivered message stays invisible awaiting its completion
 * @param maxInFlight        delivered, not yet completed messages per device connection
 * @param maxMessageBytes    body plus properties
 */
public record CloudToDeviceSettings(int maxQueueDepth, Duration defaultTtl, Duration maxTtl, int maxDeliveryCount,
                                    Duration lockTimeout, int maxInFlight, int maxMessageBytes) {
  public static final CloudToDeviceSettings DEFAULT = new CloudToDeviceSettings(50, Duration.ofHours(1),
      Duration.ofHours(48), 10, Duration.ofMinutes(1), 10, 64 * 1024);

  public static CloudToDeviceSettings from(Config config) {
    Config c = config.getConfig("twinhub.c2d");
    return new CloudToDeviceSettings(c.getInt("max-queue-depth"), c.getDuration("default-ttl"), c.getDuration("max-ttl"),
        c.getInt("max-delivery-count"), c.getDuration("lock-timeout"), c.getInt("max-in-flight"),
        (int) c.getBytes("max-message-size").longValue());
  }
}
