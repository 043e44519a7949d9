package io.twinhub.ops.bench.mqtt;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.CorruptedFrameException;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The load client's packets, byte for byte as MQTT 3.1.1 defines them, and its frame reader. */
class MqttWireTest {
  final ByteBufAllocator a = ByteBufAllocator.DEFAULT;

  private static byte[] bytes(ByteBuf b) {
    byte[] out = new byte[b.readableBytes()];
    b.readBytes(out);
    b.release();
    return out;
  }

  @Test
  void connectCarriesClientIdUserNamePasswordAndPersistentSession() {
    byte[] b = bytes(MqttWire.connect(a, "d1", "h/d1/?api-version=2021-04-12", "SharedAccessSignature sr=x", 60, false));
    assertEquals(0x10, b[0] & 0xff);
    assertEquals(b.length - 2, b[1] & 0xff); // one-byte remaining length
    assertEquals("MQTT", new String(b, 4, 4, StandardCharsets.UTF_8));
    assertEquals(4, b[8]);                    // protocol level 3.1.1
    assertEquals(0xC0, b[9] & 0xff);          // user name + password, CleanSession=0
    assertEquals(60, ((b[10] & 0xff) << 8) | (b[11] & 0xff));
    assertEquals("d1", new String(b, 14, 2, StandardCharsets.UTF_8));
  }

  @Test
  void publishRoundTripsThroughTheFrameReaderWithATwoByteRemainingLength() {
    byte[] payload = "x".repeat(300).getBytes(StandardCharsets.US_ASCII);
    ByteBuf wire = MqttWire.publish(a, "$iothub/twin/PATCH/properties/reported/?$rid=7", 1, 513, payload);
    MqttWire.Frame f = MqttWire.tryRead(wire, 1 << 20);
    assertNotNull(f);
    assertEquals(0, wire.readableBytes());
    wire.release();
    MqttWire.Publish p = MqttWire.publish(f);
    assertEquals("$iothub/twin/PATCH/properties/reported/?$rid=7", p.topic());
    assertEquals(1, p.qos());
    assertEquals(513, p.packetId());
    assertArrayEquals(payload, p.payload());
  }

  @Test
  void anIncompletePacketIsLeftUnreadAndATooLargeOneIsRefused() {
    ByteBuf whole = MqttWire.subscribe(a, 3, List.of("$iothub/twin/res/#"), 1);
    ByteBuf part = Unpooled.wrappedBuffer(bytes(whole.retainedSlice(0, whole.readableBytes() - 1)));
    assertNull(MqttWire.tryRead(part, 1 << 20));
    assertEquals(0, part.readerIndex());
    MqttWire.Frame sub = MqttWire.tryRead(whole, 1 << 20);
    assertEquals(MqttWire.SUBSCRIBE, sub.type());
    assertEquals(2, sub.flags());
    assertEquals(3, MqttWire.packetId(sub));
    assertThrows(CorruptedFrameException.class, () -> MqttWire.tryRead(Unpooled.wrappedBuffer(new byte[] {0x30, (byte) 0xff, 0x7f}), 1000));
  }

  @Test
  void connAckAndPubAckAreRead() {
    MqttWire.Frame connAck = MqttWire.tryRead(Unpooled.wrappedBuffer(new byte[] {0x20, 2, 0, 5}), 100);
    assertEquals(5, MqttWire.connAckCode(connAck));
    MqttWire.Frame pubAck = MqttWire.tryRead(MqttWire.pubAck(a, 0x1234), 100);
    assertEquals(MqttWire.PUBACK, pubAck.type());
    assertEquals(0x1234, MqttWire.packetId(pubAck));
  }
}
