package io.twinhub.mqtt.tls;

import io.twinhub.twin.auth.SasVerifier;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The node's TLS identity for HTTPS (8443) and MQTT (8883).
 *
 * <p>By default a local CA is made on first start ({@code <dataDir>/tls/ca.pem}, {@code ca.key}:
 * EC P-256, 10 years) and a server certificate signed by it, with an EC P-256 key unless {@link
 * ServerKey#RSA_2048} is asked for ({@code server.pem} = server
 * certificate followed by the CA certificate, {@code server.key}) for the SANs: DNS {@code
 * localhost}, this machine's host name, IP {@code 127.0.0.1} and {@code ::1}, and every configured
 * host name (IP literals as IP SANs). Private keys are PKCS#8 PEM, mode 600. Later starts reuse
 * them; the server certificate is remade, with the same CA, when the SANs changed, when it expires
 * within 30 days or no longer chains to the CA; the CA is remade only if it is missing, broken or
 * itself expires within 30 days (then every client must trust the new {@code ca.pem}).
 *
 * <p>Alternatively {@link #fromPkcs12} uses an operator's keystore as is.
 *
 * <p>Clients trust {@link #caPemPath()} (device SDK: {@code ClientOptions.sslContext}; mosquitto:
 * {@code --cafile}) or, for the Java service SDK, which uses the JVM default trust store, {@link
 * #clientTrustStore()} with {@code -Djavax.net.ssl.trustStore=<path>
 * -Djavax.net.ssl.trustStorePassword=twinhub}. Nothing is printed.
 */
public final class TlsMaterial {

  public static final String TRUSTSTORE_PASSWORD = "twinhub";
  public static final Duration RENEW_BEFORE = Duration.ofDays(30);
  public static final Duration CA_VALIDITY = Duration.ofDays(3653);
  /** 825 days: the longest server-certificate life that every TLS stack still accepts. */
  public static final Duration SERVER_VALIDITY = Duration.ofDays(825);
  /**
   * How long a device may resume its TLS session (skipping the certificate and its signature): a
   * day, the JDK's default, made explicit. Devices reconnect after network blips within minutes.
   */
  public static final Duration SESSION_LIFETIME = Duration.ofHours(24);
  /** TLS 1.2 sessions kept for resumption by id (TLS 1.3 uses stateless tickets and keeps none). */
  public static final int SESSION_CACHE_SIZE = 20_000;

  private static final Logger log = LoggerFactory.getLogger(TlsMaterial.class);
  private static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";
  private static final Pattern IPV4 = Pattern.compile("[0-9]{1,3}(\\.[0-9]{1,3}){3}");
  private static final char[] IN_MEMORY_PASSWORD = "in-memory".toCharArray();
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Path tlsDir;
  private final Path caPem;
  private final X509Certificate trustAnchor;
  private final PrivateKey serverKey;
  private final X509Certificate[] serverChain;
  private final char[] keyPassword;

  private TlsMaterial(Path tlsDir, Path caPem, X509Certificate trustAnchor, PrivateKey serverKey,
      X509Certificate[] serverChain, char[] keyPassword) {
    this.tlsDir = tlsDir;
    this.caPem = caPem;
    this.trustAnchor = trustAnchor;
    this.serverKey = serverKey;
    this.serverChain = serverChain;
    this.keyPassword = keyPassword;
  }

  /**
   * The generated server certificate's key. ECDSA P-256 by default: a full TLS handshake costs the
   * server one signature, several times cheaper with P-256 than with RSA 2048 in the JDK, and every
   * IoT Hub SDK accepts it. RSA 2048 for clients that accept nothing else.
   */
  public enum ServerKey {
    EC_P256("ec-p256"), RSA_2048("rsa-2048");

    private final String configName;

    ServerKey(String configName) {
      this.configName = configName;
    }

    /** {@code ec-p256} or {@code rsa-2048} (the config value {@code twinhub.http.tls.server-key}). */
    public static ServerKey parse(String name) {
      for (ServerKey k : values()) if (k.configName.equals(name.strip().toLowerCase(Locale.ROOT))) return k;
      throw new IllegalArgumentException("TLS server key must be ec-p256 or rsa-2048, not '" + name + "'");
    }

    boolean matches(PrivateKey key) {
      return this == EC_P256 ? key instanceof java.security.interfaces.ECKey : key instanceof java.security.interfaces.RSAKey;
    }

    KeyPair newKeyPair() throws GeneralSecurityException {
      if (this == EC_P256) return TlsMaterial.newKeyPair();
      KeyPairGenerator kpg = KeyPairGenerator.getInstance("RSA");
      kpg.initialize(2048, RANDOM);
      return kpg.generateKeyPair();
    }
  }

  /**
   * The node's TLS material: the configured PKCS12 keystore if {@code keystore} is given,
   * otherwise the generated CA and server certificate under {@code <dataDir>/tls/}.
   */
  public static TlsMaterial forNode(Path dataDir, Collection<String> hostNames, Path keystore, char[] keystorePassword,
      Clock clock) throws IOException, GeneralSecurityException {
    return forNode(dataDir, hostNames, keystore, keystorePassword, ServerKey.EC_P256, clock);
  }

  /** The same, a generated server certificate with a {@code serverKey} key. */
  public static TlsMaterial forNode(Path dataDir, Collection<String> hostNames, Path keystore, char[] keystorePassword,
      ServerKey serverKey, Clock clock) throws IOException, GeneralSecurityException {
    return keystore != null
        ? fromPkcs12(dataDir, keystore, keystorePassword)
        : loadOrCreate(dataDir, hostNames, serverKey, clock);
  }

  /** Loads {@code <dataDir>/tls/}, creating or renewing what is missing, stale or for other names. */
  public static TlsMaterial loadOrCreate(Path dataDir, Collection<String> hostNames, Clock clock)
      throws IOException, GeneralSecurityException {
    return loadOrCreate(dataDir, hostNames, ServerKey.EC_P256, clock);
  }

  /** The same; the server certificate is also remade when its key is not of {@code serverKey}'s kind. */
  public static TlsMaterial loadOrCreate(Path dataDir, Collection<String> hostNames, ServerKey serverKeyType, Clock clock)
      throws IOException, GeneralSecurityException {
    Path dir = dataDir.resolve("tls");
    SecureFiles.ensureDirectory(dir, false);
    Path caPem = dir.resolve("ca.pem");
    Path caKey = dir.resolve("ca.key");
    Path serverPem = dir.resolve("server.pem");
    Path serverKeyFile = dir.resolve("server.key");
    Instant now = clock.instant();
    Instant renewBy = now.plus(RENEW_BEFORE);
    Set<String> sans = subjectAltNames(hostNames);

    Optional<Issued> ca = readIssued(caPem, caKey)
        .filter(c -> c.cert().getBasicConstraints() >= 0)
        .filter(c -> c.cert().getNotAfter().toInstant().isAfter(renewBy))
        .filter(c -> !c.cert().getNotBefore().toInstant().isAfter(now));
    boolean newCa = ca.isEmpty();
    if (newCa) {
      ca = Optional.of(createCa(now));
      writePem(caPem, ca.get().cert(), false);
      writePem(caKey, ca.get().key(), true);
      log.info("generated TLS CA {} (clients must trust it)", caPem);
    }
    X509Certificate caCert = ca.get().cert();

    Optional<Issued> server = newCa ? Optional.empty() : readIssued(serverPem, serverKeyFile)
        .filter(s -> signedBy(s.cert(), caCert))
        .filter(s -> s.cert().getNotAfter().toInstant().isAfter(renewBy))
        .filter(s -> !s.cert().getNotBefore().toInstant().isAfter(now))
        .filter(s -> sans.equals(subjectAltNames(s.cert())))
        .filter(s -> serverKeyType.matches(s.key()));
    if (server.isEmpty()) {
      server = Optional.of(createServer(ca.get(), sans, firstDnsName(hostNames), serverKeyType.newKeyPair(), now));
      writePem(serverPem, List.of(server.get().cert(), caCert), false);
      writePem(serverKeyFile, server.get().key(), true);
      log.info("generated TLS server certificate {} for {}", serverPem, sans);
    } else {
      SecureFiles.restrictToOwner(serverKeyFile);
      SecureFiles.restrictToOwner(caKey);
    }
    return new TlsMaterial(dir, caPem, caCert, server.get().key(),
        new X509Certificate[] {server.get().cert(), caCert}, IN_MEMORY_PASSWORD);
  }

  /**
   * Uses the first key entry of a PKCS12 keystore (key password = store password). The last
   * certificate of its chain, the root if the chain includes one, becomes the trust anchor for
   * {@link #caPemPath()} ({@code <dataDir>/tls/keystore-ca.pem}) and {@link #clientTrustStore()}.
   */
  public static TlsMaterial fromPkcs12(Path dataDir, Path keystore, char[] password)
      throws IOException, GeneralSecurityException {
    Objects.requireNonNull(password, "keystore password");
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keystore)) {
      ks.load(in, password);
    }
    for (Enumeration<String> aliases = ks.aliases(); aliases.hasMoreElements(); ) {
      String alias = aliases.nextElement();
      if (!ks.isKeyEntry(alias)) {
        continue;
      }
      Certificate[] chain = ks.getCertificateChain(alias);
      if (chain == null || chain.length == 0) {
        continue;
      }
      X509Certificate[] x509 = new X509Certificate[chain.length];
      for (int i = 0; i < chain.length; i++) {
        x509[i] = (X509Certificate) chain[i];
      }
      PrivateKey key = (PrivateKey) ks.getKey(alias, password);
      Path dir = dataDir.resolve("tls");
      SecureFiles.ensureDirectory(dir, false);
      Path anchorPem = dir.resolve("keystore-ca.pem");
      X509Certificate anchor = x509[x509.length - 1];
      writePem(anchorPem, anchor, false);
      return new TlsMaterial(dir, anchorPem, anchor, key, x509, password.clone());
    }
    throw new GeneralSecurityException(keystore + " holds no private key with a certificate chain");
  }

  /** The CA (trust anchor) certificate as PEM: what clients trust. */
  public Path caPemPath() {
    return caPem;
  }

  public X509Certificate caCertificate() {
    return trustAnchor;
  }

  /** The server certificate followed by its chain. */
  public List<X509Certificate> serverCertificateChain() {
    return List.of(serverChain);
  }

  /** {@code <dataDir>/tls/}. */
  public Path directory() {
    return tlsDir;
  }

  /** A server-side context (TLS 1.2 and 1.3) presenting the server certificate and chain. */
  public SSLContext serverSslContext() throws GeneralSecurityException {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try {
      ks.load(null, null);
    } catch (IOException e) {
      throw new GeneralSecurityException(e);
    }
    ks.setKeyEntry("server", serverKey, keyPassword, serverChain);
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, keyPassword);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, RANDOM);
    // TLS 1.3 resumption is stateless by default in the JDK (jdk.tls.server.enableSessionTicketExtension):
    // the ticket carries the session, the server keeps nothing per session. The cache below serves
    // TLS 1.2 clients (session ids); its timeout is also the tickets' lifetime.
    ctx.getServerSessionContext().setSessionTimeout((int) SESSION_LIFETIME.toSeconds());
    ctx.getServerSessionContext().setSessionCacheSize(SESSION_CACHE_SIZE);
    return ctx;
  }

  /**
   * Server-side engines (TLS 1.3 and 1.2, this certificate and chain) for a gateway's TLS stage:
   * the JDK's ({@link #serverSslContext()}) or BoringSSL's through Netty ({@code openssl}). The
   * BoringSSL engines are reference counted: the stage releases each when its connection ends
   * ({@link CompactTls}); they resume TLS 1.3 sessions with stateless tickets as the JDK does.
   */
  public java.util.function.Supplier<javax.net.ssl.SSLEngine> serverEngines(boolean openSsl) throws GeneralSecurityException {
    if (!openSsl) {
      SSLContext ctx = serverSslContext();
      return () -> {
        javax.net.ssl.SSLEngine engine = ctx.createSSLEngine();
        engine.setUseClientMode(false);
        engine.setEnabledProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        return engine;
      };
    }
    if (!io.netty.handler.ssl.OpenSsl.isAvailable()) {
      throw new GeneralSecurityException("BoringSSL (netty-tcnative) is not available on this platform: "
          + io.netty.handler.ssl.OpenSsl.unavailabilityCause());
    }
    try {
      io.netty.handler.ssl.SslContext ctx = io.netty.handler.ssl.SslContextBuilder.forServer(serverKey, serverChain)
          .sslProvider(io.netty.handler.ssl.SslProvider.OPENSSL_REFCNT)
          .protocols("TLSv1.3", "TLSv1.2")
          .sessionTimeout(SESSION_LIFETIME.toSeconds())
          .sessionCacheSize(SESSION_CACHE_SIZE)
          .build();
      // Stateless tickets (Netty leaves them off until keys are set); the keys live as long as the node.
      byte[] name = new byte[16];
      byte[] hmac = new byte[16];
      byte[] aes = new byte[16];
      RANDOM.nextBytes(name);
      RANDOM.nextBytes(hmac);
      RANDOM.nextBytes(aes);
      ((io.netty.handler.ssl.OpenSslSessionContext) ctx.sessionContext())
          .setTicketKeys(new io.netty.handler.ssl.OpenSslSessionTicketKey(name, hmac, aes));
      return () -> ctx.newEngine(io.netty.buffer.ByteBufAllocator.DEFAULT);
    } catch (javax.net.ssl.SSLException e) {
      throw new GeneralSecurityException(e);
    }
  }

  /** A client-side context that trusts this node's CA and nothing else. */
  public SSLContext clientSslContext() throws GeneralSecurityException {
    return clientSslContext(List.of(trustAnchor));
  }

  /** A client-side context that trusts exactly the certificates in {@code caPem}. */
  public static SSLContext clientSslContext(Path caPem) throws IOException, GeneralSecurityException {
    List<X509Certificate> certs = readCertificates(caPem);
    if (certs.isEmpty()) {
      throw new GeneralSecurityException(caPem + " holds no certificate");
    }
    return clientSslContext(certs);
  }

  private static SSLContext clientSslContext(List<X509Certificate> trusted) throws GeneralSecurityException {
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trustStore(trusted));
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), RANDOM);
    return ctx;
  }

  /**
   * Writes {@code <dataDir>/tls/truststore.p12} (PKCS12, password {@value #TRUSTSTORE_PASSWORD})
   * holding the CA certificate, for {@code -Djavax.net.ssl.trustStore}; returns its path.
   */
  public Path clientTrustStore() throws IOException, GeneralSecurityException {
    Path path = tlsDir.resolve("truststore.p12");
    KeyStore ts = trustStore(List.of(trustAnchor));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ts.store(out, TRUSTSTORE_PASSWORD.toCharArray());
    SecureFiles.writeAtomically(path, out.toByteArray(), false);
    return path;
  }

  @Override
  public String toString() {
    return "TlsMaterial[dir=" + tlsDir + ", server=" + serverChain[0].getSubjectX500Principal().getName() + "]";
  }

  // ---- generation ----

  private record Issued(X509Certificate cert, PrivateKey key) {}

  private static KeyPair newKeyPair() throws GeneralSecurityException {
    KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
    kpg.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
    return kpg.generateKeyPair();
  }

  private static Issued createCa(Instant now) throws GeneralSecurityException, IOException {
    KeyPair kp = newKeyPair();
    X500Name name = new X500Name("CN=twinhub local CA " + now.getEpochSecond() + ",O=twinhub");
    JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
    X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(),
        Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(CA_VALIDITY)), name, kp.getPublic())
        .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
        .addExtension(Extension.keyUsage, true,
            new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature))
        .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
    return new Issued(sign(b, kp.getPrivate()), kp.getPrivate());
  }

  private static Issued createServer(Issued ca, Set<String> sans, String commonName, KeyPair kp, Instant now)
      throws GeneralSecurityException, IOException {
    JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
    List<GeneralName> names = new ArrayList<>();
    for (String san : sans) {
      names.add(san.startsWith("IP:")
          ? new GeneralName(GeneralName.iPAddress, san.substring(3))
          : new GeneralName(GeneralName.dNSName, san.substring(4)));
    }
    X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca.cert(), serial(),
        Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(SERVER_VALIDITY)),
        new X500Name("CN=" + commonName + ",O=twinhub"), kp.getPublic())
        .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
        .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
        .addExtension(Extension.extendedKeyUsage, false,
            new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
        .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)))
        .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()))
        .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca.cert()));
    return new Issued(sign(b, ca.key()), kp.getPrivate());
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey issuerKey)
      throws GeneralSecurityException {
    try {
      ContentSigner signer = new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(issuerKey);
      X509CertificateHolder holder = builder.build(signer);
      return new JcaX509CertificateConverter().getCertificate(holder);
    } catch (org.bouncycastle.operator.OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static BigInteger serial() {
    return new BigInteger(127, RANDOM).add(BigInteger.ONE);
  }

  // ---- names ----

  /**
   * The SANs wanted for {@code hostNames}, as {@code "DNS:name"} / {@code "IP:addr"} in a stable
   * order: localhost, this machine's name, 127.0.0.1, ::1 and each configured name.
   */
  static Set<String> subjectAltNames(Collection<String> hostNames) {
    Set<String> sans = new TreeSet<>();
    sans.add("DNS:localhost");
    sans.add("IP:127.0.0.1");
    sans.add("IP:0:0:0:0:0:0:0:1");
    localHostName().ifPresent(h -> sans.add(san(h)));
    for (String h : hostNames) {
      SasVerifier.normalizeHostName(h).ifPresent(n -> sans.add(san(n)));
    }
    return sans;
  }

  private static Set<String> subjectAltNames(X509Certificate cert) {
    Set<String> sans = new TreeSet<>();
    try {
      Collection<List<?>> entries = cert.getSubjectAlternativeNames();
      if (entries != null) {
        for (List<?> e : entries) {
          int type = (Integer) e.get(0);
          if (type == GeneralName.dNSName) {
            sans.add("DNS:" + ((String) e.get(1)).toLowerCase(Locale.ROOT));
          } else if (type == GeneralName.iPAddress) {
            sans.add("IP:" + canonicalIp((String) e.get(1)));
          }
        }
      }
    } catch (CertificateParsingException e) {
      return Set.of();
    }
    return sans;
  }

  private static String san(String normalizedHost) {
    return isIpLiteral(normalizedHost) ? "IP:" + canonicalIp(normalizedHost) : "DNS:" + normalizedHost;
  }

  private static boolean isIpLiteral(String host) {
    return IPV4.matcher(host).matches() || host.indexOf(':') >= 0;
  }

  /** Literal only: InetAddress does no lookup for an IP literal. */
  private static String canonicalIp(String ip) {
    try {
      return InetAddress.getByName(ip).getHostAddress().toLowerCase(Locale.ROOT);
    } catch (IOException e) {
      return ip;
    }
  }

  private static String firstDnsName(Collection<String> hostNames) {
    for (String h : hostNames) {
      Optional<String> n = SasVerifier.normalizeHostName(h);
      if (n.isPresent() && !isIpLiteral(n.get())) {
        return n.get().replaceAll("[,+=\"\\\\<>;]", "");
      }
    }
    return "localhost";
  }

  private static Optional<String> localHostName() {
    try {
      return SasVerifier.normalizeHostName(InetAddress.getLocalHost().getHostName())
          .filter(n -> n.matches("[a-z0-9.-]+"));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  // ---- files ----

  private static boolean signedBy(X509Certificate cert, X509Certificate ca) {
    try {
      cert.verify(ca.getPublicKey());
      return true;
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /** A certificate and its private key, if both files exist, parse and belong together. */
  private static Optional<Issued> readIssued(Path certPem, Path keyPem) {
    if (!Files.exists(certPem) || !Files.exists(keyPem)) {
      return Optional.empty();
    }
    try {
      List<X509Certificate> certs = readCertificates(certPem);
      PrivateKey key = readPrivateKey(keyPem);
      if (certs.isEmpty() || key == null || !keyMatches(key, certs.get(0))) {
        log.warn("ignoring unusable TLS material {} / {}", certPem, keyPem);
        return Optional.empty();
      }
      return Optional.of(new Issued(certs.get(0), key));
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      log.warn("ignoring unreadable TLS material {} / {}: {}", certPem, keyPem, e.toString());
      return Optional.empty();
    }
  }

  private static boolean keyMatches(PrivateKey key, X509Certificate cert) throws GeneralSecurityException {
    // By type, not getAlgorithm(): BouncyCastle's EC keys answer "ECDSA" once BC is a registered
    // provider (the Azure IoT SDKs register it), and the material was then regenerated on every load.
    String alg = key instanceof java.security.interfaces.ECKey ? "SHA256withECDSA" : "SHA256withRSA";
    byte[] probe = new byte[32];
    RANDOM.nextBytes(probe);
    Signature s = Signature.getInstance(alg);
    s.initSign(key);
    s.update(probe);
    byte[] sig = s.sign();
    Signature v = Signature.getInstance(alg);
    v.initVerify(cert.getPublicKey());
    v.update(probe);
    return v.verify(sig);
  }

  static List<X509Certificate> readCertificates(Path pem) throws IOException, GeneralSecurityException {
    List<X509Certificate> certs = new ArrayList<>();
    JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
    try (Reader r = Files.newBufferedReader(pem, StandardCharsets.US_ASCII); PEMParser parser = new PEMParser(r)) {
      for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
        if (o instanceof X509CertificateHolder h) {
          certs.add(converter.getCertificate(h));
        }
      }
    }
    return certs;
  }

  private static PrivateKey readPrivateKey(Path pem) throws IOException {
    try (Reader r = Files.newBufferedReader(pem, StandardCharsets.US_ASCII); PEMParser parser = new PEMParser(r)) {
      Object o = parser.readObject();
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      if (o instanceof PrivateKeyInfo info) {
        return converter.getPrivateKey(info);
      }
      if (o instanceof PEMKeyPair pair) {
        return converter.getKeyPair(pair).getPrivate();
      }
      return null;
    }
  }

  private static void writePem(Path path, Object object, boolean secret) throws IOException {
    writePem(path, List.of(object), secret);
  }

  private static void writePem(Path path, List<?> objects, boolean secret) throws IOException {
    StringWriter text = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(text)) {
      for (Object o : objects) {
        w.writeObject(o instanceof PrivateKey k ? new JcaPKCS8Generator(k, null) : o);
      }
    }
    SecureFiles.writeAtomically(path, text.toString().getBytes(StandardCharsets.US_ASCII), secret);
  }

  private static KeyStore trustStore(List<X509Certificate> trusted) throws GeneralSecurityException {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try {
      ks.load(null, null);
    } catch (IOException e) {
      throw new GeneralSecurityException(e);
    }
    int i = 0;
    for (X509Certificate c : trusted) {
      ks.setCertificateEntry("twinhub-ca-" + i++, c);
    }
    return ks;
  }
}
