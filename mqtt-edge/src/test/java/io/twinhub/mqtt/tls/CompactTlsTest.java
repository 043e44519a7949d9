package io.twinhub.mqtt.tls;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Tcp;
import akka.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The compact TLS stage against the JDK's own TLS client over a real socket: handshake, data both ways, closing. */
class CompactTlsTest {
  static final ActorTestKit testKit = ActorTestKit.create("compact-tls");
  static SSLContext ssl;

  @BeforeAll
  static void keys(@TempDir Path dir) throws Exception {
    Path p12 = dir.resolve("server.p12");
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair",
        "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1", "-ext", "SAN=IP:127.0.0.1",
        "-validity", "2", "-storetype", "PKCS12", "-keystore", p12.toString(), "-storepass", "secret")
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, out);
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(p12)) {
      ks.load(in, "secret".toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, "secret".toCharArray());
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    ssl = SSLContext.getInstance("TLS");
    ssl.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static SSLEngine serverEngine() {
    SSLEngine e = ssl.createSSLEngine();
    e.setUseClientMode(false);
    return e;
  }

  /** Binds a server whose application side is {@code app}; returns its port. */
  private static int serve(Flow<ByteString, ByteString, ?> app) throws Exception {
    Tcp.ServerBinding b = Tcp.get(testKit.system()).bind("127.0.0.1", 0, 16, List.of(), false, Optional.empty())
        .to(Sink.foreach(c -> c.handleWith(CompactTls.server(CompactTlsTest::serverEngine).join(app), testKit.system())))
        .run(testKit.system()).toCompletableFuture().get(10, TimeUnit.SECONDS);
    return b.localAddress().getPort();
  }

  private static SSLSocket client(int port, String protocol) throws Exception {
    SSLSocket s = (SSLSocket) ssl.getSocketFactory().createSocket("127.0.0.1", port);
    s.setEnabledProtocols(new String[] {protocol});
    s.setSoTimeout(10_000);
    return s;
  }

  @Test
  void echoesSmallAndLargeWritesOverTls13AndTls12() throws Exception {
    int port = serve(Flow.<ByteString>create());
    for (String protocol : List.of("TLSv1.3", "TLSv1.2")) {
      try (SSLSocket s = client(port, protocol)) {
        OutputStream out = s.getOutputStream();
        InputStream in = s.getInputStream();
        out.write("hello".getBytes(StandardCharsets.UTF_8));
        out.flush();
        assertEquals("hello", new String(in.readNBytes(5), StandardCharsets.UTF_8));
        byte[] big = new byte[300_000]; // many records each way, more than the scratch buffers at once
        new Random(7).nextBytes(big);
        TlsEcho.assertEchoes(s, big);
        assertEquals(protocol, s.getSession().getProtocol());
      }
    }
  }

  @Test
  void whenTheApplicationCompletesTheConnectionIsClosed() throws Exception {
    // The application answers one chunk and is done (as a session that closes the connection).
    int port = serve(Flow.<ByteString>create().take(1).map(b -> ByteString.fromString("bye")));
    try (SSLSocket s = client(port, "TLSv1.3")) {
      s.getOutputStream().write("x".getBytes(StandardCharsets.UTF_8));
      s.getOutputStream().flush();
      InputStream in = s.getInputStream();
      assertEquals("bye", new String(in.readNBytes(3), StandardCharsets.UTF_8));
      assertEquals(-1, in.read(), "close_notify, then end of stream");
    }
  }

  @Test
  void garbageInsteadOfAClientHelloEndsTheConnection() throws Exception {
    int port = serve(Flow.<ByteString>create());
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      int r;
      try {
        do {
          r = in.read(); // an alert at most, then the end
        } while (r >= 0);
      } catch (java.net.SocketException reset) {
        r = -1; // closed with unread input: a reset is an end too
      }
      assertEquals(-1, r);
    }
  }
}
