package io.twinhub.mqtt.tls;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class TlsMaterialTest {

  static final List<String> NAMES = List.of("hub.example.com", "localhost:8443", "10.1.2.3");

  @TempDir
  Path dataDir;

  final Clock clock = Clock.systemUTC();

  @Test
  void generatesCaAndServerCertificateThatChainsWithTheWantedSans() throws Exception {
    TlsMaterial tls = TlsMaterial.loadOrCreate(dataDir, NAMES, clock);
    Path dir = dataDir.resolve("tls");
    for (String f : List.of("ca.pem", "ca.key", "server.pem", "server.key")) {
      assertTrue(Files.isRegularFile(dir.resolve(f)), f);
    }
    assertEquals(dir.resolve("ca.pem"), tls.caPemPath());

    X509Certificate ca = TlsMaterial.readCertificates(tls.caPemPath()).get(0);
    List<X509Certificate> serverPem = TlsMaterial.readCertificates(dir.resolve("server.pem"));
    X509Certificate server = serverPem.get(0);
    assertEquals(2, serverPem.size(), "server.pem carries the chain");
    assertArrayEquals(ca.getEncoded(), serverPem.get(1).getEncoded());

    // Chains to the CA by PKIX, with the CA as the only anchor.
    PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(ca, null)));
    params.setRevocationEnabled(false);
    CertPathValidator.getInstance("PKIX").validate(
        CertificateFactory.getInstance("X.509").generateCertPath(List.of(server)), params);
    assertTrue(ca.getBasicConstraints() >= 0, "CA is a CA");
    assertEquals(-1, server.getBasicConstraints(), "server is not a CA");
    assertTrue(server.getExtendedKeyUsage().contains("1.3.6.1.5.5.7.3.1"), "serverAuth");

    Set<String> sans = sans(server);
    assertTrue(sans.containsAll(Set.of("DNS:localhost", "DNS:hub.example.com", "IP:127.0.0.1",
        "IP:0:0:0:0:0:0:0:1", "IP:10.1.2.3")), sans.toString());
    String local = InetAddress.getLocalHost().getHostName().toLowerCase();
    if (local.matches("[a-z0-9.-]+")) {
      assertTrue(sans.contains("DNS:" + local), sans.toString());
    }
    assertFalse(sans.stream().anyMatch(s -> s.contains(":8443")), "ports are not names");

    Duration caLife = Duration.between(ca.getNotBefore().toInstant(), ca.getNotAfter().toInstant());
    assertTrue(caLife.toDays() >= 3650, "CA lives 10 years");
  }

  @Test
  void keysAreOwnerOnly() throws Exception {
    TlsMaterial.loadOrCreate(dataDir, NAMES, clock);
    assumeTrue(SecureFiles.isPosix(dataDir));
    Path dir = dataDir.resolve("tls");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("server.key"))));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca.key"))));
    assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca.pem"))));
    assertTrue(Files.readString(dir.resolve("server.key")).startsWith("-----BEGIN PRIVATE KEY-----"));
  }

  @Test
  void handshakeSucceedsForAClientTrustingOnlyCaPemAndFailsForOneTrustingNothing() throws Exception {
    TlsMaterial tls = TlsMaterial.loadOrCreate(dataDir, NAMES, clock);
    SSLContext server = tls.serverSslContext();

    assertEquals("pong", handshake(server, TlsMaterial.clientSslContext(tls.caPemPath()), "127.0.0.1"));
    assertEquals("pong", handshake(server, TlsMaterial.clientSslContext(tls.caPemPath()), "localhost"));
    assertEquals("pong", handshake(server, tls.clientSslContext(), "hub.example.com"));

    assertThrows(SSLException.class, () -> handshake(server, trustingNothing(), "127.0.0.1"));
    // Trusting the CA does not make a name outside the SANs acceptable.
    assertThrows(SSLException.class,
        () -> handshake(server, TlsMaterial.clientSslContext(tls.caPemPath()), "evil.example.com"));
  }

  @Test
  void clientTrustStoreIsAPkcs12WithTheCa() throws Exception {
    TlsMaterial tls = TlsMaterial.loadOrCreate(dataDir, NAMES, clock);
    Path ts = tls.clientTrustStore();
    assertEquals(dataDir.resolve("tls/truststore.p12"), ts);
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(ts)) {
      ks.load(in, TlsMaterial.TRUSTSTORE_PASSWORD.toCharArray());
    }
    assertEquals(1, ks.size());
    String alias = ks.aliases().nextElement();
    assertTrue(ks.isCertificateEntry(alias));
    assertArrayEquals(tls.caCertificate().getEncoded(), ks.getCertificate(alias).getEncoded());

    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext client = SSLContext.getInstance("TLS");
    client.init(null, tmf.getTrustManagers(), null);
    assertEquals("pong", handshake(tls.serverSslContext(), client, "127.0.0.1"));
    assertEquals(ts, tls.clientTrustStore(), "idempotent");
  }

  @Test
  void laterStartsReuseEverything() throws Exception {
    TlsMaterial first = TlsMaterial.loadOrCreate(dataDir, NAMES, clock);
    byte[] serverPem = Files.readAllBytes(dataDir.resolve("tls/server.pem"));
    byte[] serverKey = Files.readAllBytes(dataDir.resolve("tls/server.key"));
    TlsMaterial second = TlsMaterial.loadOrCreate(dataDir, List.of("LOCALHOST", "10.1.2.3", "Hub.Example.com:443"), clock);
    assertArrayEquals(first.caCertificate().getEncoded(), second.caCertificate().getEncoded());
    assertArrayEquals(first.serverCertificateChain().get(0).getEncoded(), second.serverCertificateChain().get(0).getEncoded());
    assertArrayEquals(serverPem, Files.readAllBytes(dataDir.resolve("tls/server.pem")));
    assertArrayEquals(serverKey, Files.readAllBytes(dataDir.resolve("tls/server.key")));
  }

  @Test
  void changedHostNamesRegenerateTheServerCertificateButKeepTheCa() throws Exception {
    TlsMaterial first = TlsMaterial.loadOrCreate(dataDir, NAMES, clock);
    TlsMaterial second = TlsMaterial.loadOrCreate(dataDir, List.of("twinhub.example.org"), clock);
    assertArrayEquals(first.caCertificate().getEncoded(), second.caCertificate().getEncoded());
    X509Certificate newServer = second.serverCertificateChain().get(0);
    assertFalse(Arrays.equals(first.serverCertificateChain().get(0).getEncoded(), newServer.getEncoded()));
    assertTrue(sans(newServer).contains("DNS:twinhub.example.org"));
    assertFalse(sans(newServer).contains("DNS:hub.example.com"));
    // A client that trusted the CA before still trusts the new server certificate.
    assertEquals("pong", handshake(second.serverSslContext(), first.clientSslContext(), "twinhub.example.org"));
  }

  @Test
  void serverCertificateIsRenewedWithinThirtyDaysOfExpiryCaKept() throws Exception {
    TlsMaterial first = TlsMaterial.loadOrCreate(dataDir, NAMES, clock);
    Instant notAfter = first.serverCertificateChain().get(0).getNotAfter().toInstant();
    Clock early = Clock.fixed(notAfter.minus(Duration.ofDays(31)), ZoneOffset.UTC);
    Clock late = Clock.fixed(notAfter.minus(Duration.ofDays(29)), ZoneOffset.UTC);
    TlsMaterial notYet = TlsMaterial.loadOrCreate(dataDir, NAMES, early);
    assertArrayEquals(first.serverCertificateChain().get(0).getEncoded(), notYet.serverCertificateChain().get(0).getEncoded());
    TlsMaterial renewed = TlsMaterial.loadOrCreate(dataDir, NAMES, late);
    assertFalse(Arrays.equals(first.serverCertificateChain().get(0).getEncoded(),
        renewed.serverCertificateChain().get(0).getEncoded()));
    assertArrayEquals(first.caCertificate().getEncoded(), renewed.caCertificate().getEncoded());
    assertTrue(renewed.serverCertificateChain().get(0).getNotAfter().toInstant().isAfter(notAfter));
  }

  @Test
  void brokenOrMissingServerFilesAreRegeneratedWithTheSameCa() throws Exception {
    TlsMaterial first = TlsMaterial.loadOrCreate(dataDir, NAMES, clock);
    Files.writeString(dataDir.resolve("tls/server.key"), "garbage");
    TlsMaterial second = TlsMaterial.loadOrCreate(dataDir, NAMES, clock);
    assertArrayEquals(first.caCertificate().getEncoded(), second.caCertificate().getEncoded());
    assertEquals("pong", handshake(second.serverSslContext(), first.clientSslContext(), "localhost"));
    Files.delete(dataDir.resolve("tls/server.pem"));
    TlsMaterial third = TlsMaterial.loadOrCreate(dataDir, NAMES, clock);
    assertArrayEquals(first.caCertificate().getEncoded(), third.caCertificate().getEncoded());
  }

  @Test
  void caIsReplacedOnlyWhenItIsGoneOrExpiring() throws Exception {
    TlsMaterial first = TlsMaterial.loadOrCreate(dataDir, NAMES, clock);
    Instant caEnd = first.caCertificate().getNotAfter().toInstant();
    TlsMaterial expiring = TlsMaterial.loadOrCreate(dataDir, NAMES,
        Clock.fixed(caEnd.minus(Duration.ofDays(10)), ZoneOffset.UTC));
    assertFalse(Arrays.equals(first.caCertificate().getEncoded(), expiring.caCertificate().getEncoded()));
    Files.delete(dataDir.resolve("tls/ca.key"));
    TlsMaterial keyless = TlsMaterial.loadOrCreate(dataDir, NAMES, clock);
    assertFalse(Arrays.equals(expiring.caCertificate().getEncoded(), keyless.caCertificate().getEncoded()));
    assertEquals("pong", handshake(keyless.serverSslContext(), keyless.clientSslContext(), "localhost"));
  }

  @Test
  void pkcs12KeystoreIsUsedInsteadWhenConfigured() throws Exception {
    // Build an operator keystore from a separately generated identity.
    Path other = Files.createDirectory(dataDir.resolve("other"));
    TlsMaterial generated = TlsMaterial.loadOrCreate(other, List.of("ops.example.net"), clock);
    PrivateKey key;
    try (var r = Files.newBufferedReader(other.resolve("tls/server.key"));
         var p = new org.bouncycastle.openssl.PEMParser(r)) {
      key = new org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter()
          .getPrivateKey((org.bouncycastle.asn1.pkcs.PrivateKeyInfo) p.readObject());
    }
    char[] password = "s3cret".toCharArray();
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry("ops", key, password, generated.serverCertificateChain().toArray(X509Certificate[]::new));
    Path p12 = dataDir.resolve("ops.p12");
    try (var out = Files.newOutputStream(p12)) {
      ks.store(out, password);
    }

    Path node = Files.createDirectory(dataDir.resolve("node"));
    TlsMaterial tls = TlsMaterial.forNode(node, List.of("ignored.example"), p12, password, clock);
    assertEquals(node.resolve("tls/keystore-ca.pem"), tls.caPemPath());
    assertArrayEquals(generated.caCertificate().getEncoded(), tls.caCertificate().getEncoded());
    assertFalse(Files.exists(node.resolve("tls/server.key")), "nothing generated");
    assertEquals("pong", handshake(tls.serverSslContext(), TlsMaterial.clientSslContext(tls.caPemPath()), "ops.example.net"));
    assertThrows(Exception.class, () -> TlsMaterial.fromPkcs12(node, p12, "wrong".toCharArray()));
  }

  // ---- helpers ----

  static Set<String> sans(X509Certificate cert) throws Exception {
    Set<String> out = new HashSet<>();
    Collection<List<?>> entries = cert.getSubjectAlternativeNames();
    for (List<?> e : entries) {
      int type = (Integer) e.get(0);
      out.add((type == 2 ? "DNS:" : type == 7 ? "IP:" : type + ":") + e.get(1));
    }
    return out;
  }

  static SSLContext trustingNothing() throws Exception {
    KeyStore empty = KeyStore.getInstance("PKCS12");
    empty.load(null, null);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(empty);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  /**
   * Runs one TLS exchange over 127.0.0.1 on a free port; the client checks the certificate
   * against {@code peerHost} as HTTPS clients do (SAN match). Returns what the server sent.
   */
  static String handshake(SSLContext server, SSLContext client, String peerHost) throws Exception {
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try (SSLServerSocket listener = (SSLServerSocket) server.getServerSocketFactory()
        .createServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      listener.setSoTimeout(10_000);
      Future<?> serverSide = pool.submit(() -> {
        try (SSLSocket s = (SSLSocket) listener.accept()) {
          s.setSoTimeout(10_000);
          s.startHandshake();
          int b = s.getInputStream().read();
          if (b == 'p') {
            s.getOutputStream().write("pong".getBytes());
            s.getOutputStream().flush();
          }
        }
        return null;
      });
      String reply;
      try (Socket plain = new Socket()) {
        plain.connect(new InetSocketAddress("127.0.0.1", listener.getLocalPort()), 10_000);
        plain.setSoTimeout(10_000);
        try (SSLSocket s = (SSLSocket) client.getSocketFactory()
            .createSocket(plain, peerHost, listener.getLocalPort(), true)) {
          SSLParameters params = s.getSSLParameters();
          params.setEndpointIdentificationAlgorithm("HTTPS");
          s.setSSLParameters(params);
          s.startHandshake();
          s.getOutputStream().write('p');
          s.getOutputStream().flush();
          reply = new String(s.getInputStream().readNBytes(4));
        }
      } catch (Exception e) {
        serverSide.cancel(true);
        throw e;
      }
      // Closed the client first: a TLS 1.3 server's close waits for the peer's close_notify.
      serverSide.get(10, TimeUnit.SECONDS);
      return reply;
    } finally {
      pool.shutdownNow();
      pool.awaitTermination(10, TimeUnit.SECONDS);
    }
  }
}
