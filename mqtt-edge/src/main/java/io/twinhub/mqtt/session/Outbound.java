package io.twinhub.mqtt.session;

import akka.stream.BoundedSourceQueue;
import akka.stream.QueueOfferResult;
import io.twinhub.mqtt.codec.MqttPacket;

/** Where a session writes packets for its device: the connection's bounded outbound queue. */
public interface Outbound {
  /** False when the queue is full (the device does not read) or closed. */
  boolean offer(MqttPacket packet);

  /** Closes the connection after what is queued has been written. */
  void close();

  static Outbound of(BoundedSourceQueue<MqttPacket> queue) {
    return new Outbound() {
      @Override
      public boolean offer(MqttPacket packet) {
        return queue.offer(packet) == QueueOfferResult.enqueued();
      }

      @Override
      public void close() {
        try {
          queue.complete();
        } catch (IllegalStateException alreadyDone) {
          // the connection ended first (device closed it, or the stream failed): nothing to close
        }
      }
    };
  }
}
