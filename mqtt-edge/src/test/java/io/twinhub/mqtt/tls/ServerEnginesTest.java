package io.twinhub.mqtt.tls;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Tcp;
import akka.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The node's server engines (JDK and BoringSSL) in the compact TLS stage, against the JDK's TLS
 * client: TLS 1.3 and 1.2, the EC P-256 certificate, a reconnect that resumes its session, and
 * BoringSSL engines released when their connection ends.
 */
class ServerEnginesTest {
  static final ActorTestKit testKit = ActorTestKit.create("server-engines");
  static TlsMaterial material;

  @BeforeAll
  static void keys(@TempDir Path dir) throws Exception {
    material = TlsMaterial.loadOrCreate(dir, List.of("127.0.0.1"), Clock.systemUTC());
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static int serve(Supplier<SSLEngine> engines) throws Exception {
    Tcp.ServerBinding b = Tcp.get(testKit.system()).bind("127.0.0.1", 0, 16, List.of(), false, Optional.empty())
        .to(Sink.foreach(c -> c.handleWith(CompactTls.server(engines).join(Flow.<ByteString>create()), testKit.system())))
        .run(testKit.system()).toCompletableFuture().get(10, TimeUnit.SECONDS);
    return b.localAddress().getPort();
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void echoesOverTls13AndTls12AndResumesTheSession(boolean openSsl) throws Exception {
    Queue<SSLEngine> made = new ConcurrentLinkedQueue<>();
    Supplier<SSLEngine> engines = material.serverEngines(openSsl);
    int port = serve(() -> {
      SSLEngine e = engines.get();
      made.add(e);
      return e;
    });
    for (String protocol : List.of("TLSv1.3", "TLSv1.2")) {
      SSLContext client = material.clientSslContext(); // one device: its own session cache
      long first = 0;
      for (int connect = 0; connect < 2; connect++) {
        long started = System.currentTimeMillis();
        try (SSLSocket s = (SSLSocket) client.getSocketFactory().createSocket("127.0.0.1", port)) {
          s.setEnabledProtocols(new String[] {protocol});
          s.setSoTimeout(10_000);
          byte[] big = new byte[100_000];
          new Random(connect).nextBytes(big);
          TlsEcho.assertEchoes(s, big);
          assertEquals(protocol, s.getSession().getProtocol());
          assertEquals("EC", s.getSession().getPeerCertificates()[0].getPublicKey().getAlgorithm());
          if (connect == 0) {
            first = s.getSession().getCreationTime();
            assertTrue(first >= started - 1000, "a new session on the first connect");
          } else {
            // A resumed session keeps its creation time: the second connect did not make a new one.
            assertEquals(first, s.getSession().getCreationTime(), protocol + " session resumed");
          }
        }
      }
    }
    if (openSsl) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (made.stream().anyMatch(e -> ((io.netty.util.ReferenceCounted) e).refCnt() > 0) && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertTrue(made.stream().allMatch(e -> ((io.netty.util.ReferenceCounted) e).refCnt() == 0),
          "every BoringSSL engine released after its connection closed");
    }
  }
}
