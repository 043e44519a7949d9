package io.twinhub.ops.bench.mqtt;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;

/**
 * What the MQTT workloads need of the hub's REST API and of IoT Hub's SAS scheme: one keep-alive
 * HTTPS/1.1 connection (blocking JSSE socket, one request at a time).
 */
final class HubRest implements AutoCloseable {
  static final String API_VERSION = "api-version=2021-04-12";

  record Response(int status, String body) {}

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;
  private final String hostHeader;

  HubRest(SSLContext ssl, String host, int port) throws IOException {
    socket = ssl.getSocketFactory().createSocket(host, port);
    socket.setTcpNoDelay(true);
    socket.setSoTimeout(60_000);
    in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
    out = new BufferedOutputStream(socket.getOutputStream(), 16 * 1024);
    hostHeader = host + ":" + port;
  }

  /** Sends one request and reads the whole answer. */
  Response exchange(String method, String pathAndQuery, String token, String jsonBody) throws IOException {
    byte[] body = jsonBody == null ? new byte[0] : jsonBody.getBytes(StandardCharsets.UTF_8);
    String head = method + " " + pathAndQuery + " HTTP/1.1\r\nHost: " + hostHeader + "\r\nAuthorization: " + token
        + "\r\n" + (jsonBody == null ? "" : "Content-Type: application/json\r\n") + "Content-Length: " + body.length
        + "\r\n\r\n";
    out.write(head.getBytes(StandardCharsets.ISO_8859_1));
    out.write(body);
    out.flush();
    String status = line();
    int code = Integer.parseInt(status.substring(9, 12));
    long length = -1;
    for (String l = line(); !l.isEmpty(); l = line()) {
      int colon = l.indexOf(':');
      if (l.substring(0, colon).trim().equalsIgnoreCase("Content-Length")) length = Long.parseLong(l.substring(colon + 1).trim());
    }
    if (length < 0) throw new IOException("no Content-Length");
    return new Response(code, new String(in.readNBytes((int) length), StandardCharsets.UTF_8));
  }

  private String line() throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream(64);
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) throw new EOFException("connection closed");
      if (c != '\r') b.write(c);
    }
    return b.toString(StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException ignored) {
      // gone anyway
    }
  }

  static SSLContext trusting(Path caPem) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    try (InputStream in = Files.newInputStream(caPem)) {
      int i = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) ks.setCertificateEntry("ca-" + i++, c);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }
}
