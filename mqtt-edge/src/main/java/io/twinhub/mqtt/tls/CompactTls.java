package io.twinhub.mqtt.tls;

import akka.NotUsed;
import akka.stream.Attributes;
import akka.stream.BidiShape;
import akka.stream.Inlet;
import akka.stream.Outlet;
import akka.stream.javadsl.BidiFlow;
import akka.stream.stage.AbstractInHandler;
import akka.stream.stage.AbstractOutHandler;
import akka.stream.stage.GraphStage;
import akka.stream.stage.GraphStageLogic;
import akka.util.ByteString;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import java.nio.ByteBuffer;
import java.util.function.Supplier;

/**
 * Server-side TLS as one stream stage around an {@link SSLEngine}, for many mostly idle
 * connections: Akka's own TLS keeps four heap buffers of 18–35 KB per connection for its whole
 * life (≈ 92 KB, plus an actor), which alone is more than an idle MQTT session may cost. Here the
 * engine works on per-thread scratch buffers and a connection keeps only the bytes that are
 * really pending (a partial TLS record in, unsent records out).
 *
 * <p>Shape: {@code cipherIn → plainOut} (socket to application) and {@code plainIn → cipherOut}
 * (application to socket); {@code CompactTls.server(engines).join(plainFlow)} is the flow a TCP
 * connection handles. The application's completion sends close_notify and completes the socket
 * side (the connection closes); the socket's end completes the application side.
 */
public final class CompactTls extends GraphStage<BidiShape<ByteString, ByteString, ByteString, ByteString>> {

  /** The largest TLS record plus room (SSLSession.getPacketBufferSize is 16709 for TLS 1.2/1.3 in the JDK). */
  private static final int SCRATCH = 33 * 1024;
  /** TLS's largest record plaintext (2^14). */
  private static final int MAX_PLAINTEXT = 16 * 1024;
  /**
   * Direct: BoringSSL's engine reads and writes a direct buffer in place, but for a heap buffer it
   * takes a pooled direct buffer, copies and releases it on every wrap and unwrap (JFR of the node
   * under 4× overload, session 19: 48 of the engine's 68 samples). The JDK's engine takes either.
   */
  private static final ThreadLocal<ByteBuffer[]> SCRATCH_BUFFERS =
      ThreadLocal.withInitial(() -> new ByteBuffer[] {ByteBuffer.allocateDirect(SCRATCH), ByteBuffer.allocateDirect(SCRATCH)});

  private final Supplier<SSLEngine> engines;
  private final Inlet<ByteString> cipherIn = Inlet.create("CompactTls.cipherIn");
  private final Outlet<ByteString> plainOut = Outlet.create("CompactTls.plainOut");
  private final Inlet<ByteString> plainIn = Inlet.create("CompactTls.plainIn");
  private final Outlet<ByteString> cipherOut = Outlet.create("CompactTls.cipherOut");
  private final BidiShape<ByteString, ByteString, ByteString, ByteString> shape =
      new BidiShape<>(cipherIn, plainOut, plainIn, cipherOut);

  private CompactTls(Supplier<SSLEngine> engines) {
    this.engines = engines;
  }

  /** A server-mode TLS layer; {@code engines} makes one engine (server mode set) per connection. */
  public static BidiFlow<ByteString, ByteString, ByteString, ByteString, NotUsed> server(Supplier<SSLEngine> engines) {
    return BidiFlow.fromGraph(new CompactTls(engines));
  }

