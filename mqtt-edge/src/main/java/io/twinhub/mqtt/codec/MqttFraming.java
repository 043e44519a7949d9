package io.twinhub.mqtt.codec;

import akka.stream.Attributes;
import akka.stream.FlowShape;
import akka.stream.Inlet;
import akka.stream.Outlet;
import akka.stream.stage.AbstractInHandler;
import akka.stream.stage.AbstractOutHandler;
import akka.stream.stage.GraphStage;
import akka.stream.stage.GraphStageLogic;
import akka.util.ByteString;

/**
 * Cuts the byte stream from the socket into MQTT packets and decodes them, one packet per
 * downstream demand (so a slow session back-pressures the socket). A remaining length above
 * {@code maxPacketSize} fails the stage as soon as the length is read; so do malformed
 * lengths and undecodable packets. Bytes left over when the socket closes are a truncated
 * packet: also a failure.
 */
public final class MqttFraming extends GraphStage<FlowShape<ByteString, MqttPacket>> {
  private final int maxPacketSize;
  private final Inlet<ByteString> in = Inlet.create("MqttFraming.in");
  private final Outlet<MqttPacket> out = Outlet.create("MqttFraming.out");
  private final FlowShape<ByteString, MqttPacket> shape = FlowShape.of(in, out);

  public MqttFraming(int maxPacketSize) {
    if (maxPacketSize < 2 || maxPacketSize > MqttCodec.MAX_REMAINING_LENGTH) {
      throw new IllegalArgumentException("maxPacketSize " + maxPacketSize);
    }
    this.maxPacketSize = maxPacketSize;
  }

  @Override
  public FlowShape<ByteString, MqttPacket> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new GraphStageLogic(shape) {
      private ByteString buffer = ByteString.emptyByteString();

      {
        setHandler(in, new AbstractInHandler() {
          @Override
          public void onPush() {
            buffer = buffer.concat(grab(in));
            emitOrPull();
          }

          @Override
          public void onUpstreamFinish() {
            if (buffer.isEmpty()) {
              completeStage();
            } else if (isAvailable(out)) {
              emitOrPull();
            }
          }
        });
        setHandler(out, new AbstractOutHandler() {
          @Override
          public void onPull() {
            emitOrPull();
          }
        });
      }

      private void emitOrPull() {
        MqttPacket p = next();
        if (p != null) {
          push(out, p);
          if (isClosed(in) && buffer.isEmpty()) completeStage();
        } else if (isClosed(in)) {
          failStage(new MqttProtocolException("connection closed inside a packet (" + buffer.size() + " bytes)"));
        } else if (!hasBeenPulled(in)) {
          pull(in);
        }
      }

      /** The next whole packet in the buffer, or null if more bytes are needed. */
      private MqttPacket next() {
        int size = buffer.size();
        if (size < 2) return null;
        int length = 0;
        int multiplier = 1;
        int i = 1;
        while (true) {
          if (i >= size) return null;
          int b = buffer.apply(i++) & 0xff;
          length += (b & 0x7f) * multiplier;
          if ((b & 0x80) == 0) break;
          if (i > 4) throw new MqttProtocolException("remaining length longer than 4 bytes");
          multiplier *= 128;
        }
        if (length > maxPacketSize) {
          throw new MqttProtocolException("packet of " + length + " bytes exceeds the maximum of " + maxPacketSize);
        }
        if (size - i < length) return null;
        int first = buffer.apply(0) & 0xff;
        ByteString body = buffer.slice(i, i + length);
        buffer = buffer.drop(i + length);
        if (buffer.isEmpty()) buffer = ByteString.emptyByteString();
        return MqttCodec.decodeBody(first, body.isCompact() ? body : body.compact());
      }
    };
  }
}
