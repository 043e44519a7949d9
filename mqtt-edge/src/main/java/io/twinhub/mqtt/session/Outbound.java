package io.twinhub.mqtt.session;

import akka.stream.BoundedSourceQueue;
import akka.stream.QueueOfferResult;
import akka.util.ByteString;
import io.twinhub.mqtt.codec.MqttCodec;
import io.twinhub.mqtt.codec.MqttPacket;

/** Where a session writes packets for its device: the connection's bounded outbound queue. */
public interface Outbound {
  /** False when the queue is full (the device does not read) or closed. */
  boolean offer(MqttPacket packet);

  /**
   * Two packets that answer one request (PUBACK and the twin response): one write, so one TLS
   * record and one socket write where the connection encodes. False as for {@link #offer(MqttPacket)}.
   */
  default boolean offer(MqttPacket first, MqttPacket second) {
    return offer(first) && offer(second);
  }

  /** Closes the connection after what is queued has been written. */
  void close();

  /**
   * The packet in progress is done: {@code ackTo} (the stream's, from {@link MqttSession.Inbound})
   * asks for the next. Here at once; the connection's stream stage instead delivers it at
   * {@link #endOfTurn} in one message with what the turn offered (the hand-over rule, see SessionStage).
   */
  default void done(akka.actor.typed.ActorRef<MqttSession.Ack> ackTo) {
    ackTo.tell(MqttSession.Ack.ACK);
  }

  /** The end of one turn (message) of the session actor: what it offered, and its ack, go out now. */
  default void endOfTurn() {}

  /**
   * Whether the connection may answer reported patches refused at the node's admission limit
   * itself ({@link MqttSession#refusalAtAdmission}), and with a twin response or only the PUBACK.
   * Called by the session when it connects and when its subscriptions change.
   */
  default void refuseAtAdmission(boolean on, boolean respond) {}

  /** System.nanoTime of the last packet the connection answered without the session (0: none). */
  default long lastAnsweredByStage() {
    return 0;
  }

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

  /**
   * Packets encoded by the session into the connection's byte queue (the queue is part of the
   * connection's stream, so a write crosses no further stream boundary); two packets of one
   * answer are one element.
   */
  static Outbound encoding(BoundedSourceQueue<ByteString> queue) {
    return new Outbound() {
      @Override
      public boolean offer(MqttPacket packet) {
        return queue.offer(MqttCodec.encode(packet)) == QueueOfferResult.enqueued();
      }

      @Override
      public boolean offer(MqttPacket first, MqttPacket second) {
        return queue.offer(MqttCodec.encode(first).concat(MqttCodec.encode(second))) == QueueOfferResult.enqueued();
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
