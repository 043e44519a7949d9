package io.twinhub.edge.mqtt;

import akka.util.ByteString;
import io.twinhub.mqtt.codec.MqttCodec;
import io.twinhub.mqtt.codec.MqttPacket;
import io.twinhub.mqtt.codec.MqttProtocolException;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;

/**
 * MQTT packets over one blocking (TLS) socket, with the hub gateway's codec ({@link MqttCodec}).
 * The edge runtime serves a handful of local modules and keeps one upstream connection per
 * identity, so a thread per connection is the simple, sufficient shape here; reads happen on one
 * thread, writes are serialized.
 */
public final class PacketSocket implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;
  private final int maxPacketSize;

  public PacketSocket(Socket socket, int maxPacketSize) throws IOException {
    this.socket = socket;
    this.in = new BufferedInputStream(socket.getInputStream());
    this.out = new BufferedOutputStream(socket.getOutputStream());
    this.maxPacketSize = maxPacketSize;
  }

  /** The next packet; {@link EOFException} when the peer closed, {@link MqttProtocolException} on bad bytes. */
  public MqttPacket read() throws IOException {
    int first = in.read();
    if (first < 0) throw new EOFException("connection closed");
    int length = 0;
    int multiplier = 1;
    for (int i = 0; ; i++) {
      int b = in.read();
      if (b < 0) throw new EOFException("connection closed in a fixed header");
      length += (b & 0x7f) * multiplier;
      if ((b & 0x80) == 0) break;
      if (i == 3) throw new MqttProtocolException("remaining length longer than 4 bytes");
      multiplier *= 128;
    }
    if (length > maxPacketSize) throw new MqttProtocolException("packet of " + length + " bytes exceeds " + maxPacketSize);
    byte[] body = in.readNBytes(length);
    if (body.length < length) throw new EOFException("connection closed in a packet");
    return MqttCodec.decodeBody(first, ByteString.fromArrayUnsafe(body));
  }

  public synchronized void write(MqttPacket packet) throws IOException {
    out.write(MqttCodec.encode(packet).toArrayUnsafe());
    out.flush();
  }

  /** Writes without throwing: false when the connection is gone. */
  public boolean tryWrite(MqttPacket packet) {
    try {
      write(packet);
      return true;
    } catch (IOException | java.io.UncheckedIOException e) {
      close();
      return false;
    }
  }

  public boolean isClosed() {
    return socket.isClosed();
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }
}
