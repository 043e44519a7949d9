package io.twinhub.node.amqp;

import io.twinhub.ops.amqp.ServiceAmqp;
import org.apache.qpid.proton.Proton;
import org.apache.qpid.proton.amqp.transport.DeliveryState;
import org.apache.qpid.proton.engine.Connection;
import org.apache.qpid.proton.engine.Delivery;
import org.apache.qpid.proton.engine.EndpointState;
import org.apache.qpid.proton.engine.Receiver;
import org.apache.qpid.proton.engine.Sender;
import org.apache.qpid.proton.engine.Session;
import org.apache.qpid.proton.engine.Transport;
import org.apache.qpid.proton.message.Message;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * A back end's AMQP connection for tests, without an SDK: a Proton-J engine over a blocking TLS
 * socket, pumped by the test thread ({@link #pumpUntil}). SASL ANONYMOUS, then whatever the test
 * does: a {@code $cbs} put-token, a devicebound sender, messages, or raw bytes on the socket.
 */
final class ProtonTestClient implements AutoCloseable {
  static final Duration WAIT = Duration.ofSeconds(90);

  private final SSLSocket socket;
  private final InputStream in;
  private final OutputStream out;
  final Transport transport = Proton.transport();
  final Connection connection = Proton.connection();
  final Session session;
  private Sender cbs;
  private Receiver cbsReplies;
  private boolean socketClosed;
  private int tags;

  ProtonTestClient(SSLContext tls, String host, int port) throws IOException {
    socket = (SSLSocket) tls.getSocketFactory().createSocket(host, port);
    // The handshake with a long timeout (a loaded box); then short reads, so one thread can pump both ways.
    socket.setSoTimeout(60_000);
    socket.startHandshake();
    socket.setSoTimeout(50);
    in = socket.getInputStream();
    out = socket.getOutputStream();
    ServiceAmqp.saslAnonymous(transport);
    connection.setHostname(host);
    connection.setContainer("twinhub-test");
    transport.bind(connection);
    connection.open();
    session = connection.session();
    session.open();
  }

  /** Writes what the engine has, reads what the server sent, until {@code done} or the wait is over. */
  boolean pumpUntil(BooleanSupplier done) throws IOException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) return false;
      pump();
      if (socketClosed && !done.getAsBoolean()) return done.getAsBoolean();
    }
    return true;
  }

  void pump() throws IOException {
    while (!socketClosed && transport.pending() > 0) {
      ByteBuffer head = transport.head();
      byte[] chunk = new byte[head.remaining()];
      head.get(chunk);
      transport.pop(chunk.length);
      try {
        out.write(chunk);
        out.flush();
      } catch (IOException e) {
        socketClosed = true;
      }
    }
    if (socketClosed) return;
    byte[] buf = new byte[16 * 1024];
    int n;
    try {
      n = in.read(buf);
    } catch (SocketTimeoutException e) {
      return;
    } catch (IOException e) {
      n = -1;
    }
    if (n < 0) {
      socketClosed = true;
      transport.close_tail();
      return;
    }
    int offset = 0;
    while (offset < n && transport.capacity() > 0) {
      int k = Math.min(transport.capacity(), n - offset);
      transport.tail().put(buf, offset, k);
      offset += k;
      transport.process();
    }
  }

  /** The server closed the TCP connection. */
  boolean socketClosed() {
    return socketClosed;
  }

  /** Bytes straight onto the TLS socket, past the engine. */
  void writeRaw(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  /** A {@code $cbs} put-token; the reply's status-code and description. */
  Map<?, ?> putToken(String token) throws IOException {
    if (cbs == null) {
      ServiceAmqp.Cbs links = ServiceAmqp.openCbs(session);
      cbs = links.sender();
      cbsReplies = links.replies();
    }
    send(cbs, ServiceAmqp.putToken("put-" + (tags + 1), connection.getHostname(), token));
    Delivery[] reply = new Delivery[1];
    if (!pumpUntil(() -> {
      Delivery d = cbsReplies.current();
      if (d != null && d.isReadable() && !d.isPartial()) reply[0] = d;
      return reply[0] != null;
    })) {
      throw new AssertionError("no put-token reply; connection " + connection.getRemoteState() + " " + connection.getRemoteCondition());
    }
    return ServiceAmqp.receive(cbsReplies, reply[0]).getApplicationProperties().getValue();
  }

  /** Attaches a sender to {@code /messages/devicebound}; returns it once the server answered the attach. */
  Sender devicebound() throws IOException {
    Sender s = ServiceAmqp.openDevicebound(session, "c2d-" + (++tags), "test");
    if (!pumpUntil(() -> s.getRemoteState() != EndpointState.UNINITIALIZED)) throw new AssertionError("no attach answer");
    return s;
  }

  /** One C2D message; the server's outcome once it settled it (null if it never did). */
  DeliveryState sendToDevice(Sender s, String deviceId, byte[] body) throws IOException {
    Delivery d = send(s, ServiceAmqp.deviceboundMessage("m-" + (tags + 1), deviceId, body));
    pumpUntil(() -> d.remotelySettled() || s.getRemoteState() == EndpointState.CLOSED
        || connection.getRemoteState() == EndpointState.CLOSED);
    return d.remotelySettled() ? d.getRemoteState() : null;
  }

  private Delivery send(Sender s, Message m) throws IOException {
    Delivery d = ServiceAmqp.send(s, m, Integer.toString(++tags).getBytes(StandardCharsets.US_ASCII));
    pump();
    return d;
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
