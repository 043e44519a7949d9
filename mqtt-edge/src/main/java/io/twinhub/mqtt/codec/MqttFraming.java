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
  /** A CONNECT larger than this is not a device's (client id, user name, SAS token fit in a few hundred bytes). */
  public static final int MAX_CONNECT_SIZE = 16 * 1024;
  private final int maxPacketSize;
  private final boolean serverSide;
  private final Inlet<ByteString> in = Inlet.create("MqttFraming.in");
  private final Outlet<MqttPacket> out = Outlet.create("MqttFraming.out");
  private final FlowShape<ByteString, MqttPacket> shape = FlowShape.of(in, out);

  public MqttFraming(int maxPacketSize) {
    this(maxPacketSize, false);
  }

  /**
   * @param serverSide the first packet must be a CONNECT of at most {@link #MAX_CONNECT_SIZE}
   *                   bytes: anything else fails as soon as its first byte (or length) arrives,
   *                   instead of waiting for a body that garbage announces
   */
  public MqttFraming(int maxPacketSize, boolean serverSide) {
    this.serverSide = serverSide;
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
      private boolean first = serverSide;

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
        MqttPacket p;
        try {
          p = next();
        } catch (MqttProtocolException e) {
          malformed(e.getMessage());
          return;
        }
        if (p != null) {
          push(out, p);
          if (isClosed(in) && buffer.isEmpty()) completeStage();
        } else if (isClosed(in)) {
          malformed("connection closed inside a packet (" + buffer.size() + " bytes)");
        } else if (!hasBeenPulled(in)) {
          pull(in);
        }
      }

      /** The last element: why the bytes are not MQTT; then the stage completes (no error log per bad client). */
      private void malformed(String reason) {
        buffer = ByteString.emptyByteString();
        emit(out, new MqttPacket.Malformed(reason), this::completeStage);
        cancel(in);
      }

      /** The next whole packet in the buffer, or null if more bytes are needed. */
      private MqttPacket next() {
        int size = buffer.size();
        if (first && size >= 1 && ((buffer.apply(0) & 0xff) >> 4) != MqttPacket.CONNECT) {
          throw new MqttProtocolException("first packet is not CONNECT");
        }
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
        if (first && length > MAX_CONNECT_SIZE) {
          throw new MqttProtocolException("CONNECT of " + length + " bytes exceeds " + MAX_CONNECT_SIZE);
        }
        if (length > maxPacketSize) {
          throw new MqttProtocolException("packet of " + length + " bytes exceeds the maximum of " + maxPacketSize);
        }
        if (size - i < length) return null;
        int firstByte = buffer.apply(0) & 0xff;
        first = false;
        ByteString body = buffer.slice(i, i + length);
        buffer = buffer.drop(i + length);
        if (buffer.isEmpty()) buffer = ByteString.emptyByteString();
        return MqttCodec.decodeBody(firstByte, body.isCompact() ? body : body.compact());
      }
    };
  }
}