  @Override
  public BidiShape<ByteString, ByteString, ByteString, ByteString> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes attributes) {
    return new Logic();
  }

  private final class Logic extends GraphStageLogic {
    private final SSLEngine engine = engines.get();
    /** Ciphertext read but not yet unwrapped (at most a partial record between pushes). */
    private ByteString fromNet = ByteString.emptyByteString();
    /** Plaintext to encrypt. */
    private ByteString fromApp = ByteString.emptyByteString();
    /** Encrypted records waiting for demand on the socket side. */
    private ByteString toNet = ByteString.emptyByteString();
    /** Decrypted bytes waiting for demand on the application side. */
    private ByteString toApp = ByteString.emptyByteString();
    private boolean netDone;
    private boolean appDone;
    private boolean outboundClosed;

    Logic() {
      super(shape);
      setHandler(cipherIn, new AbstractInHandler() {
        @Override
        public void onPush() {
          fromNet = fromNet.concat(grab(cipherIn));
          pump();
        }

        @Override
        public void onUpstreamFinish() {
          netDone = true;
          try {
            engine.closeInbound();
          } catch (SSLException noCloseNotify) {
            // the peer closed the socket without close_notify: nothing more will come either way
          }
          pump();
        }
      });
      setHandler(plainIn, new AbstractInHandler() {
        @Override
        public void onPush() {
          fromApp = fromApp.concat(grab(plainIn));
          pump();
        }

        @Override
        public void onUpstreamFinish() {
          appDone = true;
          pump();
        }
      });
      setHandler(plainOut, new AbstractOutHandler() {
        @Override
        public void onPull() {
          pump();
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          // The application reads no more; what it still writes goes out, and its completion closes.
          netDone = true;
          fromNet = ByteString.emptyByteString();
          cancel(cipherIn);
          pump();
        }
      });
      setHandler(cipherOut, new AbstractOutHandler() {
        @Override
        public void onPull() {
          pump();
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          completeStage(); // the socket is gone
        }
      });
    }

    @Override
    public void preStart() {
      try {
        engine.beginHandshake();
      } catch (SSLException e) {
        failStage(e);
        return;
      }
      pull(cipherIn);
    }

    @Override
    public void postStop() {
      engine.closeOutbound();
      // A BoringSSL engine holds native memory until released (the JDK's is plain heap).
      if (engine instanceof io.netty.util.ReferenceCounted counted && counted.refCnt() > 0) counted.release();
    }

    /** Runs the engine as far as input and demand allow, then emits and asks for more. */
    private void pump() {
      try {
        boolean progress = true;
        // BoringSSL's engine continues a handshake after its delegated tasks only when called again,
        // even with no input (Netty's SslHandler unwraps an empty buffer); the JDK's does no harm then.
        boolean ranTasks = false;
        while (progress) {
          progress = false;
          HandshakeStatus hs = engine.getHandshakeStatus();
          if (hs == HandshakeStatus.NEED_TASK) {
            for (Runnable task = engine.getDelegatedTask(); task != null; task = engine.getDelegatedTask()) task.run();
            ranTasks = true;
            progress = true;
            continue;
          }
          if (appDone && fromApp.isEmpty() && !outboundClosed) {
            engine.closeOutbound(); // close_notify is produced by the next wraps
            outboundClosed = true;
            progress = true;
          }
          boolean handshaking = hs != HandshakeStatus.NOT_HANDSHAKING && hs != HandshakeStatus.FINISHED;
          boolean wantWrap = hs == HandshakeStatus.NEED_WRAP || (!handshaking && !fromApp.isEmpty());
          if (wantWrap && toNet.size() < SCRATCH && !engine.isOutboundDone()) progress |= wrap();
          boolean wantUnwrap = (!fromNet.isEmpty() || ranTasks) && (hs == HandshakeStatus.NEED_UNWRAP || !handshaking)
              && toApp.size() < SCRATCH && !engine.isInboundDone();
          if (wantUnwrap) {
            ranTasks = false;
            progress |= unwrap();
          }
          progress |= engine.getHandshakeStatus() != hs; // e.g. the handshake produced output to wrap
        }
        emit();
      } catch (SSLException e) {
        failStage(e);
      }
    }

    private boolean wrap() throws SSLException {
      ByteBuffer[] scratch = SCRATCH_BUFFERS.get();
      ByteBuffer src = scratch[0];
      src.clear();
      // At most one record's plaintext per wrap: BoringSSL's engine wants room for every record of its input.
      (fromApp.size() > MAX_PLAINTEXT ? fromApp.take(MAX_PLAINTEXT) : fromApp).copyToBuffer(src);
      src.flip();
      ByteBuffer dst = scratch[1];
      dst.clear();
      SSLEngineResult r = engine.wrap(src, dst);
      fromApp = fromApp.drop(r.bytesConsumed());
      if (r.bytesProduced() > 0) {
        dst.flip();
        toNet = toNet.concat(ByteString.fromByteBuffer(dst));
      }
      if (r.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) throw new SSLException("TLS record larger than " + SCRATCH);
      return r.bytesConsumed() > 0 || r.bytesProduced() > 0;
    }

    private boolean unwrap() throws SSLException {
      ByteBuffer[] scratch = SCRATCH_BUFFERS.get();
      ByteBuffer src = scratch[0];
      src.clear();
      int n = fromNet.copyToBuffer(src);
      src.flip();
      ByteBuffer dst = scratch[1];
      dst.clear();
      SSLEngineResult r = engine.unwrap(src, dst);
      fromNet = fromNet.drop(r.bytesConsumed());
      if (r.bytesProduced() > 0) {
        dst.flip();
        toApp = toApp.concat(ByteString.fromByteBuffer(dst));
      }
      if (r.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) throw new SSLException("TLS record larger than " + SCRATCH);
      if (r.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW && n == SCRATCH) {
        throw new SSLException("TLS record larger than " + SCRATCH);
      }
      return r.bytesConsumed() > 0 || r.bytesProduced() > 0;
    }

    /** Pushes what is ready, completes finished sides, pulls where there is room. */
    private void emit() {
      if (!toNet.isEmpty() && isAvailable(cipherOut)) {
        push(cipherOut, toNet);
        toNet = ByteString.emptyByteString();
      }
      if (!toApp.isEmpty() && isAvailable(plainOut)) {
        push(plainOut, toApp);
        toApp = ByteString.emptyByteString();
      }
      boolean inboundOver = engine.isInboundDone() || netDone;
      if (inboundOver && toApp.isEmpty() && !isClosed(plainOut)) complete(plainOut);
      if (toNet.isEmpty() && (engine.isOutboundDone() || (netDone && fromNet.isEmpty() && !isClosed(cipherOut) && appDone))) {
        completeStage();
        return;
      }
      if (netDone && toNet.isEmpty() && inboundOver && isClosed(plainOut) && (appDone || isClosed(plainIn))) {
        completeStage();
        return;
      }
      // Read from the socket when the application has room (and always while handshaking).
      if (!netDone && !hasBeenPulled(cipherIn) && !isClosed(cipherIn) && toApp.isEmpty() && fromNet.size() < SCRATCH) {
        pull(cipherIn);
      }
      HandshakeStatus hs = engine.getHandshakeStatus();
      boolean handshaking = hs != HandshakeStatus.NOT_HANDSHAKING && hs != HandshakeStatus.FINISHED;
      if (!handshaking && !appDone && fromApp.isEmpty() && toNet.isEmpty() && !hasBeenPulled(plainIn) && !isClosed(plainIn)) {
        pull(plainIn);
      }
    }
  }
}
