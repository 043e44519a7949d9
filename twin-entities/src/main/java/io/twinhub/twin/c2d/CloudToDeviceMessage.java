package io.twinhub.twin.c2d;

import io.twinhub.twin.TwinhubSerializable;

import java.time.Instant;
import java.util.Map;

/**
 * One cloud-to-device message as the hub keeps it: the system properties a back end may set
 * ({@code message-id}, {@code correlation-id}, {@code user-id}, {@code content-type},
 * {@code content-encoding}, {@code ExpiryTimeUtc}), the application properties (without
 * {@code iothub-ack}, which is {@link #ack}), the body, and when the hub accepted it.
 */
public record CloudToDeviceMessage(String deviceId, String messageId, String correlationId, String userId,
                                   String contentType, String contentEncoding, Map<String, String> properties,
                                   DeliveryAck ack, Instant expiryTime, Instant enqueuedTime, byte[] body)
    implements TwinhubSerializable {
  public CloudToDeviceMessage {
    properties = Map.copyOf(properties);
    body = body == null ? new byte[0] : body;
  }

  public boolean expiredAt(Instant now) {
    return expiryTime != null && !now.isBefore(expiryTime);
  }

  /**
   * The message as queued at {@code now}: enqueued now, expiring at its own expiry time capped at
   * {@code maxTtl}, or after {@code defaultTtl} when it has none (IoT Hub's rules).
   */
  public CloudToDeviceMessage accepted(Instant now, java.time.Duration defaultTtl, java.time.Duration maxTtl) {
    Instant latest = now.plus(maxTtl);
    Instant expiry = expiryTime == null ? now.plus(defaultTtl) : expiryTime.isAfter(latest) ? latest : expiryTime;
    return new CloudToDeviceMessage(deviceId, messageId, correlationId, userId, contentType, contentEncoding,
        properties, ack, expiry, now, body);
  }

  @Override
  public String toString() {
    return "CloudToDeviceMessage[" + deviceId + ", id=" + messageId + ", ack=" + ack + ", expires " + expiryTime
        + ", " + body.length + " bytes, properties=" + properties + "]";
  }
}
