package io.twinhub.twin.entity;

import akka.actor.typed.ActorRef;
import com.fasterxml.jackson.databind.JsonNode;
import io.twinhub.twin.TwinhubSerializable;
import io.twinhub.twin.domain.JsonDoc;

import java.time.Duration;

/**
 * What a twin entity sends to the device session attached to it (an MQTT connection,
 * possibly on another node). Sent in order from one entity incarnation; the session checks
 * that desired versions are contiguous and drops the connection on a gap it cannot fill.
 */
public sealed interface SessionMessage extends TwinhubSerializable {

  /** A desired-properties change: {@code body} is the patch with {@code "$version"}, as devices receive it. */
  record DesiredChanged(long desiredVersion, JsonDoc body) implements SessionMessage {}

  /**
   * The session must close its connection: another connection with the same client id took
   * over, or the identity was deleted or disabled.
   */
  record CloseSession(String reason) implements SessionMessage {}

  /** A direct method to deliver to the device; the session answers {@code replyTo} exactly once. */
  record MethodRequest(String methodName, JsonNode payload, Duration responseTimeout,
                       ActorRef<DirectMethodReply> replyTo) implements SessionMessage {}

  /**
   * A cloud-to-device message for the device, locked for it under {@code lockToken}: the session
   * settles it with that token (MQTT: the device's PUBACK completes it).
   */
  record CloudToDevice(String lockToken, io.twinhub.twin.c2d.CloudToDeviceMessage message, int deliveryCount)
      implements SessionMessage {}
}
